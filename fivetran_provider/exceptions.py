"""Typed errors raised by the Fivetran provider.

Client-side mistakes (a bad field value) raise :class:`FivetranValidationError` before anything
is sent. Answers from the Fivetran API that are not a success raise a subclass of
:class:`FivetranAPIError` chosen by HTTP status; each carries the HTTP status, Fivetran's
``code`` and ``message``. No message or repr ever contains credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fivetran_provider._compat import AirflowException, AirflowSensorTimeout


class FivetranError(AirflowException):
    """Base class of every error raised by this provider."""


class FivetranConfigurationError(FivetranError):
    """The Airflow connection or hook arguments are unusable (for example plain HTTP to a remote host)."""


#: Longest ``repr`` of a refused value that an error message quotes in full.
SHOWN_LENGTH = 200


def shown_value(value: Any) -> str:
    """A refused value as an error message quotes it: its ``repr``, shortened, and never raising.

    An integer too long for Python to print (more than 4,300 digits by default) is described by
    its size instead; so is any value whose ``repr`` fails.

    :param value: the refused value.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 14_000:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        text = repr(value)
    except Exception:  # a huge int inside a list, or a user type whose repr fails
        return f"<a value of type {type(value).__name__} that cannot be shown>"
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


class FivetranValidationError(FivetranError, ValueError):
    """A value was rejected before any request was sent.

    :param field: the field (or argument) that is wrong.
    :param value: the offending value, or ``None`` when it must not be shown (secrets).
    :param allowed: a human description of what is allowed.
    :param reason: optional extra explanation.
    :param show_value: False for credential-bearing fields, so the value never reaches a message.
    """

    def __init__(
        self,
        field: str,
        value: Any,
        allowed: str,
        *,
        reason: str | None = None,
        show_value: bool = True,
    ) -> None:
        self.field = field
        self.value = value if show_value else None
        self.allowed = allowed
        self.reason = reason
        shown = shown_value(value) if show_value else f"a value of type {type(value).__name__}"
        text = f"Invalid value for '{field}': {shown}. Allowed: {allowed}."
        if reason:
            text += f" {reason}"
        super().__init__(text)


class FivetranAPIError(FivetranError):
    """Fivetran answered with an error.

    :param status: the HTTP status code.
    :param code: Fivetran's ``code`` from the response body (``None`` if the body was not JSON).
    :param message: Fivetran's ``message`` (or a short description of a non-JSON body).
    :param method: the HTTP method of the request.
    :param path: the request path (never a full URL with credentials).
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        *,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method else ""
        super().__init__(f"Fivetran API error {status} {code or '-'}: {message}{where}")


class FivetranBadRequestError(FivetranAPIError):
    """HTTP 400: Fivetran rejected the request body or parameters (``InvalidInput``)."""


class FivetranAuthError(FivetranAPIError):
    """HTTP 401: the API key or secret is wrong."""


class FivetranPermissionError(FivetranAPIError):
    """HTTP 403: the API key is valid but not allowed to do this."""


class FivetranNotFoundError(FivetranAPIError):
    """HTTP 404: the connection, group or route does not exist (``NotFound_*``)."""


class FivetranConflictError(FivetranAPIError):
    """HTTP 409: the request conflicts with the connection's current state (e.g. a running sync)."""


class FivetranRateLimitError(FivetranAPIError):
    """HTTP 429: rate limited, and waiting was not possible within the configured cap.

    :param retry_after: seconds Fivetran asked the client to wait, if it said.
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        *,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message, method=method, path=path)
        self.retry_after = retry_after
        if retry_after is not None:
            self.args = (f"{self.args[0]}; Fivetran asked to wait {retry_after:g} s before retrying",)


class FivetranServerError(FivetranAPIError):
    """HTTP 5xx after every retry was spent.

    :ivar retry_after: seconds a 503 asked the client to wait (``Retry-After``), if it said.
    """

    retry_after: float | None = None


class FivetranUnexpectedResponseError(FivetranAPIError):
    """A success status with a body of the wrong shape (not JSON, or missing ``data``)."""


class FivetranPagingError(FivetranUnexpectedResponseError):
    """A listing did not end: its ``next_cursor`` repeated, or it ran to more pages than it can have.

    Raised after a bounded number of requests, so a broken cursor cannot spend the account's
    hourly API budget.

    :param listing: the listing, e.g. ``GET /v1/connections?group_id=g1``.
    :param pages: pages read before giving up.
    :param reason: what was wrong.
    :param path: the request path.
    """

    def __init__(self, listing: str, pages: int, reason: str, *, path: str) -> None:
        self.listing = listing
        self.pages = pages
        super().__init__(
            200, None, f"listing {listing} stopped after {pages} page(s): {reason}", method="GET", path=path
        )


class FivetranAnswerTooLargeError(FivetranUnexpectedResponseError):
    """An answer was larger (once decompressed) than any answer of the API can be; it was not read further.

    :param limit: the cap in bytes.
    :param status: the answer's HTTP status.
    :param method: the HTTP method.
    :param path: the request path.
    """

    def __init__(self, limit: int, *, status: int = 200, method: str, path: str) -> None:
        self.limit = limit
        super().__init__(
            status,
            None,
            f"answer larger than {limit // (1024 * 1024)} MiB once decompressed; not read",
            method=method,
            path=path,
        )


class FivetranTransportError(FivetranError):
    """The request never got an HTTP answer (connection refused, reset, timed out) after every retry.

    :param method: the HTTP method.
    :param path: the request path.
    :param cause: a short description of the last network error.
    """

    def __init__(self, method: str, path: str, cause: str) -> None:
        self.method = method
        self.path = path
        self.cause = cause
        super().__init__(f"No answer from Fivetran for {method} {path}: {cause}")


class FivetranDeadlineError(FivetranTransportError):
    """The whole call (connecting, sending and reading the answer) took longer than its deadline.

    :param method: the HTTP method.
    :param path: the request path.
    :param seconds: the deadline that passed.
    """

    def __init__(self, method: str, path: str, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(method, path, f"no complete answer within the call deadline of {seconds:g} s")


class FivetranRedirectError(FivetranAPIError):
    """Fivetran (or something in between) answered with a redirect, which is never followed.

    Following it would send the request body, credentials included, to wherever the
    ``Location`` points, or turn a PATCH into a GET. Nothing is re-sent.

    :param status: the HTTP status (3xx).
    :param location_host: the host the ``Location`` header points at (``None`` when absent).
    :param method: the HTTP method.
    :param path: the request path.
    """

    def __init__(self, status: int, location_host: str | None, *, method: str = "", path: str = "") -> None:
        self.location_host = location_host
        where = f"to host {location_host!r}" if location_host else "without a usable Location"
        super().__init__(
            status, None, f"redirect {where} refused (redirects are never followed)", method=method, path=path
        )


class FivetranOutcomeUnknownError(FivetranError):
    """A request with a side effect may or may not have been applied, and reading back did not tell.

    :param method: the HTTP method.
    :param path: the request path.
    :param cause: what went wrong with the request.
    :param verify_error: why the verifying read failed (empty when the read succeeded but could
        not tell; ``seen`` says what it showed).
    :param seen: what the verifying read showed, when it could not tell whether the request took effect.
    :param check: what to look at to find out.
    """

    def __init__(
        self, method: str, path: str, cause: str, verify_error: str = "", *, seen: str = "", check: str = ""
    ) -> None:
        self.method = method
        self.path = path
        self.cause = cause
        self.verify_error = verify_error
        self.seen = seen
        self.check = check
        if seen:
            message = (
                f"Outcome of {method} {path} is unknown ({cause}): the connection was read back, but {seen}. "
                f"It was not sent again and is not reported as done; {check}."
            )
        else:
            message = (
                f"Outcome of {method} {path} is unknown ({cause}) and could not be verified ({verify_error}); "
                "it was not sent again."
            )
        super().__init__(message)


class FivetranPartialFailureError(FivetranError):
    """Some connections of a multi-connection change failed.

    :param message: what happened, including what was rolled back.
    :param failures: connection id to error text.
    :param changed: connection ids left changed (empty when everything was rolled back).
    :param unverified: connection ids whose state could not be read back (they may be changed).
    """

    def __init__(
        self,
        message: str,
        failures: dict[str, str],
        changed: Sequence[str] = (),
        *,
        unverified: Sequence[str] = (),
    ) -> None:
        self.failures = dict(failures)
        self.changed = list(changed)
        self.unverified = list(unverified)
        super().__init__(message)


class FivetranSyncError(FivetranError):
    """Waiting for a Fivetran sync ended without a successful sync.

    :param message: what happened, including the connection id and its dashboard link.
    :param connection_id: the Fivetran connection id.
    :param dashboard_url: the connection's page in the Fivetran dashboard.
    """

    def __init__(self, message: str, *, connection_id: str = "", dashboard_url: str = "") -> None:
        self.connection_id = connection_id
        self.dashboard_url = dashboard_url
        super().__init__(message)


class FivetranSyncFailedError(FivetranSyncError):
    """The sync failed: ``failed_at`` moved past the baseline (and past ``succeeded_at``).

    :param message: what happened.
    :param connection_id: the Fivetran connection id.
    :param dashboard_url: the connection's page in the Fivetran dashboard.
    :param failed_at: when the sync failed (ISO-8601 UTC), as Fivetran reported it.
    """

    def __init__(
        self, message: str, *, connection_id: str = "", dashboard_url: str = "", failed_at: str | None = None
    ) -> None:
        super().__init__(message, connection_id=connection_id, dashboard_url=dashboard_url)
        self.failed_at = failed_at


class FivetranConnectionPausedError(FivetranSyncError):
    """The connection is paused, so the sync being waited for will not run."""


class FivetranSyncTimeoutError(FivetranSyncError):
    """No sync finished before the wait's timeout."""


class FivetranSensorTimeoutError(FivetranSyncTimeoutError, AirflowSensorTimeout):
    """A :class:`~fivetran_provider.sensors.FivetranSyncSensor` timed out.

    Also an ``AirflowSensorTimeout``, so ``soft_fail`` and the no-retry rule for sensor
    timeouts apply as for any other sensor.
    """


def short_error(error: BaseException) -> str:
    """A one-line description of an error for log lines and summary messages (at most 300 characters).

    :param error: the exception.
    """
    text = " ".join((str(error) or type(error).__name__).split())
    return text if len(text) <= 300 else text[:297] + "..."


_STATUS_TO_ERROR: dict[int, type[FivetranAPIError]] = {
    400: FivetranBadRequestError,
    401: FivetranAuthError,
    403: FivetranPermissionError,
    404: FivetranNotFoundError,
    409: FivetranConflictError,
    429: FivetranRateLimitError,
}


def error_class_for_status(status: int) -> type[FivetranAPIError]:
    """Pick the exception class for an HTTP error status.

    :param status: HTTP status code (>= 400).
    """
    if status >= 500:
        return FivetranServerError
    return _STATUS_TO_ERROR.get(status, FivetranAPIError)

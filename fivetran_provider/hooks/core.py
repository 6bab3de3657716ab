"""The HTTP core shared by the synchronous and asynchronous clients.

The API base URL, request bodies, the reading of every answer (success envelope, typed error,
redirect), the retry waits of the one retry policy, and the client settings resolved from the
Airflow connection.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fivetran_provider import __version__, fields, outcome
from fivetran_provider._compat import AIRFLOW_VERSION
from fivetran_provider.budget import DEFAULT_RESERVE, RateBudget, budget_for
from fivetran_provider.exceptions import (
    FivetranAPIError,
    FivetranConfigurationError,
    FivetranDeadlineError,
    FivetranOutcomeUnknownError,
    FivetranPagingError,
    FivetranRateLimitError,
    FivetranRedirectError,
    FivetranServerError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
    FivetranValidationError,
    error_class_for_status,
    short_error,
    shown_value,
)
from fivetran_provider.headers import retry_after_for
from fivetran_provider.retry import FINAL_READ_SECONDS, RETRY, RetryPolicy, give_up_at, passes_deadline

log = logging.getLogger("fivetran_provider.hooks")

DEFAULT_API_URL = "https://api.fivetran.com"
#: The Airflow connection the hooks, operators and sensor use unless told otherwise.
DEFAULT_CONN_ID = "fivetran_default"
ACCEPT = "application/json;version=2"
USER_AGENT = f"airflow-provider-fivetran-connections/{__version__} apache-airflow/{AIRFLOW_VERSION}"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 90.0  # Fivetran stops server-side work after 60 s; wait a little longer.
#: Seconds the whole call may take beyond the read timeout (connecting, sending, reading the
#: answer), so an answer that trickles in byte by byte cannot hold a worker or a trigger.
DEFAULT_DEADLINE_MARGIN = 30.0


def resolve_base_url(host: str | None, port: int | None = None) -> str:
    """Turn an Airflow connection's host (and port) into the API base URL.

    An empty host means ``https://api.fivetran.com``; a host without scheme gets ``https://``.
    Plain ``http://`` is refused for anything but loopback addresses (the simulator).

    :param host: the connection's host, with or without scheme and port.
    :param port: the connection's port, used when the host has none.
    """
    text = (host or "").strip()
    if not text:
        return DEFAULT_API_URL
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FivetranConfigurationError(f"Unusable Fivetran host {host!r}: expected https://<host>[:port]")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise FivetranConfigurationError(
            f"Refusing plain http:// to {parts.hostname}: credentials would travel unencrypted. "
            "Use https://, or a loopback address for a local simulator."
        )
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return f"{parts.scheme}://{netloc}{path}"


def _is_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def encode_body(body: Any) -> str | None:
    """Serialise a request body as strict JSON (no ``NaN``/``Infinity``), before anything is sent.

    :param body: the JSON body, or ``None`` for none.
    :raises FivetranValidationError: if the body is not strict JSON.
    """
    if body is None:
        return None
    try:
        return json.dumps(body, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise FivetranValidationError(
            "body",
            f"<a value that is not strict JSON: {type(error).__name__}>",
            "JSON objects, arrays, strings, finite numbers, booleans and null",
            show_value=True,
        ) from None


def redirect_error(status: int, headers: Mapping[str, str], method: str, path: str) -> FivetranRedirectError:
    """The error for a 3xx answer: redirects are never followed.

    :param status: the HTTP status (3xx).
    :param headers: the response headers.
    :param method: the request method.
    :param path: the request path.
    """
    location = headers.get("Location") or ""
    try:
        host = urlsplit(location).hostname
    except ValueError:
        host = None
    return FivetranRedirectError(status, host, method=method, path=path)


def raise_for_response(status: int, text: str, headers: Mapping[str, str], method: str, path: str) -> dict[str, Any]:
    """Interpret one HTTP answer: return the JSON envelope of a success, raise a typed error otherwise.

    Shared by the synchronous hook and the asynchronous trigger client. A redirect (3xx) raises
    :class:`~fivetran_provider.exceptions.FivetranRedirectError`: it is never followed.

    :param status: HTTP status.
    :param text: the response body as text.
    :param headers: the response headers (case-insensitive mapping).
    :param method: the request method.
    :param path: the request path.
    """
    if status < 200:
        # Fivetran never switches protocols nor answers 1xx as a final answer: whatever answered
        # did not speak its API, and nothing says whether the request was applied.
        raise FivetranTransportError(method, path, f"unexpected informational answer HTTP {status}")
    if 300 <= status < 400:
        raise redirect_error(status, headers, method, path)
    try:
        body: Any = json.loads(text) if text else None
    except (ValueError, RecursionError):
        body = None
    if 200 <= status < 300:
        if not isinstance(body, dict):
            raise FivetranUnexpectedResponseError(
                status,
                None,
                f"expected a JSON object, got {len(text)} bytes of non-JSON",
                method=method,
                path=path,
            )
        return body
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = f"non-JSON error body of {len(text)} bytes" if body is None else "no message"
    error_class = error_class_for_status(status)
    if error_class is FivetranRateLimitError:
        raise FivetranRateLimitError(
            status,
            code if isinstance(code, str) else None,
            message,
            method=method,
            path=path,
            retry_after=retry_after_for(status, headers, now=time.time()),
        )
    error = error_class(status, code if isinstance(code, str) else None, message, method=method, path=path)
    if isinstance(error, FivetranServerError):
        error.retry_after = retry_after_for(status, headers, now=time.time())
    raise error


def envelope_data(envelope: Mapping[str, Any], method: str, path: str) -> dict[str, Any]:
    """Return the ``data`` object of a success envelope, or raise if it is missing or not an object.

    :param envelope: the parsed response body.
    :param method: the request method.
    :param path: the request path.
    """
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise FivetranUnexpectedResponseError(
            200,
            envelope.get("code") if isinstance(envelope.get("code"), str) else None,
            "response has no 'data' object",
            method=method,
            path=path,
        )
    return data


def list_page(envelope: Mapping[str, Any], path: str) -> tuple[list[dict[str, Any]], Any]:
    """Read one page of a list answer: its items and the cursor of the next page.

    :param envelope: the parsed response body of ``GET {path}``.
    :param path: the request path.
    :return: the page's objects, and its ``next_cursor`` as given (``None``: last page; check it
        with :class:`PageGuard`).
    """
    data = envelope_data(envelope, "GET", path)
    items = data.get("items")
    if not isinstance(items, list):
        raise FivetranUnexpectedResponseError(200, None, "list has no 'items' array", method="GET", path=path)
    cursor = data.get("next_cursor")
    return [item for item in items if isinstance(item, dict)], None if cursor in (None, "") else cursor


#: The most pages one listing is read for: 100,000 connections at the largest page size, more than
#: any account has. A listing that goes on (or whose cursor repeats) ends with
#: :class:`~fivetran_provider.exceptions.FivetranPagingError` instead of spending the account's
#: hourly API budget.
MAX_PAGES = 100
#: The longest ``next_cursor`` followed (Fivetran's are a few dozen characters).
MAX_CURSOR_LENGTH = 4096


class PageGuard:
    """Keeps one listing finite: every cursor new, at most :data:`MAX_PAGES` pages.

    :param path: the listing's request path.
    :param params: its query parameters (named in the error, cursor left out).
    :param max_pages: the most pages to read.
    """

    def __init__(self, path: str, params: Mapping[str, Any], max_pages: int = MAX_PAGES) -> None:
        query = "&".join(f"{key}={value}" for key, value in params.items() if key != "cursor")
        self.path = path
        self.listing = f"GET {path}" + (f"?{query}" if query else "")
        self.max_pages = max_pages
        self.pages = 0
        self.seen: set[str] = set()

    def next_cursor(self, cursor: Any) -> str | None:
        """Count one page read and check the cursor it gave: the cursor to send next, or ``None`` at the end.

        :param cursor: the page's ``next_cursor``.
        :raises FivetranPagingError: the cursor repeats, is not text, or the listing is too long.
        """
        self.pages += 1
        if cursor is None:
            return None
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
            raise FivetranPagingError(self.listing, self.pages, "next_cursor is not a usable cursor", path=self.path)
        if cursor in self.seen:
            raise FivetranPagingError(self.listing, self.pages, "next_cursor repeated an earlier one", path=self.path)
        if self.pages >= self.max_pages:
            raise FivetranPagingError(
                self.listing,
                self.pages,
                f"more than {self.max_pages} pages (the most a listing is read for)",
                path=self.path,
            )
        self.seen.add(cursor)
        return cursor


def call_seconds(settings: ClientSettings, method: str, path: str) -> float:
    """Seconds one call may take: the call deadline, shortened to what is left of the wait it serves.

    The last reading of a wait, at its deadline, gets up to
    :data:`~fivetran_provider.retry.FINAL_READ_SECONDS`; a call later than that is not sent.

    :param settings: the client's settings.
    :param method: the request method (for the error).
    :param path: the request path (for the error).
    :raises FivetranDeadlineError: the wait's deadline (:func:`~fivetran_provider.retry.deadline_scope`)
        and its final read have passed.
    """
    seconds = settings.call_deadline
    at = give_up_at()
    if at is None:
        return seconds
    left = at + FINAL_READ_SECONDS - time.time()
    if left <= 0:
        raise FivetranDeadlineError(method, path, 0.0)
    return min(seconds, left, max(at - time.time(), 0.0) + FINAL_READ_SECONDS)


def positive_seconds(name: str, value: Any) -> float:
    """A timeout or deadline from an argument or extra: a finite positive number of seconds.

    :param name: the setting's name for the error.
    :param value: the raw value (number or text).
    """
    allowed = f"a positive number of seconds up to {fields.MAX_DURATION.days} days"
    shown = shown_value(value)
    if isinstance(value, bool):
        raise FivetranConfigurationError(f"Invalid {name}: {shown}; expected {allowed}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise FivetranConfigurationError(f"Invalid {name}: {shown}; expected {allowed}") from None
    if not (math.isfinite(number) and 0 < number <= fields.MAX_DURATION.total_seconds()):
        raise FivetranConfigurationError(f"Invalid {name}: {shown}; expected {allowed}")
    return number


def retry_wait(
    policy: RetryPolicy, error: FivetranTransportError | FivetranAPIError, method: str, attempt: int
) -> float | None:
    """Seconds to wait before retry number ``attempt``, or ``None`` to give up and raise ``error``.

    Used by the hook and the trigger alike, so both follow one policy. A PATCH whose outcome
    is unknown (network error, 5xx) gives up here: the caller verifies it before re-sending.

    :param policy: the retry policy.
    :param error: what went wrong.
    :param method: the request method.
    :param attempt: which retry this would be, starting at 1.
    """
    if attempt > policy.max_retries:
        return None
    if isinstance(error, FivetranRedirectError):
        return None
    if isinstance(error, (FivetranTransportError, FivetranUnexpectedResponseError)):
        decision = policy.classify_transport_error(method=method)
    else:
        decision = policy.classify_status(error.status, method=method)
    if decision != RETRY:
        return None
    if isinstance(error, FivetranRateLimitError):
        return policy.rate_limit_wait(error.retry_after, attempt)
    if isinstance(error, FivetranServerError) and error.retry_after is not None:
        return policy.rate_limit_wait(error.retry_after, attempt)
    return policy.backoff(attempt)


@dataclass(frozen=True)
class ClientSettings:
    """Everything needed to talk to Fivetran, resolved from the Airflow connection and hook arguments.

    :param base_url: API base URL without ``/v1``.
    :param api_key: the API key (Basic auth user name).
    :param api_secret: the API secret (Basic auth password).
    :param connect_timeout: seconds to wait for a TCP connection.
    :param read_timeout: seconds to wait for an answer.
    :param retry_policy: how to retry.
    :param call_deadline: seconds one whole call may take, answer included.
    :param rate_limit_reserve: share of the hourly API budget below which polling slows down.
    """

    base_url: str
    api_key: str
    api_secret: str
    connect_timeout: float
    read_timeout: float
    retry_policy: RetryPolicy
    call_deadline: float = DEFAULT_READ_TIMEOUT + DEFAULT_DEADLINE_MARGIN
    rate_limit_reserve: float = DEFAULT_RESERVE

    @property
    def budget(self) -> RateBudget:
        """The account's API budget shared by every client of this process (see :mod:`fivetran_provider.budget`)."""
        return budget_for(self.base_url, self.api_key, self.rate_limit_reserve)

    def __repr__(self) -> str:
        return f"ClientSettings(base_url={self.base_url!r}, api_key=<hidden>, api_secret=<hidden>)"


def observe_budget(settings: ClientSettings, headers: Mapping[str, str], status: int) -> None:
    """Record an answer's rate-limit headers in the account's budget; warn when it falls below the reserve.

    A ``Retry-After`` counts only on a 429 or 503, and holds the account's polls back at most
    the policy's ``max_retry_after``.

    :param settings: the client's settings (their
        :attr:`~fivetran_provider.hooks.ClientSettings.budget` is the account's).
    :param headers: the response headers.
    :param status: the answer's HTTP status.
    """
    budget = settings.budget
    if budget.observe(headers, status=status, max_hold=settings.retry_policy.max_retry_after):
        log.warning("Fivetran API quota is low: %s of %s requests left this hour", budget.remaining, budget.limit)


def wait_before_retry(
    policy: RetryPolicy, error: FivetranTransportError | FivetranAPIError, method: str, path: str, attempt: int
) -> float | None:
    """:func:`retry_wait`, saying in the log what is retried and when.

    Gives up (``None``) when the wait would end after the deadline of the wait this request
    serves (:func:`~fivetran_provider.retry.deadline_scope`).
    """
    wait = retry_wait(policy, error, method, attempt)
    if wait is not None and passes_deadline(wait):
        log.warning(
            "%s %s failed (%s); not retrying: the wait it serves ends before the retry would be sent",
            method,
            path,
            short_error(error),
        )
        return None
    if wait is not None:
        log.warning(
            "%s %s failed (%s); retry %d of %d in %.2f s",
            method,
            path,
            short_error(error),
            attempt,
            policy.max_retries,
            wait,
        )
    return wait


#: ``(connection as read now, body sent) -> body still to send, or None when nothing is left``.
Remaining = Callable[[dict[str, Any], Mapping[str, Any]], "dict[str, Any] | None"]


class VerifiedSend:
    """The decisions of sending one request with a side effect until it is applied, without I/O.

    Both clients run the same loop around it, each with its own I/O: send ``body``; when that
    fails, :meth:`wait_before_reading` says how long to wait before reading the connection back
    (``None``: raise the error); the read goes to :meth:`judge`, which returns the envelope to
    return when nothing is left to send, or ``None`` to send the remaining ``body`` again.

    :param method: the request method.
    :param path: the request path.
    :param body: the validated request body.
    :param remaining: decides from a read what is still to be sent (see :data:`Remaining`).
    :param policy: the retry policy: how many read-backs, and the backoff before each.
    """

    def __init__(self, method: str, path: str, body: dict[str, Any], remaining: Remaining, policy: RetryPolicy) -> None:
        self.method = method
        self.path = path
        self.body = body
        self.remaining = remaining
        self.policy = policy
        self.read_backs = 0
        self.last_error: BaseException | None = None

    def wait_before_reading(self, error: BaseException) -> float | None:
        """Seconds to wait before reading the connection back after ``error``, or ``None`` to raise it.

        Raised at once: errors that say the request was refused (4xx), a redirect (never
        re-sent) and any error once the policy's retries are spent.

        :param error: what sending ``body`` raised.
        """
        if isinstance(error, FivetranRedirectError) or not outcome.outcome_unknown(error):
            return None
        if self.read_backs >= self.policy.max_retries:
            return None
        self.last_error = error
        self.read_backs += 1
        log.warning(
            "Outcome of %s %s unknown (%s); reading the connection back", self.method, self.path, short_error(error)
        )
        return self.policy.backoff(self.read_backs)

    def judge(self, current: dict[str, Any]) -> dict[str, Any] | None:
        """Decide from a read-back: the envelope to return if everything is applied, else ``None``.

        With ``None``, ``body`` holds the part still to be sent.

        :param current: the connection as read after the unknown outcome.
        :raises FivetranOutcomeUnknownError: when the read cannot tell whether the request took
            effect (:class:`fivetran_provider.outcome.Inconclusive`).
        """
        try:
            rest = self.remaining(current, self.body)
        except outcome.Inconclusive as unclear:
            cause = short_error(self.last_error) if self.last_error is not None else "no answer"
            raise FivetranOutcomeUnknownError(
                self.method, self.path, cause, seen=unclear.seen, check=unclear.check
            ) from self.last_error
        if rest is None:
            log.info("%s %s had been applied; not sending it again", self.method, self.path)
            return {"code": "Success", "message": "verified by reading the connection back", "data": current}
        self.body = rest
        log.info("Re-sending the part of %s %s not yet applied: %s", self.method, self.path, ", ".join(sorted(rest)))
        return None

    def unverified(self, cause: BaseException, read_error: BaseException) -> FivetranOutcomeUnknownError:
        """The error when the read-back failed too: the outcome stays unknown, nothing is re-sent.

        :param cause: why the outcome of the request is unknown.
        :param read_error: why reading the connection back failed.
        """
        return FivetranOutcomeUnknownError(self.method, self.path, short_error(cause), short_error(read_error))

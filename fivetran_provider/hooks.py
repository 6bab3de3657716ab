"""``FivetranHook``: authentication, the HTTP session, retries and typed errors for the Fivetran API."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from fivetran_provider import __version__, fields, outcome
from fivetran_provider._compat import (
    AIRFLOW_VERSION,
    BaseHook,
    aextra_dejson,
    aget_connection,
    amask_secret,
    mask_secret,
)
from fivetran_provider.budget import DEFAULT_RESERVE, RateBudget, budget_for, validate_reserve
from fivetran_provider.exceptions import (
    FivetranAPIError,
    FivetranConfigurationError,
    FivetranDeadlineError,
    FivetranOutcomeUnknownError,
    FivetranRateLimitError,
    FivetranRedirectError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
    FivetranValidationError,
    error_class_for_status,
    short_error,
)
from fivetran_provider.retry import RETRY, RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    import ssl

    import httpx
    import requests  # imported when the first session is built: DAG files that only build operators skip it

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.fivetran.com"
ACCEPT = "application/json;version=2"
USER_AGENT = f"airflow-provider-fivetran-connections/{__version__} apache-airflow/{AIRFLOW_VERSION}"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 90.0  # Fivetran stops server-side work after 60 s; wait a little longer.
#: Seconds the whole call may take beyond the read timeout (connecting, sending, reading the
#: answer), so an answer that trickles in byte by byte cannot hold a worker or a trigger.
DEFAULT_DEADLINE_MARGIN = 30.0
_READ_CHUNK = 65536
MIN_MASKED_LENGTH = 5
POOL_SIZE = 64

#: Requests in flight at once per pool of the async hook; further requests wait their turn (FIFO).
#: Each client of the pool carries one request at a time on one kept-alive connection. One
#: multi-connection client would be simpler, but httpcore rescans all of a pool's connections
#: (and its whole queue) whenever a request starts or ends, which costs more event-loop CPU than
#: the request itself once there are dozens of connections. 64 in flight keeps a thousand waits
#: polling every second on time when each answer takes about 50 ms (measured with
#: ``benchmarks/triggers.py``; 16 capped them at about 300 polls per second).
MAX_CONCURRENT_REQUESTS = 64


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
            retry_after=parse_retry_after(headers.get("Retry-After")),
        )
    raise error_class(status, code if isinstance(code, str) else None, message, method=method, path=path)


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


def _positive_seconds(name: str, value: Any) -> float:
    """A timeout or deadline from an argument or extra: a finite positive number of seconds.

    :param name: the setting's name for the error.
    :param value: the raw value (number or text).
    """
    allowed = "a finite positive number of seconds"
    if isinstance(value, bool):
        raise FivetranConfigurationError(f"Invalid {name}: {value!r}; expected {allowed}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise FivetranConfigurationError(f"Invalid {name}: {value!r}; expected {allowed}") from None
    if not (math.isfinite(number) and number > 0):
        raise FivetranConfigurationError(f"Invalid {name}: {value!r}; expected {allowed}")
    return number


def _read_body(response: requests.Response, deadline_at: float, method: str, path: str, deadline: float) -> bytes:
    """Read a streamed answer piece by piece, giving up once the call deadline has passed.

    Each socket read is bounded by the read timeout, and the deadline is checked between reads,
    so an answer dripping in a byte at a time ends with
    :class:`~fivetran_provider.exceptions.FivetranDeadlineError` instead of holding the worker.

    :param response: a response opened with ``stream=True``.
    :param deadline_at: ``time.monotonic()`` value by which the answer must be complete.
    :param method: the request method.
    :param path: the request path.
    :param deadline: the deadline in seconds (for the error message).
    """
    raw = response.raw
    read_piece = getattr(raw, "read1", None)
    pieces: list[bytes] = []
    while True:
        if time.monotonic() > deadline_at:
            raise FivetranDeadlineError(method, path, deadline)
        piece = (
            read_piece(_READ_CHUNK, decode_content=True) if read_piece else raw.read(_READ_CHUNK, decode_content=True)
        )
        if not piece:
            if time.monotonic() > deadline_at:
                raise FivetranDeadlineError(method, path, deadline)
            return b"".join(pieces)
        pieces.append(piece)


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


class FivetranHook(BaseHook):
    """Talk to the Fivetran REST API: read, update and sync connections.

    The Airflow connection (type ``fivetran``) holds the API key as login and the API secret as
    password. Its host is optional (``https://api.fivetran.com`` by default) and may carry a
    scheme and port so it can point at :class:`~fivetran_provider.testing.FivetranSimulator`.
    Extras (or the arguments below, which win): ``connect_timeout``, ``read_timeout``,
    ``call_deadline``, ``max_retries``, ``backoff_base``, ``backoff_max``, ``max_retry_after``,
    ``jitter``.

    One ``requests.Session`` per hook keeps connections alive across calls. Every request sends
    ``Accept: application/json;version=2``. HTTP 429 waits for ``Retry-After`` (up to
    ``max_retry_after``), 5xx and network errors retry with exponential backoff and jitter.
    Redirects are never followed. A request with a side effect (PATCH, ``POST /sync``,
    ``POST /resync``) whose outcome is unknown is never re-sent blindly: the connection is read
    and compared with the baseline read before the request (:mod:`fivetran_provider.outcome`),
    and only the part not yet applied is sent again.

    :param fivetran_conn_id: the Airflow connection id.
    :param connect_timeout: seconds to wait for a TCP connection.
    :param read_timeout: seconds to wait for an answer (keep it above Fivetran's 60 s limit).
    :param retry_policy: a :class:`~fivetran_provider.retry.RetryPolicy` or a mapping of its fields.
    :param call_deadline: seconds one whole call may take, reading the answer included (default:
        the read timeout plus 30 s).
    """

    conn_name_attr = "fivetran_conn_id"
    default_conn_name = "fivetran_default"
    conn_type = "fivetran"
    hook_name = "Fivetran"

    def __init__(
        self,
        fivetran_conn_id: str = default_conn_name,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
        call_deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.fivetran_conn_id = fivetran_conn_id
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._retry_policy = retry_policy
        self._call_deadline = call_deadline
        self.rate_limit_remaining: int | None = None
        self._warned_low_quota = False

    def __repr__(self) -> str:
        return f"<FivetranHook fivetran_conn_id={self.fivetran_conn_id!r}>"

    # ------------------------------------------------------------------ connection form (UI)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Labels and hidden fields of the connection form (Airflow before 3.2 reads this)."""
        from fivetran_provider._provider_info import UI_FIELD_BEHAVIOUR

        return {key.replace("-", "_"): value for key, value in UI_FIELD_BEHAVIOUR.items()}

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form (Airflow before 3.2 reads this; needs wtforms)."""
        try:
            from flask_babel import lazy_gettext
            from wtforms import BooleanField, IntegerField, StringField
        except ImportError:  # the form needs the web UI's packages; without them there is no form
            return {}
        from fivetran_provider._provider_info import CONN_FIELDS

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            kind = spec["schema"]["type"]
            widget_class = IntegerField if kind == "integer" else BooleanField if kind == "boolean" else StringField
            widgets[name] = widget_class(lazy_gettext(spec["label"]), description=spec["description"])
        return widgets

    # ------------------------------------------------------------------ settings and session

    @cached_property
    def settings(self) -> ClientSettings:
        """The resolved client settings (reads the Airflow connection once)."""
        conn = self.get_connection(self.fivetran_conn_id)
        mask_secret(self._api_secret(conn))
        return self._settings_from(conn, conn.extra_dejson or {})

    def _api_secret(self, conn: Any) -> str:
        """The connection's API secret, after checking that the API key and secret are both set.

        :param conn: the Airflow connection.
        """
        if not conn.login or not conn.password:
            raise FivetranConfigurationError(
                f"Airflow connection {self.fivetran_conn_id!r} needs the Fivetran API key as login "
                "and the API secret as password."
            )
        return conn.password

    def _settings_from(self, conn: Any, extras: Mapping[str, Any]) -> ClientSettings:
        """Build the client settings from the connection, its extras and the hook's arguments.

        Reads and masks nothing itself, so the synchronous :attr:`settings` and the asynchronous
        :meth:`FivetranAsyncHook.asettings` share it: each reads the extras and masks the API
        secret in its own way first.

        :param conn: the Airflow connection.
        :param extras: the connection's extras, already read (and their secrets masked).
        """
        api_secret = self._api_secret(conn)

        def extra(name: str) -> Any:
            for key in (name, f"extra__fivetran__{name}"):
                if extras.get(key) not in (None, ""):
                    return extras[key]
            return None

        policy = self._retry_policy
        if isinstance(policy, RetryPolicy):
            retry_policy = policy
        else:
            merged = {name: extra(name) for name in RetryPolicy().to_dict()}
            merged.update({key: value for key, value in dict(policy or {}).items() if value is not None})
            retry_policy = RetryPolicy.from_mapping(merged)
        connect_timeout = _positive_seconds(
            "connect_timeout", self._connect_timeout or extra("connect_timeout") or DEFAULT_CONNECT_TIMEOUT
        )
        read_timeout = _positive_seconds(
            "read_timeout", self._read_timeout or extra("read_timeout") or DEFAULT_READ_TIMEOUT
        )
        deadline = self._call_deadline or extra("call_deadline") or read_timeout + DEFAULT_DEADLINE_MARGIN
        try:
            given = extra("rate_limit_reserve")
            reserve = validate_reserve(DEFAULT_RESERVE if given is None else given)
        except ValueError as error:
            raise FivetranConfigurationError(f"Airflow connection {self.fivetran_conn_id!r}: {error}") from None
        return ClientSettings(
            base_url=resolve_base_url(conn.host, conn.port),
            api_key=conn.login,
            api_secret=api_secret,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry_policy=retry_policy,
            call_deadline=_positive_seconds("call_deadline", deadline),
            rate_limit_reserve=reserve,
        )

    def get_conn(self) -> requests.Session:
        """The hook's HTTP session (created on first use, then reused)."""
        return self.session

    @cached_property
    def session(self) -> requests.Session:
        """One keep-alive session with auth and headers, shared by every call of this hook."""
        import requests
        from requests.adapters import HTTPAdapter

        settings = self.settings
        session = requests.Session()
        session.auth = (settings.api_key, settings.api_secret)
        session.headers.update({"Accept": ACCEPT, "Content-Type": "application/json", "User-Agent": USER_AGENT})
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def close(self) -> None:
        """Close the HTTP session's pooled connections."""
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    # ------------------------------------------------------------------ transport

    def _send_once(
        self, method: str, path: str, payload: str | None, params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Send one request and read its whole answer within the call deadline; never follow a redirect.

        :param method: HTTP method.
        :param path: path starting with ``/v1/``.
        :param payload: the body, already serialised.
        :param params: query parameters.
        """
        settings = self.settings
        deadline = settings.call_deadline
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                settings.base_url + path,
                data=payload,
                params=params,
                timeout=(min(settings.connect_timeout, deadline), min(settings.read_timeout, deadline)),
                allow_redirects=False,
                stream=True,
            )
            try:
                content = _read_body(response, started + deadline, method, path, deadline)
            finally:
                response.close()
        except FivetranTransportError:
            raise
        except Exception as error:  # requests, urllib3, http.client and socket errors alike: no answer
            if time.monotonic() - started >= deadline:
                raise FivetranDeadlineError(method, path, deadline) from None
            raise FivetranTransportError(method, path, type(error).__name__) from None
        log.debug("%s %s -> %s in %.3f s", method, path, response.status_code, time.monotonic() - started)
        self._note_rate_limit(response.headers)
        text = content.decode("utf-8", errors="replace")
        return raise_for_response(response.status_code, text, response.headers, method, path)

    def _note_rate_limit(self, headers: Mapping[str, str]) -> None:
        settings = self.__dict__.get("settings") or self.__dict__.get("_async_settings")
        if settings is not None:  # the account's budget, shared by every client of this process
            settings.budget.observe(headers)
        remaining, limit = headers.get("X-Rate-Limit-Remaining"), headers.get("X-Rate-Limit")
        if remaining is None or not remaining.strip().isdigit():
            return
        self.rate_limit_remaining = int(remaining)
        if limit and limit.strip().isdigit() and int(remaining) < int(limit) // 10 and not self._warned_low_quota:
            self._warned_low_quota = True
            log.warning("Fivetran API quota is low: %s of %s requests left this hour", remaining, limit)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request with the retry policy and return the response envelope.

        Requests with a side effect whose outcome is unknown are not re-sent here; they raise so
        that :meth:`send_verified` can verify them first. A redirect is never followed or retried.

        :param method: HTTP method.
        :param path: path starting with ``/v1/``.
        :param body: JSON body, if any.
        :param params: query parameters.
        """
        payload = encode_body(body)
        policy = self.settings.retry_policy
        attempt = 0
        while True:
            try:
                return self._send_once(method, path, payload, params)
            except (FivetranTransportError, FivetranAPIError) as error:
                attempt += 1
                wait = _wait_before_retry(policy, error, method, path, attempt)
                if wait is None:
                    raise
                time.sleep(wait)

    # ------------------------------------------------------------------ API calls

    def get_connection_details(self, connection_id: str) -> dict[str, Any]:
        """Read a connection (``GET /v1/connections/{id}``).

        :param connection_id: the Fivetran connection id.
        :return: the connection object (``data``).
        """
        path = self._connection_path(connection_id)
        return envelope_data(self.request("GET", path), "GET", path)

    def update_connection(
        self,
        connection_id: str,
        *,
        current_state: Mapping[str, Any] | None = None,
        **update_fields: Any,
    ) -> dict[str, Any]:
        """Update a connection (``PATCH /v1/connections/{id}``) after validating every field.

        Every documented request-body field is accepted (see :mod:`fivetran_provider.fields`).
        Values given as text (rendered templates) are coerced; ``None`` means "not given". Bad
        input raises :class:`~fivetran_provider.exceptions.FivetranValidationError` before any
        request is sent.

        ``run_setup_tests`` is sent as **false** unless you set it: Fivetran's own default is
        true, which would spend the setup-test rate limit on every pause or schedule change.

        If the PATCH times out or answers 5xx, the connection is read back first: when the
        change is already there (Fivetran documents that pausing a busy connection can answer
        500 although it worked) it is not sent again; otherwise only what is missing is re-sent.

        :param connection_id: the Fivetran connection id.
        :param current_state: the connection as just read, if known; lets cross-field rules use
            its settings (e.g. ``daily_sync_time`` on a connection already at 1440 minutes).
        :param update_fields: PATCH body fields.
        :return: the updated connection object (``data``).
        """
        path = self._connection_path(connection_id)
        body = fields.validate_update(update_fields, current=current_state)
        body.setdefault("run_setup_tests", False)
        encode_body(body)
        register_secret_strings(body)
        baseline = current_state
        if baseline is None and body.get("is_historical_sync") is True:
            baseline = self.get_connection_details(connection_id)
        log.info("Updating Fivetran connection %s: %s", connection_id, ", ".join(sorted(body)))

        def remaining(current: dict[str, Any], sent: Mapping[str, Any]) -> dict[str, Any] | None:
            return outcome.remaining_update(baseline, current, sent) or None

        envelope = self.send_verified(
            "PATCH", path, body, connection_id=connection_id, remaining=remaining, expect_data=True
        )
        return envelope_data(envelope, "PATCH", path)

    def send_verified(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        *,
        connection_id: str,
        remaining: Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any] | None],
        expect_data: bool = False,
    ) -> dict[str, Any]:
        """Send a request with a side effect; after an unknown outcome, read before re-sending.

        When the answer is a 5xx, a dropped connection, a timeout or a malformed answer, the
        connection is read (with the retry policy, and a second time if that read fails) and
        ``remaining`` decides from it what is still to be sent. Nothing left: the read is
        returned as the envelope's ``data``. A redirect is never followed nor re-sent; a read
        that fails twice raises
        :class:`~fivetran_provider.exceptions.FivetranOutcomeUnknownError`.

        :param method: HTTP method (``PATCH`` or ``POST``).
        :param path: request path.
        :param body: the validated request body.
        :param connection_id: the connection the request changes.
        :param remaining: ``(connection as read now, body sent) -> body still to send, or None``.
        :param expect_data: a success must carry a ``data`` object (a PATCH answer); one without
            counts as an unknown outcome.
        :return: the response envelope.
        """
        policy = self.settings.retry_policy
        attempts = 0
        while True:
            try:
                envelope = self.request(method, path, body=body)
                if expect_data:
                    envelope_data(envelope, method, path)
                return envelope
            except (FivetranTransportError, FivetranAPIError) as error:
                if isinstance(error, FivetranRedirectError) or not outcome.outcome_unknown(error):
                    raise
                if attempts >= policy.max_retries:
                    raise
                attempts += 1
                log.warning(
                    "Outcome of %s %s unknown (%s); reading the connection back", method, path, short_error(error)
                )
                time.sleep(policy.backoff(attempts))
                current = self._read_to_verify(connection_id, method, path, error)
                rest = remaining(current, body)
                if rest is None:
                    log.info("%s %s had been applied; not sending it again", method, path)
                    return {"code": "Success", "message": "verified by reading the connection back", "data": current}
                body = rest
                log.info("Re-sending the part of %s %s not yet applied: %s", method, path, ", ".join(sorted(body)))

    def _read_to_verify(self, connection_id: str, method: str, path: str, cause: BaseException) -> dict[str, Any]:
        """Read a connection after an unknown outcome; a second chance if the first read fails.

        :param connection_id: the connection.
        :param method: method of the request being verified.
        :param path: path of the request being verified.
        :param cause: why its outcome is unknown.
        """
        last: BaseException | None = None
        for _chance in range(2):
            try:
                return self.get_connection_details(connection_id)
            except (FivetranTransportError, FivetranAPIError) as error:
                last = error
        assert last is not None
        raise FivetranOutcomeUnknownError(method, path, short_error(cause), short_error(last)) from cause

    def list_connections(
        self, group_id: str | None = None, schema: str | None = None, *, page_size: int = 1000
    ) -> list[dict[str, Any]]:
        """List connections, following ``next_cursor`` until the last page.

        :param group_id: only connections of this group (destination).
        :param schema: only the connection with this exact schema (connection name).
        :param page_size: items per page (1 to 1000).
        """
        page_size = fields.coerce_int("page_size", page_size)
        if not 1 <= page_size <= 1000:
            raise fields.FivetranValidationError("page_size", page_size, "an integer from 1 to 1000")
        if group_id is not None:
            fields.validate_connection_id(group_id, "group_id")
        params: dict[str, Any] = {"limit": page_size}
        if group_id:
            params["group_id"] = group_id
        if schema:
            params["schema"] = schema
        items: list[dict[str, Any]] = []
        while True:
            data = envelope_data(self.request("GET", "/v1/connections", params=params), "GET", "/v1/connections")
            page = data.get("items")
            if not isinstance(page, list):
                raise FivetranUnexpectedResponseError(
                    200, None, "list has no 'items' array", method="GET", path="/v1/connections"
                )
            items.extend(item for item in page if isinstance(item, dict))
            cursor = data.get("next_cursor")
            if not cursor:
                return items
            params["cursor"] = cursor

    def start_sync(
        self, connection_id: str, force: bool = False, *, baseline: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a sync now (``POST /v1/connections/{id}/sync``), at most once.

        If the outcome is unknown the connection is read and the request is sent again only if
        no sync has started since ``baseline``.

        :param connection_id: the Fivetran connection id.
        :param force: if a sync is running, stop and restart it (otherwise leave it running).
        :param baseline: the connection as read just before (read here when not given).
        :return: the response envelope (``code`` and ``message``).
        """
        path = self._connection_path(connection_id) + "/sync"
        force = fields.coerce_bool("force", force)
        before = self.get_connection_details(connection_id) if baseline is None else baseline

        def remaining(current: dict[str, Any], sent: Mapping[str, Any]) -> dict[str, Any] | None:
            return dict(sent) if outcome.sync_needs_resend(before, current) else None

        return self.send_verified("POST", path, {"force": force}, connection_id=connection_id, remaining=remaining)

    def resync(
        self,
        connection_id: str,
        scope: Mapping[str, Any] | str | None = None,
        *,
        baseline: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Start a historical re-sync (``POST /v1/connections/{id}/resync``), at most once.

        If the outcome is unknown the connection is read and the request is sent again only if
        no historical sync (table-level: no sync) has started since ``baseline``.

        :param connection_id: the Fivetran connection id.
        :param scope: ``None`` for the whole connection, or a non-empty map of schema name to
            a non-empty list of table names.
        :param baseline: the connection as read just before (read here when not given).
        :return: the response envelope (``code`` and ``message``).
        """
        path = self._connection_path(connection_id) + "/resync"
        checked = fields.validate_resync_scope(scope)
        body: dict[str, Any] = {} if checked is None else {"scope": checked}
        encode_body(body)
        before = self.get_connection_details(connection_id) if baseline is None else baseline

        def remaining(current: dict[str, Any], sent: Mapping[str, Any]) -> dict[str, Any] | None:
            return dict(sent) if outcome.resync_needs_resend(before, current, checked) else None

        return self.send_verified("POST", path, body, connection_id=connection_id, remaining=remaining)

    def run_connection_setup_tests(self, connection_id: str) -> dict[str, Any]:
        """Run a connection's setup tests without changing it (``POST /v1/connections/{id}/test``).

        Counts against Fivetran's setup-test rate limit. Running them again is harmless, so an
        unknown outcome may simply be retried.

        :param connection_id: the Fivetran connection id.
        :return: the connection object (``data``) with ``setup_tests`` and the new ``status.setup_state``.
        """
        path = self._connection_path(connection_id) + "/test"
        return envelope_data(self.request("POST", path, body={}), "POST", path)

    def get_schema_config(self, connection_id: str) -> dict[str, Any]:
        """Read which schemas and tables a connection syncs (``GET /v1/connections/{id}/schemas``).

        :param connection_id: the Fivetran connection id.
        :return: ``data``: ``schemas`` keyed by source schema name, each with ``enabled``,
            ``name_in_destination`` and ``tables`` (likewise).
        """
        path = self._connection_path(connection_id) + "/schemas"
        return envelope_data(self.request("GET", path), "GET", path)

    def get_account_info(self) -> dict[str, Any]:
        """Read the account the API key belongs to (``GET /v1/account/info``)."""
        return envelope_data(self.request("GET", "/v1/account/info"), "GET", "/v1/account/info")

    def test_connection(self) -> tuple[bool, str]:
        """Check the credentials with a cheap, read-only call; used by the UI's Test button."""
        try:
            info = self.get_account_info()
        except Exception as error:  # the UI wants a message, not a traceback
            return False, short_error(error)
        name = info.get("account_name") or info.get("account_id") or "unknown account"
        return True, f"Connected to Fivetran account {name}"

    @staticmethod
    def _connection_path(connection_id: str) -> str:
        return "/v1/connections/" + quote(fields.validate_connection_id(connection_id), safe="")


def register_secret_strings(body: Mapping[str, Any]) -> None:
    """Register every string inside ``config``, ``auth`` and ``external_secrets_keys_config`` as a secret.

    Whatever the key: a secret under a key such as ``pwd`` is as secret as one under ``password``.

    :param body: a validated PATCH body.
    """
    for name in fields.SENSITIVE_FIELDS:
        for text in fields.strings_in(body.get(name)):
            # Airflow's masker ignores (and warns about) values this short; "******" is no secret.
            if len(text) >= MIN_MASKED_LENGTH and text != fields.MASKED_VALUE:
                mask_secret(text)


def _wait_before_retry(
    policy: RetryPolicy, error: FivetranTransportError | FivetranAPIError, method: str, path: str, attempt: int
) -> float | None:
    """:func:`retry_wait`, saying in the log what is retried and when."""
    wait = retry_wait(policy, error, method, attempt)
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


# ---------------------------------------------------------------------- async HTTP clients

_PoolKey = tuple[asyncio.AbstractEventLoop, str, str, float, float]


class _AsyncClientPool:
    """A few ``httpx.AsyncClient``, each carrying one request at a time on one kept-alive connection.

    Clients are built on demand, up to ``size``; once all are busy, further requests wait for
    one to come free, first come first served. All clients share one TLS context, so the CA
    bundle is loaded once per pool rather than once per client. Offers the part of
    ``httpx.AsyncClient`` the async hook uses (``request``, ``aclose``).

    :param settings: the base URL, credentials and timeouts of every client.
    :param size: the most clients, i.e. requests in flight at once (``None``:
        :data:`MAX_CONCURRENT_REQUESTS`).
    """

    def __init__(self, settings: ClientSettings, size: int | None = None) -> None:
        self.size = MAX_CONCURRENT_REQUESTS if size is None else size
        self.users = 0  # hooks that borrowed the pool from the registry and have not released it
        self.clients: list[httpx.AsyncClient] = []
        self._settings = settings
        self._idle: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()  # warmest connection first
        self._tls: ssl.SSLContext | None = None
        self._tls_loading: asyncio.Future[ssl.SSLContext] | None = None

    def _new_client(self) -> httpx.AsyncClient:
        import httpx

        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        settings = self._settings
        client = httpx.AsyncClient(
            base_url=settings.base_url,
            auth=(settings.api_key, settings.api_secret),
            headers={"Accept": ACCEPT, "Content-Type": "application/json", "User-Agent": USER_AGENT},
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            verify=self._tls,
        )
        self.clients.append(client)
        return client

    async def aprepare(self) -> None:
        """Load the CA bundle (tens of ms of CPU) in a worker thread, so the first request does not stall the loop."""
        if self._tls is not None:
            return
        if self._tls_loading is None:  # one thread for every hook asking at once
            import httpx

            self._tls_loading = asyncio.ensure_future(asyncio.to_thread(httpx.create_ssl_context))
        tls = await asyncio.shield(self._tls_loading)
        if self._tls is None:
            self._tls = tls

    async def request(self, method: str, url: str, *, deadline: float | None = None, **kwargs: Any) -> httpx.Response:
        """Send one request on a free client; the response body is read before the client is freed.

        :param method: HTTP method.
        :param url: path relative to the base URL.
        :param deadline: seconds the request may take once a client is free (the wait for a free
            client does not count); ``asyncio.TimeoutError`` when it is over.
        :param kwargs: further arguments of ``httpx.AsyncClient.request``.
        """
        if self._idle.empty() and len(self.clients) < self.size:
            client = self._new_client()
        else:
            client = await self._idle.get()
        try:
            if deadline is None:
                return await client.request(method, url, **kwargs)
            return await asyncio.wait_for(client.request(method, url, **kwargs), deadline)
        finally:
            self._idle.put_nowait(client)

    @property
    def is_closed(self) -> bool:
        """Whether every client built so far is closed."""
        return all(client.is_closed for client in self.clients)

    async def aclose(self) -> None:
        """Close every client of the pool."""
        for client in self.clients:
            await client.aclose()


#: The pools shared by the async hooks of each event loop, by :func:`_pool_key`. Building an
#: ``httpx.AsyncClient`` loads the CA bundle (about 15 ms of CPU on the event loop, plus memory);
#: with hundreds of triggers each building its own, that alone stalls the triggerer. A pool
#: counts the hooks using it and is closed and dropped when the last one calls
#: :meth:`FivetranAsyncHook.aclose`.
_shared_pools: dict[_PoolKey, _AsyncClientPool] = {}


def _pool_key(settings: ClientSettings) -> _PoolKey:
    """Which shared pool hooks with these settings use on the running event loop.

    The credentials enter the key only as a SHA-256 digest. The retry policy does not enter it:
    retries happen in the hook, not in the clients.

    :param settings: the hook's resolved settings.
    """
    digest = hashlib.sha256(f"{settings.api_key}\0{settings.api_secret}".encode()).hexdigest()
    return (
        asyncio.get_running_loop(),
        settings.base_url,
        digest,
        settings.connect_timeout,
        settings.read_timeout,
    )


def _borrow_pool(settings: ClientSettings) -> tuple[_PoolKey, _AsyncClientPool]:
    """Take a share of the running loop's pool for these settings, creating it if need be.

    Does not await, so two hooks borrowing at once cannot create two pools for one key.

    :param settings: the hook's resolved settings.
    :return: the pool's registry key (to release it with) and the pool.
    """
    key = _pool_key(settings)
    pool = _shared_pools.get(key)
    if pool is None:
        # Forget the pools of event loops that ended without their hooks being closed: their
        # clients cannot be used (nor closed) any more, and the registry must not grow forever.
        for stale in [other for other in _shared_pools if other[0].is_closed()]:
            del _shared_pools[stale]
        pool = _shared_pools[key] = _AsyncClientPool(settings)
    pool.users += 1
    return key, pool


async def _release_pool(key: _PoolKey, pool: _AsyncClientPool) -> None:
    """Give back a share taken with :func:`_borrow_pool`; the last one out closes the pool.

    :param key: the registry key :func:`_borrow_pool` returned.
    :param pool: the pool it returned.
    """
    pool.users -= 1
    if pool.users > 0:
        return
    if _shared_pools.get(key) is pool:
        del _shared_pools[key]
    await pool.aclose()


class FivetranAsyncHook(FivetranHook):
    """The asynchronous side of :class:`FivetranHook`, for triggers running in the triggerer's event loop.

    Nothing here blocks the loop: the Airflow connection and its extras are read through
    Airflow's async API, secrets are masked with its async masker, HTTP goes through
    ``httpx.AsyncClient`` and waits use ``asyncio.sleep``. Errors and retries follow exactly the
    same rules as the synchronous hook (:func:`retry_wait`).

    The hooks of one event loop that use the same API URL, credentials and timeouts share one
    small pool of HTTP clients (at most :data:`MAX_CONCURRENT_REQUESTS` requests in flight, one
    TLS context) instead of building one client each, which with hundreds of triggers would
    stall the loop and cost a lot of memory. A hook borrows the pool on its first request and
    gives it back in :meth:`aclose`, which must be called when the hook is done (the last hook
    to give a pool back closes it).

    :param fivetran_conn_id: the Airflow connection id.
    :param connect_timeout: seconds to wait for a TCP connection.
    :param read_timeout: seconds to wait for an answer.
    :param retry_policy: a :class:`~fivetran_provider.retry.RetryPolicy` or a mapping of its fields.
    :param share_clients: share the event loop's pool of HTTP clients with other hooks; with
        False the hook builds its own clients (the trigger benchmark compares both).
    :param call_deadline: seconds one whole call may take, answer included.
    """

    def __init__(
        self,
        fivetran_conn_id: str = FivetranHook.default_conn_name,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
        share_clients: bool = True,
        call_deadline: float | None = None,
    ) -> None:
        super().__init__(
            fivetran_conn_id,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry_policy=retry_policy,
            call_deadline=call_deadline,
        )
        self.share_clients = share_clients
        self._async_settings: ClientSettings | None = None
        self._pool: _AsyncClientPool | None = None
        self._pool_key: _PoolKey | None = None  # set while a shared pool is borrowed

    async def asettings(self) -> ClientSettings:
        """Resolve the client settings without blocking the event loop (cached)."""
        if self._async_settings is None:
            conn = await aget_connection(self.fivetran_conn_id)
            await amask_secret(self._api_secret(conn))
            self._async_settings = self._settings_from(conn, await aextra_dejson(conn))
        return self._async_settings

    async def _aclient(self) -> _AsyncClientPool:
        """The HTTP clients of this hook: the shared pool (borrowed until :meth:`aclose`) or its own."""
        pool = self._pool
        if pool is None:
            settings = await self.asettings()
            pool = self._pool
            if pool is None:  # still none after the await: no other request of this hook got one
                if self.share_clients:
                    self._pool_key, pool = _borrow_pool(settings)
                else:
                    pool = _AsyncClientPool(settings)
                self._pool = pool
        return pool

    async def arequest(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request with the retry policy, asynchronously; return the response envelope.

        :param method: HTTP method.
        :param path: path starting with ``/v1/``.
        :param body: JSON body, if any.
        :param params: query parameters.
        """
        import httpx

        payload = encode_body(body)
        client = await self._aclient()
        settings = await self.asettings()
        policy = settings.retry_policy
        attempt = 0
        while True:
            try:
                try:
                    response = await client.request(
                        method,
                        path,
                        content=payload,
                        params=params,
                        follow_redirects=False,
                        deadline=settings.call_deadline,
                    )
                    text = response.text
                except asyncio.TimeoutError:
                    raise FivetranDeadlineError(method, path, settings.call_deadline) from None
                except (httpx.HTTPError, httpx.StreamError, OSError, UnicodeError, ValueError) as error:
                    raise FivetranTransportError(method, path, type(error).__name__) from None
                self._note_rate_limit(response.headers)
                return raise_for_response(response.status_code, text, response.headers, method, path)
            except (FivetranTransportError, FivetranAPIError) as error:
                attempt += 1
                wait = _wait_before_retry(policy, error, method, path, attempt)
                if wait is None:
                    raise
                await asyncio.sleep(wait)

    async def aget_connection_details(self, connection_id: str) -> dict[str, Any]:
        """Read a connection asynchronously (``GET /v1/connections/{id}``).

        :param connection_id: the Fivetran connection id.
        """
        path = self._connection_path(connection_id)
        return envelope_data(await self.arequest("GET", path), "GET", path)

    async def alist_group_connections(self, group_id: str, *, page_size: int = 1000) -> list[dict[str, Any]]:
        """Read every connection of a group asynchronously (``GET /v1/connections?group_id=``, all pages).

        :param group_id: the group (destination) id.
        :param page_size: items per page (1 to 1000).
        """
        fields.validate_connection_id(group_id, "group_id")
        params: dict[str, Any] = {"group_id": group_id, "limit": page_size}
        items: list[dict[str, Any]] = []
        while True:
            data = envelope_data(await self.arequest("GET", "/v1/connections", params=params), "GET", "/v1/connections")
            page = data.get("items")
            if not isinstance(page, list):
                raise FivetranUnexpectedResponseError(
                    200, None, "list has no 'items' array", method="GET", path="/v1/connections"
                )
            items.extend(item for item in page if isinstance(item, dict))
            cursor = data.get("next_cursor")
            if not cursor:
                return items
            params["cursor"] = cursor

    async def astart_sync(
        self, connection_id: str, force: bool = False, *, baseline: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a sync asynchronously (``POST /v1/connections/{id}/sync``), at most once.

        The same rule as :meth:`FivetranHook.start_sync`: after an unknown outcome the
        connection is read, and the request is sent again only if no sync has started since
        ``baseline``.

        :param connection_id: the Fivetran connection id.
        :param force: restart a running sync.
        :param baseline: the connection as read just before (read here when not given).
        """
        path = self._connection_path(connection_id) + "/sync"
        body = {"force": fields.coerce_bool("force", force)}
        before = await self.aget_connection_details(connection_id) if baseline is None else baseline
        policy = (await self.asettings()).retry_policy
        attempts = 0
        while True:
            try:
                return await self.arequest("POST", path, body=body)
            except (FivetranTransportError, FivetranAPIError) as error:
                if isinstance(error, FivetranRedirectError) or not outcome.outcome_unknown(error):
                    raise
                if attempts >= policy.max_retries:
                    raise
                attempts += 1
                await asyncio.sleep(policy.backoff(attempts))
                current: dict[str, Any] | None = None
                last: BaseException = error
                for _chance in range(2):
                    try:
                        current = await self.aget_connection_details(connection_id)
                        break
                    except (FivetranTransportError, FivetranAPIError) as verify_error:
                        last = verify_error
                if current is None:
                    raise FivetranOutcomeUnknownError("POST", path, short_error(error), short_error(last)) from error
                if not outcome.sync_needs_resend(before, current):
                    return {"code": "Success", "message": "verified by reading the connection back", "data": current}

    async def aclose(self) -> None:
        """Release the HTTP clients: give the shared pool back (the last user closes it) or close the own one.

        The hook can be used again afterwards; it then borrows anew.
        """
        pool, key = self._pool, self._pool_key
        self._pool = self._pool_key = None
        if pool is None:
            return
        if key is None:
            await pool.aclose()
        else:
            await _release_pool(key, pool)

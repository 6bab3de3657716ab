"""``FivetranHook``: the synchronous client (one ``requests.Session``), used by operators and sensors."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fivetran_provider import fields, outcome, secrets
from fivetran_provider._compat import BaseHook, mask_secret
from fivetran_provider.budget import DEFAULT_RESERVE, validate_reserve
from fivetran_provider.exceptions import (
    FivetranAPIError,
    FivetranConfigurationError,
    FivetranDeadlineError,
    FivetranTransportError,
    FivetranValidationError,
    short_error,
)
from fivetran_provider.hooks.answer import ACCEPT_ENCODING, READ_SIZE, AnswerBody
from fivetran_provider.hooks.core import (
    ACCEPT,
    DEFAULT_CONN_ID,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEADLINE_MARGIN,
    DEFAULT_READ_TIMEOUT,
    USER_AGENT,
    ClientSettings,
    PageGuard,
    Remaining,
    VerifiedSend,
    call_seconds,
    encode_body,
    envelope_data,
    list_page,
    observe_budget,
    positive_seconds,
    raise_for_response,
    resolve_base_url,
    wait_before_retry,
)
from fivetran_provider.retry import RetryPolicy, passes_deadline

if TYPE_CHECKING:
    import requests  # imported when the first session is built: DAG files that only build operators skip it

log = logging.getLogger("fivetran_provider.hooks")

LIST_PATH = "/v1/connections"
#: Kept-alive connections of a hook's session (pause and resume send up to ``max_parallel`` at once).
POOL_SIZE = 64


def _read_body(response: requests.Response, deadline_at: float, method: str, path: str, deadline: float) -> bytes:
    """Read a streamed answer piece by piece, bounded in time and size.

    Each socket read is bounded by the read timeout (and the call's watchdog), and the deadline
    is checked between reads, so an answer dripping in a byte at a time ends with
    :class:`~fivetran_provider.exceptions.FivetranDeadlineError` instead of holding the worker.
    The raw bytes are decoded by :class:`~fivetran_provider.hooks.answer.AnswerBody`, which
    caps the decoded size and tells an answer cut short.

    :param response: a response opened with ``stream=True``.
    :param deadline_at: ``time.monotonic()`` value by which the answer must be complete.
    :param method: the request method.
    :param path: the request path.
    :param deadline: the deadline in seconds (for the error message).
    """
    raw = response.raw
    body = AnswerBody(response.status_code, response.headers, method, path)
    while True:
        if time.monotonic() > deadline_at:
            raise FivetranDeadlineError(method, path, deadline)
        piece = raw.read1(READ_SIZE, decode_content=False)
        if not piece:
            if time.monotonic() > deadline_at:
                raise FivetranDeadlineError(method, path, deadline)
            return body.finish()
        body.feed(piece)


class FivetranHook(BaseHook):
    """Talk to the Fivetran REST API: read, update and sync connections.

    The Airflow connection (type ``fivetran``) holds the API key as login and the API secret as
    password. Its host is optional (``https://api.fivetran.com`` by default) and may carry a
    scheme and port so it can point at :class:`~fivetran_provider.testing.FivetranSimulator`.
    Extras (or the arguments below, which win): ``connect_timeout``, ``read_timeout``,
    ``call_deadline``, ``max_retries``, ``backoff_base``, ``backoff_max``, ``max_retry_after``,
    ``jitter``.

    One ``requests.Session`` per hook keeps connections alive across calls. Every request sends
    ``Accept: application/json;version=2``. HTTP 429 (and a 503 that says how long) waits for
    ``Retry-After`` (up to ``max_retry_after``), 5xx and network errors retry with exponential
    backoff and jitter. Inside a wait (:func:`~fivetran_provider.retry.deadline_scope`) no call or
    retry runs past the wait's deadline. Answers are read at most 32 MiB once decompressed.
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
    default_conn_name = DEFAULT_CONN_ID
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
        from fivetran_provider._provider_info import form_widgets

        return form_widgets()

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
            try:
                retry_policy = RetryPolicy.from_mapping(merged)
            except FivetranValidationError as error:
                raise FivetranConfigurationError(
                    f"Airflow connection {self.fivetran_conn_id!r}, extra {error.field!r}: {error}"
                ) from None
        connect_timeout = positive_seconds(
            "connect_timeout", self._connect_timeout or extra("connect_timeout") or DEFAULT_CONNECT_TIMEOUT
        )
        read_timeout = positive_seconds(
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
            call_deadline=positive_seconds("call_deadline", deadline),
            rate_limit_reserve=reserve,
        )

    def _resolved_settings(self) -> ClientSettings | None:
        """The settings if already resolved, without reading the Airflow connection."""
        return self.__dict__.get("settings")

    @property
    def rate_limit_remaining(self) -> int | None:
        """Requests left this hour for the account, as Fivetran last reported (``None`` before any answer)."""
        settings = self._resolved_settings()
        return None if settings is None else settings.budget.remaining

    def get_conn(self) -> requests.Session:
        """The hook's HTTP session (created on first use, then reused)."""
        return self.session

    @cached_property
    def session(self) -> requests.Session:
        """One keep-alive session with auth and headers, shared by every call of this hook."""
        import requests

        from fivetran_provider.hooks.watchdog import WatchedAdapter

        settings = self.settings
        session = requests.Session()
        session.auth = (settings.api_key, settings.api_secret)
        session.headers.update(
            {
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        adapter = WatchedAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
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
        import requests

        from fivetran_provider.hooks.watchdog import CallWatch

        settings = self.settings
        deadline = call_seconds(settings, method, path)
        session = self.session
        started = time.monotonic()
        watch = CallWatch(deadline)
        try:
            # The adapter is called directly: Session.request would parse a redirect's Location
            # (and fail on a malformed one) although redirects are never followed.
            prepared = session.prepare_request(
                requests.Request(method, settings.base_url + path, data=payload, params=params)
            )
            url = prepared.url or settings.base_url
            environment = session.merge_environment_settings(url, {}, True, None, None)
            with watch:
                response = session.get_adapter(url).send(
                    prepared,
                    stream=True,
                    timeout=(min(settings.connect_timeout, deadline), min(settings.read_timeout, deadline)),
                    verify=True if environment["verify"] is None else environment["verify"],
                    cert=environment["cert"],
                    proxies=environment["proxies"],
                )
                try:
                    content = _read_body(response, started + deadline, method, path, deadline)
                finally:
                    response.close()
        except (FivetranTransportError, FivetranAPIError):
            if watch.fired:
                raise FivetranDeadlineError(method, path, deadline) from None
            raise
        except Exception as error:  # requests, urllib3, http.client and socket errors alike: no answer
            if watch.fired or time.monotonic() - started >= deadline:
                raise FivetranDeadlineError(method, path, deadline) from None
            raise FivetranTransportError(method, path, type(error).__name__) from None
        log.debug("%s %s -> %s in %.3f s", method, path, response.status_code, time.monotonic() - started)
        observe_budget(settings, response.headers, response.status_code)
        text = content.decode("utf-8", errors="replace")
        return raise_for_response(response.status_code, text, response.headers, method, path)

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
                wait = wait_before_retry(policy, error, method, path, attempt)
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
        secrets.register_body(body, current_state)
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
        remaining: Remaining,
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
        plan = VerifiedSend(method, path, body, remaining, self.settings.retry_policy)
        while True:
            try:
                envelope = self.request(method, path, body=plan.body)
                if expect_data:
                    envelope_data(envelope, method, path)
                return envelope
            except (FivetranTransportError, FivetranAPIError) as error:
                wait = plan.wait_before_reading(error)
                if wait is None or passes_deadline(wait):
                    raise
                time.sleep(wait)
                verified = plan.judge(self._read_back(plan, error, connection_id))
                if verified is not None:
                    return verified

    def _read_back(self, plan: VerifiedSend, cause: BaseException, connection_id: str) -> dict[str, Any]:
        """Read a connection after an unknown outcome; a second chance if the first read fails.

        :param plan: the request being verified.
        :param cause: why its outcome is unknown.
        :param connection_id: the connection it changes.
        :raises FivetranOutcomeUnknownError: if no read succeeds.
        """
        try:
            return self.get_connection_details(connection_id)
        except (FivetranTransportError, FivetranAPIError):
            pass  # a second chance: the read may fail for the same passing reason as the request
        try:
            return self.get_connection_details(connection_id)
        except (FivetranTransportError, FivetranAPIError) as error:
            raise plan.unverified(cause, error) from cause

    def list_connections(
        self, group_id: str | None = None, schema: str | None = None, *, page_size: int = 1000
    ) -> list[dict[str, Any]]:
        """List connections, following ``next_cursor`` until the last page.

        A cursor that repeats, or a listing longer than :data:`~fivetran_provider.hooks.core.MAX_PAGES`
        pages, ends with :class:`~fivetran_provider.exceptions.FivetranPagingError`.

        :param group_id: only connections of this group (destination).
        :param schema: only the connection with this exact schema (connection name).
        :param page_size: items per page (1 to 1000).
        """
        page_size = fields.coerce_int("page_size", page_size)
        if not 1 <= page_size <= 1000:
            raise fields.FivetranValidationError("page_size", page_size, "an integer from 1 to 1000")
        if group_id is not None:
            fields.validate_connection_id(group_id, "group_id")
        if schema is not None:
            try:
                str(schema).encode("utf-8")
            except UnicodeEncodeError:
                raise fields.FivetranValidationError(
                    "schema", schema, "a connection name that is text (no lone surrogates)"
                ) from None
        params: dict[str, Any] = {"limit": page_size}
        if group_id:
            params["group_id"] = group_id
        if schema:
            params["schema"] = schema
        items: list[dict[str, Any]] = []
        guard = PageGuard(LIST_PATH, params)
        while True:
            page, cursor = list_page(self.request("GET", LIST_PATH, params=params), LIST_PATH)
            items.extend(page)
            cursor = guard.next_cursor(cursor)
            if cursor is None:
                return items
            params["cursor"] = cursor

    def start_sync(
        self, connection_id: str, force: bool = False, *, baseline: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a sync now (``POST /v1/connections/{id}/sync``), at most once.

        If the outcome is unknown the connection is read and the request is sent again only if
        no sync has started since ``baseline``; a forced sync sent while a sync was running is sent
        again, since no read can show the restart and forcing again only restarts
        (:mod:`fivetran_provider.outcome`).

        :param connection_id: the Fivetran connection id.
        :param force: if a sync is running, stop and restart it (otherwise leave it running).
        :param baseline: the connection as read just before (read here when not given).
        :return: the response envelope (``code`` and ``message``).
        """
        path = self._connection_path(connection_id) + "/sync"
        force = fields.coerce_bool("force", force)
        before = self.get_connection_details(connection_id) if baseline is None else baseline
        return self.send_verified(
            "POST",
            path,
            {"force": force},
            connection_id=connection_id,
            remaining=self._resend_unless_synced(before, force),
        )

    @staticmethod
    def _resend_unless_synced(before: Mapping[str, Any], force: bool = False) -> Remaining:
        """The judge of a ``POST /sync`` read-back: send it again unless the read shows it took effect.

        :param before: the connection as read before the request.
        :param force: whether it is a forced sync (one against a running sync is always sent again).
        """

        def remaining(current: dict[str, Any], sent: Mapping[str, Any]) -> dict[str, Any] | None:
            return dict(sent) if outcome.sync_needs_resend(before, current, force) else None

        return remaining

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

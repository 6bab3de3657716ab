"""``FivetranHook``: authentication, the HTTP session, retries and typed errors for the Fivetran API."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from fivetran_provider import __version__, fields
from fivetran_provider._compat import (
    AIRFLOW_VERSION,
    BaseHook,
    aextra_dejson,
    aget_connection,
    amask_secret,
    mask_secret,
)
from fivetran_provider.exceptions import (
    FivetranAPIError,
    FivetranConfigurationError,
    FivetranRateLimitError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
    error_class_for_status,
    short_error,
)
from fivetran_provider.retry import RETRY, VERIFY, RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    import ssl

    import httpx

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.fivetran.com"
ACCEPT = "application/json;version=2"
USER_AGENT = f"airflow-provider-fivetran-connections/{__version__} apache-airflow/{AIRFLOW_VERSION}"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 90.0  # Fivetran stops server-side work after 60 s; wait a little longer.
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


def raise_for_response(status: int, text: str, headers: Mapping[str, str], method: str, path: str) -> dict[str, Any]:
    """Interpret one HTTP answer: return the JSON envelope of a success, raise a typed error otherwise.

    Shared by the synchronous hook and the asynchronous trigger client.

    :param status: HTTP status.
    :param text: the response body as text.
    :param headers: the response headers (case-insensitive mapping).
    :param method: the request method.
    :param path: the request path.
    """
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
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
    if isinstance(error, FivetranTransportError):
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
    """

    base_url: str
    api_key: str
    api_secret: str
    connect_timeout: float
    read_timeout: float
    retry_policy: RetryPolicy

    def __repr__(self) -> str:
        return f"ClientSettings(base_url={self.base_url!r}, api_key=<hidden>, api_secret=<hidden>)"


class FivetranHook(BaseHook):
    """Talk to the Fivetran REST API: read, update and sync connections.

    The Airflow connection (type ``fivetran``) holds the API key as login and the API secret as
    password. Its host is optional (``https://api.fivetran.com`` by default) and may carry a
    scheme and port so it can point at :class:`~fivetran_provider.testing.FivetranSimulator`.
    Extras (or the arguments below, which win): ``connect_timeout``, ``read_timeout``,
    ``max_retries``, ``backoff_base``, ``backoff_max``, ``max_retry_after``, ``jitter``.

    One ``requests.Session`` per hook keeps connections alive across calls. Every request sends
    ``Accept: application/json;version=2``. HTTP 429 waits for ``Retry-After`` (up to
    ``max_retry_after``), 5xx and network errors retry with exponential backoff and jitter, and
    a PATCH whose outcome is unknown is checked with a GET before it is sent again.

    :param fivetran_conn_id: the Airflow connection id.
    :param connect_timeout: seconds to wait for a TCP connection.
    :param read_timeout: seconds to wait for an answer (keep it above Fivetran's 60 s limit).
    :param retry_policy: a :class:`~fivetran_provider.retry.RetryPolicy` or a mapping of its fields.
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
    ) -> None:
        super().__init__()
        self.fivetran_conn_id = fivetran_conn_id
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._retry_policy = retry_policy
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
            retry_policy = RetryPolicy.from_mapping(merged)
        return ClientSettings(
            base_url=resolve_base_url(conn.host, conn.port),
            api_key=conn.login,
            api_secret=api_secret,
            connect_timeout=float(self._connect_timeout or extra("connect_timeout") or DEFAULT_CONNECT_TIMEOUT),
            read_timeout=float(self._read_timeout or extra("read_timeout") or DEFAULT_READ_TIMEOUT),
            retry_policy=retry_policy,
        )

    def get_conn(self) -> requests.Session:
        """The hook's HTTP session (created on first use, then reused)."""
        return self.session

    @cached_property
    def session(self) -> requests.Session:
        """One keep-alive session with auth and headers, shared by every call of this hook."""
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

    def _send_once(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
        settings = self.settings
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                settings.base_url + path,
                data=None if body is None else json.dumps(body),
                params=params,
                timeout=(settings.connect_timeout, settings.read_timeout),
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise FivetranTransportError(method, path, type(error).__name__) from None
        log.debug("%s %s -> %s in %.3f s", method, path, response.status_code, time.monotonic() - started)
        self._note_rate_limit(response.headers)
        return raise_for_response(response.status_code, response.text, response.headers, method, path)

    def _note_rate_limit(self, headers: Mapping[str, str]) -> None:
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

        PATCH requests whose outcome is unknown are not re-sent here; they raise so that
        :meth:`update_connection` can verify them first.

        :param method: HTTP method.
        :param path: path starting with ``/v1/``.
        :param body: JSON body, if any.
        :param params: query parameters.
        """
        policy = self.settings.retry_policy
        attempt = 0
        while True:
            try:
                return self._send_once(method, path, body, params)
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
        log.info("Updating Fivetran connection %s: %s", connection_id, ", ".join(sorted(body)))
        attempts = 0
        policy = self.settings.retry_policy
        while True:
            try:
                return envelope_data(self.request("PATCH", path, body=body), "PATCH", path)
            except (FivetranTransportError, FivetranAPIError) as error:
                if (
                    isinstance(error, FivetranAPIError)
                    and policy.classify_status(error.status, method="PATCH") != VERIFY
                ):
                    raise
                if attempts >= policy.max_retries:
                    raise
                attempts += 1
                log.warning("Outcome of PATCH %s unknown (%s); reading the connection back", path, short_error(error))
                current = self.get_connection_details(connection_id)
                missing = fields.diff_update(current, body)
                if not missing:
                    log.info("The update of %s had been applied; not sending it again", connection_id)
                    return current
                body = fields.body_for_changes(missing, body)
                log.info("Re-sending the part of the update not yet applied: %s", ", ".join(sorted(missing)))
                time.sleep(policy.backoff(attempts))

    def list_connections(
        self, group_id: str | None = None, schema: str | None = None, *, page_size: int = 1000
    ) -> list[dict[str, Any]]:
        """List connections, following ``next_cursor`` until the last page.

        :param group_id: only connections of this group (destination).
        :param schema: only the connection with this exact schema (connection name).
        :param page_size: items per page (1 to 1000).
        """
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

    def start_sync(self, connection_id: str, force: bool = False) -> dict[str, Any]:
        """Start a sync now (``POST /v1/connections/{id}/sync``).

        :param connection_id: the Fivetran connection id.
        :param force: if a sync is running, stop and restart it (otherwise leave it running).
        :return: the response envelope (``code`` and ``message``).
        """
        path = self._connection_path(connection_id) + "/sync"
        force = fields.coerce_bool("force", force)
        return self.request("POST", path, body={"force": force})

    def resync(self, connection_id: str, scope: Mapping[str, Any] | str | None = None) -> dict[str, Any]:
        """Start a historical re-sync (``POST /v1/connections/{id}/resync``).

        :param connection_id: the Fivetran connection id.
        :param scope: ``None`` for the whole connection, or a non-empty map of schema name to
            a non-empty list of table names.
        :return: the response envelope (``code`` and ``message``).
        """
        path = self._connection_path(connection_id) + "/resync"
        checked = fields.validate_resync_scope(scope)
        return self.request("POST", path, body={} if checked is None else {"scope": checked})

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

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request on a free client; the response body is read before the client is freed.

        :param method: HTTP method.
        :param url: path relative to the base URL.
        :param kwargs: further arguments of ``httpx.AsyncClient.request``.
        """
        if self._idle.empty() and len(self.clients) < self.size:
            client = self._new_client()
        else:
            client = await self._idle.get()
        try:
            return await client.request(method, url, **kwargs)
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
    """

    def __init__(
        self,
        fivetran_conn_id: str = FivetranHook.default_conn_name,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
        share_clients: bool = True,
    ) -> None:
        super().__init__(
            fivetran_conn_id, connect_timeout=connect_timeout, read_timeout=read_timeout, retry_policy=retry_policy
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

        client = await self._aclient()
        policy = (await self.asettings()).retry_policy
        attempt = 0
        while True:
            try:
                try:
                    response = await client.request(
                        method, path, content=None if body is None else json.dumps(body), params=params
                    )
                except httpx.TransportError as error:
                    raise FivetranTransportError(method, path, type(error).__name__) from None
                self._note_rate_limit(response.headers)
                return raise_for_response(response.status_code, response.text, response.headers, method, path)
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

    async def astart_sync(self, connection_id: str, force: bool = False) -> dict[str, Any]:
        """Start a sync asynchronously (``POST /v1/connections/{id}/sync``).

        :param connection_id: the Fivetran connection id.
        :param force: restart a running sync.
        """
        path = self._connection_path(connection_id) + "/sync"
        return await self.arequest("POST", path, body={"force": fields.coerce_bool("force", force)})

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

"""HTTP server wrapper of the Fivetran API simulator: :class:`FivetranSimulator`."""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from fivetran_provider.testing.clock import SimulatedClock
from fivetran_provider.testing.demo import seed_demo_account
from fivetran_provider.testing.faults import FaultInjector
from fivetran_provider.testing.handler import ApiHandler
from fivetran_provider.testing.http_messages import IncomingRequest
from fivetran_provider.testing.ratelimit import RateLimiter
from fivetran_provider.testing.recorder import MAX_RECORDS, RecordedRequest, RequestRecorder
from fivetran_provider.testing.state import PAUSED_SYNC_BEHAVIOURS, SimulatorState, to_epoch
from fivetran_provider.testing.webhook_delivery import Delivery, WebhookSender

_MAX_BODY = 16 * 1024 * 1024
_CHUNK_SIZE_RE = re.compile(rb"^[0-9A-Fa-f]{1,8}$")

#: Seconds a client connection may stay idle between requests, and the most one request may take
#: to arrive in full (however slowly its bytes trickle in), before the simulator closes it.
IDLE_TIMEOUT = 60.0

#: Most client connections served at once (one handler thread each); more get 503 and are closed.
MAX_CONNECTIONS = 256


class _BadRequestBody(Exception):
    """The request body could not be read (bad length or chunking)."""


class _SimulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server that remembers its open connections so they can be cut on shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(
        self,
        address: tuple[str, int],
        api: ApiHandler,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.api = api
        self.idle_timeout = idle_timeout
        self.on_answer: Callable[[str, str, int], None] | None = None
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a new client connection on its own thread, if one of the bounded slots is free."""
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        with self._open_lock:
            self._open.add(request)
        name = f"fivetran-simulator-{self.server_address[1]}-connection"
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address), name=name, daemon=True)
        try:
            thread.start()
        except RuntimeError:
            self._slots.release()
            self.shutdown_request(request)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients going away (or the simulator being stopped under them) is routine; stay quiet.
        return

    def close_open_connections(self) -> None:
        """Cut every kept-alive client connection."""
        with self._open_lock:
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _json_error_bytes(status: int, code: str, message: str, version: str = "HTTP/1.1") -> bytes:
    """A whole HTTP answer carrying Fivetran's error body, closing the connection."""
    body = json.dumps({"code": code, "message": message}).encode("utf-8")
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    head = (
        f"{version} {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _refuse_busy(request: socket.socket) -> None:
    """Tell a client over the connection limit to come back later (never blocks the accepting thread)."""
    with contextlib.suppress(OSError):
        request.settimeout(1.0)
        answer = _json_error_bytes(503, "ServiceUnavailable", "Too many open connections; retry shortly")
        request.sendall(answer.replace(b"Connection: close", b"Retry-After: 1\r\nConnection: close"))


#: Fivetran's error codes for the errors the HTTP layer itself answers.
_PROTOCOL_ERROR_CODES: dict[int, str] = {
    400: "InvalidInput",
    408: "RequestTimeout",
    413: "PayloadTooLarge",
    414: "UriTooLong",
    431: "RequestHeaderFieldsTooLarge",
    501: "NotImplemented",
    505: "HttpVersionNotSupported",
}


class _DeadlineReader(io.RawIOBase):
    """Socket reads under two limits: ``idle`` seconds for a request to begin, then ``whole`` for all of it.

    :param sock: the client socket.
    :param idle: seconds a kept-alive connection may wait for the next request.
    :param whole: seconds one request may take to arrive in full, counted from its first byte.
    """

    def __init__(self, sock: socket.socket, idle: float, whole: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle
        self._whole = whole
        self.deadline: float | None = None

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read what the socket has, waiting no longer than the limit that applies now.

        :param buffer: where to put the bytes.
        """
        if self.deadline is None:
            self._sock.settimeout(self._idle)
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request took longer than allowed to arrive")
            self._sock.settimeout(remaining)
        count = self._sock.recv_into(buffer)
        if count and self.deadline is None:
            self.deadline = time.monotonic() + self._whole
        return count


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one HTTP/1.1 request, passes it to :class:`ApiHandler` and writes the answer."""

    protocol_version = "HTTP/1.1"
    # Small answers must not wait for delayed ACKs (Nagle), or every keep-alive request costs ~40 ms.
    disable_nagle_algorithm = True
    server: _SimulatorHTTPServer

    def version_string(self) -> str:
        """Value of the ``Server`` header."""
        return "FivetranSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log (request lines can carry ids; bodies never logged)."""
        return

    def setup(self) -> None:
        """Read through :class:`_DeadlineReader`: idle and whole-request limits, not a per-read timeout."""
        super().setup()
        self._reader = _DeadlineReader(self.connection, self.server.idle_timeout, self.server.idle_timeout)
        self.rfile = io.BufferedReader(self._reader, 65536)

    def handle_one_request(self) -> None:
        """Serve one request; the whole-request deadline starts with its first byte."""
        self._reader.deadline = None
        super().handle_one_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer an error of the HTTP layer (414, 431, bad version, ...) with Fivetran's JSON error body.

        :param code: HTTP status.
        :param message: short description.
        :param explain: longer description (used as the message when given).
        """
        self.close_connection = True
        text = explain or message or HTTPStatus(code).phrase
        answer = _json_error_bytes(code, _PROTOCOL_ERROR_CODES.get(code, "Error"), text)
        with contextlib.suppress(OSError):
            self.wfile.write(answer)
            self.wfile.flush()
        if self.server.on_answer is not None:
            self.server.on_answer(getattr(self, "command", "") or "", getattr(self, "path", "") or "", code)

    def parse_request(self) -> bool:
        """Parse the request line and headers; an HTTP/0.9 request (no version) is closed at once."""
        words = self.raw_requestline.split()
        if len(words) == 2:
            self.close_connection = True
            return False
        return super().parse_request()

    def __getattr__(self, name: str) -> Any:
        # Any method name gets the API's answer (JSON 405 with Allow on a known route), not http.server's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                digits = line.split(b";", 1)[0].strip()
                if not _CHUNK_SIZE_RE.match(digits):  # no sign, no "0x", no empty size
                    raise _BadRequestBody
                size = int(digits, 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise _BadRequestBody
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise _BadRequestBody
                chunks.append(chunk)
                self.rfile.readline(65537)
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequestBody from None
        if length < 0 or length > _MAX_BODY:
            raise _BadRequestBody
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _BadRequestBody:
            payload = json.dumps({"code": "InvalidInput", "message": "Malformed request body"}).encode("utf-8")
            self.close_connection = True
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            if self.server.on_answer is not None:
                self.server.on_answer(self.command, self.path, 400)
            return
        request = IncomingRequest(self.command, self.path, list(self.headers.items()), body)
        response = self.server.api.handle(request)
        if self.server.on_answer is not None:
            self.server.on_answer(self.command, self.path, 0 if response.drop else response.status)
        if response.drop:
            self.close_connection = True
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.drip > 0:
            self._drip(response.body, response.drip)
            return
        self.wfile.write(response.body)

    def _drip(self, body: bytes, interval: float) -> None:
        """Send a body one byte at a time (a slow-drip fault); stop when the client goes away."""
        self.close_connection = True
        try:
            self.wfile.flush()
            for index in range(len(body)):
                time.sleep(interval)
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
        except OSError:
            return

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_HEAD = _serve
    do_OPTIONS = _serve


class FivetranSimulator:
    """A local stand-in for the Fivetran REST API (``/v1/...``), served over real HTTP.

    The server binds and starts serving as soon as the object is created; use it as a context
    manager (or call :meth:`stop`) to shut it down::

        with FivetranSimulator() as sim:
            conn = sim.add_connection(service="postgres")
            requests.get(f"{sim.url}/v1/connections/{conn['id']}", auth=(sim.api_key, sim.api_secret))

    :param host: interface to bind, ``127.0.0.1`` by default.
    :param port: TCP port; ``0`` picks a free one.
    :param api_key: Basic-auth user name expected from clients; random when ``None``.
    :param api_secret: Basic-auth password expected from clients; random when ``None``.
    :param seed_demo: add the demo account (two groups, a handful of connections).
    :param simulated_time: run on a :class:`~fivetran_provider.testing.clock.SimulatedClock` that
        moves only by :meth:`advance` (or ``speed`` times real time); scheduled syncs then start by
        themselves. The wall clock (and no scheduler) is the default.
    :param start_time: where simulated time starts (epoch, datetime or ISO string); now when ``None``.
    :param speed: simulated seconds per real second under simulated time (``0``: frozen between
        :meth:`advance` calls); a positive speed implies ``simulated_time``.
    :param idle_timeout: seconds an idle client connection is kept open, and the most one request
        may take to arrive in full.
    :param request_log_limit: most requests :attr:`requests` keeps (oldest forgotten first).
    :param max_connections: most client connections served at once; more are answered 503 and closed.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        api_secret: str | None = None,
        seed_demo: bool = False,
        *,
        simulated_time: bool = False,
        start_time: Any = None,
        speed: float = 0.0,
        idle_timeout: float = IDLE_TIMEOUT,
        request_log_limit: int = MAX_RECORDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.api_key = api_key if api_key is not None else secrets.token_hex(8)
        self.api_secret = api_secret if api_secret is not None else secrets.token_hex(16)
        self._clock: SimulatedClock | None = (
            SimulatedClock(to_epoch(start_time), speed=speed)
            if simulated_time or start_time is not None or speed > 0
            else None
        )
        self.state = SimulatorState(clock=self._clock)
        self._webhooks = WebhookSender()
        self.state.sink = self._webhooks.enqueue
        self.faults = FaultInjector()
        self._recorder = RequestRecorder(max_records=request_log_limit)
        self._limiter = RateLimiter()
        self._api = ApiHandler(self.state, self.faults, self._recorder, self._limiter, self.api_key, self.api_secret)
        self._server = _SimulatorHTTPServer((host, port), self._api, idle_timeout, max_connections)
        bound_host, bound_port = self._server.server_address[:2]
        self.host = str(bound_host)
        self.port = int(bound_port)
        self._thread: threading.Thread | None = None
        self._stopped = False
        if seed_demo:
            seed_demo_account(self.state)
        self.start()

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash, no ``/v1``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> FivetranSimulator:
        """Start serving (already done by the constructor; calling again is harmless).

        :return: the simulator itself.
        :raises RuntimeError: if the simulator was stopped.
        """
        if self._stopped:
            raise RuntimeError("a stopped FivetranSimulator cannot be restarted; create a new one")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name=f"fivetran-simulator-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and cut kept-alive connections (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
        self._server.close_open_connections()
        self._webhooks.stop()

    close = stop

    def __enter__(self) -> FivetranSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def airflow_connection_json(self, conn_type: str = "fivetran", extra: dict[str, Any] | None = None) -> str:
        """JSON for an ``AIRFLOW_CONN_<ID>`` environment variable pointing at this simulator.

        :param conn_type: Airflow connection type.
        :param extra: the connection's ``extra`` object.
        :return: ``{"conn_type", "host", "login", "password", "extra"}`` as a JSON string.
        """
        return json.dumps(
            {
                "conn_type": conn_type,
                "host": self.url,
                "login": self.api_key,
                "password": self.api_secret,
                "extra": dict(extra) if extra is not None else {},
            }
        )

    # ------------------------------------------------------------------ seeding

    def add_group(self, group_id: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Create a group (= destination).

        :param group_id: id to use; generated in ``word_word`` style when ``None``.
        :param name: group name.
        :return: ``{"id", "name", "created_at"}`` as the API returns it.
        """
        return self.state.add_group(group_id, name)

    def add_connection(
        self,
        connection_id: str | None = None,
        *,
        group_id: str | None = None,
        service: str = "postgres",
        schema: str | None = None,
        paused: bool = False,
        sync_frequency: int = 360,
        schedule_type: str = "auto",
        daily_sync_time: str | None = None,
        config: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
        succeeded_at: Any = None,
        failed_at: Any = None,
        is_historical_sync: bool = False,
        setup_state: str = "connected",
        **other_fields: Any,
    ) -> dict[str, Any]:
        """Create a connection (the group is created if missing).

        :param connection_id: id to use; generated in ``word_word`` style when ``None``.
        :param group_id: owning group; the first group (created if none) when ``None``.
        :param service: connector service, e.g. ``postgres``.
        :param schema: schema (connection name); ``<service>_<id>`` when ``None``.
        :param paused: start paused.
        :param sync_frequency: minutes between syncs.
        :param schedule_type: ``auto`` or ``manual``.
        :param daily_sync_time: ``HH:00``; returned only while ``sync_frequency`` is 1440.
        :param config: configuration; secret-looking keys are masked in reads.
        :param auth: auth object; stored, never returned over HTTP.
        :param succeeded_at: last success (epoch, datetime or ISO string) or ``None``.
        :param failed_at: last failure or ``None``.
        :param is_historical_sync: initial ``status.is_historical_sync``.
        :param setup_state: ``incomplete``, ``connected`` or ``broken``.
        :param other_fields: further connection fields, e.g. ``service_version``, ``created_at``,
            ``networking_method``, ``schema_status``, ``tasks``, ``warnings``; ``schema_config``
            (the API's shape) or ``schemas`` (shorthand) seed ``GET .../schemas``.
        :return: the connection exactly as ``GET /v1/connections/{id}`` would return it.
        """
        return self.state.add_connection(
            connection_id,
            group_id=group_id,
            service=service,
            schema=schema,
            paused=paused,
            sync_frequency=sync_frequency,
            schedule_type=schedule_type,
            daily_sync_time=daily_sync_time,
            config=config,
            auth=auth,
            succeeded_at=succeeded_at,
            failed_at=failed_at,
            is_historical_sync=is_historical_sync,
            setup_state=setup_state,
            **other_fields,
        )

    def add_connections(self, n: int, group_id: str | None = None, **kw: Any) -> list[dict[str, Any]]:
        """Create ``n`` connections at once (for benchmarks); ids are generated.

        :param n: how many.
        :param group_id: owning group (created if missing).
        :param kw: further :meth:`add_connection` keywords; a given ``schema`` gets ``_<i>`` appended.
        :return: the created connections.
        """
        schema = kw.pop("schema", None)
        kw.pop("connection_id", None)
        created = []
        for index in range(n):
            created.append(
                self.add_connection(group_id=group_id, schema=f"{schema}_{index}" if schema is not None else None, **kw)
            )
        return created

    def set_schema_config(self, connection_id: str, schema_config: dict[str, Any] | None) -> None:
        """Seed what ``GET /v1/connections/{id}/schemas`` answers (404 ``NotFound_SchemaConfig`` until set).

        :param connection_id: connection id.
        :param schema_config: ``{"schema_change_handling": ..., "schemas": {...}}``; ``None`` removes it.
        """
        self.state.set_schema_config(connection_id, schema_config)

    @property
    def answer_listener(self) -> Callable[[str, str, int], None] | None:
        """Called as ``listener(method, target, status)`` after every answer (status 0: dropped).

        The target is the request line's path and query; headers and bodies are never passed.
        """
        return self._server.on_answer

    @answer_listener.setter
    def answer_listener(self, listener: Callable[[str, str, int], None] | None) -> None:
        self._server.on_answer = listener

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> float:
        """The simulator's current time (epoch seconds): simulated time, or the wall clock."""
        return self.state.clock.now()

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0) -> float:
        """Let simulated time pass: runs end, scheduled syncs start, ``rescheduled_for`` arrives.

        Only for a simulator created with ``simulated_time=True`` (or a ``start_time``).

        :param seconds: seconds to add.
        :param minutes: minutes to add.
        :param hours: hours to add.
        :param days: days to add.
        :return: the new simulated time (epoch seconds).
        :raises RuntimeError: on the wall clock.
        """
        if self._clock is None:
            raise RuntimeError(
                "advance() needs FivetranSimulator(simulated_time=True); this one runs on the wall clock"
            )
        moved = self._clock.advance(seconds + 60.0 * minutes + 3600.0 * hours + 86400.0 * days)
        self.state.advance_all()  # runs that end on the way send their webhook events now
        return moved

    @property
    def scheduled_syncs(self) -> bool:
        """Whether connections sync by themselves at their ``sync_frequency`` / ``daily_sync_time``.

        On by default under simulated time, off on the wall clock.
        """
        return self.state.scheduled_syncs

    @scheduled_syncs.setter
    def scheduled_syncs(self, value: bool) -> None:
        with self.state.lock:
            self.state.scheduled_syncs = bool(value)

    @property
    def resync_finish_window(self) -> float:
        """Seconds a running sync may still need for ``POST /resync`` to let it finish first (default 60).

        A re-sync requested while a sync runs is accepted when that sync ends within the window (the
        re-sync starts as soon as it ends) and refused with 409 ``Conflict`` otherwise.
        """
        return self.state.resync_finish_window

    @resync_finish_window.setter
    def resync_finish_window(self, value: float) -> None:
        if value < 0:
            raise ValueError("resync_finish_window must not be negative")
        with self.state.lock:
            self.state.resync_finish_window = float(value)

    # ------------------------------------------------------------------ inspection

    def connection(self, connection_id: str) -> dict[str, Any]:
        """The current public view of a connection (the ``data`` of a GET), clock applied.

        :param connection_id: connection id.
        :raises KeyError: for an unknown id.
        """
        return self.state.connection_view(connection_id, api=False)

    def stored_auth(self, connection_id: str) -> dict[str, Any] | None:
        """The auth written for a connection (never exposed over HTTP), or ``None``.

        :param connection_id: connection id.
        """
        return self.state.stored_auth(connection_id)

    def stored_config(self, connection_id: str) -> dict[str, Any]:
        """The stored configuration with secrets in clear.

        :param connection_id: connection id.
        """
        return self.state.stored_config(connection_id)

    def sync_history(self, connection_id: str) -> list[dict[str, Any]]:
        """Sync runs of a connection, oldest first (``outcome`` ``None`` while running).

        Each item: ``started_at``, ``ended_at``, ``planned_end`` (epoch floats), ``outcome``
        (``success``/``failure``/``rescheduled``/``cancelled``), ``historical``, ``trigger``.

        :param connection_id: connection id.
        """
        return self.state.sync_history(connection_id)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copy of the request log, in the order received."""
        return self._recorder.snapshot()

    def requests_for(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Logged requests filtered by exact method and/or path.

        :param method: HTTP method (case-insensitive).
        :param path: exact path without query, e.g. ``/v1/connections/abc``.
        """
        return [
            r
            for r in self._recorder.snapshot()
            if (method is None or r.method.upper() == method.upper()) and (path is None or r.path == path)
        ]

    def clear_requests(self) -> None:
        """Forget the request log."""
        self._recorder.clear()

    @property
    def setup_tests_run(self) -> int:
        """How many times setup tests ran (PATCH without ``run_setup_tests: false``, or ``POST /test``)."""
        with self.state.lock:
            return self.state.setup_tests_run

    # ------------------------------------------------------------------ sync lifecycle control

    def plan_syncs(
        self,
        connection_id: str,
        *outcomes: str,
        duration: float = 0.0,
        rescheduled_delay: float = 1.0,
        failure_message: str = "Simulated sync failure",
    ) -> None:
        """Decide how the next runs of a connection end, one outcome consumed per run.

        Once the queue is empty, runs succeed after :attr:`default_sync_duration`.

        :param connection_id: connection id.
        :param outcomes: ``success``, ``failure`` or ``rescheduled``.
        :param duration: seconds each of these runs takes.
        :param rescheduled_delay: seconds from a rescheduled run's end to ``rescheduled_for``.
        :param failure_message: message of the ``sync_failed`` task a failed run leaves.
        """
        self.state.plan_syncs(
            connection_id,
            outcomes,
            duration=duration,
            rescheduled_delay=rescheduled_delay,
            failure_message=failure_message,
        )

    def finish_sync(self, connection_id: str, outcome: str = "success") -> dict[str, Any]:
        """End the running sync now, whatever its plan said.

        :param connection_id: connection id.
        :param outcome: ``success``, ``failure`` or ``rescheduled``.
        :return: the connection view afterwards.
        :raises RuntimeError: if no sync is running.
        """
        return self.state.finish_sync(connection_id, outcome)

    @property
    def default_sync_duration(self) -> float:
        """Seconds an unplanned run takes (0 by default: finished at the next read)."""
        return self.state.default_sync_duration

    @default_sync_duration.setter
    def default_sync_duration(self, value: float) -> None:
        if value < 0:
            raise ValueError("default_sync_duration must not be negative")
        with self.state.lock:
            self.state.default_sync_duration = float(value)

    @property
    def paused_sync_behaviour(self) -> str:
        """``ignore`` (200, no run; default) or ``reject`` (400) for ``POST /sync`` on a paused connection."""
        return self.state.paused_sync_behaviour

    @paused_sync_behaviour.setter
    def paused_sync_behaviour(self, value: str) -> None:
        if value not in PAUSED_SYNC_BEHAVIOURS:
            raise ValueError(f"paused_sync_behaviour must be one of {PAUSED_SYNC_BEHAVIOURS}")
        with self.state.lock:
            self.state.paused_sync_behaviour = value

    # ------------------------------------------------------------------ webhooks

    def add_webhook(
        self,
        url: str,
        *,
        events: tuple[str, ...] = ("sync_end",),
        group_id: str | None = None,
        secret: str | None = None,
    ) -> dict[str, Any]:
        """Create an active webhook (as ``POST /v1/webhooks/account`` or ``.../group/{id}`` would).

        :param url: where events are posted.
        :param events: the events it receives.
        :param group_id: a group webhook for this group; an account webhook when ``None``.
        :param secret: signs each event (``X-Fivetran-Signature-256``).
        :return: the webhook as the API returns it.
        """
        changes = {"url": url, "events": list(events), "active": True, "secret": secret}
        return self.state.create_webhook(changes, group_id)

    def flush_webhooks(self, timeout: float = 10.0) -> list[Delivery]:
        """Wait until every webhook event so far was sent; return all deliveries, oldest first.

        :param timeout: most seconds to wait.
        :raises TimeoutError: if the events were not all sent in time.
        """
        if not self._webhooks.flush(timeout):
            raise TimeoutError(f"webhook events were not all sent within {timeout} s")
        return self._webhooks.deliveries

    # ------------------------------------------------------------------ rate-limit budget

    @property
    def rate_limit_per_hour(self) -> int:
        """The ``X-Rate-Limit`` value (20,000 by default)."""
        return self._limiter.limit_per_hour

    @rate_limit_per_hour.setter
    def rate_limit_per_hour(self, value: int) -> None:
        self._limiter.limit_per_hour = int(value)

    @property
    def enforce_rate_limit(self) -> bool:
        """Answer 429 once the hourly budget is spent (off by default)."""
        return self._limiter.enforce

    @enforce_rate_limit.setter
    def enforce_rate_limit(self, value: bool) -> None:
        self._limiter.enforce = bool(value)

    def reset_rate_limit(self) -> None:
        """Give back the whole hourly budget."""
        self._limiter.reset()

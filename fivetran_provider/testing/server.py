"""The Fivetran API simulator as one object: :class:`FivetranSimulator` (state, faults, clock, HTTP server)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from fivetran_provider.testing.clock import SimulatedClock
from fivetran_provider.testing.demo import seed_demo_account
from fivetran_provider.testing.faults import FaultInjector
from fivetran_provider.testing.handler import ApiHandler
from fivetran_provider.testing.http_server import IDLE_TIMEOUT, MAX_CONNECTIONS, SimulatorHTTPServer
from fivetran_provider.testing.ratelimit import RateLimiter
from fivetran_provider.testing.recorder import MAX_RECORDS, RecordedRequest, RequestRecorder
from fivetran_provider.testing.state import PAUSED_SYNC_BEHAVIOURS, SimulatorState, to_epoch
from fivetran_provider.testing.webhook_delivery import Delivery, WebhookSender


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
        self._server = SimulatorHTTPServer((host, port), self._api, idle_timeout, max_connections)
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

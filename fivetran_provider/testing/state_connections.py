"""Connections of the simulated account: seeding, reads, updates, deletion and setup tests."""

from __future__ import annotations

import copy
from typing import Any

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.model import SEEDABLE_FIELDS, SETUP_STATES, Connection
from fivetran_provider.testing.schedules import apply_schedule
from fivetran_provider.testing.state_base import StateBase
from fivetran_provider.testing.state_schemas import schema_config_from_shorthand
from fivetran_provider.testing.timestamps import format_timestamp, to_epoch

# Keys that Fivetran only accepts when a connection is created.
_CREATE_ONLY_CONFIG_KEYS: tuple[str, ...] = ("schema", "table", "schema_prefix")


class ConnectionsState(StateBase):
    """Connections: everything ``/v1/connections`` and ``/v1/connections/{id}`` read and write."""

    setup_tests_run: int

    def add_connection(
        self,
        connection_id: str | None = None,
        *,
        group_id: str | None = None,
        service: str = "postgres",
        schema: str | None = None,
        paused: bool = False,
        sync_frequency: int | None = 360,
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
        """Create a connection directly in the state (no validation beyond basic sanity).

        :param connection_id: id to use; generated in ``word_word`` style when ``None``.
        :param group_id: owning group; created when missing; the first group (or a new one) when ``None``.
        :param service: connector service, e.g. ``postgres``.
        :param schema: connection schema name; ``<service>_<id>`` when ``None``.
        :param paused: whether the connection starts paused.
        :param sync_frequency: minutes between syncs.
        :param schedule_type: ``auto`` or ``manual``.
        :param daily_sync_time: ``HH:00`` start time, echoed only while the frequency is 1440.
        :param config: connector configuration (stored as given; reads mask secrets).
        :param auth: connector auth (write-only; never returned by the API).
        :param succeeded_at: last success time (epoch, datetime or ISO string), or ``None``.
        :param failed_at: last failure time, or ``None``.
        :param is_historical_sync: initial ``status.is_historical_sync``.
        :param setup_state: ``incomplete``, ``connected`` or ``broken``.
        :param other_fields: further connection fields (``service_version``, ``connected_by``,
            ``created_at``, ``networking_method``, ``schema_status``, ``tasks``, ``warnings``, ...);
            unknown names are added to the returned object as they are. Two seed what
            ``GET .../schemas`` answers: ``schema_config`` in the API's shape, or the shorthand
            ``schemas`` (schema name to ``{"tables": {...}}``, the fields Fivetran always returns
            filled in); ``schema_config`` wins when both are given. ``cursor_state`` seeds what
            ``GET .../state`` answers for a function or Connector SDK connection.
        :return: the connection as ``GET /v1/connections/{id}`` returns it.
        :raises ValueError: on a duplicate id or an impossible value.
        """
        if schedule_type not in ("auto", "manual"):
            raise ValueError(f"schedule_type must be 'auto' or 'manual', not {schedule_type!r}")
        if setup_state not in SETUP_STATES:
            raise ValueError(f"setup_state must be one of {SETUP_STATES}, not {setup_state!r}")
        with self.lock:
            if connection_id is None:
                connection_id = self._ids.new()
            elif connection_id in self._connections:
                raise ValueError(f"connection {connection_id!r} already exists")
            self._ids.claim(connection_id)
            group = self._group_or_create(group_id)
            seeded: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            for key, value in other_fields.items():
                if key in SEEDABLE_FIELDS:
                    seeded[key] = copy.deepcopy(value)
                else:
                    extra[key] = copy.deepcopy(value)
            created = to_epoch(seeded.pop("created_at", None))
            schemas = extra.pop("schemas", None)
            if schemas is not None and "schema_config" not in seeded:
                seeded["schema_config"] = schema_config_from_shorthand(schemas)
            conn = Connection(
                id=connection_id,
                group_id=group.id,
                service=service,
                schema=schema if schema is not None else f"{service}_{connection_id}",
                created_at=created if created is not None else self.clock.now(),
                connected_by=seeded.pop("connected_by", self.user_id),
                paused=paused,
                sync_frequency=sync_frequency,
                schedule_type=schedule_type,
                daily_sync_time=daily_sync_time,
                config=copy.deepcopy(config) if config is not None else {},
                auth=copy.deepcopy(auth),
                succeeded_at=to_epoch(succeeded_at),
                failed_at=to_epoch(failed_at),
                is_historical_sync=is_historical_sync,
                setup_state=setup_state,
                extra=extra,
                **seeded,
            )
            now = self.clock.now()
            _check_not_future(conn, now)
            # The schedule counts from the last sync's start; a seeded connection's last sync is
            # taken to have started when it ended (the seed gives no length), else from seeding.
            # An overdue one syncs at once: no run is placed before the moment it was seeded.
            ended = [moment for moment in (conn.succeeded_at, conn.failed_at) if moment is not None]
            conn.schedule_anchor = max(ended) if ended else now
            conn.not_before = now
            self._connections[connection_id] = conn
            return self._view(conn)

    def delete_connection(self, connection_id: str) -> None:
        """Remove a connection.

        :param connection_id: connection id.
        :raises ApiError: 404 ``NotFound_Connector``.
        """
        with self.lock:
            self._conn(connection_id)
            del self._connections[connection_id]

    # ------------------------------------------------------------------ connections: reads

    def connection_view(self, connection_id: str, *, api: bool = True) -> dict[str, Any]:
        """The connection as ``GET`` returns it, after bringing it up to date with the clock.

        :param connection_id: connection id.
        :param api: raise :class:`ApiError` (``True``) or :class:`UnknownConnectionError` if unknown.
        """
        with self.lock:
            conn = self._conn(connection_id) if api else self._conn_py(connection_id)
            self._advance(conn, self.clock.now())
            return self._view(conn)

    def list_connections(self, *, group_id: str | None = None, schema: str | None = None) -> list[dict[str, Any]]:
        """Connections in creation order, filtered by exact ``group_id`` and ``schema``.

        :param group_id: keep only this group's connections.
        :param schema: keep only connections with this exact schema name.
        """
        with self.lock:
            now = self.clock.now()
            views = []
            for conn in self._connections.values():
                if group_id is not None and conn.group_id != group_id:
                    continue
                if schema is not None and conn.schema != schema:
                    continue
                self._advance(conn, now)
                views.append(self._view(conn))
            return views

    def stored_auth(self, connection_id: str) -> dict[str, Any] | None:
        """The auth object as written (never exposed over HTTP).

        :param connection_id: connection id.
        """
        with self.lock:
            return copy.deepcopy(self._conn_py(connection_id).auth)

    def stored_config(self, connection_id: str) -> dict[str, Any]:
        """The configuration as stored, secrets unmasked.

        :param connection_id: connection id.
        """
        with self.lock:
            return copy.deepcopy(self._conn_py(connection_id).config)

    def update_connection(
        self, connection_id: str, changes: dict[str, Any], *, run_setup_tests: bool
    ) -> dict[str, Any]:
        """Apply an already type-checked PATCH body; state-dependent checks happen first.

        :param connection_id: connection id.
        :param changes: the persistent fields of the request body (test-control keys removed).
        :param run_setup_tests: whether setup tests run as part of the update.
        :return: the updated view including ``setup_tests``.
        :raises ApiError: 404 for an unknown id; 400 when the change is impossible for this connection.
        """
        with self.lock:
            conn = self._conn(connection_id)
            now = self.clock.now()
            self._advance(conn, now)
            self._check_update(conn, changes)

            if "config" in changes:
                _merge(conn.config, changes["config"])
            if "auth" in changes:
                if conn.auth is None:
                    conn.auth = {}
                _merge(conn.auth, changes["auth"])
            for name in (
                "pause_after_trial",
                "data_delay_sensitivity",
                "data_delay_threshold",
                "networking_method",
                "proxy_agent_id",
                "private_link_id",
                "hybrid_deployment_agent_id",
                "external_secrets_manager_id",
            ):
                if name in changes:
                    setattr(conn, name, changes[name])
            for name in ("destination_configuration", "external_secrets_keys_config"):
                if name in changes:
                    setattr(conn, name, copy.deepcopy(changes[name]))
            if "schema_status" in changes:
                conn.schema_status = changes["schema_status"]
            if "sync_frequency" in changes or "daily_sync_time" in changes:
                conn.schedule = None
            if "sync_frequency" in changes:
                conn.sync_frequency = changes["sync_frequency"]
            if "daily_sync_time" in changes:
                conn.daily_sync_time = changes["daily_sync_time"]
            if "schedule" in changes:
                apply_schedule(conn, changes["schedule"])
            if "schedule_type" in changes:
                conn.schedule_type = changes["schedule_type"]
                if conn.schedule_type == "auto" and conn.rescheduled_for is not None and conn.rescheduled_for < now:
                    conn.rescheduled_for = now

            historical = changes.get("is_historical_sync") is True
            if historical:
                conn.is_historical_sync = True
            started = False
            if "paused" in changes:
                if changes["paused"] and not conn.paused:
                    self._cancel(conn, now)
                    conn.rescheduled_for = None
                    if conn.resync_after_run:
                        conn.resync_after_run = False
                        conn.queued = True
                    conn.paused = True
                elif not changes["paused"] and conn.paused:
                    conn.paused = False
                    conn.schedule_anchor = now
                    if conn.is_historical_sync or conn.queued:
                        self._start(conn, now, "unpause")
                        started = True
            if historical and not conn.paused and not started:
                self._cancel(conn, now)
                conn.resync_after_run = False
                self._start(conn, now, "historical")

            view = self._view(conn)
            view["setup_tests"] = self._setup_tests() if run_setup_tests else []
            return view

    def _check_update(self, conn: Connection, changes: dict[str, Any]) -> None:
        config = changes.get("config")
        if isinstance(config, dict):
            for key in _CREATE_ONLY_CONFIG_KEYS:
                if key in config and key in conn.config and config[key] != conn.config[key]:
                    raise ApiError(
                        400, "InvalidInput", f"Field 'config.{key}' can only be set when the connection is created"
                    )
        method = changes.get("networking_method", conn.networking_method)
        needs = {"ProxyAgent": "proxy_agent_id", "PrivateLink": "private_link_id"}.get(method)
        if "networking_method" in changes and needs is not None:
            value = changes[needs] if needs in changes else getattr(conn, needs)
            if not value:
                raise ApiError(
                    400, "InvalidInput", f"Field '{needs}' is required when 'networking_method' is '{method}'"
                )

    def _setup_tests(self) -> list[dict[str, Any]]:
        self.setup_tests_run += 1
        return [
            {"title": "Connecting to server", "status": "PASSED", "message": ""},
            {"title": "Validating credentials", "status": "PASSED", "message": ""},
            {"title": "Checking permissions", "status": "PASSED", "message": ""},
        ]

    def run_setup_tests(self, connection_id: str) -> dict[str, Any]:
        """``POST /test``: run the setup tests.

        They pass, and a broken connection becomes ``connected``, unless the connection was
        seeded with ``setup_test_failure``: then the last test fails with that message and the
        connection is (or stays) ``broken``.

        :param connection_id: connection id.
        :return: the connection view with ``setup_tests``.
        """
        with self.lock:
            conn = self._conn(connection_id)
            self._advance(conn, self.clock.now())
            tests = self._setup_tests()
            if conn.setup_test_failure is not None:
                tests[-1] = {**tests[-1], "status": "FAILED", "message": conn.setup_test_failure}
                conn.setup_state = "broken"
            else:
                conn.setup_state = "connected"
            view = self._view(conn)
            view["setup_tests"] = tests
            return view


def _check_not_future(conn: Connection, now: float) -> None:
    """Refuse seeded timestamps later than the simulator's clock: the first run would move them back."""
    for name in ("created_at", "succeeded_at", "failed_at"):
        value = getattr(conn, name)
        if value is not None and value > now:
            raise ValueError(
                f"{name} {format_timestamp(value)} is later than the simulator's clock ({format_timestamp(now)}); "
                "seed times in the simulator's past, or start simulated time later (start_time)"
            )


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Shallow merge: keys sent replace stored ones; ``null`` clears a key (it reads back ``null``)."""
    for key, value in patch.items():
        target[key] = copy.deepcopy(value)

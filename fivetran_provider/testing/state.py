"""Account state of the Fivetran API simulator and the clock-driven sync lifecycle.

Nothing here knows about HTTP. Every public method of :class:`SimulatorState` takes the state lock,
brings the touched connections up to date with its clock (the wall clock by default, or simulated
time) and returns plain JSON-ready dictionaries. Sync runs are not driven by a background thread: a run records when it
started and when it will end, and the transitions are computed lazily whenever a connection is read
or changed.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any

from fivetran_provider.testing.clock import SimulatedClock, WallClock

#: Outcomes a planned sync run can end with.
SYNC_OUTCOMES: tuple[str, ...] = ("success", "failure", "rescheduled")

#: What ``POST /sync`` does on a paused connection.
PAUSED_SYNC_BEHAVIOURS: tuple[str, ...] = ("ignore", "reject")

#: How secret configuration values are shown in every read.
MASK = "******"

DEFAULT_FAILURE_MESSAGE = "Simulated sync failure"

#: Seconds a running sync may still need for ``POST /resync`` to let it finish first (Fivetran's
#: REST API gives up on work after 60 seconds); a longer one makes the re-sync answer 409.
RESYNC_FINISH_WINDOW = 60.0

#: Seven days, in the order ``datetime.weekday()`` numbers them.
WEEK_DAYS: tuple[str, ...] = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

#: How many sync intervals may pass since the last success before ``update_state`` is ``delayed``,
#: by ``data_delay_sensitivity`` (``CUSTOM`` uses one interval plus ``data_delay_threshold`` minutes).
DELAY_FACTORS: dict[str, float] = {"HIGH": 1.5, "NORMAL": 2.0, "SYNC_FREQUENCY": 2.0, "LOW": 3.0}

# Most scheduled runs one read may compute for a connection after a long jump of simulated time;
# beyond it the scheduler starts again from the current time (missed slots are skipped).
_MAX_RUNS_PER_READ = 10000

# Secret configuration keys per service: a small table derived at development time from the
# ``"format": "password"`` fields of Fivetran's OpenAPI definition (see tools/derive_secret_fields.py).
# ``secret`` lists a service's password-format keys (dotted paths), ``plain`` its other keys;
# ``any_service`` the names of password-format keys of any service, used for unlisted services and keys.
_SECRET_TABLE: dict[str, Any] = json.loads(
    resources.files("fivetran_provider.testing").joinpath("secret_fields.json").read_text(encoding="utf-8")
)
_SECRET_PATHS_BY_SERVICE: dict[str, frozenset[str]] = {
    service: frozenset(entry["secret"]) for service, entry in _SECRET_TABLE["services"].items()
}
_PLAIN_KEYS_BY_SERVICE: dict[str, frozenset[str]] = {
    service: frozenset(entry["plain"]) for service, entry in _SECRET_TABLE["services"].items()
}
_SECRET_NAMES_ANY_SERVICE: frozenset[str] = frozenset(_SECRET_TABLE["any_service"])

# Keys that Fivetran only accepts when a connection is created.
_CREATE_ONLY_CONFIG_KEYS: tuple[str, ...] = ("schema", "table", "schema_prefix")

# Services taken to support table-level re-sync: Fivetran documents it for database connectors
# (PostgreSQL, MySQL, Oracle, SQL Server, ...) and rejects a scope for API connectors such as
# Google Sheets.
_TABLE_RESYNC_SERVICE_HINTS: tuple[str, ...] = (
    "postgres",
    "mysql",
    "maria",
    "oracle",
    "sql_server",
    "db2",
    "mongo",
    "cosmos",
    "dynamodb",
    "cockroach",
    "aurora",
    "snowflake_db",
    "bigquery_db",
    "databricks_db",
    "redshift_db",
    "sap_hana",
    "hva",
)

_ADJECTIVES_TEXT = """
amber ample ancient arctic autumn bold brave breezy bright brisk calm candid cheerful civic clever
cobalt cosmic crimson crisp curious dapper daring dawn deft dusky eager early earnest electric
elegant emerald fair fancy fervent fleet floral fluent frosty gentle gilded glad golden grand hazel
hidden honest humble icy idle indigo ivory jade jolly keen kind lively lucid lunar mellow merry
misty modest mossy nimble noble oaken olive opal patient placid plucky polar proud quiet radiant
rapid rustic sandy scarlet serene silent silver sleek snowy solar spry stable steady stellar sunny
swift tidal tranquil urban velvet vivid warm wild witty zesty
"""
_ADJECTIVES: tuple[str, ...] = tuple(_ADJECTIVES_TEXT.split())
_NOUNS_TEXT = """
acorn anchor anvil apricot arrow aspen badger banner basin beacon birch bison bramble breeze brook
canyon cedar cinder clover comet coral cove crane creek dune ember falcon fern fjord flint forest
fox galaxy garnet glacier grove harbor hawk heron hollow island jasper juniper kestrel lagoon
lantern larch lark ledger lichen lotus lynx maple marble meadow mesa meteor mint nebula nibble oasis
orbit orchid otter owl pebble pepper pine plume prairie quartz quill raven reef ridge river robin
saddle sage shore sparrow spruce summit thicket thistle timber topaz tundra valley vapor violet
walnut willow wren yarrow zephyr harvest compass glimmer cascade
"""
_NOUNS: tuple[str, ...] = tuple(_NOUNS_TEXT.split())


class ApiError(Exception):
    """An error the simulator answers with, in Fivetran's ``{"code", "message"}`` shape.

    :param status: HTTP status code.
    :param code: Fivetran error code, e.g. ``InvalidInput`` or ``NotFound_Connector``.
    :param message: human-readable message.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class UnknownConnectionError(KeyError):
    """Raised by the Python-side helpers when a connection id does not exist.

    :param connection_id: the id that was looked up.
    """

    def __init__(self, connection_id: str) -> None:
        super().__init__(connection_id)
        self.connection_id = connection_id


def format_timestamp(value: float) -> str:
    """Format an epoch time as Fivetran does: ISO-8601 UTC with microseconds and a ``Z``.

    :param value: seconds since the epoch.
    :return: e.g. ``"2025-11-03T09:14:27.512331Z"``.
    """
    return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _optional_timestamp(value: float | None) -> str | None:
    return None if value is None else format_timestamp(value)


def to_epoch(value: Any) -> float | None:
    """Convert a seeding value (``None``, epoch number, aware/naive datetime or ISO string) to epoch.

    Naive datetimes and ISO strings without an offset are taken as UTC.

    :param value: the value to convert.
    :return: seconds since the epoch, or ``None``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a timestamp cannot be a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    moment: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    if moment is not None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    raise TypeError(f"cannot interpret {value!r} as a timestamp")


def is_secret_config_key(key: str, service: str | None = None) -> bool:
    """Tell whether a top-level configuration key holds a secret that reads must mask.

    A key the definition marks ``"format": "password"`` for the service is secret, one it defines
    otherwise is not; for other keys and services, any name that is a password field of some
    service counts as secret.

    :param key: configuration key, e.g. ``password`` or ``client_secret``.
    :param service: connector service, e.g. ``postgres``.
    """
    return _is_secret_path(key, key, service)


def _is_secret_path(path: str, key: str, service: str | None) -> bool:
    if service is not None and path in _SECRET_PATHS_BY_SERVICE.get(service, frozenset()):
        return True
    if service is not None and path in _PLAIN_KEYS_BY_SERVICE.get(service, frozenset()):
        return False
    return key in _SECRET_NAMES_ANY_SERVICE


def mask_config(value: Any, service: str | None = None) -> Any:
    """Return a deep copy of a configuration with every secret value replaced by ``"******"``.

    Which keys are secret follows the definition's ``"format": "password"`` fields (see
    :func:`is_secret_config_key`); ``null`` values stay ``null``.

    :param value: a configuration object.
    :param service: connector service the configuration belongs to.
    """
    return _mask(value, service, "")


def _mask(value: Any, service: str | None, prefix: str) -> Any:
    if isinstance(value, dict):
        masked: dict[str, Any] = {}
        for key, item in value.items():
            path = prefix + key
            secret = item is not None and _is_secret_path(path, key, service)
            masked[key] = MASK if secret else _mask(item, service, path + ".")
        return masked
    if isinstance(value, list):
        return [_mask(item, service, prefix.rstrip(".") + "[].") for item in value]
    return copy.deepcopy(value)


def supports_table_resync(service: str) -> bool:
    """Tell whether a connector service accepts a table-level ``scope`` on ``/resync``.

    :param service: connector service name, e.g. ``postgres``.
    """
    lowered = service.lower()
    return any(hint in lowered for hint in _TABLE_RESYNC_SERVICE_HINTS)


@dataclass
class PlannedSync:
    """How one future sync run of a connection will go.

    :param outcome: ``success``, ``failure`` or ``rescheduled``.
    :param duration: seconds the run takes.
    :param rescheduled_delay: for ``rescheduled``, seconds from the end of the run to ``rescheduled_for``.
    :param failure_message: for ``failure``, the message of the task left on the connection.
    """

    outcome: str
    duration: float
    rescheduled_delay: float
    failure_message: str


@dataclass
class SyncRun:
    """One sync run, running or finished.

    :param started_at: epoch time the run started.
    :param ends_at: epoch time the run is due to end.
    :param outcome: how the run will end when it reaches ``ends_at``.
    :param historical: whether the run is a historical (full) sync.
    :param trigger: what started it (``sync``, ``force``, ``historical``, ``resync``, ``unpause``, ``resume``).
    :param rescheduled_delay: delay used when the outcome is ``rescheduled``.
    :param failure_message: message used when the outcome is ``failure``.
    :param ended_at: epoch time it actually ended, once finished.
    :param result: final result (``success``, ``failure``, ``rescheduled`` or ``cancelled``), once finished.
    """

    started_at: float
    ends_at: float
    outcome: str
    historical: bool
    trigger: str
    rescheduled_delay: float = 1.0
    failure_message: str = DEFAULT_FAILURE_MESSAGE
    ended_at: float | None = None
    result: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Describe the run as a plain dictionary (epoch floats, not strings)."""
        return {
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "planned_end": self.ends_at,
            "outcome": self.result,
            "historical": self.historical,
            "trigger": self.trigger,
        }


@dataclass
class Group:
    """A group (one destination) of the simulated account.

    :param id: group id.
    :param name: group name.
    :param created_at: creation time, epoch seconds.
    """

    id: str
    name: str
    created_at: float
    destination_service: str = "snowflake"
    region: str = "GCP_US_EAST4"
    time_zone_offset: str = "0"

    def view(self) -> dict[str, Any]:
        """The group as the API returns it."""
        return {"id": self.id, "name": self.name, "created_at": format_timestamp(self.created_at)}

    def destination_view(self) -> dict[str, Any]:
        """The group's destination as ``GET /v1/destinations/{id}`` returns it (same id as the group)."""
        return {
            "id": self.id,
            "group_id": self.id,
            "service": self.destination_service,
            "region": self.region,
            "time_zone_offset": self.time_zone_offset,
            "setup_status": "CONNECTED",
            "daylight_saving_time_enabled": False,
            "networking_method": "Directly",
            "config": {},
        }


@dataclass
class Connection:
    """Everything stored about one connection, including write-only and internal parts.

    Field names follow the API's; see :meth:`SimulatorState.add_connection` for their meaning.
    """

    id: str
    group_id: str
    service: str
    schema: str
    created_at: float
    service_version: int = 1
    connected_by: str | None = None
    succeeded_at: float | None = None
    failed_at: float | None = None
    paused: bool = False
    pause_after_trial: bool = False
    sync_frequency: int | None = 360
    schedule_type: str = "auto"
    daily_sync_time: str | None = None
    schedule: dict[str, Any] | None = None
    data_delay_sensitivity: str = "NORMAL"
    data_delay_threshold: int = 0
    networking_method: str = "Directly"
    proxy_agent_id: str | None = None
    private_link_id: str | None = None
    hybrid_deployment_agent_id: str | None = None
    destination_configuration: dict[str, Any] | None = None
    external_secrets_manager_id: str | None = None
    external_secrets_keys_config: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, Any] | None = None
    setup_state: str = "connected"
    is_historical_sync: bool = False
    schema_status: str | None = None
    tasks: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    source_sync_details: dict[str, Any] | None = None
    setup_test_failure: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # lifecycle
    run: SyncRun | None = None
    rescheduled_for: float | None = None
    queued: bool = False
    plan: deque[PlannedSync] = field(default_factory=deque)
    history: list[SyncRun] = field(default_factory=list)
    resync_after_run: bool = False
    schedule_anchor: float = 0.0
    schema_config: dict[str, Any] | None = None


# Attributes of Connection that add_connection(**other_fields) may set directly.
_SEEDABLE_FIELDS: frozenset[str] = frozenset(
    {
        "service_version",
        "connected_by",
        "created_at",
        "pause_after_trial",
        "schedule",
        "data_delay_sensitivity",
        "data_delay_threshold",
        "networking_method",
        "proxy_agent_id",
        "private_link_id",
        "hybrid_deployment_agent_id",
        "destination_configuration",
        "external_secrets_manager_id",
        "external_secrets_keys_config",
        "schema_status",
        "tasks",
        "warnings",
        "source_sync_details",
        "setup_test_failure",
        "schema_config",
    }
)

_SETUP_STATES = ("incomplete", "connected", "broken")


class SimulatorState:
    """The simulated Fivetran account: groups, connections, stored auth and sync runs.

    All methods are thread-safe; a single re-entrant lock guards the whole state and is held only
    for the duration of one operation.

    :param account_name: name reported by ``GET /v1/account/info``.
    """

    def __init__(
        self, account_name: str = "Simulated Fivetran Account", clock: WallClock | SimulatedClock | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.clock: WallClock | SimulatedClock = clock if clock is not None else WallClock()
        # Scheduled syncs start by themselves only under simulated time unless switched on.
        self.scheduled_syncs = self.clock.simulated
        self.resync_finish_window = RESYNC_FINISH_WINDOW
        self._groups: dict[str, Group] = {}
        self._connections: dict[str, Connection] = {}
        self._used_ids: set[str] = set()
        self.account_id = self.new_id()
        self.user_id = self.new_id()
        self.account_name = account_name
        self.default_sync_duration = 0.0
        self.paused_sync_behaviour = "ignore"
        self.setup_tests_run = 0
        self.user_email = "simulated.user@example.com"
        self.created_at = self.clock.now()

    # ------------------------------------------------------------------ ids and lookups

    def new_id(self) -> str:
        """Generate an unused id in Fivetran's ``word_word`` style (e.g. ``tidal_lantern``)."""
        with self.lock:
            for attempt in range(64):
                candidate = f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}"
                if attempt >= 16:
                    candidate = f"{candidate}_{secrets.choice(_NOUNS)}"
                if candidate not in self._used_ids:
                    self._used_ids.add(candidate)
                    return candidate
            candidate = f"{secrets.choice(_ADJECTIVES)}_{secrets.token_hex(6)}"
            self._used_ids.add(candidate)
            return candidate

    def _conn(self, connection_id: str) -> Connection:
        conn = self._connections.get(connection_id)
        if conn is None:
            raise ApiError(404, "NotFound_Connector", f"Connector with id '{connection_id}' does not exist.")
        return conn

    def _conn_py(self, connection_id: str) -> Connection:
        conn = self._connections.get(connection_id)
        if conn is None:
            raise UnknownConnectionError(connection_id)
        return conn

    def has_connection(self, connection_id: str) -> bool:
        """Tell whether a connection exists.

        :param connection_id: connection id.
        """
        with self.lock:
            return connection_id in self._connections

    # ------------------------------------------------------------------ account and groups

    def account_info(self) -> dict[str, Any]:
        """The ``data`` of ``GET /v1/account/info``."""
        return {"account_id": self.account_id, "account_name": self.account_name, "user_id": self.user_id}

    def add_group(self, group_id: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Create a group.

        :param group_id: id to use; generated when ``None``.
        :param name: group name; derived from the id when ``None``.
        :return: the group as the API returns it.
        :raises ValueError: if the id is already used by a group.
        """
        with self.lock:
            if group_id is None:
                group_id = self.new_id()
            elif group_id in self._groups:
                raise ValueError(f"group {group_id!r} already exists")
            self._used_ids.add(group_id)
            group = Group(
                id=group_id, name=name if name is not None else f"{group_id}_warehouse", created_at=self.clock.now()
            )
            self._groups[group_id] = group
            return group.view()

    def _group_or_create(self, group_id: str | None) -> Group:
        if group_id is None:
            if self._groups:
                return next(iter(self._groups.values()))
            self.add_group()
            return next(iter(self._groups.values()))
        if group_id not in self._groups:
            self.add_group(group_id)
        return self._groups[group_id]

    def get_group(self, group_id: str) -> dict[str, Any]:
        """``GET /v1/groups/{id}`` data.

        :param group_id: group id.
        :raises ApiError: 404 ``NotFound_Group``.
        """
        with self.lock:
            group = self._groups.get(group_id)
            if group is None:
                raise ApiError(404, "NotFound_Group", f"Cannot find entity 'Group' with id '{group_id}'.")
            return group.view()

    def get_destination(self, destination_id: str) -> dict[str, Any]:
        """``GET /v1/destinations/{id}`` data: every group has one destination with the group's id.

        :param destination_id: destination (= group) id.
        :raises ApiError: 404 ``NotFound_Destination``.
        """
        with self.lock:
            group = self._groups.get(destination_id)
            if group is None:
                raise ApiError(404, "NotFound_Destination", f"Destination with id '{destination_id}' not found")
            return group.destination_view()

    def list_users(self) -> list[dict[str, Any]]:
        """``GET /v1/users`` items: the one user the API key belongs to."""
        with self.lock:
            stamp = format_timestamp(self.created_at)
            return [
                {
                    "id": self.user_id,
                    "email": self.user_email,
                    "given_name": "Simulated",
                    "family_name": "User",
                    "verified": True,
                    "invited": False,
                    "active": True,
                    "role": "Account Administrator",
                    "logged_in_at": stamp,
                    "created_at": stamp,
                }
            ]

    def schema_config(self, connection_id: str) -> dict[str, Any]:
        """``GET /v1/connections/{id}/schemas`` data, as seeded (see :meth:`add_connection`).

        :param connection_id: connection id.
        :raises ApiError: 404 for an unknown connection, 404 ``NotFound_SchemaConfig`` when none was seeded.
        """
        with self.lock:
            conn = self._conn(connection_id)
            if conn.schema_config is None:
                raise ApiError(
                    404, "NotFound_SchemaConfig", f"Connection with id '{connection_id}' doesn't have schema config"
                )
            return copy.deepcopy(conn.schema_config)

    def set_schema_config(self, connection_id: str, schema_config: dict[str, Any] | None) -> None:
        """Seed the schema config a connection reports (``None`` removes it).

        :param connection_id: connection id.
        :param schema_config: ``{"schema_change_handling", "schemas": {...}}`` as the API returns it.
        """
        with self.lock:
            self._conn_py(connection_id).schema_config = copy.deepcopy(schema_config)

    def list_groups(self) -> list[dict[str, Any]]:
        """All groups in creation order."""
        with self.lock:
            return [group.view() for group in self._groups.values()]

    # ------------------------------------------------------------------ connections: seeding

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
            filled in); ``schema_config`` wins when both are given.
        :return: the connection as ``GET /v1/connections/{id}`` returns it.
        :raises ValueError: on a duplicate id or an impossible value.
        """
        if schedule_type not in ("auto", "manual"):
            raise ValueError(f"schedule_type must be 'auto' or 'manual', not {schedule_type!r}")
        if setup_state not in _SETUP_STATES:
            raise ValueError(f"setup_state must be one of {_SETUP_STATES}, not {setup_state!r}")
        with self.lock:
            if connection_id is None:
                connection_id = self.new_id()
            elif connection_id in self._connections:
                raise ValueError(f"connection {connection_id!r} already exists")
            self._used_ids.add(connection_id)
            group = self._group_or_create(group_id)
            seeded: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            for key, value in other_fields.items():
                if key in _SEEDABLE_FIELDS:
                    seeded[key] = copy.deepcopy(value)
                else:
                    extra[key] = copy.deepcopy(value)
            created = to_epoch(seeded.pop("created_at", None))
            schemas = extra.pop("schemas", None)
            if schemas is not None and "schema_config" not in seeded:
                seeded["schema_config"] = _schema_config_from_shorthand(schemas)
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
            conn.schedule_anchor = self.clock.now()
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

    def sync_history(self, connection_id: str) -> list[dict[str, Any]]:
        """Runs of a connection, oldest first; a running one is last with ``outcome`` ``None``.

        :param connection_id: connection id.
        """
        with self.lock:
            conn = self._conn_py(connection_id)
            self._advance(conn, self.clock.now())
            runs = [run.as_dict() for run in conn.history]
            if conn.run is not None:
                runs.append(conn.run.as_dict())
            return runs

    def _view(self, conn: Connection) -> dict[str, Any]:
        sync_state = "scheduled"
        if conn.paused:
            sync_state = "paused"
        elif conn.run is not None:
            sync_state = "syncing"
        elif conn.rescheduled_for is not None:
            sync_state = "rescheduled"
        status: dict[str, Any] = {"setup_state": conn.setup_state}
        if conn.schema_status is not None:
            status["schema_status"] = conn.schema_status
        status["sync_state"] = sync_state
        status["update_state"] = "delayed" if self._overdue(conn, self.clock.now()) else "on_schedule"
        status["is_historical_sync"] = conn.is_historical_sync
        if sync_state == "rescheduled" and conn.rescheduled_for is not None:
            status["rescheduled_for"] = format_timestamp(conn.rescheduled_for)
        status["tasks"] = copy.deepcopy(conn.tasks)
        status["warnings"] = copy.deepcopy(conn.warnings)

        data: dict[str, Any] = {
            "id": conn.id,
            "group_id": conn.group_id,
            "service": conn.service,
            "service_version": conn.service_version,
            "schema": conn.schema,
            "connected_by": conn.connected_by,
            "created_at": format_timestamp(conn.created_at),
            "succeeded_at": _optional_timestamp(conn.succeeded_at),
            "failed_at": _optional_timestamp(conn.failed_at),
            "paused": conn.paused,
            "pause_after_trial": conn.pause_after_trial,
            "sync_frequency": conn.sync_frequency,
        }
        if conn.sync_frequency == 1440 and conn.daily_sync_time is not None:
            data["daily_sync_time"] = conn.daily_sync_time
        data["schedule_type"] = conn.schedule_type
        if conn.schedule is not None:
            data["schedule"] = copy.deepcopy(conn.schedule)
        data["data_delay_sensitivity"] = conn.data_delay_sensitivity
        data["data_delay_threshold"] = conn.data_delay_threshold
        data["networking_method"] = conn.networking_method
        data["proxy_agent_id"] = conn.proxy_agent_id
        data["private_link_id"] = conn.private_link_id
        if conn.hybrid_deployment_agent_id is not None:
            data["hybrid_deployment_agent_id"] = conn.hybrid_deployment_agent_id
        if conn.destination_configuration is not None:
            data["destination_configuration"] = copy.deepcopy(conn.destination_configuration)
        if conn.external_secrets_manager_id is not None:
            data["external_secrets_manager_id"] = conn.external_secrets_manager_id
        if conn.external_secrets_keys_config is not None:
            data["external_secrets_keys_config"] = copy.deepcopy(conn.external_secrets_keys_config)
        data["status"] = status
        data["config"] = mask_config(conn.config, conn.service)
        if conn.source_sync_details is not None:
            data["source_sync_details"] = copy.deepcopy(conn.source_sync_details)
        elif conn.succeeded_at is not None:
            data["source_sync_details"] = {"last_synced": format_timestamp(conn.succeeded_at)}
        else:
            data["source_sync_details"] = {}
        for key, value in conn.extra.items():
            data.setdefault(key, copy.deepcopy(value))
        return data

    # ------------------------------------------------------------------ lifecycle machinery

    def _advance(self, conn: Connection, now: float) -> None:
        """Apply every transition that is due at ``now``."""
        for _ in range(_MAX_RUNS_PER_READ):
            run = conn.run
            if run is not None:
                if now < run.ends_at:
                    return
                self._finish(conn, run.outcome, run.ends_at)
                if conn.resync_after_run:
                    conn.resync_after_run = False
                    self._start(conn, run.ends_at, "resync")
                continue
            if (
                conn.rescheduled_for is not None
                and not conn.paused
                and conn.schedule_type == "auto"
                and now >= conn.rescheduled_for
            ):
                self._start(conn, conn.rescheduled_for, "resume")
                continue
            due = self._next_scheduled_start(conn)
            if due is not None and now >= due:
                self._start(conn, due, "scheduled")
                continue
            return
        conn.schedule_anchor = now

    def _next_scheduled_start(self, conn: Connection) -> float | None:
        """When the scheduler starts the next sync by itself, or ``None`` if it will not."""
        if not self.scheduled_syncs or conn.paused or conn.schedule_type != "auto" or conn.rescheduled_for is not None:
            return None
        schedule = conn.schedule or {}
        kind = schedule.get("schedule_type")
        if kind in ("CRON", "MANUAL"):
            return None  # cron expressions are not interpreted; MANUAL never syncs by itself
        if kind == "TIME_OF_DAY":
            return _next_time_of_day(conn.schedule_anchor, schedule["time_of_day"], schedule.get("days_of_week"))
        if conn.sync_frequency == 1440 and conn.daily_sync_time is not None:
            return _next_time_of_day(conn.schedule_anchor, conn.daily_sync_time, None)
        if not conn.sync_frequency:
            return None
        return conn.schedule_anchor + conn.sync_frequency * 60.0

    @staticmethod
    def _overdue(conn: Connection, now: float) -> bool:
        """``update_state`` is ``delayed``: the last success (or the creation) is older than allowed."""
        if conn.paused or conn.schedule_type != "auto":
            return False
        interval = (conn.sync_frequency or 1440) * 60.0
        if conn.data_delay_sensitivity == "CUSTOM":
            allowed = interval + max(0, conn.data_delay_threshold) * 60.0
        else:
            allowed = interval * DELAY_FACTORS.get(conn.data_delay_sensitivity, 2.0)
        fresh = conn.succeeded_at if conn.succeeded_at is not None else conn.created_at
        return now - fresh > allowed

    def _start(self, conn: Connection, at: float, trigger: str) -> None:
        if conn.plan:
            planned = conn.plan.popleft()
        else:
            planned = PlannedSync("success", self.default_sync_duration, 1.0, DEFAULT_FAILURE_MESSAGE)
        conn.rescheduled_for = None
        conn.queued = False
        conn.schedule_anchor = at
        conn.run = SyncRun(
            started_at=at,
            ends_at=at + max(0.0, planned.duration),
            outcome=planned.outcome,
            historical=conn.is_historical_sync,
            trigger=trigger,
            rescheduled_delay=planned.rescheduled_delay,
            failure_message=planned.failure_message,
        )

    def _cancel(self, conn: Connection, at: float) -> None:
        run = conn.run
        if run is None:
            return
        run.ended_at = at
        run.result = "cancelled"
        conn.history.append(run)
        conn.run = None

    def _finish(self, conn: Connection, outcome: str, at: float) -> None:
        run = conn.run
        if run is None:
            return
        run.ended_at = at
        run.result = outcome
        conn.history.append(run)
        conn.run = None
        if outcome == "success":
            conn.succeeded_at = at
            if run.historical:
                conn.is_historical_sync = False
            conn.tasks = [task for task in conn.tasks if task.get("code") != "sync_failed"]
        elif outcome == "failure":
            conn.failed_at = at
            conn.tasks = [task for task in conn.tasks if task.get("code") != "sync_failed"]
            conn.tasks.append({"code": "sync_failed", "message": run.failure_message})
        else:
            conn.rescheduled_for = at + max(0.0, run.rescheduled_delay)

    # ------------------------------------------------------------------ lifecycle control (Python side)

    def plan_syncs(
        self,
        connection_id: str,
        outcomes: tuple[str, ...],
        *,
        duration: float = 0.0,
        rescheduled_delay: float = 1.0,
        failure_message: str = DEFAULT_FAILURE_MESSAGE,
    ) -> None:
        """Queue outcomes for the next runs of a connection, one consumed per run.

        :param connection_id: connection id.
        :param outcomes: ``success``, ``failure`` or ``rescheduled`` values.
        :param duration: seconds each planned run takes.
        :param rescheduled_delay: seconds between a rescheduled run's end and ``rescheduled_for``.
        :param failure_message: message of the task a failed run leaves.
        """
        for outcome in outcomes:
            if outcome not in SYNC_OUTCOMES:
                raise ValueError(f"outcome must be one of {SYNC_OUTCOMES}, not {outcome!r}")
        if duration < 0 or rescheduled_delay < 0:
            raise ValueError("duration and rescheduled_delay must not be negative")
        with self.lock:
            conn = self._conn_py(connection_id)
            self._advance(conn, self.clock.now())
            for outcome in outcomes:
                conn.plan.append(PlannedSync(outcome, duration, rescheduled_delay, failure_message))

    def finish_sync(self, connection_id: str, outcome: str = "success") -> dict[str, Any]:
        """End the running sync now with the given outcome.

        :param connection_id: connection id.
        :param outcome: ``success``, ``failure`` or ``rescheduled``.
        :return: the connection view afterwards.
        :raises RuntimeError: if no sync is running.
        """
        if outcome not in SYNC_OUTCOMES:
            raise ValueError(f"outcome must be one of {SYNC_OUTCOMES}, not {outcome!r}")
        with self.lock:
            conn = self._conn_py(connection_id)
            now = self.clock.now()
            self._advance(conn, now)
            if conn.run is None:
                raise RuntimeError(f"connection {connection_id!r} has no running sync")
            self._finish(conn, outcome, now)
            return self._view(conn)

    # ------------------------------------------------------------------ API operations

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
                self._apply_schedule(conn, changes["schedule"])
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

    @staticmethod
    def _apply_schedule(conn: Connection, schedule: dict[str, Any] | None) -> None:
        if schedule is None:
            conn.schedule = None
            return
        stored = copy.deepcopy(schedule)
        kind = stored["schedule_type"]
        if kind == "INTERVAL":
            conn.sync_frequency = stored["interval"]
        elif kind == "TIME_OF_DAY":
            stored.setdefault(
                "days_of_week",
                ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"],
            )
            conn.sync_frequency = 1440
            conn.daily_sync_time = stored["time_of_day"]
        elif kind == "CRON":
            conn.sync_frequency = None
        conn.schedule = stored

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

    def trigger_sync(self, connection_id: str, *, force: bool) -> None:
        """``POST /sync``.

        :param connection_id: connection id.
        :param force: restart a running sync.
        :raises ApiError: 404; 400 on a paused connection when ``paused_sync_behaviour`` is ``reject``.
        """
        with self.lock:
            conn = self._conn(connection_id)
            now = self.clock.now()
            self._advance(conn, now)
            if conn.paused:
                if self.paused_sync_behaviour == "reject":
                    raise ApiError(
                        400, "InvalidInput", f"Connection with id '{connection_id}' is paused and cannot be synced"
                    )
                return
            if conn.run is not None:
                if force:
                    self._cancel(conn, now)
                    self._start(conn, now, "force")
                return
            if conn.rescheduled_for is not None and now < conn.rescheduled_for:
                return
            self._start(conn, now, "sync")

    def resync(self, connection_id: str, scope: dict[str, list[str]] | None) -> None:
        """``POST /resync``: full (``scope`` ``None``) or table-level historical re-sync.

        Fivetran finishes a running sync first and answers 409 when it cannot. Here a running
        sync that ends within :attr:`resync_finish_window` seconds is left to finish (with its
        planned outcome, at its planned time) and the re-sync starts as it ends; a longer one makes
        the request fail with 409 ``Conflict`` and changes nothing. A paused connection queues
        the re-sync until it is resumed.

        :param connection_id: connection id.
        :param scope: schema name to table names, already checked to be non-empty.
        :raises ApiError: 404; 400 when the connector has no table-level re-sync; 409 as above.
        """
        with self.lock:
            conn = self._conn(connection_id)
            now = self.clock.now()
            self._advance(conn, now)
            if scope is not None and not supports_table_resync(conn.service):
                raise ApiError(
                    400, "InvalidInput", f"Table-level re-sync is not supported for service '{conn.service}'"
                )
            if conn.run is not None and not conn.paused:
                if conn.run.ends_at - now > self.resync_finish_window:
                    raise ApiError(
                        409,
                        "Conflict",
                        "A data sync is in progress and could not be completed before the re-sync was scheduled",
                    )
                if scope is None:
                    conn.is_historical_sync = True
                conn.resync_after_run = True  # the running sync finishes first, then the re-sync starts
                return
            if scope is None:
                conn.is_historical_sync = True
            if conn.paused:
                conn.queued = True
                return
            self._start(conn, now, "resync")


def _schema_config_from_shorthand(schemas: dict[str, Any]) -> dict[str, Any]:
    """The ``GET /schemas`` data for ``add_connection(schemas=...)``: schema name to ``{"tables": {...}}``."""
    return {
        "enable_new_by_default": True,
        "schema_change_handling": "ALLOW_ALL",
        "schemas": {name: _schema_view(name, schema) for name, schema in schemas.items()},
    }


def _schema_view(name: str, seeded: dict[str, Any]) -> dict[str, Any]:
    """One schema of ``GET /schemas`` with the fields Fivetran always returns filled in."""
    tables = {}
    for table_name, table in (seeded.get("tables") or {}).items():
        tables[table_name] = {
            "name_in_destination": table_name,
            "enabled": True,
            "sync_mode": "SOFT_DELETE",
            "columns": {},
            "enabled_patch_settings": {"allowed": True},
            "supports_columns_config": True,
            "supports_history_mode": False,
            **copy.deepcopy(table),
        }
    return {"name_in_destination": name, "enabled": True, **copy.deepcopy(seeded), "tables": tables}


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Shallow merge: keys sent replace stored ones; ``null`` clears a key (it reads back ``null``)."""
    for key, value in patch.items():
        target[key] = copy.deepcopy(value)


def _next_time_of_day(after: float, hour: str, days: list[str] | None) -> float:
    """The first ``HH:MM`` (UTC) on one of ``days`` strictly after ``after``.

    :param after: epoch seconds.
    :param hour: ``HH:MM`` (seconds, if echoed as ``HH:MM:SS``, are ignored).
    :param days: allowed week days (``MONDAY``...); every day when ``None`` or empty.
    """
    hours, minutes = (int(part) for part in hour.split(":")[:2])
    allowed = set(days or WEEK_DAYS)
    moment = datetime.fromtimestamp(after, tz=timezone.utc)
    candidate = moment.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    for _ in range(9):
        if candidate.timestamp() > after and WEEK_DAYS[candidate.weekday()] in allowed:
            return candidate.timestamp()
        candidate += timedelta(days=1)
    return candidate.timestamp()

"""What the simulator stores: groups, connections, sync runs and plans, and the ids it hands out."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fivetran_provider.testing.timestamps import format_timestamp

#: Outcomes a planned sync run can end with.
SYNC_OUTCOMES: tuple[str, ...] = ("success", "failure", "rescheduled")

DEFAULT_FAILURE_MESSAGE = "Simulated sync failure"

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


class IdPool:
    """Hands out unused ids in Fivetran's ``word_word`` style (e.g. ``tidal_lantern``)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def claim(self, value: str) -> None:
        """Mark an id chosen by the caller as used.

        :param value: the id.
        """
        self._used.add(value)

    def new(self) -> str:
        """A fresh id nobody used yet."""
        for attempt in range(64):
            candidate = f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}"
            if attempt >= 16:
                candidate = f"{candidate}_{secrets.choice(_NOUNS)}"
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate
        candidate = f"{secrets.choice(_ADJECTIVES)}_{secrets.token_hex(6)}"
        self._used.add(candidate)
        return candidate


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
    :param tables: for a table-level re-sync, the tables it re-syncs (schema name to table names).
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
    tables: dict[str, list[str]] | None = None
    sync_id: str = field(default_factory=lambda: secrets.token_hex(16))

    def as_dict(self) -> dict[str, Any]:
        """Describe the run as a plain dictionary (epoch floats, not strings)."""
        return {
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "planned_end": self.ends_at,
            "outcome": self.result,
            "historical": self.historical,
            "trigger": self.trigger,
            "tables": {schema: list(names) for schema, names in self.tables.items()} if self.tables else None,
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
    # tables a requested table-level re-sync will re-sync when it starts (None: the whole connection)
    pending_tables: dict[str, list[str]] | None = None
    schedule_anchor: float = 0.0
    # the scheduler starts no run before this: the end of the last run, or the moment of seeding
    not_before: float | None = None
    schema_config: dict[str, Any] | None = None
    cursor_state: dict[str, Any] | None = None


# Attributes of Connection that add_connection(**other_fields) may set directly.
SEEDABLE_FIELDS: frozenset[str] = frozenset(
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
        "cursor_state",
    }
)

_SETUP_STATES = ("incomplete", "connected", "broken")

SETUP_STATES = ("incomplete", "connected", "broken")

"""The demo account used by ``python -m fivetran_provider.testing`` and ``seed_demo=True``."""

from __future__ import annotations

from typing import Any, Protocol


class DemoTarget(Protocol):
    """What the demo account is added to: a :class:`~fivetran_provider.testing.state.SimulatorState`
    or a :class:`~fivetran_provider.testing.server.FivetranSimulator`."""

    @property
    def now(self) -> float:
        """The target's current time (epoch seconds)."""

    def add_group(self, group_id: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Create a group.

        :param group_id: group id.
        :param name: group name.
        """

    def add_connection(self, connection_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create a connection.

        :param connection_id: connection id.
        :param fields: its fields.
        """


#: Ids of the demo groups and connections, stable so they can be typed into DAGs and curl commands.
DEMO_GROUP_IDS: tuple[str, ...] = ("tidal_lantern", "amber_meadow")
DEMO_CONNECTION_IDS: tuple[str, ...] = (
    "mellow_quartz",
    "brisk_heron",
    "quiet_meadow",
    "silver_comet",
    "gentle_harbor",
)


def seed_demo_account(sim: DemoTarget) -> None:
    """Add two groups and five connections of different services to a simulator.

    ``mellow_quartz`` (postgres) has a password in its config, ``brisk_heron`` (salesforce) is paused,
    ``quiet_meadow`` (google_sheets) syncs daily at 03:00, ``silver_comet`` (stripe) is scheduled
    manually and ``gentle_harbor`` (hubspot) has never synced.

    Its timestamps are relative to the target's clock (simulated time included), so they never lie
    in the target's future.

    :param sim: the simulator (or its state) to seed.
    """
    now = sim.now
    day = 86400.0
    warehouse, sandbox = DEMO_GROUP_IDS
    sim.add_group(warehouse, "Production warehouse")
    sim.add_group(sandbox, "Analytics sandbox")
    sim.add_connection(
        "mellow_quartz",
        group_id=warehouse,
        service="postgres",
        schema="pg_prod",
        sync_frequency=60,
        config={
            "host": "db.internal.example.com",
            "port": 5432,
            "database": "app",
            "user": "fivetran",
            "password": "correct-horse-battery-staple",
            "update_method": "QUERY_BASED",
        },
        created_at=now - 90 * day,
        succeeded_at=now - 1800,
        failed_at=now - 3 * day,
        schema_status="ready",
        schemas={
            "public": {
                "name_in_destination": "pg_prod_public",
                "enabled": True,
                "tables": {
                    "orders": {"name_in_destination": "orders", "enabled": True, "sync_mode": "SOFT_DELETE"},
                    "customers": {"name_in_destination": "customers", "enabled": True, "sync_mode": "SOFT_DELETE"},
                    "audit_log": {"name_in_destination": "audit_log", "enabled": False, "sync_mode": "SOFT_DELETE"},
                },
            },
            "scratch": {"name_in_destination": "pg_prod_scratch", "enabled": False, "tables": {}},
        },
    )
    sim.add_connection(
        "brisk_heron",
        group_id=warehouse,
        service="salesforce",
        schema="salesforce",
        paused=True,
        sync_frequency=360,
        config={"domain": "example.my.salesforce.com", "is_sandbox": False},
        auth={"refresh_token": "demo-refresh-token", "client_access": {"client_id": "demo", "client_secret": "x"}},
        created_at=now - 60 * day,
        succeeded_at=now - 5 * day,
    )
    sim.add_connection(
        "quiet_meadow",
        group_id=warehouse,
        service="google_sheets",
        schema="google_sheets.budget_2026",
        sync_frequency=1440,
        daily_sync_time="03:00",
        config={"sheet_id": "https://docs.google.com/spreadsheets/d/example", "named_range": "budget"},
        created_at=now - 30 * day,
        succeeded_at=now - 0.5 * day,
    )
    sim.add_connection(
        "silver_comet",
        group_id=sandbox,
        service="stripe",
        schema="stripe",
        schedule_type="manual",
        sync_frequency=1440,
        config={"api_key": "sk_test_demo"},
        created_at=now - 10 * day,
        succeeded_at=now - 2 * day,
        failed_at=now - 1 * day,
    )
    sim.add_connection(
        "gentle_harbor",
        group_id=sandbox,
        service="hubspot",
        schema="hubspot",
        setup_state="incomplete",
        is_historical_sync=True,
        created_at=now - 3600,
    )

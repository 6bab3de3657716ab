"""Lookup by name, broken connections, asset outlets, OpenLineage datasets and group-wide updates.

Operators run with ``execute()`` against the simulator over real HTTP, with the same task-instance
stand-in as ``test_operators.py`` (the DAG-level runs are in ``test_event_example_dags.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from fivetran_provider._compat import AIRFLOW_V_3_1_PLUS
from fivetran_provider.exceptions import FivetranPartialFailureError, FivetranValidationError
from fivetran_provider.lookup import FivetranConnectionLookupError
from fivetran_provider.operators import (
    FivetranSyncOperator,
    PauseConnectionOperator,
    RestoreFivetranConnectionOperator,
    UpdateFivetranConnectionOperator,
)
from fivetran_provider.sensors import FivetranSyncSensor
from fivetran_provider.setup_tests import FivetranConnectionBrokenError
from fivetran_provider.testing import FivetranSimulator
from tests.test_operators import TaskInstanceStandIn, run

OLD = "2026-01-01T00:00:00Z"
SCHEMAS = {
    "public": {
        "name_in_destination": "crm_public",
        "enabled": True,
        "tables": {
            "accounts": {"name_in_destination": "accounts", "enabled": True},
            "contacts": {"name_in_destination": "people", "enabled": True},
            "secrets_audit": {"name_in_destination": "secrets_audit", "enabled": False},
        },
    },
    "legacy": {"name_in_destination": "crm_legacy", "enabled": False, "tables": {"old": {"enabled": True}}},
}


@pytest.fixture
def sim(fivetran_conn: FivetranSimulator) -> FivetranSimulator:
    fivetran_conn.add_group("warm_lake", "Warehouse")
    fivetran_conn.add_group("cold_lake", "Sandbox")
    fivetran_conn.add_connection(
        "mellow_quartz", group_id="warm_lake", schema="crm", service="postgres", succeeded_at=OLD, schemas=SCHEMAS
    )
    fivetran_conn.add_connection("brisk_heron", group_id="warm_lake", schema="billing", sync_frequency=60)
    fivetran_conn.add_connection("quiet_meadow", group_id="warm_lake", schema="ads", sync_frequency=1440)
    fivetran_conn.add_connection("twin_one", group_id="cold_lake", schema="events")
    fivetran_conn.add_connection("twin_two", group_id="cold_lake", schema="events")
    return fivetran_conn


def sync(**kwargs: Any) -> FivetranSyncOperator:
    kwargs.setdefault("task_id", "sync")
    kwargs.setdefault("poll_interval", 1)
    return FivetranSyncOperator(**kwargs)


# ------------------------------------------------------------------------------------ lookup by name


def test_name_is_resolved_with_one_list_call_of_the_group(sim: FivetranSimulator) -> None:
    sim.plan_syncs("mellow_quartz", "success", duration=0)
    result = run(sync(connection_name="crm", group_id="warm_lake"))
    assert result["connection_id"] == "mellow_quartz"
    lists = [r for r in sim.requests_for("GET") if r.path == "/v1/connections"]
    assert [r.query.get("group_id") for r in lists] == ["warm_lake"]
    assert len(sim.requests_for("POST", "/v1/connections/mellow_quartz/sync")) == 1


def test_an_unknown_name_fails_listing_what_the_group_has(sim: FivetranSimulator) -> None:
    with pytest.raises(FivetranConnectionLookupError) as info:
        run(sync(connection_name="CRM", group_id="warm_lake"))
    message = str(info.value)
    assert "No connection of group warm_lake is named 'CRM'" in message
    assert "ads (quiet_meadow), billing (brisk_heron), crm (mellow_quartz)" in message
    assert "did you mean 'crm'" in message
    assert sim.requests_for("POST") == []


def test_a_name_shared_by_several_connections_fails_naming_them(sim: FivetranSimulator) -> None:
    with pytest.raises(FivetranConnectionLookupError, match=r"2 connections of group cold_lake are named 'events': "):
        run(sync(connection_name="events", group_id="cold_lake"))
    with pytest.raises(FivetranConnectionLookupError, match="twin_one, twin_two"):
        run(PauseConnectionOperator(task_id="pause", connection_name="events", group_id="cold_lake"))
    assert sim.requests_for("PATCH") == []


def test_update_pause_and_sensor_accept_a_name(sim: FivetranSimulator) -> None:
    record = run(
        UpdateFivetranConnectionOperator(
            task_id="update", connection_name="billing", group_id="warm_lake", sync_frequency=360
        )
    )
    assert record["connection_ids"] == ["brisk_heron"]
    paused = run(PauseConnectionOperator(task_id="pause", connection_name="ads", group_id="warm_lake"))
    assert paused["connection_ids"] == ["quiet_meadow"]
    assert sim.connection("mellow_quartz")["paused"] is False  # a name is one connection, not the group
    sensor = FivetranSyncSensor(
        task_id="wait", connection_name="crm", group_id="warm_lake", completed_after="2025-12-01T00:00:00Z"
    )
    assert sensor.execute({"ti": TaskInstanceStandIn()})["connection_id"] == "mellow_quartz"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({}, "connection_name with group_id"),
        ({"connection_name": "crm"}, "group_id"),
        ({"connection_name": "crm", "group_id": "warm_lake", "connection_id": "mellow_quartz"}, "not both"),
    ],
)
def test_naming_the_connection_two_ways_or_none_fails_at_parse_time(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(FivetranValidationError, match=needle):
        sync(**kwargs)
    with pytest.raises(FivetranValidationError):
        FivetranSyncSensor(task_id="wait", **kwargs)


def test_name_and_group_are_templated() -> None:
    for operator in (FivetranSyncOperator, FivetranSyncSensor, UpdateFivetranConnectionOperator):
        assert {"connection_name", "group_id"} <= set(operator.template_fields)


# ------------------------------------------------------------------------------------ broken connections


def test_a_broken_connection_is_tested_and_synced_when_the_tests_pass(sim: FivetranSimulator) -> None:
    sim.add_connection("rusty_anchor", group_id="warm_lake", setup_state="broken", succeeded_at=OLD)
    sim.plan_syncs("rusty_anchor", "success", duration=0)
    result = run(sync(connection_id="rusty_anchor", test_if_broken=True))
    assert result["sync"]["status"] == "success"
    assert [r.path for r in sim.requests_for("POST")] == [
        "/v1/connections/rusty_anchor/test",
        "/v1/connections/rusty_anchor/sync",
    ]


def test_a_connection_still_broken_fails_with_the_setup_test_messages(sim: FivetranSimulator) -> None:
    sim.add_connection(
        "rusty_anchor", group_id="warm_lake", setup_state="broken", setup_test_failure="Password authentication failed"
    )
    with pytest.raises(FivetranConnectionBrokenError) as info:
        run(sync(connection_id="rusty_anchor", test_if_broken=True))
    message = str(info.value)
    assert "rusty_anchor is still broken after its setup tests, so no sync was started" in message
    assert "Checking permissions: FAILED (Password authentication failed)" in message
    assert "fivetran.com/dashboard/connections/rusty_anchor" in message
    assert info.value.setup_tests[-1]["status"] == "FAILED"
    assert [r.path for r in sim.requests_for("POST")] == ["/v1/connections/rusty_anchor/test"]


def test_setup_tests_run_only_when_asked_and_only_when_not_connected(sim: FivetranSimulator) -> None:
    sim.add_connection("rusty_anchor", group_id="warm_lake", setup_state="broken")
    sim.plan_syncs("rusty_anchor", "success", duration=0)
    sim.plan_syncs("mellow_quartz", "success", duration=0)
    run(sync(connection_id="rusty_anchor"))
    run(sync(connection_id="mellow_quartz", test_if_broken=True))
    assert [r for r in sim.requests_for("POST") if r.path.endswith("/test")] == []


# ------------------------------------------------------------------------------------ asset outlets

#: The connection's task-sync asset is declared on Airflow 3.1+; 3.0 declares only the alias (its
#: ``dag.test()`` refuses outlet assets no DAG processor has registered) and Airflow 2 none.
needs_airflow_3_1 = pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="the task-sync asset as outlet needs 3.1+")


@needs_airflow_3_1
def test_outlets_name_the_task_sync_asset_or_the_alias() -> None:
    from airflow.sdk import Asset, AssetAlias

    assert sync(connection_id="mellow_quartz").outlets == [Asset(uri="fivetran://mellow_quartz/task-syncs")]
    assert sync(connection_id="{{ params.c }}").outlets == [AssetAlias("fivetran_syncs")]
    assert sync(connection_id="mellow_quartz", wait_for_completion=False).outlets == [AssetAlias("fivetran_syncs")]
    sensor = FivetranSyncSensor(task_id="wait", connection_id="mellow_quartz")
    assert sensor.outlets == [Asset(uri="fivetran://mellow_quartz/task-syncs")]
    historical = UpdateFivetranConnectionOperator(
        task_id="update", connection_id="mellow_quartz", is_historical_sync=True
    )
    assert historical.outlets == [Asset(uri="fivetran://mellow_quartz/task-syncs")]
    plain = UpdateFivetranConnectionOperator(task_id="update", connection_id="mellow_quartz", sync_frequency=60)
    assert plain.outlets == []
    mine = Asset(uri="s3://bucket/landed")
    assert sync(connection_id="mellow_quartz", outlets=[mine]).outlets == [
        mine,
        Asset(uri="fivetran://mellow_quartz/task-syncs"),
    ]


@needs_airflow_3_1
def test_a_successful_sync_sets_the_asset_event_extra(sim: FivetranSimulator) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import OutletEventAccessors

    sim.plan_syncs("mellow_quartz", "success", duration=0)
    events = OutletEventAccessors()
    operator = sync(connection_id="mellow_quartz", resync=True)
    result = operator.execute({"ti": TaskInstanceStandIn(), "outlet_events": events})
    payload = events[Asset(uri="fivetran://mellow_quartz/task-syncs")].extra["payload"]
    assert payload["connection_id"] == "mellow_quartz"
    assert payload["outcome"] == "success"
    assert payload["succeeded_at"] == result["sync"]["succeeded_at"]
    assert payload["historical"] is True


@needs_airflow_3_1
def test_a_failed_sync_emits_nothing(sim: FivetranSimulator) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import OutletEventAccessors

    from fivetran_provider.exceptions import FivetranSyncFailedError

    sim.plan_syncs("mellow_quartz", "failure", duration=0)
    events = OutletEventAccessors()
    with pytest.raises(FivetranSyncFailedError):
        sync(connection_id="mellow_quartz").execute({"ti": TaskInstanceStandIn(), "outlet_events": events})
    assert events[Asset(uri="fivetran://mellow_quartz/task-syncs")].extra == {}


# ------------------------------------------------------------------------------------ OpenLineage


def test_lineage_lists_enabled_source_and_destination_tables(sim: FivetranSimulator) -> None:
    from airflow.providers.openlineage.extractors.manager import ExtractorManager
    from airflow.utils.state import TaskInstanceState

    sim.plan_syncs("mellow_quartz", "success", duration=0)
    operator = sync(connection_id="mellow_quartz")
    run(operator)
    schema_reads = sim.requests_for("GET", "/v1/connections/mellow_quartz/schemas")
    assert len(schema_reads) == 1

    # The OpenLineage provider's own extractor manager asks the operator for its facets (the
    # stand-ins carry the attributes it logs; it reads nothing else from them for this operator).
    class TaskInstance:
        task = operator
        task_id = "sync"
        dag_id = "lineage_test"

    class DagRun:
        run_id = "manual__1"

    lineage = ExtractorManager().extract_metadata(DagRun(), operator, TaskInstanceState.SUCCESS, TaskInstance())
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("postgres://mellow_quartz", "public.accounts"),
        ("postgres://mellow_quartz", "public.contacts"),
    ]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("fivetran://warm_lake", "crm_public.accounts"),
        ("fivetran://warm_lake", "crm_public.people"),
    ]


def test_lineage_without_a_schema_configuration_names_the_source_only(sim: FivetranSimulator) -> None:
    sim.plan_syncs("brisk_heron", "success", duration=0)
    operator = sync(connection_id="brisk_heron")
    run(operator)
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("postgres://brisk_heron", "billing")]
    assert lineage.outputs == []


def test_without_the_openlineage_provider_nothing_is_read(
    sim: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fivetran_provider import lineage

    # The provider is installed in the test environment; its absence is what this flag reports.
    monkeypatch.setattr(lineage, "openlineage_available", lambda: False)
    sim.plan_syncs("mellow_quartz", "success", duration=0)
    run(sync(connection_id="mellow_quartz"))
    assert sim.requests_for("GET", "/v1/connections/mellow_quartz/schemas") == []


# ------------------------------------------------------------------------------------ many connections


def bulk(**kwargs: Any) -> UpdateFivetranConnectionOperator:
    kwargs.setdefault("task_id", "align")
    return UpdateFivetranConnectionOperator(**kwargs)


def frequencies(sim: FivetranSimulator, ids: list[str]) -> dict[str, Any]:
    return {cid: sim.connection(cid)["sync_frequency"] for cid in ids}


WARM = ["mellow_quartz", "brisk_heron", "quiet_meadow"]


def test_group_update_sends_only_what_differs_per_connection(sim: FivetranSimulator) -> None:
    record = run(bulk(group_id="warm_lake", sync_frequency=60, data_delay_sensitivity="HIGH"))
    bodies = {r.path.rsplit("/", 1)[1]: r.body for r in sim.requests_for("PATCH")}
    assert bodies == {
        "mellow_quartz": {"sync_frequency": 60, "data_delay_sensitivity": "HIGH", "run_setup_tests": False},
        "brisk_heron": {"data_delay_sensitivity": "HIGH", "run_setup_tests": False},
        "quiet_meadow": {"sync_frequency": 60, "data_delay_sensitivity": "HIGH", "run_setup_tests": False},
    }
    assert record["connection_ids"] == WARM
    assert frequencies(sim, WARM) == dict.fromkeys(WARM, 60)


def test_dry_run_is_a_drift_report_and_a_log_table(sim: FivetranSimulator, task_output: Any) -> None:
    record = run(bulk(connection_ids=["brisk_heron", "quiet_meadow"], sync_frequency=60, dry_run=True))
    assert sim.requests_for("PATCH") == []
    assert record["dry_run"] is True
    assert record["drift"] == {
        "brisk_heron": {},
        "quiet_meadow": {"sync_frequency": {"current": 1440, "requested": 60}},
    }
    assert record["unchanged"] == ["brisk_heron"]
    text = task_output()
    assert "connection    setting         current         requested\n" in text
    assert "brisk_heron   -               (as requested)\n" in text
    assert "quiet_meadow  sync_frequency  1440            60" in text


def test_a_failed_patch_puts_back_every_connection_this_task_changed(sim: FivetranSimulator) -> None:
    before = frequencies(sim, WARM)
    sim.faults.server_error(count=1, status=403, method="PATCH", path_prefix="/v1/connections/quiet_meadow")
    with pytest.raises(FivetranPartialFailureError) as info:
        run(bulk(group_id="warm_lake", sync_frequency=30, max_parallel=1))
    assert frequencies(sim, WARM) == before
    message = str(info.value)
    assert "Could not update 1 of 3 connection(s): quiet_meadow:" in message
    assert "Rolled back: mellow_quartz, brisk_heron are as they were" in message
    assert info.value.changed == []


def test_a_patch_with_unknown_outcome_is_read_back_and_put_back(sim: FivetranSimulator) -> None:
    before = frequencies(sim, WARM)
    sim.faults.apply_then_fail(count=1, path_prefix="/v1/connections/brisk_heron")
    sim.faults.server_error(count=5, status=500, method="GET", path_prefix="/v1/connections/brisk_heron")
    sim.faults.server_error(count=5, status=500, method="PATCH", path_prefix="/v1/connections/brisk_heron")
    with pytest.raises(FivetranPartialFailureError):
        run(bulk(connection_ids=WARM, sync_frequency=30, max_parallel=1))
    sim.faults.clear()
    assert frequencies(sim, WARM) == before


def test_a_patch_answered_with_a_redirect_is_read_back_before_it_counts_as_rolled_back(
    sim: FivetranSimulator,
) -> None:
    # A redirect is not a refusal: the PATCH may have been applied, so the rollback reads the
    # connection instead of assuming it unchanged (here it was not applied: nothing is re-sent).
    before = frequencies(sim, WARM)
    sim.faults.redirect(count=1, method="PATCH", path_prefix="/v1/connections/quiet_meadow")
    with pytest.raises(FivetranPartialFailureError) as info:
        run(bulk(group_id="warm_lake", sync_frequency=30, max_parallel=1))
    assert frequencies(sim, WARM) == before
    path = "/v1/connections/quiet_meadow"
    methods = [r.method for r in sim.requests if r.path == path]
    assert methods == ["GET", "PATCH", "GET"]  # plan, the redirected PATCH, the rollback's read
    assert "Rolled back: mellow_quartz, brisk_heron, quiet_meadow are as they were" in str(info.value)
    assert info.value.changed == []


def test_what_cannot_be_put_back_is_named_and_kept_in_a_record(sim: FivetranSimulator) -> None:
    # A new password cannot be rolled back: Fivetran reads the old one back masked.
    for cid in ("amber_fox", "calm_otter"):
        sim.add_connection(cid, group_id="cold_lake", config={"user": "etl", "password": "old-secret-4411"})
    sim.faults.server_error(count=1, status=403, method="PATCH", path_prefix="/v1/connections/calm_otter")
    ti = TaskInstanceStandIn()
    operator = bulk(connection_ids=["amber_fox", "calm_otter"], config={"password": "new-secret-9922"}, max_parallel=1)
    with pytest.raises(FivetranPartialFailureError) as info:
        run(operator, ti)
    message = str(info.value)
    assert "Rollback INCOMPLETE; still changed by this task: amber_fox (cannot put back: config.password)" in message
    assert "new-secret-9922" not in message and "old-secret-4411" not in message
    assert info.value.changed == ["amber_fox"]
    left = ti.xcoms[("<self>", "fivetran_change_record")]
    assert left["connection_ids"] == ["amber_fox"]
    assert left["connections"][0]["changes"]["config"]["after"] == {"password": "******"}
    assert sim.stored_config("calm_otter")["password"] == "old-secret-4411"


def test_nothing_is_sent_when_one_connection_cannot_be_planned(sim: FivetranSimulator) -> None:
    with pytest.raises(FivetranPartialFailureError, match=r"Nothing was changed: 1 of 2 connection\(s\)") as info:
        run(bulk(connection_ids=["brisk_heron", "no_such_conn"], sync_frequency=30))
    assert "no_such_conn" in str(info.value)
    assert sim.requests_for("PATCH") == []


def test_restore_undoes_a_group_update(sim: FivetranSimulator) -> None:
    before = frequencies(sim, WARM)
    ti = TaskInstanceStandIn()
    run(bulk(group_id="warm_lake", sync_frequency=30), ti)
    assert frequencies(sim, WARM) == dict.fromkeys(WARM, 30)
    run(RestoreFivetranConnectionOperator(task_id="restore", restore_from="align"), ti)
    assert frequencies(sim, WARM) == before


def test_many_connections_refuse_a_historical_sync_and_a_second_target() -> None:
    with pytest.raises(FivetranValidationError, match="one connection at a time"):
        bulk(group_id="warm_lake", is_historical_sync=True)
    with pytest.raises(FivetranValidationError, match="exactly one of connection_id, connection_ids, group_id"):
        bulk(connection_id="mellow_quartz", connection_ids=["brisk_heron"], sync_frequency=30)


# ------------------------------------------------------------------------------------ more asset events


@needs_airflow_3_1
def test_the_sensor_and_a_historical_update_emit_the_same_payload(sim: FivetranSimulator) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import OutletEventAccessors

    asset = Asset(uri="fivetran://mellow_quartz/task-syncs")
    events = OutletEventAccessors()
    sensor = FivetranSyncSensor(task_id="wait", connection_id="mellow_quartz", completed_after="2025-12-01")
    outcome = sensor.execute({"ti": TaskInstanceStandIn(), "outlet_events": events})
    payload = events[asset].extra["payload"]
    assert payload == {
        "connection_id": "mellow_quartz",
        "outcome": "success",
        "succeeded_at": outcome["succeeded_at"],
        "failed_at": None,
        "historical": False,
        "dashboard_url": "https://fivetran.com/dashboard/connections/mellow_quartz/status",
    }

    sim.plan_syncs("mellow_quartz", "success", duration=0)
    events = OutletEventAccessors()
    update = UpdateFivetranConnectionOperator(
        task_id="update", connection_id="mellow_quartz", is_historical_sync=True, poll_interval=1
    )
    record = update.execute({"ti": TaskInstanceStandIn(), "outlet_events": events})
    payload = events[asset].extra["payload"]
    assert payload["historical"] is True
    assert payload["succeeded_at"] == record["sync"]["succeeded_at"]
    lineage = update.get_openlineage_facets_on_complete(None)
    assert [d.name for d in lineage.outputs] == ["crm_public.accounts", "crm_public.people"]


@needs_airflow_3_1
def test_a_resumed_deferred_sync_emits_the_event(sim: FivetranSimulator) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import OutletEventAccessors

    events = OutletEventAccessors()
    operator = sync(connection_id="mellow_quartz")
    trigger_event = {
        "status": "success",
        "connection_id": "mellow_quartz",
        "succeeded_at": "2026-02-01T00:00:00.000000Z",
        "failed_at": None,
        "message": "done",
    }
    result = {"connection_id": "mellow_quartz", "operation": "sync", "scope": None}
    joined = operator.execute_complete(
        {"ti": TaskInstanceStandIn(), "outlet_events": events}, event=trigger_event, result=result
    )
    assert joined["sync"]["status"] == "success"
    payload = events[Asset(uri="fivetran://mellow_quartz/task-syncs")].extra["payload"]
    assert payload["succeeded_at"] == "2026-02-01T00:00:00.000000Z"
    assert payload["historical"] is False


def test_on_airflow_2_no_fivetran_outlets_are_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    from fivetran_provider import _compat

    # Airflow 2 cannot be installed beside Airflow 3; the version flag is what the code reads.
    monkeypatch.setattr(_compat, "AIRFLOW_V_3_PLUS", False)
    assert sync(connection_id="mellow_quartz").outlets == []


def test_a_refused_rollback_is_named_and_kept_in_a_record(sim: FivetranSimulator) -> None:
    # Fivetran sets create-only config keys once; clearing schema_prefix again is refused (400).
    for cid in ("amber_fox", "calm_otter"):
        sim.add_connection(cid, group_id="cold_lake", config={"user": "etl"})
    sim.faults.server_error(count=1, status=403, method="PATCH", path_prefix="/v1/connections/calm_otter")
    ti = TaskInstanceStandIn()
    operator = bulk(connection_ids=["amber_fox", "calm_otter"], config={"schema_prefix": "crm_"}, max_parallel=1)
    with pytest.raises(FivetranPartialFailureError) as info:
        run(operator, ti)
    message = str(info.value)
    assert "Could not update 1 of 2 connection(s): calm_otter:" in message
    assert "Rollback INCOMPLETE; still changed by this task: amber_fox (rollback failed:" in message
    assert "can only be set when the connection is created" in message
    assert info.value.changed == ["amber_fox"]
    assert sim.stored_config("amber_fox")["schema_prefix"] == "crm_"
    left = ti.xcoms[("<self>", "fivetran_change_record")]
    assert left["connection_ids"] == ["amber_fox"]
    assert left["connections"][0]["changes"]["config"] == {
        "before": {"schema_prefix": None},
        "after": {"schema_prefix": "crm_"},
    }


def test_the_simulator_answers_schemas_in_the_documented_shape(sim: FivetranSimulator) -> None:
    from fivetran_provider.hooks import FivetranHook

    hook = FivetranHook()
    try:
        config = hook.get_schema_config("mellow_quartz")
        with pytest.raises(Exception, match="NotFound_SchemaConfig"):
            hook.get_schema_config("brisk_heron")
    finally:
        hook.close()
    assert config["schema_change_handling"] == "ALLOW_ALL"
    table = config["schemas"]["public"]["tables"]["contacts"]
    for key in ("columns", "enabled", "enabled_patch_settings", "name_in_destination", "supports_columns_config"):
        assert key in table
    assert table["name_in_destination"] == "people"
    assert config["schemas"]["legacy"]["tables"]["old"]["name_in_destination"] == "old"


@pytest.mark.parametrize("name", [" leading", "trailing ", "None", "null"])
def test_a_name_is_looked_up_exactly_as_given(sim: FivetranSimulator, name: str) -> None:
    sim.add_connection("odd_name", group_id="cold_lake", schema=name)
    sim.plan_syncs("odd_name", "success", duration=0)
    result = run(sync(connection_name=name, group_id="cold_lake"))
    assert result["connection_id"] == "odd_name"

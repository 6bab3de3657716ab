"""DAGs written for the two earlier Fivetran providers run here against the simulator.

``tests/dags/compat_archived`` holds DAGs written for the archived ``airflow-provider-fivetran`` 1.x
(its ``fivetran_provider.operators.fivetran`` imports, unchanged); ``tests/dags/compat_async`` holds
DAGs written for ``airflow-provider-fivetran-async`` 2.x (``fivetran_provider_async`` imports). Both
folders are copied into the DAG folder, the second is migrated with ``python -m
fivetran_provider.migrate --write``, a ``DagBag`` imports them all, and each DAG runs with
``dag.test()``. The assertions are on what the simulator received (current API paths only, the
sync or re-sync with its scope, the sensor's reads after the sync started), the connection's
state and the XCom values the earlier providers documented.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from fivetran_provider._compat import AIRFLOW_V_3_1_PLUS
from fivetran_provider.sync_status import parse_timestamp
from fivetran_provider.testing import FivetranSimulator
from tests.conftest import DAGS_FOLDER, conn_json
from tests.test_example_dags import task_states, xcom

HERE = Path(__file__).resolve().parent / "dags"
OLD_SUCCESS = "2026-01-01T00:00:00Z"
COMPAT_DAG_IDS = {
    "compat_archived_sync_and_wait",
    "compat_archived_xcom",
    "compat_async_sync",
    "compat_async_xcom",
    "compat_async_resync",
    "compat_async_by_name",
    "compat_async_restore",
}


@pytest.fixture(scope="module")
def compat_bag(airflow_db: None) -> Any:
    """Both DAG folders inside the DAG folder, the async one migrated by the command, parsed by a DagBag."""
    from fivetran_provider import migrate
    from fivetran_provider._compat import dag_bag as parse_dags

    target = DAGS_FOLDER / "compat"
    shutil.rmtree(target, ignore_errors=True)
    for name in ("compat_archived", "compat_async"):
        shutil.copytree(HERE / name, target / name)
    assert migrate.main([str(target / "compat_archived")]) == 0  # written for 1.x: nothing to change
    assert migrate.main([str(target / "compat_async")]) == 1  # a dry run finds the imports
    assert migrate.main(["--write", str(target / "compat_async")]) == 0
    assert migrate.main([str(target / "compat_async")]) == 0  # and then nothing is left
    bag = parse_dags(str(target))
    yield bag
    shutil.rmtree(target, ignore_errors=True)


@pytest.fixture
def sim(fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch) -> FivetranSimulator:
    """The simulator, reachable as ``fivetran_default`` and as 1.x's default ``fivetran``; ``connector_id`` is set."""
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN", conn_json(fivetran_conn))
    monkeypatch.setenv("AIRFLOW_VAR_CONNECTOR_ID", "conn_a")
    return fivetran_conn


def run(bag: Any, dag_id: str) -> Any:
    dag = bag.get_dag(dag_id)
    assert dag is not None, f"no DAG {dag_id!r}"
    return dag.test()


def assert_current_paths_only(sim: FivetranSimulator) -> None:
    """Every request went to a path of Fivetran's current API: no ``/v1/connectors``, no ``/force``."""
    assert sim.requests
    for recorded in sim.requests:
        assert recorded.path.startswith(("/v1/connections", "/v1/groups")), recorded.path
        assert "/connectors" not in recorded.path and not recorded.path.endswith("/force"), recorded.path


def asset_event_payloads(uri: str) -> list[dict[str, Any]]:
    """The payloads of the asset events stored for ``uri`` (Airflow 3)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.uri == uri)
        ).all()
        return [dict((row.extra or {}).get("payload") or {}) for row in rows]


def same_time(left: Any, right: Any) -> bool:
    return parse_timestamp(left) == parse_timestamp(right)


def test_every_dag_of_both_providers_imports_without_errors(compat_bag: Any) -> None:
    assert compat_bag.import_errors == {}
    assert set(compat_bag.dag_ids) == COMPAT_DAG_IDS


def test_archived_operator_then_sensor(compat_bag: Any, sim: FivetranSimulator, finish_after_polls: Any) -> None:
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, schedule_type="auto")
    sim.plan_syncs("conn_a", "success", duration=3600)
    finish_after_polls(sim, "conn_a", polls=3)  # still running when the sensor first looks
    dag_run = run(compat_bag, "compat_archived_sync_and_wait")
    assert dag_run.state == "success", task_states(dag_run)
    assert_current_paths_only(sim)
    # As in 1.x: the connection is taken off Fivetran's schedule, then one sync is started.
    assert [r.body for r in sim.requests_for("PATCH", "/v1/connections/conn_a")] == [
        {"schedule_type": "manual", "run_setup_tests": False}
    ]
    posts = sim.requests_for("POST", "/v1/connections/conn_a/sync")
    assert [p.body for p in posts] == [{"force": False}]
    assert sim.connection("conn_a")["schedule_type"] == "manual"
    # The operator returns the previous completion time; the sensor returns nothing.
    assert same_time(xcom(dag_run, "fivetran-task"), OLD_SUCCESS)
    assert xcom(dag_run, "fivetran-sensor") == []
    # The change is recorded, so a Restore task could undo it.
    record = xcom(dag_run, "fivetran-task", key="fivetran_change_record")
    assert record["connections"][0]["changes"] == {"schedule_type": {"before": "auto", "after": "manual"}}
    # The sensor kept reading until the sync started by the operator had succeeded.
    finished = parse_timestamp(sim.connection("conn_a")["succeeded_at"])
    assert finished is not None and finished.timestamp() > posts[0].at
    reads_after_start = [r for r in sim.requests_for("GET", "/v1/connections/conn_a") if r.at > posts[0].at]
    assert len(reads_after_start) >= 4 and reads_after_start[-1].at >= finished.timestamp()


def test_archived_xcom_between_operator_and_sensor(compat_bag: Any, sim: FivetranSimulator) -> None:
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, schedule_type="auto")
    dag_run = run(compat_bag, "compat_archived_xcom")  # 1.x's default Airflow connection id "fivetran"
    assert dag_run.state == "success", task_states(dag_run)
    assert_current_paths_only(sim)
    assert sim.requests_for("PATCH") == []  # schedule_type="auto" is what it already had
    assert len(sim.requests_for("POST", "/v1/connections/conn_a/sync")) == 1
    returned = xcom(dag_run, "fivetran-operator")
    assert same_time(returned, OLD_SUCCESS)
    # The sensor waited past the returned time: the new sync's success counts, the old one not.
    assert parse_timestamp(sim.connection("conn_a")["succeeded_at"]) > parse_timestamp(returned)  # type: ignore[operator]


def test_async_operator_waits_in_the_triggerer(
    compat_bag: Any, sim: FivetranSimulator, finish_after_polls: Any
) -> None:
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, schedule_type="manual")
    sim.plan_syncs("conn_a", "success", duration=3600)
    finish_after_polls(sim, "conn_a", polls=2)
    # Airflow 3.0 declares only the alias, whose events dag.test() does not store.
    events_before = len(asset_event_payloads("fivetran://conn_a/task-syncs")) if AIRFLOW_V_3_1_PLUS else 0
    dag_run = run(compat_bag, "compat_async_sync")
    assert dag_run.state == "success", task_states(dag_run)
    assert_current_paths_only(sim)
    assert sim.requests_for("PATCH") == []
    assert [p.body for p in sim.requests_for("POST", "/v1/connections/conn_a/sync")] == [{"force": False}]
    # 2.4.0 returned the new completion time after waiting in the triggerer.
    assert same_time(xcom(dag_run, "fivetran_task"), sim.connection("conn_a")["succeeded_at"])
    assert parse_timestamp(xcom(dag_run, "fivetran_task")) > parse_timestamp(OLD_SUCCESS)  # type: ignore[operator]
    if AIRFLOW_V_3_1_PLUS:  # unlike 2.4.0, the successful sync is also an asset event
        events = asset_event_payloads("fivetran://conn_a/task-syncs")[events_before:]
        assert [event.get("outcome") for event in events] == ["success"]


def test_async_xcom_between_operator_and_sensor(
    compat_bag: Any, sim: FivetranSimulator, finish_after_polls: Any
) -> None:
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, schedule_type="manual")
    sim.plan_syncs("conn_a", "success", duration=3600)
    finish_after_polls(sim, "conn_a", polls=2)
    dag_run = run(compat_bag, "compat_async_xcom")
    assert dag_run.state == "success", task_states(dag_run)
    assert_current_paths_only(sim)
    posts = sim.requests_for("POST", "/v1/connections/conn_a/sync")
    assert len(posts) == 1
    assert same_time(xcom(dag_run, "fivetran-operator"), OLD_SUCCESS)  # wait_for_completion=False
    assert xcom(dag_run, "fivetran-sensor") == []
    finished = parse_timestamp(sim.connection("conn_a")["succeeded_at"])
    assert finished is not None and finished.timestamp() > posts[0].at


def test_async_resync_whole_connection_and_scoped(compat_bag: Any, sim: FivetranSimulator) -> None:
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, schedule_type="manual")
    dag_run = run(compat_bag, "compat_async_resync")
    assert dag_run.state == "success", task_states(dag_run)
    assert_current_paths_only(sim)
    assert [r.body for r in sim.requests_for("POST", "/v1/connections/conn_a/resync")] == [
        {},
        {"scope": {"salesforce": ["account", "campaign"]}},
    ]
    assert sim.requests_for("POST", "/v1/connections/conn_a/sync") == []
    assert sim.connection("conn_a")["status"]["is_historical_sync"] is False


def test_async_lookup_by_connector_and_destination_name(
    compat_bag: Any, sim: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.add_group("grp_other", name="other_team")
    sim.add_group("grp_ci", name="integration_team_ci")
    sim.add_connection("conn_other", group_id="grp_other", schema="salesforce", schedule_type="manual")
    sim.add_connection("conn_a", group_id="grp_ci", schema="salesforce", schedule_type="manual")
    monkeypatch.setenv("AIRFLOW_VAR_CONNECTOR_NAME", "salesforce")
    monkeypatch.setenv("AIRFLOW_VAR_DESTINATION_NAME", "integration_team_ci")
    dag_run = run(compat_bag, "compat_async_by_name")
    assert dag_run.state == "success", task_states(dag_run)
    assert_current_paths_only(sim)
    assert sim.requests_for("GET", "/v1/groups")
    assert [r.query.get("group_id") for r in sim.requests_for("GET", "/v1/connections")] == ["grp_ci"]
    assert len(sim.requests_for("POST", "/v1/connections/conn_a/sync")) == 1
    assert sim.requests_for("POST", "/v1/connections/conn_other/sync") == []
    assert xcom(dag_run, "fivetran_task") == []  # waited in the worker: 2.4.0 returned nothing then


def test_async_default_schedule_change_is_recorded_and_restored(compat_bag: Any, sim: FivetranSimulator) -> None:
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, schedule_type="auto", paused=True)
    dag_run = run(compat_bag, "compat_async_restore")
    assert dag_run.state == "success", task_states(dag_run)
    assert_current_paths_only(sim)
    patches = [r.body for r in sim.requests_for("PATCH", "/v1/connections/conn_a")]
    # 2.4.0 switched to manual and resumed the paused connection; both were recorded and undone.
    assert patches[0] == {"schedule_type": "manual", "paused": False, "run_setup_tests": False}
    assert patches[1:] == [{"schedule_type": "auto", "paused": True, "run_setup_tests": False}]
    view = sim.connection("conn_a")
    assert view["schedule_type"] == "auto" and view["paused"] is True
    assert same_time(xcom(dag_run, "fivetran_task"), OLD_SUCCESS)  # the return value stays what 2.4.0 returned

"""End to end under ``dag.test()``: start a sync, wait for it (worker or inline trigger), then run downstream.

The DAGs live in ``tests/dags/fivetran_test_wait_*.py``. ``dag.test()`` runs deferred tasks' triggers
inline, so the ``deferrable`` variants exercise :class:`FivetranSyncTrigger` for real. A failed
task's exception is printed by ``dag.test()``; the tests read it from the captured output.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from fivetran_provider.hooks import FivetranHook
from fivetran_provider.sync_status import parse_timestamp
from fivetran_provider.testing import FivetranSimulator
from tests.conftest import task_started_at

OLD_SUCCESS = "2026-01-01T00:00:00Z"
MODES = ["deferrable", "blocking"]


def states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def xcom(dag_run: Any, task_id: str) -> Any:
    from airflow.utils.session import create_session

    from fivetran_provider._compat import stored_xcom_value, xcom_table

    XComModel = xcom_table()
    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key="return_value")
            .first()
        )
        assert row is not None, f"no XCom from {task_id}"
        return stored_xcom_value(row)


def task_start(dag_run: Any, task_id: str) -> Any:
    return task_started_at(dag_run, task_id)


def assert_only_documented_paths(sim: FivetranSimulator) -> None:
    for recorded in sim.requests:
        assert recorded.path.startswith("/v1/connections/"), recorded.path
        assert not recorded.path.endswith("/force"), recorded.path


# ------------------------------------------------------------------------------ success


@pytest.mark.parametrize("mode", MODES)
def test_sync_then_backfill(run_dag: Any, fivetran_conn: FivetranSimulator, finish_after_polls: Any, mode: str) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=3600)
    finish_after_polls(sim, "conn_a", polls=2)  # the sync ends only once the task has seen it running twice
    dag_run = run_dag(f"test_wait_sync_{mode}", connection_id="conn_a")
    assert dag_run.state == "success", states(dag_run)
    result = xcom(dag_run, "sync")
    assert result["operation"] == "sync" and result["unpaused"] is False
    assert result["baseline"] == "2026-01-01T00:00:00.000000Z"
    assert result["sync"]["status"] == "success"
    finished = parse_timestamp(result["sync"]["succeeded_at"])
    assert finished is not None and finished > parse_timestamp(OLD_SUCCESS)  # type: ignore[operator]
    assert result["sync"]["polls"] >= 2  # it really waited for the running sync
    # The backfill ran only after the sync had finished, with its result.
    assert task_start(dag_run, "backfill") >= finished
    assert xcom(dag_run, "backfill") == f"backfilled conn_a up to {result['sync']['succeeded_at']}"
    posts = sim.requests_for("POST", "/v1/connections/conn_a/sync")
    assert [p.body for p in posts] == [{"force": False}]
    assert_only_documented_paths(sim)


@pytest.mark.parametrize("mode", MODES)
def test_force_restarts_a_running_sync(
    run_dag: Any, fivetran_conn: FivetranSimulator, hook: FivetranHook, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=60)
    sim.plan_syncs("conn_a", "success", duration=0.5)
    hook.start_sync("conn_a")  # someone else's long sync is running
    dag_run = run_dag(f"test_wait_sync_{mode}", connection_id="conn_a", force="true")
    assert dag_run.state == "success", states(dag_run)
    assert [p.body for p in sim.requests_for("POST", "/v1/connections/conn_a/sync")] == [
        {"force": False},
        {"force": True},
    ]
    assert [run["outcome"] for run in sim.sync_history("conn_a")] == ["cancelled", "success"]


@pytest.mark.parametrize("mode", MODES)
def test_sync_that_finishes_before_the_first_poll_is_not_missed(
    run_dag: Any, fivetran_conn: FivetranSimulator, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.0)
    dag_run = run_dag(f"test_wait_sync_{mode}", connection_id="conn_a")
    assert dag_run.state == "success", states(dag_run)
    assert xcom(dag_run, "sync")["sync"]["polls"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_historical_resync_then_backfill(run_dag: Any, fivetran_conn: FivetranSimulator, mode: str) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.6)
    dag_run = run_dag(f"test_wait_resync_{mode}", connection_id="conn_a")
    assert dag_run.state == "success", states(dag_run)
    resync = sim.requests_for("POST", "/v1/connections/conn_a/resync")
    assert [r.body for r in resync] == [{}]
    assert sim.sync_history("conn_a")[0]["historical"] is True
    assert sim.connection("conn_a")["status"]["is_historical_sync"] is False
    result = xcom(dag_run, "resync")
    assert result["operation"] == "resync" and result["scope"] is None
    assert task_start(dag_run, "backfill") >= parse_timestamp(result["sync"]["succeeded_at"])
    assert_only_documented_paths(sim)


@pytest.mark.parametrize("mode", MODES)
def test_table_resync_sends_the_scope(run_dag: Any, fivetran_conn: FivetranSimulator, mode: str) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, service="postgres")
    sim.plan_syncs("conn_a", "success", duration=0.3)
    scope = {"public": ["orders", "customers"]}
    dag_run = run_dag(f"test_wait_resync_{mode}", connection_id="conn_a", scope=scope)
    assert dag_run.state == "success", states(dag_run)
    assert [r.body for r in sim.requests_for("POST", "/v1/connections/conn_a/resync")] == [{"scope": scope}]
    assert xcom(dag_run, "resync")["scope"] == scope


# ------------------------------------------------------------------------------ failures


@pytest.mark.parametrize("mode", MODES)
def test_failed_sync_fails_the_task_promptly_with_the_reason(
    run_dag: Any, fivetran_conn: FivetranSimulator, task_output: Any, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "failure", duration=0.4, failure_message="Source said no: token expired")
    dag_run = run_dag(f"test_wait_sync_{mode}", connection_id="conn_a")
    assert dag_run.state == "failed"
    assert states(dag_run) == {"sync": "failed", "backfill": "upstream_failed"}
    output = task_output()
    assert "FivetranSyncFailedError" in output
    assert "Fivetran sync of connection conn_a failed at" in output
    assert "Source said no: token expired" in output
    assert "https://fivetran.com/dashboard/connections/conn_a/status" in output


@pytest.mark.parametrize("mode", MODES)
def test_paused_connection_fails_clearly_without_requesting_a_sync(
    run_dag: Any, fivetran_conn: FivetranSimulator, task_output: Any, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, paused=True)
    dag_run = run_dag(f"test_wait_sync_{mode}", connection_id="conn_a")
    assert dag_run.state == "failed" and states(dag_run)["sync"] == "failed"
    output = task_output()
    assert "FivetranConnectionPausedError" in output and "conn_a is paused" in output
    assert "unpause_if_paused=True" in output
    assert sim.requests_for("POST") == [] and sim.requests_for("PATCH") == []
    assert sim.connection("conn_a")["paused"] is True


@pytest.mark.parametrize("mode", MODES)
def test_timeout_ends_a_sync_that_never_finishes(
    run_dag: Any, fivetran_conn: FivetranSimulator, task_output: Any, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=300)
    dag_run = run_dag(f"test_wait_timeout_{mode}", connection_id="conn_a")
    assert dag_run.state == "failed"
    output = task_output()
    assert "FivetranSyncTimeoutError" in output
    assert "Timed out after 2 s waiting for a Fivetran sync of connection conn_a" in output
    assert "is running (sync_state 'syncing')" in output


# ------------------------------------------------------------------------------ rescheduled


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("schedule_type", ["auto", "manual"])
def test_rescheduled_sync_then_success(
    run_dag: Any, fivetran_conn: FivetranSimulator, mode: str, schedule_type: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, schedule_type=schedule_type)
    sim.plan_syncs("conn_a", "rescheduled", "success", duration=0.2, rescheduled_delay=0.8)
    dag_run = run_dag(f"test_wait_sync_{mode}", connection_id="conn_a")
    assert dag_run.state == "success", states(dag_run)
    history = sim.sync_history("conn_a")
    assert [run["outcome"] for run in history] == ["rescheduled", "success"]
    posts = sim.requests_for("POST", "/v1/connections/conn_a/sync")
    if schedule_type == "manual":
        assert len(posts) == 2 and history[1]["trigger"] == "sync"
        assert posts[1].at >= history[0]["ended_at"] + 0.8  # not before rescheduled_for
    else:
        assert len(posts) == 1 and history[1]["trigger"] == "resume"
    assert task_start(dag_run, "backfill") >= parse_timestamp(xcom(dag_run, "sync")["sync"]["succeeded_at"])


# ------------------------------------------------------------------------------ sensor


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensor_waits_for_a_sync_started_elsewhere(
    run_dag: Any, fivetran_conn: FivetranSimulator, hook: FivetranHook, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=2.0)
    hook.start_sync("conn_a")  # e.g. Fivetran's own schedule
    dag_run = run_dag(f"test_wait_sensor_{mode}", connection_id="conn_a")
    assert dag_run.state == "success", states(dag_run)
    outcome = xcom(dag_run, "wait")
    assert outcome["status"] == "success"
    # Default completed_after: the run's data interval end (here: when the run was triggered).
    assert outcome["baseline"] == dag_run.data_interval_end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert parse_timestamp(outcome["succeeded_at"]) > dag_run.data_interval_end
    assert len(sim.requests_for("POST")) == 1  # the sensor itself starts nothing


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_sensor_with_an_earlier_completed_after_succeeds_on_a_past_sync(
    run_dag: Any, fivetran_conn: FivetranSimulator, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at="2026-03-02T08:00:00Z")
    dag_run = run_dag(f"test_wait_sensor_{mode}", connection_id="conn_a", completed_after="2026-03-02T00:00:00+00:00")
    assert dag_run.state == "success", states(dag_run)
    assert xcom(dag_run, "wait")["succeeded_at"] == "2026-03-02T08:00:00.000000Z"
    assert len(sim.requests_for("GET")) == 1


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensor_fails_on_a_failed_sync(
    run_dag: Any,
    fivetran_conn: FivetranSimulator,
    hook: FivetranHook,
    task_output: Any,
    mode: str,
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "failure", duration=1.0, failure_message="Destination is full")
    hook.start_sync("conn_a")
    dag_run = run_dag(f"test_wait_sensor_{mode}", connection_id="conn_a")
    assert dag_run.state == "failed" and states(dag_run)["wait"] == "failed"
    output = task_output()
    assert "FivetranSyncFailedError" in output and "Destination is full" in output


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_sensor_fails_on_a_paused_connection(
    run_dag: Any, fivetran_conn: FivetranSimulator, task_output: Any, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, paused=True)
    dag_run = run_dag(f"test_wait_sensor_{mode}", connection_id="conn_a")
    assert dag_run.state == "failed"
    assert "FivetranConnectionPausedError" in task_output()


# ------------------------------------------------------------------------------ the mixin contract


@pytest.mark.parametrize("mode", MODES)
def test_update_operator_waits_for_a_historical_sync_started_by_a_patch_and_keeps_the_operator_result(
    run_dag: Any, fivetran_conn: FivetranSimulator, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.6)
    dag_run = run_dag(f"test_wait_update_{mode}", connection_id="conn_a")
    assert dag_run.state == "success", states(dag_run)
    assert [r.body.get("is_historical_sync") for r in sim.requests_for("PATCH")] == [True]
    result = xcom(dag_run, "patch")
    # The operator's own result survives the deferral, joined with the outcome under "sync".
    assert result["connection_ids"] == ["conn_a"]
    assert result["connections"][0]["changes"] == {"is_historical_sync": {"before": False, "after": True}}
    assert result["sync"]["status"] == "success" and result["sync"]["baseline"] == "2026-01-01T00:00:00.000000Z"
    assert sim.sync_history("conn_a")[0]["historical"] is True
    assert xcom(dag_run, "backfill") == result["sync"]["succeeded_at"]
    assert task_start(dag_run, "backfill") >= parse_timestamp(result["sync"]["succeeded_at"])


@pytest.mark.parametrize("mode", MODES)
def test_update_operator_reports_a_failed_historical_sync(
    run_dag: Any, fivetran_conn: FivetranSimulator, task_output: Any, mode: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "failure", duration=0.3, failure_message="Historical sync ran out of disk")
    dag_run = run_dag(f"test_wait_update_{mode}", connection_id="conn_a")
    assert states(dag_run) == {"patch": "failed", "backfill": "upstream_failed"}
    output = task_output()
    assert "Fivetran historical sync of connection conn_a failed at" in output
    assert "Historical sync ran out of disk" in output


def test_update_operator_without_waiting_returns_at_once(run_dag: Any, fivetran_conn: FivetranSimulator) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=60)
    dag_run = run_dag("test_wait_update_blocking", connection_id="conn_a", wait="false")
    result = xcom(dag_run, "patch")
    assert result["sync"] == {
        "connection_id": "conn_a",
        "status": "started",
        "baseline": "2026-01-01T00:00:00.000000Z",
        "dashboard_url": "https://fivetran.com/dashboard/connections/conn_a/status",
    }
    assert sim.connection("conn_a")["status"]["sync_state"] == "syncing"  # nobody waited for it
    assert states(dag_run)["backfill"] == "failed"  # the stand-in backfill insists on a finished sync


# ------------------------------------------------------------------------------ without a DAG run


def test_literal_arguments_are_checked_when_the_dag_is_parsed() -> None:
    from fivetran_provider.exceptions import FivetranValidationError
    from fivetran_provider.operators import FivetranSyncOperator
    from fivetran_provider.sensors import FivetranSyncSensor

    with pytest.raises(FivetranValidationError, match="connection_id"):
        FivetranSyncOperator(task_id="t", connection_id="a/b")
    with pytest.raises(FivetranValidationError, match="scope"):
        FivetranSyncOperator(task_id="t", connection_id="conn_a", scope={"public": []})
    with pytest.raises(FivetranValidationError, match="force"):
        FivetranSyncOperator(task_id="t", connection_id="conn_a", force="maybe")
    with pytest.raises(FivetranValidationError, match="timeout"):
        FivetranSyncOperator(task_id="t", connection_id="conn_a", timeout=0)
    with pytest.raises(FivetranValidationError, match="completed_after"):
        FivetranSyncSensor(task_id="s", connection_id="conn_a", completed_after="last tuesday")
    # Templated values are only checked after rendering.
    FivetranSyncOperator(task_id="t", connection_id="{{ params.c }}", scope="{{ params.scope }}", force="{{ x }}")
    FivetranSyncSensor(task_id="s", connection_id="{{ params.c }}", completed_after="{{ params.after }}")


def test_deferrable_defaults_to_the_airflow_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from fivetran_provider.operators import FivetranSyncOperator
    from fivetran_provider.sensors import FivetranSyncSensor

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "true")
    assert FivetranSyncOperator(task_id="t", connection_id="conn_a").deferrable is True
    assert FivetranSyncSensor(task_id="s", connection_id="conn_a").deferrable is True
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "false")
    assert FivetranSyncOperator(task_id="t", connection_id="conn_a").deferrable is False
    assert FivetranSyncOperator(task_id="t", connection_id="conn_a", deferrable=True).deferrable is True


def test_deferring_hands_the_trigger_the_baseline_and_settings_but_no_credentials(
    fivetran_conn: FivetranSimulator,
) -> None:
    from fivetran_provider._compat import TaskDeferred
    from fivetran_provider.operators import FivetranSyncOperator
    from fivetran_provider.triggers import FivetranSyncTrigger

    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, failed_at="2026-02-01T00:00:00Z")
    sim.plan_syncs("conn_a", "success", duration=60)
    operator = FivetranSyncOperator(task_id="t", connection_id="conn_a", deferrable=True, poll_interval=5, timeout=600)
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context={})  # type: ignore[arg-type]
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout is not None and deferred.value.timeout.total_seconds() == 900
    trigger = deferred.value.trigger
    assert isinstance(trigger, FivetranSyncTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["baseline"] == "2026-02-01T00:00:00.000000Z"  # the later of the two, read before the POST
    assert kwargs["poll_interval"] == 5.0 and kwargs["fivetran_conn_id"] == "fivetran_default"
    assert kwargs["retry_policy"]["backoff_base"] == 0.01  # the connection's extras travel along
    deadline = parse_timestamp(kwargs["deadline"])
    assert deadline is not None and before + 599 <= deadline.timestamp() <= time.time() + 600
    text = json.dumps(kwargs) + repr(trigger) + json.dumps(deferred.value.kwargs or {})
    assert sim.api_key not in text and sim.api_secret not in text
    # The trigger's event decides what the task returns.
    result = deferred.value.kwargs["result"]
    done = operator.execute_complete(
        {},  # type: ignore[arg-type]
        event={"status": "success", "connection_id": "conn_a", "succeeded_at": "2026-03-01T00:00:00.000000Z"},
        result=result,
    )
    assert done["operation"] == "sync" and done["sync"]["succeeded_at"] == "2026-03-01T00:00:00.000000Z"
    from fivetran_provider.exceptions import FivetranSyncFailedError

    with pytest.raises(FivetranSyncFailedError, match="boom"):
        operator.execute_complete({}, event={"status": "failed", "message": "boom"}, result=result)  # type: ignore[arg-type]


def test_unpause_if_paused_resumes_the_connection_and_says_so(fivetran_conn: FivetranSimulator) -> None:
    from fivetran_provider.operators import FivetranSyncOperator

    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, paused=True)
    sim.plan_syncs("conn_a", "success", duration=0.2)
    operator = FivetranSyncOperator(
        task_id="t", connection_id="conn_a", deferrable=False, unpause_if_paused=True, poll_interval=1, timeout=10
    )
    result = operator.execute(context={})  # type: ignore[arg-type]
    assert result["unpaused"] is True and result["sync"]["status"] == "success"
    assert sim.connection("conn_a")["paused"] is False
    assert [r.body.get("paused") for r in sim.requests_for("PATCH")] == [False]


def test_a_resync_refused_with_409_is_asked_again_after_the_running_sync(fivetran_conn: FivetranSimulator) -> None:
    from fivetran_provider.operators import FivetranSyncOperator

    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", "success", duration=0.3)
    FivetranHook().start_sync("conn_a")  # a sync is running
    sim.faults.resync_conflict(count=1)
    operator = FivetranSyncOperator(task_id="t", connection_id="conn_a", resync=True, deferrable=False, poll_interval=1)
    result = operator.execute(context={})  # type: ignore[arg-type]
    assert [r.status for r in sim.requests_for("POST", "/v1/connections/conn_a/resync")] == [409, 200]
    runs = sim.sync_history("conn_a")
    assert [(run["trigger"], run["outcome"]) for run in runs] == [("sync", "success"), ("resync", "success")]
    # The baseline was taken again after the running sync ended, so its end did not count.
    assert parse_timestamp(result["baseline"]).timestamp() == pytest.approx(runs[0]["ended_at"], abs=1e-5)
    assert parse_timestamp(result["sync"]["succeeded_at"]).timestamp() == pytest.approx(runs[1]["ended_at"], abs=1e-5)


def test_changes_of_an_update_whose_sync_fails_can_still_be_undone(
    run_dag: Any, fivetran_conn: FivetranSimulator
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, sync_frequency=360)
    sim.plan_syncs("conn_a", "failure", duration=0.2)
    dag_run = run_dag("test_wait_update_then_restore", connection_id="conn_a")
    assert states(dag_run) == {"patch": "failed", "restore": "success"}
    assert [r.body.get("sync_frequency") for r in sim.requests_for("PATCH")] == [60, 360]
    assert sim.connection("conn_a")["sync_frequency"] == 360

"""The example DAGs for lookup by name, asset events, broken connections and group-wide settings.

Run end to end with ``dag.test()`` on the migrated SQLite metadata DB against the simulator.
Asset events are read back from Airflow's own tables (``asset_event``, ``asset_dag_run_queue``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from fivetran_provider._compat import AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_PLUS
from fivetran_provider.testing import FivetranSimulator
from fivetran_provider.testing.demo import seed_demo_account
from tests.test_example_dags import task_states, xcom

#: These drive Airflow's own DAG-processor, serialisation and triggerer code paths as they are in
#: Airflow 3.1 and later; the provider code they exercise is the same on 3.0.
needs_airflow_3_1 = pytest.mark.skipif(
    not AIRFLOW_V_3_1_PLUS, reason="drives Airflow 3.1+'s own DAG-processor and triggerer internals"
)

NEW_EXAMPLES = {
    "fivetran_run_when_data_lands",
    "fivetran_sync_by_name",
    "fivetran_sync_broken_connection",
    "fivetran_align_group_settings",
}


@pytest.fixture
def demo(fivetran_conn: FivetranSimulator) -> FivetranSimulator:
    seed_demo_account(fivetran_conn)
    return fivetran_conn


def asset_events(uri: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.uri == uri)
        ).all()
        return [dict((row.extra or {}).get("payload") or {}) for row in rows]


def queued_runs(dag_id: str) -> int:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id)
            )
            or 0
        )


def clear_queue(dag_id: str) -> None:
    """Forget runs queued by earlier asset events (one row per DAG and asset until the scheduler runs it)."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))


def sync_to_db(dag_bag: Any, dag_id: str) -> None:
    """Store a DAG in the metadata DB as the DAG processor does, unpaused.

    Stored twice: Airflow creates an asset's watcher triggers only for assets of unpaused DAGs,
    when the DAG is next parsed.
    """
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session

    dag = dag_bag.get_dag(dag_id)
    for _parse in range(2):
        with create_session() as session:
            if session.get(DagBundleModel, "dags-folder") is None:
                session.add(DagBundleModel(name="dags-folder"))
                session.flush()
            update_dag_parsing_results_in_db(
                bundle_name="dags-folder",
                bundle_version=None,
                dags=[LazyDeserializedDAG.from_dag(dag)],
                import_errors={},
                parse_duration=None,
                warnings=set(),
                session=session,
            )
            session.flush()
            model = session.get(DagModel, dag_id)
            assert model is not None
            model.is_paused = False  # paused DAGs are neither queued nor watched


@needs_airflow_3_1
def test_the_new_examples_parse_with_the_asset_watcher(dag_bag: Any) -> None:
    from airflow.serialization import serialized_objects

    # Named DagSerialization from Airflow 3.2, SerializedDAG before.
    serializer = getattr(serialized_objects, "DagSerialization", None) or serialized_objects.SerializedDAG

    assert set(dag_bag.dag_ids) >= NEW_EXAMPLES
    dag = dag_bag.get_dag("fivetran_run_when_data_lands")
    serialized = str(serializer.to_dict(dag))
    assert "fivetran://mellow_quartz" in serialized
    assert "fivetran_provider.event_triggers.FivetranSyncEventTrigger" in serialized


@needs_airflow_3_1
def test_sync_by_name_looks_up_once_and_emits_the_task_sync_event(
    run_dag: Any, dag_bag: Any, demo: FivetranSimulator
) -> None:
    sync_to_db(dag_bag, "fivetran_run_when_data_lands")
    before = len(asset_events("fivetran://mellow_quartz/task-syncs"))
    watched_before = len(asset_events("fivetran://mellow_quartz"))
    clear_queue("fivetran_run_when_data_lands")
    demo.plan_syncs("mellow_quartz", "success", duration=0)

    dag_run = run_dag("fivetran_sync_by_name")

    assert task_states(dag_run) == {"sync": "success"}
    lists = demo.requests_for("GET", "/v1/connections")
    assert [r.query.get("group_id") for r in lists if r.path == "/v1/connections"] == ["tidal_lantern"]
    assert len(demo.requests_for("POST", "/v1/connections/mellow_quartz/sync")) == 1
    result = xcom(dag_run, "sync")
    assert result["connection_id"] == "mellow_quartz"
    events = asset_events("fivetran://mellow_quartz/task-syncs")
    assert len(events) == before + 1
    extra = events[-1]
    assert extra["connection_id"] == "mellow_quartz"
    assert extra["outcome"] == "success"
    assert extra["succeeded_at"] == result["sync"]["succeeded_at"]
    assert extra["historical"] is False
    # The watched asset is left to its watcher: the task's event starts no run of the DAG scheduled on it.
    assert len(asset_events("fivetran://mellow_quartz")) == watched_before
    assert queued_runs("fivetran_run_when_data_lands") == 0


def test_sync_by_unknown_name_fails_listing_the_group(run_dag: Any, demo: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_sync_by_name", connection_name="pg_staging")
    assert task_states(dag_run) == {"sync": "failed"}
    assert demo.requests_for("POST") == []


@pytest.mark.skipif(not AIRFLOW_V_3_PLUS, reason="asset-scheduled DAGs need Airflow 3")
def test_run_when_data_lands_reports_nothing_when_run_by_hand(run_dag: Any, demo: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_run_when_data_lands")
    assert task_states(dag_run) == {"report_landing": "success"}
    assert xcom(dag_run, "report_landing") == []
    assert demo.requests == []  # the watcher runs in the triggerer, never in a task


def test_broken_connection_example_tests_then_syncs(run_dag: Any, demo: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_sync_broken_connection")
    assert task_states(dag_run) == {"sync": "success"}
    assert len(demo.requests_for("POST", "/v1/connections/gentle_harbor/test")) == 1
    assert len(demo.requests_for("POST", "/v1/connections/gentle_harbor/sync")) == 1
    assert demo.connection("gentle_harbor")["status"]["setup_state"] == "connected"


def test_broken_connection_example_fails_without_syncing_when_tests_fail(run_dag: Any, demo: FivetranSimulator) -> None:
    demo.add_connection(
        "rusty_anchor", group_id="tidal_lantern", setup_state="broken", setup_test_failure="Password expired"
    )
    dag_run = run_dag("fivetran_sync_broken_connection", connection_id="rusty_anchor")
    assert task_states(dag_run) == {"sync": "failed"}
    assert len(demo.requests_for("POST", "/v1/connections/rusty_anchor/test")) == 1
    assert demo.requests_for("POST", "/v1/connections/rusty_anchor/sync") == []


def test_align_group_reports_drift_then_sends_only_what_differs(run_dag: Any, demo: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_align_group_settings", group_id="tidal_lantern", sync_frequency=360)

    assert task_states(dag_run) == {"drift_report": "success", "align": "success"}
    report = xcom(dag_run, "drift_report")
    assert report["dry_run"] is True
    assert report["drift"] == {
        "mellow_quartz": {"sync_frequency": {"current": 60, "requested": 360}},
        "brisk_heron": {},
        "quiet_meadow": {"sync_frequency": {"current": 1440, "requested": 360}},
    }
    bodies = {r.path.rsplit("/", 1)[1]: r.body for r in demo.requests_for("PATCH")}
    assert bodies == {
        "mellow_quartz": {"sync_frequency": 360, "run_setup_tests": False},
        "quiet_meadow": {"sync_frequency": 360, "run_setup_tests": False},
    }
    record = xcom(dag_run, "align")
    assert sorted(record["connection_ids"]) == ["mellow_quartz", "quiet_meadow"]
    assert record["unchanged"] == ["brisk_heron"]


@needs_airflow_3_1
def test_the_asset_watcher_row_airflow_stores_runs_and_queues_the_dag(dag_bag: Any, demo: FivetranSimulator) -> None:
    """The path the triggerer takes, minus its process: the stored trigger row is rebuilt and run,
    and its event is handed to Airflow's ``Trigger.submit_event``."""
    import asyncio

    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from fivetran_provider._compat import import_string
    from tests.test_event_triggers import SAFETY, Watch, complete

    sync_to_db(dag_bag, "fivetran_run_when_data_lands")
    classpath = "fivetran_provider.event_triggers.FivetranSyncEventTrigger"
    with create_session() as session:
        rows = session.scalars(select(Trigger).where(Trigger.classpath == classpath)).all()
        assert len(rows) == 1
        trigger_id, kwargs = rows[0].id, rows[0].kwargs
    assert kwargs["connection_id"] == "mellow_quartz"
    trigger = import_string(classpath)(**{**kwargs, "poll_interval": 0.02})
    clear_queue("fivetran_run_when_data_lands")
    events_before = len(asset_events("fivetran://mellow_quartz"))

    async def first_event() -> Any:
        watch = Watch(demo, trigger)
        try:
            watch.start_next()
            await asyncio.wait_for(watch.until_reads(1), SAFETY)
            complete(demo, "mellow_quartz")
            assert watch.pending is not None
            return await asyncio.wait_for(watch.pending, SAFETY)
        finally:
            watch.pending = None
            await watch.close()

    event = asyncio.run(first_event())
    with create_session() as session:
        Trigger.submit_event(trigger_id, event, session=session)

    events = asset_events("fivetran://mellow_quartz")
    assert len(events) == events_before + 1
    assert events[-1]["connection_id"] == "mellow_quartz"
    assert events[-1]["outcome"] == "success"
    assert queued_runs("fivetran_run_when_data_lands") == 1


@needs_airflow_3_1
def test_a_sync_started_by_a_task_starts_the_watching_dag_exactly_once(
    run_dag: Any, dag_bag: Any, demo: FivetranSimulator
) -> None:
    """The watcher is running (its stored trigger row rebuilt and run) when another DAG's task starts
    and finishes a sync of the watched connection: the task's event and the watcher's event
    together queue one run of the DAG scheduled on the connection's asset, and its
    ``report_landing`` reads that sync once."""
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from fivetran_provider._compat import import_string
    from tests.test_event_triggers import SAFETY, Watch

    sync_to_db(dag_bag, "fivetran_run_when_data_lands")
    classpath = "fivetran_provider.event_triggers.FivetranSyncEventTrigger"
    with create_session() as session:
        (row,) = session.scalars(select(Trigger).where(Trigger.classpath == classpath)).all()
        trigger_id, kwargs = row.id, row.kwargs
    watcher = import_string(classpath)(**{**kwargs, "poll_interval": 0.02})
    clear_queue("fivetran_run_when_data_lands")
    watched_before = len(asset_events("fivetran://mellow_quartz"))
    demo.plan_syncs("mellow_quartz", "success", duration=0)

    # The watcher runs in an event loop of its own thread, as in a triggerer; the DAG runs here
    # (``dag.test()`` needs the main thread).
    watching, landed_sync, outcome = threading.Event(), threading.Event(), queue.Queue()  # type: ignore[var-annotated]

    async def watch() -> Any:
        session = Watch(demo, watcher)
        try:
            session.start_next()
            await asyncio.wait_for(session.until_reads(1), SAFETY)  # watching (baseline taken)
            watching.set()
            while not landed_sync.is_set():
                await asyncio.sleep(0.01)
            assert session.pending is not None
            event = await asyncio.wait_for(session.pending, SAFETY)
            session.pending = None
            await session.no_event_for(5)  # the same sync is not reported again
            return event
        finally:
            await session.close()

    def watcher_thread() -> None:
        try:
            outcome.put(asyncio.run(watch()))
        except BaseException as error:  # handed to the test's thread
            outcome.put(error)
            watching.set()

    thread = threading.Thread(target=watcher_thread, daemon=True)
    thread.start()
    assert watching.wait(SAFETY)
    dag_run = run_dag("fivetran_sync_by_name")
    landed_sync.set()
    thread.join(SAFETY * 2)
    event = outcome.get(timeout=1)
    if isinstance(event, BaseException):
        raise event
    assert task_states(dag_run) == {"sync": "success"}
    with create_session() as session:
        Trigger.submit_event(trigger_id, event, session=session)

    landed = xcom(dag_run, "sync")["sync"]["succeeded_at"]
    watched = asset_events("fivetran://mellow_quartz")[watched_before:]
    assert [payload["succeeded_at"] for payload in watched] == [landed]  # one event for the sync
    assert asset_events("fivetran://mellow_quartz/task-syncs")[-1]["succeeded_at"] == landed
    assert queued_runs("fivetran_run_when_data_lands") == 1

    # What the queued run's task receives: the watcher's event, under the asset (and, for an
    # event added through the alias, the same sync again under the alias key).
    stored = SimpleNamespace(extra={"from_trigger": True, "payload": watched[0]})
    report = dag_bag.get_dag("fivetran_run_when_data_lands").get_task("report_landing")
    assert [
        sync["succeeded_at"]
        for sync in report.python_callable(
            triggering_asset_events={"fivetran://mellow_quartz": [stored], "fivetran_syncs": [stored]}
        )
    ] == [landed]

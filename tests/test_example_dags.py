"""The example DAGs (and a few test DAGs in ``tests/dags``) run end to end with ``dag.test()``.

Each run uses the migrated SQLite metadata DB and talks HTTP to the simulator. Assertions are on
what a user would see: connection states in the simulator, the requests it received, task and
run states, and what is stored in the XCom and rendered-fields tables.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fivetran_provider._compat import AIRFLOW_V_3_PLUS, AIRFLOW_VERSION, redact
from fivetran_provider.links import XCOM_KEY, FivetranConnectionLink
from fivetran_provider.sync_status import parse_timestamp
from fivetran_provider.testing import FivetranSimulator
from fivetran_provider.testing.demo import seed_demo_account
from tests.conftest import task_started_at

EXAMPLE_DAGS = Path(__file__).resolve().parent.parent / "example_dags"
EXAMPLE_IDS = {
    "fivetran_pause_during_migration",
    "fivetran_historical_resync_before_backfill",
    "fivetran_temporary_schedule_change",
    "fivetran_update_many_connections",
}
CONFIG_PASSWORD = "Pa55word-in-config-7781"  # literal in tests/dags/fivetran_test_secrets.py
SETTINGS = ("paused", "sync_frequency", "daily_sync_time", "schedule_type", "config", "data_delay_sensitivity")


def task_states(dag_run: Any) -> dict[str, str]:
    return {
        (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state)
        for ti in dag_run.get_task_instances()
    }


def xcoms(dag_run: Any) -> list[Any]:
    """Every XCom row of a run: (task_id, map_index, key, value)."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from fivetran_provider._compat import stored_xcom_value, xcom_table

    table = xcom_table()
    with create_session() as session:
        rows = session.scalars(
            select(table).where(table.dag_id == dag_run.dag_id, table.run_id == dag_run.run_id)
        ).all()
        return [(row.task_id, row.map_index, row.key, _loaded(stored_xcom_value(row))) for row in rows]


def _loaded(value: Any) -> Any:
    while isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    values = [value for tid, _index, k, value in xcoms(dag_run) if tid == task_id and k == key]
    return values[0] if len(values) == 1 else values


def rendered_fields(dag_run: Any) -> list[Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(RenderedTaskInstanceFields).where(
                RenderedTaskInstanceFields.dag_id == dag_run.dag_id,
                RenderedTaskInstanceFields.run_id == dag_run.run_id,
            )
        ).all()
        return [(row.task_id, row.rendered_fields) for row in rows]


def settings(sim: FivetranSimulator, connection_id: str) -> dict[str, Any]:
    view = sim.connection(connection_id)
    return {name: view.get(name) for name in SETTINGS}


@pytest.fixture
def demo(fivetran_conn: FivetranSimulator) -> FivetranSimulator:
    seed_demo_account(fivetran_conn)
    return fivetran_conn


# ------------------------------------------------------------------------------------ parsing


def test_examples_parse_without_errors_and_touch_nothing(dag_bag: Any, fivetran_conn: FivetranSimulator) -> None:
    from fivetran_provider._compat import dag_bag as parse_dags

    bag = parse_dags(str(EXAMPLE_DAGS))
    if AIRFLOW_V_3_PLUS:
        assert bag.import_errors == {}
    else:  # the one example scheduled on an asset watcher says clearly that it needs Airflow 3
        assert {Path(path).name for path in bag.import_errors} == {"fivetran_run_when_data_lands.py"}
        assert all("needs Airflow 3" in error for error in bag.import_errors.values())
    assert set(bag.dag_ids) >= EXAMPLE_IDS
    for dag_id in bag.dag_ids:
        dag = bag.get_dag(dag_id)
        assert dag is not None
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id} needs a docstring explaining it"
        assert "example" in dag.tags
    assert fivetran_conn.requests == []  # parsing made no API call


# ------------------------------------------------------------------------------------ pause during migration


def test_pause_during_migration_pauses_then_resumes_and_leaves_a_paused_connection_paused(
    run_dag: Any, demo: FivetranSimulator
) -> None:
    before = {cid: settings(demo, cid) for cid in ("mellow_quartz", "brisk_heron", "quiet_meadow")}
    assert before["brisk_heron"]["paused"] is True

    dag_run = run_dag("fivetran_pause_during_migration")

    assert dag_run.state == "success"
    assert task_states(dag_run) == {
        "pause_connections": "success",
        "migrate": "success",
        "resume_connections": "success",
    }
    pause_record = xcom(dag_run, "pause_connections")
    assert pause_record["connection_ids"] == ["mellow_quartz", "quiet_meadow"]
    assert pause_record["unchanged"] == ["brisk_heron"]
    assert xcom(dag_run, "resume_connections")["connection_ids"] == ["mellow_quartz", "quiet_meadow"]
    # Paused first, resumed afterwards; the connection paused on purpose was never touched.
    sent = [(r.path.rsplit("/", 1)[1], r.body["paused"]) for r in demo.requests_for("PATCH")]
    assert len(sent) == 4
    assert set(sent[:2]) == {("mellow_quartz", True), ("quiet_meadow", True)}
    assert set(sent[2:]) == {("mellow_quartz", False), ("quiet_meadow", False)}
    assert not demo.requests_for("PATCH", "/v1/connections/brisk_heron")
    assert {cid: settings(demo, cid) for cid in before} == before


def test_failed_migration_still_resumes_and_fails_the_run(run_dag: Any, demo: FivetranSimulator) -> None:
    before = {cid: settings(demo, cid) for cid in ("mellow_quartz", "brisk_heron", "quiet_meadow")}

    dag_run = run_dag("fivetran_test_failing_migration")

    assert dag_run.state == "failed"
    assert task_states(dag_run) == {
        "pause_connections": "success",
        "migrate": "failed",
        "resume_connections": "success",
    }
    assert {cid: settings(demo, cid) for cid in before} == before
    assert len(demo.requests_for("PATCH")) == 4


def test_group_from_a_param_and_a_failed_pause_leaves_nothing_paused(run_dag: Any, demo: FivetranSimulator) -> None:
    demo.faults.server_error(count=1, status=403, method="PATCH", path_prefix="/v1/connections/silver_comet")

    dag_run = run_dag("fivetran_pause_during_migration", group_id="amber_meadow")

    assert dag_run.state == "failed"
    states = task_states(dag_run)
    assert states["pause_connections"] == "failed"
    assert states["migrate"] == "upstream_failed"
    assert not demo.connection("silver_comet")["paused"]
    assert not demo.connection("gentle_harbor")["paused"]
    assert not demo.requests_for("PATCH", "/v1/connections/mellow_quartz")  # other group untouched


# ------------------------------------------------------------------------------------ historical resync


def test_historical_resync_with_full_refresh(run_dag: Any, demo: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_historical_resync_before_backfill", full_refresh=True)

    assert dag_run.state == "success"
    assert task_states(dag_run) == {"start_historical_resync": "success", "backfill": "success"}
    assert [r.body for r in demo.requests_for("PATCH")] == [{"is_historical_sync": True, "run_setup_tests": False}]
    assert any(run["historical"] for run in demo.sync_history("mellow_quartz"))
    record = xcom(dag_run, "start_historical_resync")
    assert record["connections"][0]["changes"] == {"is_historical_sync": {"before": False, "after": True}}
    assert "is_historical_sync" in record["connections"][0]["not_restorable"]


def test_historical_resync_waits_in_the_triggerer_before_the_backfill(
    run_dag: Any, demo: FivetranSimulator, finish_after_polls: Any
) -> None:
    demo.plan_syncs("mellow_quartz", "success", duration=3600)
    finish_after_polls(demo, "mellow_quartz", polls=2)  # ends only once the trigger has seen it running twice
    dag_run = run_dag("fivetran_historical_resync_before_backfill", full_refresh=True, poll_interval_seconds=1)

    assert dag_run.state == "success"
    record = xcom(dag_run, "start_historical_resync")
    assert record["sync"]["status"] == "success"
    (run,) = demo.sync_history("mellow_quartz")
    assert run["historical"] is True and run["outcome"] == "success"
    assert demo.connection("mellow_quartz")["status"]["is_historical_sync"] is False
    started = task_started_at(dag_run, "backfill")
    assert started.timestamp() >= parse_timestamp(record["sync"]["succeeded_at"]).timestamp()
    # It polled from the triggerer more than once while the sync ran.
    assert len(demo.requests_for("GET", "/v1/connections/mellow_quartz")) >= 3


def test_failed_historical_resync_fails_the_task_and_skips_the_backfill(
    run_dag: Any, demo: FivetranSimulator, task_output: Any
) -> None:
    demo.plan_syncs("mellow_quartz", "failure", duration=0.5, failure_message="Source database unreachable")
    dag_run = run_dag("fivetran_historical_resync_before_backfill", full_refresh=True, poll_interval_seconds=1)

    assert task_states(dag_run) == {"start_historical_resync": "failed", "backfill": "upstream_failed"}
    output = task_output()
    assert "historical sync of connection mellow_quartz failed at" in output
    assert "https://fivetran.com/dashboard/connections/mellow_quartz/status" in output


def test_rescheduled_historical_resync_is_waited_out(run_dag: Any, demo: FivetranSimulator) -> None:
    demo.plan_syncs("mellow_quartz", "rescheduled", "success", duration=0.3, rescheduled_delay=0.8)
    dag_run = run_dag("fivetran_historical_resync_before_backfill", full_refresh=True, poll_interval_seconds=1)

    assert dag_run.state == "success"
    assert [run["outcome"] for run in demo.sync_history("mellow_quartz")][-1] == "success"
    assert xcom(dag_run, "start_historical_resync")["sync"]["status"] == "success"


def test_historical_resync_of_a_paused_connection_is_refused_before_anything_is_sent(
    run_dag: Any, demo: FivetranSimulator, task_output: Any
) -> None:
    dag_run = run_dag(
        "fivetran_historical_resync_before_backfill", connection_id="brisk_heron", full_refresh=True
    )  # brisk_heron is paused in the demo account

    assert task_states(dag_run)["start_historical_resync"] == "failed"
    assert demo.requests_for("PATCH") == []
    assert "stays paused" in task_output()


def test_historical_resync_without_full_refresh_sends_nothing(run_dag: Any, demo: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_historical_resync_before_backfill")  # full_refresh defaults to false

    assert dag_run.state == "success"
    assert demo.requests_for("PATCH") == []
    assert not any(run["historical"] for run in demo.sync_history("mellow_quartz"))
    assert xcom(dag_run, "start_historical_resync")["unchanged"] == ["mellow_quartz"]


def test_link_is_stored_even_when_the_task_fails(run_dag: Any, demo: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_historical_resync_before_backfill", connection_id="no_such_conn", full_refresh=True)

    assert dag_run.state == "failed"
    assert task_states(dag_run)["start_historical_resync"] == "failed"
    url = "https://fivetran.com/dashboard/connections/no_such_conn/status"
    assert xcom(dag_run, "start_historical_resync", XCOM_KEY) == url
    if AIRFLOW_V_3_PLUS:
        # Airflow 3 stores what the link class returns under its own key; the UI reads that one.
        assert xcom(dag_run, "start_historical_resync", "_link_FivetranConnectionLink") == url
    else:  # Airflow 2's web server asks the link class when the page is shown
        ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "start_historical_resync")
        operator = dag_run.get_dag().get_task("start_historical_resync")
        assert FivetranConnectionLink().get_link(operator, ti_key=ti.key) == url


# ------------------------------------------------------------------------------------ temporary schedule change


def test_temporary_schedule_change_is_restored(run_dag: Any, demo: FivetranSimulator) -> None:
    before = settings(demo, "quiet_meadow")
    assert before["schedule_type"] == "auto"

    dag_run = run_dag("fivetran_temporary_schedule_change")

    assert dag_run.state == "success"
    assert task_states(dag_run) == {"switch_to_manual": "success", "pipeline": "success", "restore_schedule": "success"}
    assert [r.body for r in demo.requests_for("PATCH", "/v1/connections/quiet_meadow")] == [
        {"schedule_type": "manual", "run_setup_tests": False},
        {"schedule_type": "auto", "run_setup_tests": False},
    ]
    assert settings(demo, "quiet_meadow") == before
    assert xcom(dag_run, "switch_to_manual")["connections"][0]["changes"] == {
        "schedule_type": {"before": "auto", "after": "manual"}
    }


def test_temporary_schedule_change_on_a_manual_connection_changes_nothing(
    run_dag: Any, demo: FivetranSimulator
) -> None:
    dag_run = run_dag("fivetran_temporary_schedule_change", connection_id="silver_comet")

    assert dag_run.state == "success"
    assert demo.requests_for("PATCH") == []
    assert xcom(dag_run, "restore_schedule")["patched"] is False


# ------------------------------------------------------------------------------------ mapped update


def test_update_many_connections_maps_one_task_per_connection(run_dag: Any, demo: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_update_many_connections", sync_frequency=720)

    assert dag_run.state == "success"
    mapped = sorted(
        (ti.map_index, ti.rendered_map_index, str(ti.state))
        for ti in dag_run.get_task_instances()
        if ti.task_id == "update_connection"
    )
    assert mapped == [
        (0, "mellow_quartz", "success"),
        (1, "silver_comet", "success"),
        (2, "gentle_harbor", "success"),
    ]
    assert {
        cid: demo.connection(cid)["sync_frequency"] for cid in ("mellow_quartz", "silver_comet", "gentle_harbor")
    } == {
        "mellow_quartz": 720,
        "silver_comet": 720,
        "gentle_harbor": 720,
    }
    assert all(r.body == {"sync_frequency": 720, "run_setup_tests": False} for r in demo.requests_for("PATCH"))
    records = {
        value["connection_ids"][0]: value
        for tid, _i, key, value in xcoms(dag_run)
        if tid == "update_connection" and key == "return_value"
    }
    assert records["mellow_quartz"]["connections"][0]["changes"] == {"sync_frequency": {"before": 60, "after": 720}}


def test_mapped_update_is_restored_from_all_its_records(run_dag: Any, fivetran_conn: FivetranSimulator) -> None:
    sim = fivetran_conn
    sim.add_connection("m_one", sync_frequency=60)
    sim.add_connection("m_two", sync_frequency=1440, daily_sync_time="02:00", schedule_type="manual")
    sim.add_connection("m_three", sync_frequency=360)
    before = {cid: settings(sim, cid) for cid in ("m_one", "m_two", "m_three")}

    dag_run = run_dag("fivetran_test_mapped_restore", fail_pipeline=True)

    assert dag_run.state == "failed"
    states = task_states(dag_run)
    assert states["pipeline"] == "failed"
    assert states["restore"] == "success"
    assert {cid: settings(sim, cid) for cid in before} == before
    assert json.loads(json.dumps(xcom(dag_run, "restore")))["connection_ids"] == ["m_one", "m_two", "m_three"]


# ------------------------------------------------------------------------------------ secrets


def test_secrets_reach_neither_logs_nor_xcom_nor_rendered_fields(
    run_dag: Any,
    fivetran_conn: FivetranSimulator,
    capfd: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client_secret = "client-secret-from-run-conf-4471"
    sim = fivetran_conn
    sim.add_connection("secret_conn", config={"user": "loader", "password": "password-before-rotation-19"})
    caplog.set_level(logging.DEBUG)
    capfd.readouterr()

    dag_run = run_dag("fivetran_test_secrets", client_secret=client_secret)

    output = capfd.readouterr()
    assert dag_run.state == "success"
    # The values did reach Fivetran ...
    assert sim.stored_config("secret_conn")["password"] == CONFIG_PASSWORD
    assert sim.stored_auth("secret_conn") == {
        "client_access": {"client_id": "loader-client", "client_secret": client_secret}
    }
    # ... and nowhere else.
    logs = output.out + output.err + "\n".join(record.getMessage() for record in caplog.records)
    # Before Airflow 3.1, two DEBUG lines of Airflow itself carry secrets, and no provider can mask
    # them (the README says so): the run's whole conf is logged before the task starts ("Updating
    # task params (...) with DagRun.conf (...)"), and 3.0 logs each value sent to the secret masker.
    if not AIRFLOW_V_3_PLUS or AIRFLOW_VERSION.startswith("3.0."):
        airflow_own = ("with DagRun.conf (", "MaskSecret(value=")
        logs = "\n".join(line for line in logs.splitlines() if not any(text in line for text in airflow_own))
    stored_xcoms = json.dumps(xcoms(dag_run), default=str)
    stored_rendered = json.dumps(rendered_fields(dag_run), default=str)
    for secret in (CONFIG_PASSWORD, client_secret, "password-before-rotation-19"):
        assert secret not in logs
        assert secret not in stored_xcoms
        assert secret not in stored_rendered
    # The operator did log its change, with the secret masked.
    assert 'config.password: "******" -> "******"' in logs
    rotate_rendered = dict(rendered_fields(dag_run))["rotate_credentials"]
    assert rotate_rendered["auth"] == "******"
    assert rotate_rendered["connection_id"] == "secret_conn"
    # The restore refused to write the masked password back and said so.
    assert "not restoring config.password" in logs
    assert len(sim.requests_for("PATCH")) == 1
    assert sim.requests_for("PATCH")[0].body["config"] == {"password": CONFIG_PASSWORD}


def test_a_config_without_secrets_is_logged_as_it_is_and_secrets_stay_hidden(
    run_dag: Any, fivetran_conn: FivetranSimulator, task_output: Any
) -> None:
    sim = fivetran_conn
    sim.add_group("g1")
    sim.add_connection(
        "c7",
        group_id="g1",
        schema="analytics",
        config={"host": "old.internal", "user": "loader_old", "update_method": "XMIN"},
    )
    # A service the official definition does not describe: Fivetran (the simulator) masks
    # storage_account_key by its name there, while the client knows it neither from the
    # definition's password keys nor by its name; only the masked read-back marks it secret.
    sim.add_connection(
        "rotating",
        group_id="g1",
        service="unlisted_service",
        config={"storage_account_key": "account-key-before-0042", "client_private_key": "pem-before-0042"},
    )
    task_output()
    account_key = "account-key-from-run-conf-3391"

    dag_run = run_dag("fivetran_test_readable_log", storage_account_key=account_key)

    logs = task_output()
    assert task_states(dag_run) == {"move_database": "success", "rotate_keys": "success"}
    # Readable: the lookup and every changed value, before and after, as they are.
    assert "Connection 'analytics' of group g1 is c7" in logs
    for line in (
        'config.host: "old.internal" -> "db.internal"',
        'config.database: null -> "postgres"',
        'config.user: "loader_old" -> "loader"',
        'config.schema_prefix: null -> "analytics"',
        'config.update_method: "XMIN" -> "Directly"',
    ):
        assert line in logs, line
    readable = [line for line in logs.splitlines() if "config.host" in line or "of group g1 is" in line]
    assert readable and not any("***" in line for line in readable), readable
    # Airflow's masker stars every value registered with it wherever it appears: no plain word is.
    plain = "db.internal postgres loader analytics Directly"
    assert redact(plain) == plain
    # Hidden: the secrets reached Fivetran and nothing else.
    stored = sim.stored_config("rotating")
    assert stored["storage_account_key"] == account_key and stored["sftp_password_x"] == "sftp-secret-value-8812"
    # Airflow 3.0's own supervisor logs, at debug level, each value sent to the masker
    # ("MaskSecret(value=...)"): a known limit of that release, outside any provider's reach.
    ours = "\n".join(line for line in logs.splitlines() if "MaskSecret(" not in line)
    for secret in (account_key, "pem-private-key-material-5521", "sftp-secret-value-8812", "pem-before-0042"):
        assert secret not in ours
    assert 'config.storage_account_key: "******" -> "******"' in logs
    for secret in (account_key, "pem-private-key-material-5521", "sftp-secret-value-8812"):
        assert redact(f"value {secret}") == "value ***"

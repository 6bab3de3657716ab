"""The connection-changing operators, run with ``execute()`` against the simulator over real HTTP.

``execute()`` is called directly here, without Airflow's task runner, so there is no task
instance. ``TaskInstanceStandIn`` keeps XCom pushes in a dict and answers ``xcom_pull`` from it:
that is the only use the operators make of the task instance. The same operators run through
real task instances, the metadata DB and ``dag.test()`` in ``test_example_dags.py``.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from typing import Any

import pytest

from fivetran_provider import changes, fields
from fivetran_provider._compat import redact
from fivetran_provider.exceptions import FivetranPartialFailureError, FivetranValidationError
from fivetran_provider.links import XCOM_KEY, FivetranConnectionLink
from fivetran_provider.operators import (
    PauseConnectionOperator,
    RestoreFivetranConnectionOperator,
    ResumeConnectionOperator,
    UpdateFivetranConnectionOperator,
)
from fivetran_provider.testing import FivetranSimulator
from tests.conftest import conn_json


class TaskInstanceStandIn:
    """Stands in for the task instance when ``execute()`` is called directly (see module docstring)."""

    def __init__(self) -> None:
        self.xcoms: dict[tuple[str, str], Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[("<self>", key)] = value

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_ids, key))


def run(operator: Any, ti: TaskInstanceStandIn | None = None) -> Any:
    """Execute an operator and store its return value as the XCom of its task id."""
    ti = ti or TaskInstanceStandIn()
    result = operator.execute({"ti": ti})
    ti.xcoms[(operator.task_id, "return_value")] = json.loads(json.dumps(result))  # XCom stores JSON
    return result


def patches(sim: FivetranSimulator, connection_id: str | None = None) -> list[dict[str, Any]]:
    path = None if connection_id is None else f"/v1/connections/{connection_id}"
    return [r.body for r in sim.requests_for("PATCH", path)]


def counts_per_connection(sim: FivetranSimulator) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for recorded in sim.requests:
        parts = recorded.path.split("/")
        if len(parts) == 4 and parts[2] == "connections":
            result.setdefault(parts[3], {"GET": 0, "PATCH": 0})
            result[parts[3]][recorded.method] = result[parts[3]].get(recorded.method, 0) + 1
    return result


@pytest.fixture
def sim(fivetran_conn: FivetranSimulator) -> FivetranSimulator:
    return fivetran_conn


# ------------------------------------------------------------------------------------ construction


def test_every_patch_field_is_a_keyword_and_a_template_field() -> None:
    parameters = inspect.signature(UpdateFivetranConnectionOperator).parameters
    for name in fields.PATCH_FIELDS:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert name in UpdateFivetranConnectionOperator.template_fields
    assert {"connection_id", "fivetran_conn_id"} <= set(UpdateFivetranConnectionOperator.template_fields)
    assert UpdateFivetranConnectionOperator.template_fields_renderers["config"] == "json"
    assert UpdateFivetranConnectionOperator.template_fields_renderers["auth"] == "json"
    assert parameters["run_setup_tests"].default is False
    assert ":param sync_frequency:" in (UpdateFivetranConnectionOperator.__doc__ or "")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sync_frequency": 7}, "sync_frequency"),
        ({"sync_frequency": "6O"}, "sync_frequency"),
        ({"paused": "yes"}, "paused"),
        ({"daily_sync_time": "03:30"}, "daily_sync_time"),
        ({"sync_frequency": 60, "daily_sync_time": "03:00"}, "daily_sync_time"),
        ({"schedule_type": "weekly"}, "schedule_type"),
        ({"config": "not a json object"}, "config"),
        ({"paused": True, "trust_certificates": True}, "trust_certificates"),
        ({"run_setup_tests": True}, "fields"),
        ({}, "fields"),
    ],
)
def test_literal_mistakes_fail_at_construction(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(FivetranValidationError) as error:
        UpdateFivetranConnectionOperator(task_id="bad", connection_id="conn", **kwargs)
    assert error.value.field == field


def test_bad_connection_id_and_misspelt_argument_fail_at_construction() -> None:
    with pytest.raises(FivetranValidationError, match="connection_id"):
        UpdateFivetranConnectionOperator(task_id="bad", connection_id="../groups", paused=True)
    with pytest.raises(TypeError, match="Did you mean 'sync_frequency'") as error:
        UpdateFivetranConnectionOperator(task_id="typo", connection_id="conn", sync_frequncy=60)
    with pytest.raises(TypeError, match="Did you mean 'auth'") as error:
        UpdateFivetranConnectionOperator(task_id="typo", connection_id="conn", auht={"token": "tok-123456789"})
    assert "tok-123456789" not in str(error.value)


def test_templated_values_are_not_judged_at_construction() -> None:
    operator = UpdateFivetranConnectionOperator(
        task_id="later",
        connection_id="{{ params.connection_id }}",
        sync_frequency="{{ params.frequency }}",
        daily_sync_time="03:00",
    )
    assert operator.sync_frequency == "{{ params.frequency }}"


def test_a_secret_in_a_bad_literal_never_reaches_the_error() -> None:
    with pytest.raises(FivetranValidationError) as error:
        UpdateFivetranConnectionOperator(task_id="bad", connection_id="conn", config="password=Hunter2Hunter2")
    assert "Hunter2Hunter2" not in str(error.value)


def test_pause_needs_exactly_one_target() -> None:
    with pytest.raises(FivetranValidationError, match="exactly one of"):
        PauseConnectionOperator(task_id="none")
    with pytest.raises(FivetranValidationError, match="exactly one of"):
        PauseConnectionOperator(task_id="two", connection_id="a", group_id="g")
    with pytest.raises(FivetranValidationError, match="exactly one of"):
        ResumeConnectionOperator(task_id="two", connection_id="a", restore_from="pause")
    with pytest.raises(FivetranValidationError, match="max_parallel"):
        PauseConnectionOperator(task_id="zero", connection_id="a", max_parallel=0)
    with pytest.raises(FivetranValidationError, match="connection_ids"):
        PauseConnectionOperator(task_id="bad", connection_ids=["ok", "not/ok"])


# ------------------------------------------------------------------------------------ update


def test_update_sends_only_the_fields_that_differ(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=360, schedule_type="auto", config={"host": "db1", "port": 5432})
    operator = UpdateFivetranConnectionOperator(
        task_id="update",
        connection_id="conn",
        paused=True,
        sync_frequency=360,
        schedule_type="auto",
        config={"host": "db2", "port": 5432},
    )
    record = run(operator)
    assert patches(sim) == [{"paused": True, "config": {"host": "db2"}, "run_setup_tests": False}]
    assert sim.connection("conn")["paused"] is True
    assert sim.connection("conn")["config"]["host"] == "db2"
    assert record["patched"] is True
    assert record["connection_ids"] == ["conn"]
    assert record["connections"] == [
        {
            "connection_id": "conn",
            "patched": True,
            "changes": {
                "paused": {"before": False, "after": True},
                "config": {"before": {"host": "db1"}, "after": {"host": "db2"}},
            },
            "not_restorable": {},
        }
    ]
    assert counts_per_connection(sim) == {"conn": {"GET": 1, "PATCH": 1}}


def test_update_sends_nothing_when_nothing_differs(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=1440, daily_sync_time="03:00", paused=True)
    operator = UpdateFivetranConnectionOperator(
        task_id="update", connection_id="conn", paused=True, sync_frequency=1440, daily_sync_time="03:00"
    )
    record = run(operator)
    assert patches(sim) == []
    assert record["patched"] is False
    assert record["connections"] == []
    assert record["unchanged"] == ["conn"]


def test_daily_sync_time_alone_is_accepted_when_the_connection_is_daily(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=1440, daily_sync_time="03:00")
    run(UpdateFivetranConnectionOperator(task_id="update", connection_id="conn", daily_sync_time="05:00"))
    assert patches(sim) == [{"daily_sync_time": "05:00", "run_setup_tests": False}]
    assert sim.connection("conn")["daily_sync_time"] == "05:00"


def test_dry_run_plans_but_sends_no_patch(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=360)
    operator = UpdateFivetranConnectionOperator(task_id="plan", connection_id="conn", sync_frequency=60, dry_run=True)
    record = run(operator)
    assert patches(sim) == []
    assert sim.connection("conn")["sync_frequency"] == 360
    assert record["dry_run"] is True
    assert record["patched"] is False
    assert record["connection_ids"] == []
    assert record["connections"][0]["changes"] == {"sync_frequency": {"before": 360, "after": 60}}
    assert changes.entries(record) == []  # nothing was changed, so there is nothing to undo


def test_rendered_text_values_are_coerced(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=360, config={"region": "eu"})
    operator = UpdateFivetranConnectionOperator(
        task_id="update",
        connection_id="{{ params.connection_id }}",
        is_historical_sync="{{ params.full_refresh }}",
        sync_frequency="{{ params.frequency }}",
        daily_sync_time="{{ params.hour }}",
        pause_after_trial="{{ params.pause_after_trial }}",
        config="{{ params.config | tojson }}",
    )
    operator.render_template_fields(
        {
            "params": {
                "connection_id": "conn",
                "full_refresh": True,
                "frequency": 1440,
                "hour": "3:00",
                "pause_after_trial": "true",
                "config": {"region": "us", "replicas": 2},
            }
        }
    )
    assert operator.sync_frequency == "1440"  # rendered as text ...
    run(operator)
    body = patches(sim)[0]
    assert body == {  # ... sent with the types Fivetran expects
        "is_historical_sync": True,
        "sync_frequency": 1440,
        "daily_sync_time": "03:00",
        "pause_after_trial": True,
        "config": {"region": "us", "replicas": 2},
        "run_setup_tests": False,
    }
    assert sim.connection("conn")["status"]["is_historical_sync"] in (True, False)  # accepted by the API


def test_a_bad_rendered_value_fails_before_anything_is_sent(sim: FivetranSimulator) -> None:
    sim.add_connection("conn")
    operator = UpdateFivetranConnectionOperator(
        task_id="update", connection_id="conn", sync_frequency="{{ params.frequency }}"
    )
    operator.render_template_fields({"params": {"frequency": "hourly"}})
    with pytest.raises(FivetranValidationError, match="sync_frequency"):
        run(operator)
    assert sim.requests == []


def test_historical_sync_false_sends_nothing(sim: FivetranSimulator) -> None:
    sim.add_connection("conn")
    operator = UpdateFivetranConnectionOperator(
        task_id="resync", connection_id="conn", is_historical_sync="{{ params.full_refresh }}"
    )
    operator.render_template_fields({"params": {"full_refresh": False}})
    record = run(operator)
    assert patches(sim) == []
    assert record["unchanged"] == ["conn"]


def test_mapping_over_connection_ids_is_accepted() -> None:
    from fivetran_provider._compat import DAG

    with DAG("mapped_update_check", schedule=None):
        mapped = UpdateFivetranConnectionOperator.partial(task_id="update", sync_frequency=60).expand(
            connection_id=["a", "b"]
        )
    assert mapped.expand_input.value == {"connection_id": ["a", "b"]}  # type: ignore[attr-defined]
    assert mapped.partial_kwargs["sync_frequency"] == 60  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------ secrets


def test_record_masks_config_secrets_and_leaves_auth_out(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", config={"user": "loader", "password": "old-password-1"})
    operator = UpdateFivetranConnectionOperator(
        task_id="rotate",
        connection_id="conn",
        config={"user": "loader2", "password": "new-password-2", "signing": {"private_key": "PK-material-3"}},
        auth={"client_access": {"client_id": "cid-4", "client_secret": "client-secret-5"}},
    )
    record = run(operator)
    text = json.dumps(record)
    for secret in ("old-password-1", "new-password-2", "PK-material-3", "client-secret-5", "cid-4"):
        assert secret not in text
    change = record["connections"][0]["changes"]
    assert change["config"]["before"] == {"user": "loader", "password": "******", "signing": None}
    assert change["config"]["after"] == {"user": "loader2", "password": "******", "signing": {"private_key": "******"}}
    assert change["auth"] == {"before": None, "after": "******"}
    assert set(record["connections"][0]["not_restorable"]) == {"config.password", "auth"}
    # The secrets did reach Fivetran, and are registered with Airflow's secret masker.
    assert sim.stored_config("conn")["password"] == "new-password-2"
    assert sim.stored_auth("conn") == {"client_access": {"client_id": "cid-4", "client_secret": "client-secret-5"}}
    assert "new-password-2" not in redact("log line with new-password-2")
    assert "client-secret-5" not in redact("log line with client-secret-5")


def test_rendered_fields_and_repr_do_not_show_auth(sim: FivetranSimulator) -> None:
    operator = UpdateFivetranConnectionOperator(
        task_id="rotate",
        connection_id="conn",
        auth="{{ params.auth | tojson }}",
        config={"api_token": "{{ params.token }}", "user": "loader"},
    )
    operator.render_template_fields({"params": {"auth": {"refresh_token": "refresh-tok-6"}, "token": "api-tok-7"}})
    assert operator.auth == "******"
    assert operator.config == {"api_token": "******", "user": "******"}  # no value shown, whatever its key
    assert "refresh-tok-6" not in repr(operator) and "api-tok-7" not in repr(operator)
    sim.add_connection("conn")
    run(operator)  # the real values were kept for the request
    assert sim.stored_auth("conn") == {"refresh_token": "refresh-tok-6"}
    assert sim.stored_config("conn")["api_token"] == "api-tok-7"


# ------------------------------------------------------------------------------------ restore


def test_restore_undoes_an_update_from_its_record(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=60, schedule_type="auto", config={"region": "eu"})
    before = sim.connection("conn")
    ti = TaskInstanceStandIn()
    run(
        UpdateFivetranConnectionOperator(
            task_id="change",
            connection_id="conn",
            sync_frequency=1440,
            daily_sync_time="04:00",
            schedule_type="manual",
            config={"region": "us", "extra_key": "x"},
        ),
        ti,
    )
    assert sim.connection("conn")["schedule_type"] == "manual"
    sim.clear_requests()
    record = run(RestoreFivetranConnectionOperator(task_id="restore", restore_from="change"), ti)
    after = sim.connection("conn")
    for name in ("sync_frequency", "schedule_type", "paused"):
        assert after[name] == before[name], name
    # A config key the update added is cleared with null; Fivetran keeps it, reading back null.
    assert after["config"] == {**before["config"], "extra_key": None}
    assert "daily_sync_time" not in after
    assert patches(sim) == [
        {
            "sync_frequency": 60,
            "schedule_type": "auto",
            "config": {"region": "eu", "extra_key": None},
            "run_setup_tests": False,
        }
    ]
    assert record["operation"] == "restore"
    assert record["connection_ids"] == ["conn"]
    # Restoring again changes nothing: only what differs is sent.
    sim.clear_requests()
    again = run(RestoreFivetranConnectionOperator(task_id="restore2", restore_from="change"), ti)
    assert patches(sim) == []
    assert again["unchanged"] == ["conn"]


def test_restore_refuses_to_write_back_masked_secrets(sim: FivetranSimulator, task_output: Any) -> None:
    sim.add_connection("conn", config={"user": "loader", "password": "original-password-8"})
    ti = TaskInstanceStandIn()
    run(
        UpdateFivetranConnectionOperator(
            task_id="rotate", connection_id="conn", config={"password": "rotated-password-9"}, auth={"key": "auth-10"}
        ),
        ti,
    )
    sim.clear_requests()
    task_output()
    record = run(RestoreFivetranConnectionOperator(task_id="restore", restore_from="rotate"), ti)
    logged = task_output()
    assert patches(sim) == []  # neither "******" nor anything else was written back
    assert sim.stored_config("conn")["password"] == "rotated-password-9"
    assert record["unchanged"] == ["conn"]
    assert "not restoring config.password" in logged
    assert "not restoring auth" in logged


def test_restore_with_no_record_does_nothing(sim: FivetranSimulator) -> None:
    record = run(RestoreFivetranConnectionOperator(task_id="restore", restore_from="never_ran"))
    assert sim.requests == []
    assert record["connections"] == [] and record["patched"] is False


def test_restore_rejects_something_that_is_not_a_record(sim: FivetranSimulator) -> None:
    ti = TaskInstanceStandIn()
    ti.xcoms[("other", "return_value")] = {"rows": 3}
    with pytest.raises(FivetranValidationError, match="restore_from"):
        run(RestoreFivetranConnectionOperator(task_id="restore", restore_from="other"), ti)
    assert sim.requests == []


# ------------------------------------------------------------------------------------ pause / resume


def test_pause_and_resume_restore_from_leave_an_already_paused_connection_paused(sim: FivetranSimulator) -> None:
    sim.add_connection("a", group_id="g")
    sim.add_connection("b", group_id="g", paused=True)
    sim.add_connection("c", group_id="g")
    sim.add_connection("other", group_id="h")
    ti = TaskInstanceStandIn()
    record = run(PauseConnectionOperator(task_id="pause", group_id="g"), ti)
    assert record["connection_ids"] == ["a", "c"]
    assert record["unchanged"] == ["b"]
    assert [entry["connection_id"] for entry in record["connections"]] == ["a", "c"]
    assert {cid: sim.connection(cid)["paused"] for cid in ("a", "b", "c", "other")} == {
        "a": True,
        "b": True,
        "c": True,
        "other": False,
    }
    resumed = run(ResumeConnectionOperator(task_id="resume", restore_from="pause"), ti)
    assert resumed["connection_ids"] == ["a", "c"]
    assert {cid: sim.connection(cid)["paused"] for cid in ("a", "b", "c")} == {"a": False, "b": True, "c": False}
    assert sorted(r.path for r in sim.requests_for("PATCH")) == sorted(["/v1/connections/a", "/v1/connections/c"] * 2)


def test_group_pause_lists_once_and_needs_no_get_per_connection(sim: FivetranSimulator) -> None:
    sim.add_connections(12, group_id="g")
    run(PauseConnectionOperator(task_id="pause", group_id="g"))
    lists = sim.requests_for("GET", "/v1/connections")
    assert len(lists) == 1 and lists[0].query["group_id"] == "g"
    counts = counts_per_connection(sim)
    assert len(counts) == 12
    assert all(count == {"GET": 0, "PATCH": 1} for count in counts.values())


def test_at_most_one_get_and_one_patch_per_connection(sim: FivetranSimulator) -> None:
    ids = [conn["id"] for conn in sim.add_connections(20, group_id="g")]
    ti = TaskInstanceStandIn()
    run(PauseConnectionOperator(task_id="pause", connection_ids=ids, max_parallel=8), ti)
    assert all(count == {"GET": 1, "PATCH": 1} for count in counts_per_connection(sim).values())
    sim.clear_requests()
    run(ResumeConnectionOperator(task_id="resume", restore_from="pause"), ti)
    assert all(count == {"GET": 1, "PATCH": 1} for count in counts_per_connection(sim).values())
    assert len(counts_per_connection(sim)) == 20
    assert not any(sim.connection(cid)["paused"] for cid in ids)


def test_connection_ids_can_be_rendered_text(sim: FivetranSimulator) -> None:
    sim.add_connection("a")
    sim.add_connection("b")
    operator = PauseConnectionOperator(task_id="pause", connection_ids="{{ params.ids }}")
    operator.render_template_fields({"params": {"ids": ["a", "b", "a"]}})
    record = run(operator)
    assert sorted(record["connection_ids"]) == ["a", "b"]
    assert len(patches(sim)) == 2


def test_pause_dry_run_sends_nothing_and_resume_from_it_resumes_nothing(sim: FivetranSimulator) -> None:
    sim.add_connection("a")
    ti = TaskInstanceStandIn()
    record = run(PauseConnectionOperator(task_id="pause", connection_id="a", dry_run=True), ti)
    assert record["dry_run"] is True and record["connection_ids"] == []
    assert [entry["connection_id"] for entry in record["connections"]] == ["a"]
    run(ResumeConnectionOperator(task_id="resume", restore_from="pause"), ti)
    assert patches(sim) == []
    assert sim.connection("a")["paused"] is False


def test_failed_pause_rolls_back_what_it_paused(sim: FivetranSimulator) -> None:
    ids = ["p1", "p2", "broken", "p4", "p5"]
    for cid in ids:
        sim.add_connection(cid)
    sim.faults.server_error(
        count=1, status=403, code="Forbidden", message="No", method="PATCH", path_prefix="/v1/connections/broken"
    )
    operator = PauseConnectionOperator(task_id="pause", connection_ids=ids, max_parallel=1)
    with pytest.raises(FivetranPartialFailureError) as error:
        run(operator)
    assert error.value.failures.keys() == {"broken"}
    assert error.value.changed == []
    assert "Rolled back: resumed p1, p2" in str(error.value)
    assert not any(sim.connection(cid)["paused"] for cid in ids)
    assert [(r.path, r.body["paused"]) for r in sim.requests_for("PATCH") if r.status == 200] == [
        ("/v1/connections/p1", True),
        ("/v1/connections/p2", True),
        ("/v1/connections/p1", False),
        ("/v1/connections/p2", False),
    ]
    assert not sim.requests_for("PATCH", "/v1/connections/p4")  # not started after the failure


def test_failed_parallel_pause_leaves_nothing_paused(sim: FivetranSimulator) -> None:
    ids = [conn["id"] for conn in sim.add_connections(30, group_id="g")]
    sim.faults.server_error(count=1, status=403, method="PATCH", path_prefix=f"/v1/connections/{ids[17]}")
    with pytest.raises(FivetranPartialFailureError) as error:
        run(PauseConnectionOperator(task_id="pause", group_id="g"))
    assert list(error.value.failures) == [ids[17]]
    assert not any(sim.connection(cid)["paused"] for cid in ids)


def test_pause_whose_outcome_is_unknown_is_rolled_back_too(
    sim: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(sim, max_retries=2))
    sim.add_connection("ok", group_id="g")
    sim.add_connection("slow", group_id="g")
    # The group listing saves the GET per connection, so the first read of "slow" is the hook's
    # check after the PATCH. "slow" is paused by Fivetran but answered with a 500, and the read-back that would confirm
    # it fails on all 3 attempts of both chances: the pause task cannot know, so its rollback must
    # check and resume.
    sim.faults.apply_then_fail(count=1, path_prefix="/v1/connections/slow")
    sim.faults.server_error(count=6, status=500, method="GET", path_prefix="/v1/connections/slow")
    with pytest.raises(FivetranPartialFailureError) as error:
        run(PauseConnectionOperator(task_id="pause", group_id="g", max_parallel=1))
    assert list(error.value.failures) == ["slow"]
    assert error.value.changed == []
    assert sim.connection("ok")["paused"] is False
    assert sim.connection("slow")["paused"] is False
    assert patches(sim, "slow") == [
        {"paused": True, "run_setup_tests": False},
        {"paused": False, "run_setup_tests": False},
    ]


def test_failed_rollback_names_the_connections_left_paused(sim: FivetranSimulator) -> None:
    for cid in ("first", "broken"):
        sim.add_connection(cid)
    sim.faults.latency(0.4, count=1, method="PATCH", path_prefix="/v1/connections/broken")
    sim.faults.server_error(count=1, status=403, method="PATCH", path_prefix="/v1/connections/broken")

    def break_rollback_of_first() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not sim.requests_for("PATCH", "/v1/connections/broken"):
            time.sleep(0.01)
        # Refused on every try of the rollback (each round and its retry).
        sim.faults.server_error(count=4, status=403, method="PATCH", path_prefix="/v1/connections/first")

    watcher = threading.Thread(target=break_rollback_of_first)
    watcher.start()
    with pytest.raises(FivetranPartialFailureError) as error:
        run(PauseConnectionOperator(task_id="pause", connection_ids=["first", "broken"], max_parallel=1))
    watcher.join()
    assert error.value.changed == ["first"]
    assert "still PAUSED by this task: first" in str(error.value)
    assert sim.connection("first")["paused"] is True
    assert sim.connection("broken")["paused"] is False


def test_resume_is_best_effort_and_names_what_stays_paused(sim: FivetranSimulator) -> None:
    for cid in ("a", "b", "c"):
        sim.add_connection(cid, paused=True)
    # Refused on the first try and on both rounds of the second chance.
    sim.faults.server_error(count=3, status=403, method="PATCH", path_prefix="/v1/connections/b")
    with pytest.raises(FivetranPartialFailureError) as error:
        run(ResumeConnectionOperator(task_id="resume", connection_ids=["a", "b", "c"]))
    assert list(error.value.failures) == ["b"]
    assert "still PAUSED: b" in str(error.value)
    assert sorted(error.value.changed) == ["a", "c"]
    assert {cid: sim.connection(cid)["paused"] for cid in "abc"} == {"a": False, "b": True, "c": False}


# ------------------------------------------------------------------------------------ link


def test_link_is_stored_before_the_first_api_call(sim: FivetranSimulator) -> None:
    ti = TaskInstanceStandIn()
    with pytest.raises(Exception, match="404"):
        run(UpdateFivetranConnectionOperator(task_id="update", connection_id="missing_conn", paused=True), ti)
    assert ti.xcoms[("<self>", XCOM_KEY)] == "https://fivetran.com/dashboard/connections/missing_conn/status"
    assert FivetranConnectionLink().name == "Fivetran connection"
    for operator in (UpdateFivetranConnectionOperator, PauseConnectionOperator, RestoreFivetranConnectionOperator):
        assert any(isinstance(link, FivetranConnectionLink) for link in operator.operator_extra_links)


def test_a_whole_group_links_to_the_group_page(sim: FivetranSimulator) -> None:
    sim.add_connections(2, group_id="g")
    ti = TaskInstanceStandIn()
    run(PauseConnectionOperator(task_id="pause", group_id="g"), ti)
    assert ti.xcoms[("<self>", XCOM_KEY)] == "https://fivetran.com/dashboard/destinations/g"


# ------------------------------------------------------------------------------------ records


def test_record_helpers_round_trip() -> None:
    entry = changes.build_entry(
        "conn",
        {"paused": (False, True), "is_historical_sync": (False, True), "daily_sync_time": (None, "03:00")},
        patched=True,
    )
    desired, skipped = changes.restore_plan(entry)
    assert desired == {"paused": False}
    assert set(skipped) == {"is_historical_sync", "daily_sync_time"}
    record = changes.new_record("update")
    changes.add_entry(record, entry)
    assert changes.paused_ids([record, None, record]) == ["conn"]
    assert changes.entries(json.dumps(record)) == [entry]
    assert "paused: false -> true" in changes.describe(entry)

"""Every argument of the earlier providers' classes is accepted here, with its old default, and mapped.

The tables below record the constructor signatures of the archived ``airflow-provider-fivetran``
1.1.4 and of ``airflow-provider-fivetran-async`` 2.4.0, read from their sources (name and default;
``REQUIRED`` for arguments without one). The tests check each compatibility class against them,
then build every class with a non-default value for every argument and check where it went.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fivetran_provider.compat import _legacy
from fivetran_provider.exceptions import FivetranValidationError

REQUIRED = inspect.Parameter.empty

ARCHIVED = "fivetran_provider"  # 1.1.4: fivetran_provider.{operators,sensors,hooks}.fivetran
ASYNC = "fivetran_provider.compat.fivetran_async"  # 2.4.0: fivetran_provider_async.{operators,sensors,hooks,triggers}

ASYNC_OPERATOR: dict[str, Any] = {
    "connector_id": None,
    "connector_name": None,
    "destination_name": None,
    "run_name": None,
    "fivetran_conn_id": "fivetran_default",
    "fivetran_retry_limit": 3,
    "fivetran_retry_delay": 1,
    "poll_frequency": 15,
    "schedule_type": "manual",
    "reschedule_wait_time": 0,
    "deferrable": True,
    "wait_for_completion": True,
}

SIGNATURES: dict[str, dict[str, Any]] = {
    f"{ARCHIVED}.operators.fivetran.FivetranOperator": {
        "connector_id": REQUIRED,
        "run_name": None,
        "timeout_seconds": None,
        "fivetran_conn_id": "fivetran",
        "fivetran_retry_limit": 3,
        "fivetran_retry_delay": 1,
        "poll_frequency": 15,
        "schedule_type": "manual",
    },
    f"{ARCHIVED}.sensors.fivetran.FivetranSensor": {
        "connector_id": REQUIRED,
        "fivetran_conn_id": "fivetran",
        "poke_interval": 60,
        "fivetran_retry_limit": 3,
        "fivetran_retry_delay": 1,
        "xcom": "",
        "reschedule_time": 0,
    },
    f"{ARCHIVED}.hooks.fivetran.FivetranHook": {
        "fivetran_conn_id": "fivetran",
        "fivetran_conn": None,
        "timeout_seconds": 180,
        "retry_limit": 3,
        "retry_delay": 1.0,
    },
    f"{ASYNC}.operators.FivetranOperator": ASYNC_OPERATOR,
    # 2.4.0 declares only ``scope`` and passes the rest to FivetranOperator.
    f"{ASYNC}.operators.FivetranResyncOperator": {"scope": None},
    f"{ASYNC}.sensors.FivetranSensor": {
        "connector_id": None,
        "connector_name": None,
        "destination_name": None,
        "fivetran_conn_id": "fivetran_default",
        "poke_interval": 60,
        "fivetran_retry_limit": 3,
        "fivetran_retry_delay": 1,
        "completed_after_time": None,
        "reschedule_wait_time": None,
        "always_wait_when_syncing": False,
        "propagate_failures_forward": False,
        "deferrable": True,
    },
    f"{ASYNC}.hooks.FivetranHook": {
        "fivetran_conn_id": "fivetran_default",
        "fivetran_conn": None,
        "timeout_seconds": 180,
        "retry_limit": 3,
        "retry_delay": 1.0,
    },
    f"{ASYNC}.triggers.FivetranTrigger": {
        "task_id": REQUIRED,
        "connector_id": REQUIRED,
        "fivetran_conn_id": REQUIRED,
        "previous_completed_at": None,
        "xcom": "",
        "poke_interval": 4.0,
        "reschedule_wait_time": None,
    },
}


def load(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("path", sorted(SIGNATURES))
def test_every_argument_is_accepted_with_its_old_default(path: str) -> None:
    parameters = inspect.signature(load(path).__init__).parameters
    for name, default in SIGNATURES[path].items():
        assert name in parameters, f"{path} lacks {name}"
        assert parameters[name].default == default, f"{path}.{name}: {parameters[name].default!r} != {default!r}"
    # In the old order, so that positional calls still mean the same.
    declared = [name for name in parameters if name in SIGNATURES[path]]
    assert declared == list(SIGNATURES[path])


# ---------------------------------------------------------------------------- mapping, operators

OPERATOR_VALUES: dict[str, Any] = {
    "connector_id": "conn_a",
    "run_name": "nightly",
    "fivetran_conn_id": "fivetran_other",
    "fivetran_retry_limit": 5,
    "fivetran_retry_delay": 2,
    "poll_frequency": 7,
    "schedule_type": "auto",
}


def check_common_operator(operator: Any) -> None:
    assert operator.connector_id == "conn_a"
    assert operator.run_name == "nightly"
    assert operator.fivetran_conn_id == "fivetran_other"
    assert operator.hook.fivetran_conn_id == "fivetran_other"
    # 5 attempts (4 retries), the first retry after 2 s, in the hook's retry policy.
    assert operator.fivetran_retry_policy == {"max_retries": 4, "backoff_base": 2.0}
    assert operator.hook._retry_policy == {"max_retries": 4, "backoff_base": 2.0}
    assert operator.poll_interval == 7.0
    assert operator.schedule_type == "auto"


def test_archived_operator_maps_every_argument() -> None:
    operator = load(f"{ARCHIVED}.operators.fivetran.FivetranOperator")(
        task_id="t", timeout_seconds=30, **OPERATOR_VALUES
    )
    check_common_operator(operator)
    assert operator.timeout_seconds == 30  # kept, unused, as in 1.x
    assert operator.waits is False and operator.deferrable is False  # 1.x never waited
    assert operator.tests_broken_connection is False  # 1.x failed a connection that was not connected
    assert operator.template_fields == ("connector_id",)


def test_async_operator_maps_every_argument() -> None:
    operator = load(f"{ASYNC}.operators.FivetranOperator")(
        task_id="t",
        reschedule_wait_time=30,
        deferrable=False,
        wait_for_completion=False,
        timeout_seconds=90,  # deprecated in 2.4.0: became execution_timeout
        **OPERATOR_VALUES,
    )
    check_common_operator(operator)
    assert operator.reschedule_wait_time == 30 and operator.resume_rescheduled is True
    assert operator.deferrable is False and operator.wait_for_completion is False
    assert operator.execution_timeout == timedelta(seconds=90)
    assert operator.timeout == timedelta(seconds=90)  # the wait ends there too
    assert operator.tests_broken_connection is True  # 2.4.0 ran the setup tests of a broken connection
    assert set(operator.template_fields) == {"connector_id", "connector_name", "destination_name"}
    by_name = load(f"{ASYNC}.operators.FivetranOperator")(
        task_id="n", connector_name="salesforce", destination_name="warehouse"
    )
    assert (by_name.connector_id, by_name.connector_name, by_name.destination_name) == (
        None,
        "salesforce",
        "warehouse",
    )
    assert by_name.timeout == timedelta(hours=24)  # without execution_timeout the wait still ends


def test_async_resync_operator_maps_scope() -> None:
    cls = load(f"{ASYNC}.operators.FivetranResyncOperator")
    scoped = cls(task_id="t", scope={"salesforce": ["account"]}, **OPERATOR_VALUES)
    check_common_operator(scoped)
    assert scoped.resync is True and scoped.scope == {"salesforce": ["account"]}
    whole = cls(task_id="w", connector_id="conn_a")
    assert whole.resync is True and whole.scope is None


@pytest.mark.parametrize(
    ("path", "arguments", "field"),
    [
        (
            f"{ARCHIVED}.operators.fivetran.FivetranOperator",
            {"connector_id": "c", "schedule_type": "weekly"},
            "schedule_type",
        ),
        (
            f"{ASYNC}.operators.FivetranOperator",
            {"connector_id": "c", "fivetran_retry_limit": 0},
            "fivetran_retry_limit",
        ),
        (f"{ASYNC}.operators.FivetranOperator", {"connector_name": "only_a_name"}, "connector_id"),
        (f"{ASYNC}.operators.FivetranResyncOperator", {"connector_id": "c", "scope": {"s": []}}, "scope"),
        (f"{ASYNC}.sensors.FivetranSensor", {"connector_id": "c", "completed_after_time": 5}, "completed_after_time"),
        (
            f"{ASYNC}.sensors.FivetranSensor",
            {"connector_id": "c", "completed_after_time": "yesterday"},
            "completed_after_time",
        ),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(path: str, arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(FivetranValidationError) as caught:
        load(path)(task_id="t", **arguments)
    assert field in str(caught.value)


# ---------------------------------------------------------------------------- mapping, sensors


def test_archived_sensor_maps_every_argument() -> None:
    sensor = load(f"{ARCHIVED}.sensors.fivetran.FivetranSensor")(
        task_id="s",
        connector_id="conn_a",
        fivetran_conn_id="fivetran_other",
        poke_interval=7,
        fivetran_retry_limit=2,
        fivetran_retry_delay=3,
        xcom="{{ ti.xcom_pull('op') }}",
        reschedule_time=20,
    )
    assert sensor.connector_id == sensor.connection_id == "conn_a"
    assert sensor.hook.fivetran_conn_id == "fivetran_other"
    assert sensor.poke_interval == 7
    assert sensor.fivetran_retry_policy == {"max_retries": 1, "backoff_base": 3.0}
    assert sensor.xcom == "{{ ti.xcom_pull('op') }}" and "xcom" in sensor.template_fields
    assert sensor.reschedule_time == 20 and sensor.resume_rescheduled is True
    assert sensor.deferrable is False  # 1.x had no deferrable mode


def test_async_sensor_maps_every_argument() -> None:
    cls = load(f"{ASYNC}.sensors.FivetranSensor")
    sensor = cls(
        task_id="s",
        connector_name="salesforce",
        destination_name="warehouse",
        fivetran_conn_id="fivetran_other",
        poke_interval=7,
        fivetran_retry_limit=2,
        fivetran_retry_delay=3,
        completed_after_time=datetime(2026, 3, 1, tzinfo=timezone.utc),
        reschedule_wait_time=20,
        always_wait_when_syncing=True,
        propagate_failures_forward=True,
        deferrable=False,
    )
    assert (sensor.connection_name, sensor.destination_name) == ("salesforce", "warehouse")
    assert sensor.hook.fivetran_conn_id == "fivetran_other"
    assert sensor.poke_interval == 7
    assert sensor.fivetran_retry_policy == {"max_retries": 1, "backoff_base": 3.0}
    assert sensor.completed_after_time == "2026-03-01T00:00:00+00:00"
    assert sensor.completed_after_for({}) == "2026-03-01T00:00:00.000000Z"
    assert sensor.reschedule_wait_time == 20
    assert sensor.always_wait_when_syncing is True and sensor.propagate_failures_forward is True
    assert sensor.deferrable is False
    # 2.4.0's deprecated keywords still land in the right place.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = cls(task_id="o", connector_id="conn_a", xcom="2026-02-01T00:00:00Z", reschedule_time=9)
    assert old.completed_after_time == "2026-02-01T00:00:00Z" and old.reschedule_wait_time == 9
    assert cls(task_id="d", connector_id="conn_a").deferrable is True


# ---------------------------------------------------------------------------- mapping, hooks and trigger


@pytest.mark.parametrize("path", [f"{ARCHIVED}.hooks.fivetran.FivetranHook", f"{ASYNC}.hooks.FivetranHook"])
def test_hooks_map_every_argument(path: str) -> None:
    given = object()
    hook = load(path)(fivetran_conn_id="other", fivetran_conn=given, timeout_seconds=45, retry_limit=4, retry_delay=0.5)
    assert hook.fivetran_conn_id == "other"
    assert hook.get_connection("other") is given  # used instead of a lookup
    assert hook._read_timeout == 45
    assert hook._retry_policy == {"max_retries": 3, "backoff_base": 0.5}


def test_trigger_maps_every_argument_and_serializes_with_them() -> None:
    cls = load(f"{ASYNC}.triggers.FivetranTrigger")
    trigger = cls(
        task_id="t",
        connector_id="conn_a",
        fivetran_conn_id="fivetran_other",
        previous_completed_at=datetime(2026, 3, 1, tzinfo=timezone.utc),
        xcom="",
        poke_interval=2.5,
        reschedule_wait_time=10,
    )
    assert trigger.connection_id == "conn_a" and trigger.fivetran_conn_id == "fivetran_other"
    assert trigger.baseline == "2026-03-01T00:00:00.000000Z" and trigger.poll_interval == 2.5
    path, kwargs = trigger.serialize()
    assert path == f"{ASYNC}.triggers.FivetranTrigger"
    assert set(kwargs) == set(SIGNATURES[path])
    rebuilt = load(path)(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)
    from_xcom = cls(task_id="t", connector_id="conn_a", fivetran_conn_id="f", xcom="2026-02-01T00:00:00Z")
    assert from_xcom.baseline == "2026-02-01T00:00:00.000000Z"


# ---------------------------------------------------------------------------- deprecation warnings


def test_each_compatibility_name_warns_once_per_process_and_names_its_successor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_legacy, "_warned", set())
    operator = load(f"{ASYNC}.operators.FivetranOperator")
    sensor = load(f"{ARCHIVED}.sensors.fivetran.FivetranSensor")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for index in range(3):  # three tasks, and the DAG file parsed again
            operator(task_id=f"op{index}", connector_id="conn_a")
            sensor(task_id=f"sensor{index}", connector_id="conn_a")
    messages = [str(w.message) for w in caught if issubclass(w.category, _legacy.FivetranCompatibilityWarning)]
    assert len(messages) == 2
    assert "use fivetran_provider.operators.FivetranSyncOperator instead" in messages[0]
    assert "use fivetran_provider.sensors.FivetranSyncSensor instead" in messages[1]
    assert all("migrating.md" in message for message in messages)


# ---------------------------------------------------------------------------- the migration guide


def test_the_migration_guide_names_every_class_and_argument() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "guides" / "migrating.md").read_text(encoding="utf-8")
    deprecated_keywords = {"timeout_seconds", "xcom", "reschedule_time"}  # 2.4.0's, still accepted
    for path, arguments in SIGNATURES.items():
        assert f"`{path.rpartition('.')[2]}`" in guide, path
        for name in [*arguments, *deprecated_keywords]:
            assert f"`{name}`" in guide, f"the guide does not mention {name} of {path}"

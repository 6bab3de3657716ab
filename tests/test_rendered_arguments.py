"""Every user-facing argument is a template, checked after rendering and before the first request.

Durations are finite, positive and bounded (a poll interval of at least 1 s, at most 366 days;
timeouts that fit a ``timedelta``) whether given as numbers, text or ``timedelta``; literal values
are refused when the DAG is parsed, rendered ones when the task starts, with nothing sent.
"""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any

import pytest

from fivetran_provider._compat import BaseOperator, BaseSensorOperator
from fivetran_provider.exceptions import FivetranValidationError
from fivetran_provider.operators import (
    FivetranSyncOperator,
    PauseConnectionOperator,
    RestoreFivetranConnectionOperator,
    ResumeConnectionOperator,
    UpdateFivetranConnectionOperator,
)
from fivetran_provider.sensors import FivetranSyncSensor
from fivetran_provider.testing import FivetranSimulator
from tests.test_example_dags import task_states

#: Arguments Airflow itself checks when the sensor is built: they cannot be templates (the
#: sensor's docstring says so).
NOT_TEMPLATED = {FivetranSyncSensor: {"poke_interval"}}
OPERATORS = [
    FivetranSyncOperator,
    UpdateFivetranConnectionOperator,
    PauseConnectionOperator,
    ResumeConnectionOperator,
    RestoreFivetranConnectionOperator,
    FivetranSyncSensor,
]


@pytest.mark.parametrize("operator", OPERATORS, ids=lambda cls: cls.__name__)
def test_every_argument_of_every_operator_is_a_template_field(operator: type) -> None:
    base = BaseSensorOperator if issubclass(operator, BaseSensorOperator) else BaseOperator
    inherited = set(inspect.signature(base.__init__).parameters)
    own = {
        name
        for name, parameter in inspect.signature(operator.__init__).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in inherited
    }
    missing = own - set(operator.template_fields) - NOT_TEMPLATED.get(operator, set())
    assert not missing, f"{operator.__name__} does not template {sorted(missing)}"


SYNC = {"task_id": "t", "connection_id": "c"}


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"poll_interval": None}, "poll_interval"),
        ({"poll_interval": 1e-9}, "poll_interval"),
        ({"poll_interval": 0.5}, "poll_interval"),
        ({"poll_interval": timedelta(milliseconds=1)}, "poll_interval"),
        ({"poll_interval": timedelta.max}, "poll_interval"),
        ({"timeout": 1e300}, "timeout"),
        ({"timeout": timedelta.max}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": "nan"}, "timeout"),
        ({"timeout": timedelta(0)}, "timeout"),
        ({"deferrable": "yes"}, "deferrable"),
        ({"test_if_broken": "maybe"}, "test_if_broken"),
    ],
)
@pytest.mark.parametrize("operator", [FivetranSyncOperator, UpdateFivetranConnectionOperator])
def test_a_bad_literal_argument_is_refused_when_the_dag_is_parsed(
    operator: type, kwargs: dict[str, Any], argument: str
) -> None:
    if operator is UpdateFivetranConnectionOperator:
        if argument == "test_if_broken":
            kwargs, argument = {"max_parallel": "0"}, "max_parallel"
        kwargs = {**kwargs, "is_historical_sync": True}
    with pytest.raises(FivetranValidationError) as caught:
        operator(**SYNC, **kwargs)
    assert caught.value.field == argument


@pytest.mark.parametrize("kwargs", [{"poke_interval": 0.5}, {"timeout": timedelta.max}, {"timeout": 1e300}])
def test_a_bad_sensor_duration_is_refused_when_the_dag_is_parsed(kwargs: dict[str, Any]) -> None:
    with pytest.raises(FivetranValidationError):
        FivetranSyncSensor(task_id="t", connection_id="c", **kwargs)


def test_durations_within_bounds_are_kept_as_seconds() -> None:
    operator = FivetranSyncOperator(task_id="t", connection_id="c", poll_interval=timedelta(seconds=1), timeout=None)
    assert operator.poll_interval == 1.0 and operator.timeout is None
    later = FivetranSyncOperator(task_id="t", connection_id="c", poll_interval="90", timeout=timedelta(days=366))
    assert later.poll_interval == 90.0 and later.timeout == 366 * 86400.0


# ------------------------------------------------------------------------------------ rendered in a DAG


@pytest.fixture
def rendered(fivetran_conn: FivetranSimulator) -> FivetranSimulator:
    fivetran_conn.add_connection("rendered", sync_frequency=360)
    fivetran_conn.clear_requests()
    return fivetran_conn


def side_effects(sim: FivetranSimulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in sim.requests if r.method != "GET"]


def test_a_templated_dry_run_plans_and_sends_nothing(run_dag: Any, rendered: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_test_rendered_arguments", dry_run="True", force="False")
    assert task_states(dag_run) == {"update": "success", "sync": "success"}
    assert rendered.requests_for("PATCH") == []
    assert rendered.connection("rendered")["sync_frequency"] == 360


def test_a_templated_dry_run_false_sends_the_change(run_dag: Any, rendered: FivetranSimulator) -> None:
    dag_run = run_dag("fivetran_test_rendered_arguments", dry_run=False, max_parallel="8", timeout="120")
    assert task_states(dag_run) == {"update": "success", "sync": "success"}
    assert [r.body for r in rendered.requests_for("PATCH")] == [{"sync_frequency": 60, "run_setup_tests": False}]


@pytest.mark.parametrize(
    "conf",
    [
        {"poll_interval": "0.001"},
        {"poll_interval": "None"},
        {"timeout": "1e300", "deferrable": True},
        {"timeout": "inf"},
        {"deferrable": "perhaps"},
        {"max_parallel": "65", "test_if_broken": "sometimes"},
    ],
)
def test_a_bad_rendered_argument_fails_the_task_before_anything_is_sent(
    run_dag: Any, rendered: FivetranSimulator, conf: dict[str, Any]
) -> None:
    dag_run = run_dag("fivetran_test_rendered_arguments", dry_run=False, **conf)
    assert task_states(dag_run) == {"update": "failed", "sync": "failed"}
    assert side_effects(rendered) == []
    assert rendered.requests == []  # not even a read: the check comes first


def test_the_sensor_takes_templates_and_checks_them_when_it_runs(fivetran_conn: FivetranSimulator) -> None:
    sensor = FivetranSyncSensor(
        task_id="wait",
        connection_id="{{ params.connection_id }}",
        historical="{{ params.historical }}",
        resume_rescheduled="{{ params.resume }}",
        deferrable="{{ params.deferrable }}",
    )
    sensor.connection_id, sensor.historical, sensor.deferrable = "c", "perhaps", "false"  # as rendered
    with pytest.raises(FivetranValidationError) as caught:
        sensor.execute({})
    assert caught.value.field == "historical"
    assert fivetran_conn.requests == []

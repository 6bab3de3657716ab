"""Property-based tests (Hypothesis) of the field catalogue and the hook.

Whatever a DAG passes, the outcome is one of two: a body that is strict JSON and valid against
Fivetran's official definition (checked when ``FIVETRAN_OPENAPI_SPEC`` is set), or a
:class:`~fivetran_provider.exceptions.FivetranValidationError`, in which case nothing at all
was sent. Never another exception. The hook tests talk to the simulator over loopback.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivetran_provider import fields
from fivetran_provider.exceptions import FivetranValidationError
from fivetran_provider.hooks import FivetranHook
from fivetran_provider.testing import FivetranSimulator
from tests.conftest import conn_json

EXAMPLES = Counter[str]()

#: Ints with more digits than Python prints by default (4,300); built by ``map`` so that no strategy
#: description has to print one.
HUGE_INTS = st.sampled_from([(1, 4300), (1, 5000), (-1, 4301), (1, 20000)]).map(lambda sd: sd[0] * 10 ** sd[1])

HOSTILE_SCALARS = st.sampled_from(
    [
        "1" * 5000,
        "9" * 25,
        "[" * 3000 + "]" * 3000,
        '{"a": ' + "[" * 3000 + "]" * 3000 + "}",
        "{'a': (1, 2)}",
        "nan",
        "NaN",
        "Infinity",
        "-0",
        " true ",
        "yes",
        "",
        "\x00",
        "None",
        2**31,
        2**31 - 1,
        -(2**31) - 1,
        10**20,
        float("nan"),
        float("inf"),
        -0.0,
        1.5,
        b"bytes",
        "id\ud800",  # a lone surrogate: no UTF-8 encoding exists
        "\udcff",
    ]
)

PLAUSIBLE_SCALARS = st.one_of(
    st.sampled_from(
        [*fields.SYNC_FREQUENCIES, *fields.DAILY_SYNC_TIMES[:3], "true", "false", "60", "1440", "CUSTOM", "auto"]
    ),
    st.sampled_from([choice for spec in fields.FIELD_SPECS for choice in spec.choices]),
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=4),
    HOSTILE_SCALARS,
    PLAUSIBLE_SCALARS,
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.text(max_size=8), st.sampled_from(["virtual_warehouse", "schedule_type", "interval", "cron"]))
    return st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=3),
        st.dictionaries(st.tuples(st.text(max_size=2), st.integers()), children, max_size=1),
        st.frozensets(st.integers(), max_size=2),
    )


VALUES = st.recursive(SCALARS, _containers, max_leaves=12)
JSON_TEXT = VALUES.map(lambda value: json.dumps(value, default=repr, skipkeys=True))
FIELD_VALUES = st.one_of(VALUES, JSON_TEXT, HUGE_INTS, HUGE_INTS.map(lambda n: {"n": [n]}))
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON_OBJECTS = st.dictionaries(
    st.text(max_size=8), st.recursive(JSON_LEAVES, lambda c: st.lists(c, max_size=2), max_leaves=4), max_size=3
)


def _plausible(name: str) -> st.SearchStrategy[Any]:
    """Values a DAG author would plausibly pass for one field (mostly valid, sometimes not)."""
    spec = fields.FIELDS[name]
    if spec.kind == "bool":
        return st.one_of(st.booleans(), st.sampled_from(["true", "false", "True", " FALSE "]))
    if spec.kind == "int":
        choices = st.sampled_from(spec.choices) if spec.choices else st.integers(-5, 2**32)
        return st.one_of(choices, choices.map(str), st.integers(-(2**33), 2**33))
    if spec.kind == "enum":
        return st.sampled_from(spec.choices).flatmap(
            lambda choice: st.sampled_from([choice, choice.upper(), choice.lower()])
        )
    if spec.kind == "hour":
        return st.sampled_from([*fields.DAILY_SYNC_TIMES, "3:00", "03:00:00", "24:00", "03:30"])
    if spec.kind == "object":
        if name == "destination_configuration":
            return st.one_of(st.fixed_dictionaries({"virtual_warehouse": st.text(max_size=8)}), JSON_OBJECTS)
        if name == "schedule":
            return st.fixed_dictionaries(
                {"schedule_type": st.sampled_from(["INTERVAL", "TIME_OF_DAY", "CRON", "MANUAL", "interval"])},
                optional={
                    "interval": st.sampled_from([1, 60, 1440, 0, 5000]),
                    "time_of_day": st.sampled_from(["03:00", "3:00", "25:00"]),
                    "days_of_week": st.lists(st.sampled_from([*fields.WEEKDAYS, "FUNDAY"]), max_size=3),
                    "cron": st.sampled_from(["0 9 * * 1-5", "* * *"]),
                },
            )
        return st.one_of(JSON_OBJECTS, JSON_OBJECTS.map(json.dumps))
    return st.text(max_size=12)


PLAUSIBLE_ITEMS = st.sampled_from(fields.PATCH_FIELDS).flatmap(lambda name: st.tuples(st.just(name), _plausible(name)))
HOSTILE_ITEMS = st.tuples(
    st.one_of(st.sampled_from(fields.PATCH_FIELDS), st.sampled_from(["pasued", "sync_frequncy", "x"])), FIELD_VALUES
)
UPDATES = st.lists(st.one_of(PLAUSIBLE_ITEMS, PLAUSIBLE_ITEMS, HOSTILE_ITEMS), max_size=4).map(dict)
HOOK_UPDATES = st.lists(
    st.one_of(PLAUSIBLE_ITEMS, PLAUSIBLE_ITEMS, st.tuples(st.sampled_from(fields.PATCH_FIELDS), FIELD_VALUES)),
    max_size=4,
).map(dict)


# ------------------------------------------------------------------------------------ the definition


def _update_validator() -> Any:
    if not os.environ.get("FIVETRAN_OPENAPI_SPEC"):
        return None
    from tests.test_contract import _spec, _validator

    schema = copy.deepcopy(_spec()["components"]["schemas"]["UpdateConnectorRequest"])
    schema["additionalProperties"] = False
    schema["properties"]["schedule"] = {"type": "object"}  # the alpha flexible schedule (see test_contract)
    return _validator(schema)


def _component_validator(name: str) -> Any:
    if not os.environ.get("FIVETRAN_OPENAPI_SPEC"):
        return None
    from tests.test_contract import _component, _validator

    return _validator(_component(name))


def _assert_valid(validator: Any, body: Any) -> None:
    text = json.dumps(body, allow_nan=False)  # strict JSON, or this raises
    if validator is not None:
        errors = [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(json.loads(text))]
        assert not errors, errors


@pytest.fixture(scope="module")
def update_validator() -> Any:
    return _update_validator()


@pytest.fixture(scope="module", autouse=True)
def report_examples(pytestconfig: pytest.Config) -> Iterator[None]:
    yield
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # shown in every run, passing or not
        print(f"\nhypothesis examples run: {dict(EXAMPLES)}")


# ------------------------------------------------------------------------------------ catalogue


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(update=UPDATES)
def test_any_update_validates_to_a_valid_body_or_a_validation_error(update: dict[Any, Any]) -> None:
    EXAMPLES["catalogue update"] += 1
    validator = _cached_update_validator()
    try:
        body = fields.validate_update(update)
    except FivetranValidationError as error:
        assert error.field
        EXAMPLES["catalogue update refused"] += 1
        return
    _assert_valid(validator, body)
    EXAMPLES["catalogue update valid"] += 1


@settings(max_examples=300, deadline=None)
@given(item=st.one_of(PLAUSIBLE_ITEMS, st.tuples(st.sampled_from(fields.PATCH_FIELDS), FIELD_VALUES)))
def test_any_single_field_coerces_or_names_itself(item: tuple[str, Any]) -> None:
    name, value = item
    EXAMPLES["catalogue field"] += 1
    try:
        coerced = fields.coerce_field(name, value)
    except FivetranValidationError as error:
        assert error.field.split(".")[0].split("[")[0] in (name, "schedule") or error.field.startswith(name)
        return
    json.dumps(coerced, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(scope=st.one_of(FIELD_VALUES, st.dictionaries(st.text(max_size=6), FIELD_VALUES, max_size=3)))
def test_any_resync_scope_is_valid_or_refused(scope: Any) -> None:
    EXAMPLES["catalogue scope"] += 1
    try:
        checked = fields.validate_resync_scope(scope)
    except FivetranValidationError:
        return
    body = {} if checked is None else {"scope": checked}
    _assert_valid(_cached_component_validator("ResyncConnectorRequest"), body)


_VALIDATORS: dict[str, Any] = {}


def _cached_update_validator() -> Any:
    if "update" not in _VALIDATORS:
        _VALIDATORS["update"] = _update_validator()
    return _VALIDATORS["update"]


def _cached_component_validator(name: str) -> Any:
    if name not in _VALIDATORS:
        _VALIDATORS[name] = _component_validator(name)
    return _VALIDATORS[name]


# ------------------------------------------------------------------------------------ hook


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator() as sim:
        yield sim


@pytest.fixture
def sim_hook(shared_sim: FivetranSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FivetranHook]:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(shared_sim, max_retries=0))
    hook = FivetranHook()
    yield hook
    hook.close()


HOOK_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@HOOK_SETTINGS
@given(update=HOOK_UPDATES)
def test_the_hook_sends_a_valid_body_or_nothing(
    sim_hook: FivetranHook, shared_sim: FivetranSimulator, update: dict[str, Any]
) -> None:
    EXAMPLES["hook update"] += 1
    connection_id = "prop_conn"
    if not shared_sim.state.has_connection(connection_id):
        shared_sim.add_connection(connection_id)
    shared_sim.clear_requests()
    try:
        sim_hook.update_connection(connection_id, **update)
    except FivetranValidationError:
        assert shared_sim.requests == []
        EXAMPLES["hook update refused, nothing sent"] += 1
        return
    except Exception:
        pass  # Fivetran may refuse what depends on the connection (HTTP 400); the body is checked below
    patches = shared_sim.requests_for("PATCH")
    assert len(patches) == 1
    _assert_valid(_cached_update_validator(), patches[0].body)
    EXAMPLES["hook update sent, valid"] += 1


@HOOK_SETTINGS
@given(scope=st.one_of(st.none(), FIELD_VALUES), force=FIELD_VALUES)
def test_sync_and_resync_send_valid_bodies_or_nothing(
    sim_hook: FivetranHook, shared_sim: FivetranSimulator, scope: Any, force: Any
) -> None:
    EXAMPLES["hook sync/resync"] += 1
    connection_id = "prop_sync"
    if not shared_sim.state.has_connection(connection_id):
        shared_sim.add_connection(connection_id, service="postgres")
    for name, call, schema in (
        ("resync", lambda: sim_hook.resync(connection_id, scope), "ResyncConnectorRequest"),
        ("sync", lambda: sim_hook.start_sync(connection_id, force=force), "SyncConnectorRequest"),
    ):
        shared_sim.clear_requests()
        try:
            call()
        except FivetranValidationError:
            assert shared_sim.requests == []
            continue
        posts = shared_sim.requests_for("POST")
        assert len(posts) == 1, name
        _assert_valid(_cached_component_validator(schema), posts[0].body)


@HOOK_SETTINGS
@given(page_size=FIELD_VALUES)
def test_listing_takes_any_page_size_or_refuses_it(
    sim_hook: FivetranHook, shared_sim: FivetranSimulator, page_size: Any
) -> None:
    EXAMPLES["hook list"] += 1
    shared_sim.clear_requests()
    try:
        sim_hook.list_connections(page_size=page_size)
    except FivetranValidationError as error:
        assert error.field == "page_size"
        assert shared_sim.requests == []


# ------------------------------------------------------------------------------------ huge ints, surrogates

UNENCODABLE = st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3).flatmap(
    lambda bad: st.sampled_from([bad, "conn_" + bad, bad + "_id"])
)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(fields.PATCH_FIELDS), value=st.one_of(HUGE_INTS, HUGE_INTS.map(lambda n: [n])))
def test_a_huge_int_in_any_field_is_refused_or_kept_with_a_readable_message(name: str, value: Any) -> None:
    EXAMPLES["huge int"] += 1
    try:
        fields.validate_update({name: value})
    except FivetranValidationError as error:
        assert len(str(error)) < 2000 and len(repr(error)) < 2000
        assert error.field.startswith(name) or error.field == "schedule"


@settings(max_examples=100, deadline=None)
@given(value=HUGE_INTS)
def test_a_huge_int_argument_is_refused_with_a_readable_message(value: int) -> None:
    from fivetran_provider.operators import FivetranSyncOperator

    with pytest.raises(FivetranValidationError) as caught:
        FivetranSyncOperator(task_id="t", connection_id="c", poll_interval=value, deferrable=False)
    assert "digits" in str(caught.value)


@HOOK_SETTINGS
@given(connection_id=UNENCODABLE)
def test_an_id_that_cannot_be_encoded_is_refused_and_nothing_is_sent(
    sim_hook: FivetranHook, shared_sim: FivetranSimulator, connection_id: str
) -> None:
    EXAMPLES["unencodable id"] += 1
    shared_sim.clear_requests()
    for call in (
        lambda: sim_hook.get_connection_details(connection_id),
        lambda: sim_hook.start_sync(connection_id),
        lambda: sim_hook.list_connections(group_id=connection_id),
        lambda: sim_hook.list_connections(schema=connection_id),
    ):
        with pytest.raises(FivetranValidationError) as caught:
            call()
        assert "surrogate" in str(caught.value)
    assert shared_sim.requests == []

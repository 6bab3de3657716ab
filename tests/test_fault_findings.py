"""One reproduction per fault-safety finding, each on the simulator over loopback.

1. a retried ``POST /resync`` (or forced ``POST /sync``) must not start a second sync;
2. a pause must never leave a connection paused that its error does not name;
3. ``is_historical_sync`` must not be sent twice when the historical sync already finished;
4. redirects are never followed;
5. config secrets are recorded as Fivetran returns them, whatever their key;
6. every transport or decoding failure is a typed ``FivetranTransportError``;
7. a call has an overall deadline (a slow-drip answer cannot hold it);
8. validation never crashes with a non-package exception, and nothing is sent;
9. boolean and duration arguments are coerced strictly.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from fivetran_provider import fields
from fivetran_provider.exceptions import (
    FivetranDeadlineError,
    FivetranPartialFailureError,
    FivetranRedirectError,
    FivetranTransportError,
    FivetranValidationError,
)
from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook
from fivetran_provider.operators import (
    FivetranSyncOperator,
    PauseConnectionOperator,
    UpdateFivetranConnectionOperator,
)
from fivetran_provider.sensors import FivetranSyncSensor
from fivetran_provider.testing import FivetranSimulator
from tests.conftest import conn_json
from tests.test_operators import TaskInstanceStandIn, run


def historical_runs(sim: FivetranSimulator, connection_id: str) -> list[dict[str, Any]]:
    return [item for item in sim.state.sync_history(connection_id) if item["historical"]]


def runs(sim: FivetranSimulator, connection_id: str) -> list[dict[str, Any]]:
    return sim.state.sync_history(connection_id)


# ------------------------------------------------------------------------------------ 1


@pytest.mark.parametrize("fault", ["apply_then_fail", "apply_then_drop", "apply_then_malformed"])
def test_1_a_resync_whose_answer_is_lost_starts_one_historical_sync(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, fault: str
) -> None:
    fivetran_conn.add_connection("conn", succeeded_at=None)
    getattr(fivetran_conn.faults, fault)(count=1, method="POST", path_prefix="/v1/connections/conn/resync")
    hook.resync("conn")
    assert len(fivetran_conn.requests_for("POST", "/v1/connections/conn/resync")) == 1
    assert len(historical_runs(fivetran_conn, "conn")) == 1


@pytest.mark.parametrize("duration", [0.0, 30.0])
def test_1_a_forced_sync_whose_answer_is_lost_is_not_sent_again(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, duration: float
) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.default_sync_duration = duration  # finished before the check, or still running
    fivetran_conn.faults.apply_then_fail(count=1, status=502, method="POST", path_prefix="/v1/connections/conn/sync")
    hook.start_sync("conn", force=True)
    assert len(fivetran_conn.requests_for("POST", "/v1/connections/conn/sync")) == 1
    assert len(runs(fivetran_conn, "conn")) == 1


def test_1_a_sync_refused_before_it_was_applied_is_sent_again_after_a_read(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.server_error(count=1, status=503, method="POST")
    hook.start_sync("conn")
    methods = [(r.method, r.status) for r in fivetran_conn.requests]
    assert methods == [("GET", 200), ("POST", 503), ("GET", 200), ("POST", 200)]
    assert len(runs(fivetran_conn, "conn")) == 1


# ------------------------------------------------------------------------------------ 2


def _paused_but_not_named(
    sim: FivetranSimulator, ids: list[str], error: FivetranPartialFailureError | None
) -> list[str]:
    named = set() if error is None else {*error.changed, *error.unverified}
    if error is not None:
        for cid in named:
            assert cid in str(error)
    return [cid for cid in ids if sim.connection(cid)["paused"] and cid not in named]


@pytest.mark.parametrize("body", ["html", "no_data", "data_list", "bad_gzip", "truncated"])
def test_2_a_pause_applied_then_answered_with_a_malformed_200_is_known(
    fivetran_conn: FivetranSimulator, body: str
) -> None:
    ids = [f"c{index}" for index in range(8)]
    for cid in ids:
        fivetran_conn.add_connection(cid)
    fivetran_conn.faults.apply_then_malformed(count=1, body=body, path_prefix="/v1/connections/c3")
    fivetran_conn.faults.server_error(count=1, status=403, method="PATCH", path_prefix="/v1/connections/c5")
    with pytest.raises(FivetranPartialFailureError) as caught:
        run(PauseConnectionOperator(task_id="pause", connection_ids=ids, max_parallel=1))
    assert _paused_but_not_named(fivetran_conn, ids, caught.value) == []
    assert not any(fivetran_conn.connection(cid)["paused"] for cid in ids)
    assert "nothing is left paused by this task" in str(caught.value)


@pytest.mark.parametrize("reads_refused", [2, 20])
def test_2_a_pause_whose_verifying_read_gets_429_beyond_the_cap_is_named_or_undone(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, reads_refused: int
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(fivetran_conn, max_retries=1, max_retry_after=1))
    ids = ["a", "b", "c"]
    for cid in ids:
        fivetran_conn.add_connection(cid)
    fivetran_conn.faults.apply_then_fail(count=1, path_prefix="/v1/connections/b")
    fivetran_conn.faults.rate_limit(count=reads_refused, retry_after=3600, path_prefix="/v1/connections/b")
    error: FivetranPartialFailureError | None = None
    try:
        run(PauseConnectionOperator(task_id="pause", connection_ids=ids, max_parallel=1))
    except FivetranPartialFailureError as raised:
        error = raised
    assert error is not None
    assert _paused_but_not_named(fivetran_conn, ids, error) == []
    if fivetran_conn.connection("b")["paused"]:
        assert error.unverified == ["b"]
        assert "could not verify (may be PAUSED): b" in str(error)
        assert "nothing is left paused" not in str(error)


# ------------------------------------------------------------------------------------ 3


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_3_is_historical_sync_is_sent_once_even_if_that_sync_ended_before_the_check(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, outcome: str
) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.state.plan_syncs("conn", (outcome,), duration=0.0)  # over before anyone can look
    fivetran_conn.faults.apply_then_fail(count=1, status=500)
    current = hook.get_connection_details("conn")
    hook.update_connection("conn", current_state=current, is_historical_sync=True, sync_frequency=60)
    sent = [r.body for r in fivetran_conn.requests_for("PATCH")]
    assert sent == [{"is_historical_sync": True, "sync_frequency": 60, "run_setup_tests": False}]
    assert len(historical_runs(fivetran_conn, "conn")) == 1


def test_3_only_the_missing_part_is_sent_again(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.server_error(count=1, status=500, method="PATCH")  # refused before applying
    hook.update_connection("conn", is_historical_sync=True)
    assert [r.body for r in fivetran_conn.requests_for("PATCH")] == [
        {"is_historical_sync": True, "run_setup_tests": False}
    ] * 2
    assert len(historical_runs(fivetran_conn, "conn")) == 1


# ------------------------------------------------------------------------------------ 4


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_4_a_redirect_is_refused_and_nothing_reaches_the_other_host(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, status: int
) -> None:
    fivetran_conn.add_connection("conn", config={"user": "loader", "password": "old-password"})
    with FivetranSimulator() as elsewhere:
        elsewhere.add_connection("conn")
        fivetran_conn.faults.redirect(count=1, status=status, location=f"{elsewhere.url}/v1/connections/conn")
        with pytest.raises(FivetranRedirectError) as caught:
            hook.update_connection("conn", config={"password": "n3w-s3cret-value"}, auth={"client_secret": "cs-123456"})
        assert elsewhere.requests == []
    assert caught.value.status == status
    assert caught.value.location_host == "127.0.0.1"
    assert f"{status}" in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert len(fivetran_conn.requests_for("PATCH")) == 1  # not re-sent
    assert fivetran_conn.stored_config("conn")["password"] == "old-password"


def test_4_the_async_client_refuses_redirects_too(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.redirect(count=1, status=302, location="https://elsewhere.invalid/x")

    async def read() -> None:
        hook = FivetranAsyncHook()
        try:
            await hook.aget_connection_details("conn")
        finally:
            await hook.aclose()

    with pytest.raises(FivetranRedirectError, match=r"elsewhere\.invalid"):
        asyncio.run(read())
    assert len(fivetran_conn.requests) == 1


# ------------------------------------------------------------------------------------ 5


def test_5_a_secret_under_a_key_that_does_not_look_secret_is_recorded_as_fivetran_returns_it(
    fivetran_conn: FivetranSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Fivetran reads "keystore" back masked; its name marks no credential by the client's rules.
    # aws_msk is a service whose definition marks "keystore" as a password field.
    fivetran_conn.add_connection("conn", service="aws_msk", config={"keystore": "old-keystore-value", "pwd": "x"})
    assert not fields.is_secret_key("keystore")
    operator = UpdateFivetranConnectionOperator(
        task_id="update", connection_id="conn", config={"keystore": "new-keystore-value", "pwd": "abc"}
    )
    record = run(operator)
    change = record["connections"][0]["changes"]["config"]
    assert change["after"]["keystore"] == "******"
    assert "new-keystore-value" not in json.dumps(record)
    assert "new-keystore-value" not in caplog.text
    # Rendered fields show no value of config whatever its key.
    assert operator.config == {"keystore": "******", "pwd": "******"}
    assert fivetran_conn.stored_config("conn")["keystore"] == "new-keystore-value"


def test_5_a_dry_run_never_shows_the_values_the_dag_passed(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn", config={"pwd": "x"})
    record = run(
        UpdateFivetranConnectionOperator(task_id="update", connection_id="conn", config={"pwd": "p4ss"}, dry_run=True)
    )
    assert record["connections"][0]["changes"]["config"]["after"] == {"pwd": "******"}


# ------------------------------------------------------------------------------------ 6


@pytest.mark.parametrize("body", ["bad_gzip", "html", "truncated"])
def test_6_a_spoiled_read_is_a_transport_or_answer_error_and_is_retried(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, body: str
) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.malformed(count=1, body=body, method="GET")
    assert hook.get_connection_details("conn")["id"] == "conn"
    assert len(fivetran_conn.requests_for("GET")) == 2


@pytest.mark.parametrize("body", ["bad_gzip", "no_data", "data_list", "html", "truncated"])
def test_6_a_spoiled_answer_to_a_patch_is_verified_not_escaped(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, body: str
) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.apply_then_malformed(count=1, body=body)
    assert hook.update_connection("conn", paused=True)["paused"] is True
    assert len(fivetran_conn.requests_for("PATCH")) == 1


def test_6_the_async_client_types_decoding_errors(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(fivetran_conn, max_retries=0))
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.malformed(count=1, body="bad_gzip", method="GET")

    async def read() -> None:
        hook = FivetranAsyncHook()
        try:
            await hook.aget_connection_details("conn")
        finally:
            await hook.aclose()

    with pytest.raises(FivetranTransportError, match="undecodable compressed answer"):
        asyncio.run(read())


def test_6_the_async_sync_start_verifies_after_a_decoding_error(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.apply_then_malformed(count=1, body="bad_gzip", method="POST")

    async def start() -> None:
        hook = FivetranAsyncHook()
        try:
            await hook.astart_sync("conn")
        finally:
            await hook.aclose()

    asyncio.run(start())
    assert len(fivetran_conn.requests_for("POST")) == 1
    assert len(runs(fivetran_conn, "conn")) == 1


# ------------------------------------------------------------------------------------ 7


def drip_one_read_past_a_one_second_deadline(sim: FivetranSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # One byte every 0.05 s keeps every socket read well inside the read timeout, while the whole
    # answer would take over a minute; the deadline ends the call instead.
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(sim, max_retries=0, read_timeout=5, call_deadline=1))
    sim.add_connection("conn")
    sim.faults.slow_drip(0.05, count=1, method="GET")


def test_7_a_slow_drip_answer_ends_at_the_call_deadline(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    drip_one_read_past_a_one_second_deadline(fivetran_conn, monkeypatch)
    hook = FivetranHook()
    with pytest.raises(FivetranDeadlineError, match="deadline of 1 s"):
        hook.get_connection_details("conn")
    hook.close()


def test_7_the_async_client_has_the_deadline_too(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    drip_one_read_past_a_one_second_deadline(fivetran_conn, monkeypatch)

    async def read() -> None:
        hook = FivetranAsyncHook()
        try:
            await hook.aget_connection_details("conn")
        finally:
            await hook.aclose()

    with pytest.raises(FivetranDeadlineError):
        asyncio.run(read())


def test_7_the_deadline_defaults_a_little_above_the_read_timeout(fivetran_conn: FivetranSimulator) -> None:
    settings = FivetranHook(read_timeout=40).settings
    assert settings.call_deadline == 70.0


# ------------------------------------------------------------------------------------ 8


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


BAD_UPDATES: list[tuple[str, dict[str, Any], str]] = [
    ("huge int text", {"sync_frequency": "1" * 5000}, "sync_frequency"),
    (
        "threshold above int32",
        {"data_delay_sensitivity": "CUSTOM", "data_delay_threshold": 10**20},
        "data_delay_threshold",
    ),
    ("deep config text", {"config": '{"a": ' + _deep(100_000) + "}"}, "config"),
    ("deep auth text", {"auth": '{"a": ' + _deep(5_000) + "}"}, "auth"),
    ("deep config object", {"config": {"a": json.loads(_deep(200))}}, "config"),
    ("bytes in config", {"config": {"a": b"bytes"}}, "config.a"),
    ("set in config", {"config": {"a": {1, 2}}}, "config.a"),
    ("tuple key in config", {"config": {("a", "b"): 1}}, "config"),
    ("NaN in config", {"config": {"ratio": float("nan")}}, "config.ratio"),
    ("Infinity in config", {"config": {"ratio": float("inf")}}, "config.ratio"),
    ("huge int in config", {"config": {"n": 10**30}}, "config.n"),
    (
        "unknown destination key",
        {"destination_configuration": {"warehouse": "X"}},
        "destination_configuration.warehouse",
    ),
    (
        "destination value not text",
        {"destination_configuration": {"virtual_warehouse": 5}},
        "destination_configuration",
    ),
]


@pytest.mark.parametrize(("update", "field"), [case[1:] for case in BAD_UPDATES], ids=[case[0] for case in BAD_UPDATES])
def test_8_bad_input_raises_a_validation_error_naming_the_field_and_sends_nothing(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, update: dict[str, Any], field: str
) -> None:
    fivetran_conn.add_connection("conn")
    with pytest.raises(FivetranValidationError) as caught:
        hook.update_connection("conn", **update)
    assert caught.value.field.startswith(field)
    assert fivetran_conn.requests == []


def test_8_operator_construction_refuses_huge_int_text() -> None:
    with pytest.raises(FivetranValidationError, match="sync_frequency"):
        UpdateFivetranConnectionOperator(task_id="u", connection_id="conn", sync_frequency="9" * 5000)


@pytest.mark.parametrize(
    ("argument", "value"),
    [("connection_ids", _deep(100_000)), ("connection_ids", "[" + _deep(50) + "]"), ("connection_ids", '{"a": 1}')],
)
def test_8_id_lists_that_are_not_lists_of_ids_are_refused(argument: str, value: str) -> None:
    with pytest.raises(FivetranValidationError, match=argument):
        PauseConnectionOperator(task_id="p", **{argument: value})


def test_8_deep_resync_scope_text_is_refused_before_sending(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    fivetran_conn.add_connection("conn")
    with pytest.raises(FivetranValidationError, match="scope"):
        hook.resync("conn", scope='{"public": ' + _deep(100_000) + "}")
    assert fivetran_conn.requests == []


def test_8_page_size_as_text_is_coerced(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connections(7, group_id="g")
    assert len(hook.list_connections(group_id="g", page_size="5")) == 7  # type: ignore[arg-type]
    with pytest.raises(FivetranValidationError, match="page_size"):
        hook.list_connections(page_size="five")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ 9


def test_9_unpause_if_paused_false_as_text_does_not_resume(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn", paused=True)
    operator = FivetranSyncOperator(
        task_id="sync", connection_id="conn", unpause_if_paused="false", wait_for_completion=False
    )
    assert operator.unpause_if_paused is False
    with pytest.raises(Exception, match="paused"):
        operator.execute({"ti": TaskInstanceStandIn()})
    assert fivetran_conn.connection("conn")["paused"] is True
    assert fivetran_conn.requests_for("PATCH") == []


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"deferrable": "yes"}, "deferrable"),
        ({"unpause_if_paused": "yes"}, "unpause_if_paused"),
        ({"resume_rescheduled": "no"}, "resume_rescheduled"),
        ({"poll_interval": float("inf")}, "poll_interval"),
        ({"poll_interval": float("nan")}, "poll_interval"),
        ({"poll_interval": "1" * 400}, "poll_interval"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_9_sync_operator_arguments_are_coerced_strictly(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(FivetranValidationError, match=argument):
        FivetranSyncOperator(task_id="sync", connection_id="conn", **kwargs)


def test_9_deferrable_false_as_text_is_false() -> None:
    assert FivetranSyncOperator(task_id="s", connection_id="conn", deferrable="false").deferrable is False
    assert FivetranSyncSensor(task_id="w", connection_id="conn", deferrable="False").deferrable is False


@pytest.mark.parametrize(
    "kwargs", [{"deferrable": "yes"}, {"poke_interval": float("inf")}, {"timeout": float("nan")}, {"poke_interval": 0}]
)
def test_9_sensor_arguments_are_coerced_strictly(kwargs: dict[str, Any]) -> None:
    with pytest.raises(FivetranValidationError):
        FivetranSyncSensor(task_id="w", connection_id="conn", **kwargs)


def test_6_a_bad_gzip_poll_does_not_end_a_trigger_wait(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fivetran_provider.sync_status import capture_baseline, epoch_to_iso
    from fivetran_provider.triggers import FivetranSyncTrigger

    # No client retries: the broken answer reaches the trigger's own rule, which keeps waiting.
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(fivetran_conn, max_retries=0))
    fivetran_conn.add_connection("conn", succeeded_at="2024-01-01T00:00:00.000000Z")
    baseline = capture_baseline(fivetran_conn.connection("conn"))
    fivetran_conn.plan_syncs("conn", "success", duration=0.0)
    fivetran_conn.faults.malformed(count=2, body="bad_gzip", method="GET")
    FivetranHook().start_sync("conn", baseline=fivetran_conn.connection("conn"))
    trigger = FivetranSyncTrigger(
        "conn", baseline=baseline, poll_interval=0.05, deadline=epoch_to_iso(time.time() + 30)
    )

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success"
    assert [r.status for r in fivetran_conn.requests_for("GET")][:2] == [200, 200]  # the spoiled answers

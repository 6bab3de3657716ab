"""The hook's retry and verify-before-resend paths, counted on the wire: how many requests reach
Fivetran before the hook gives up, and what each one carries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from fivetran_provider.exceptions import (
    FivetranBadRequestError,
    FivetranOutcomeUnknownError,
    FivetranRedirectError,
    FivetranServerError,
)
from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook
from fivetran_provider.testing import FivetranSimulator

FAST = {"backoff_base": 0.01, "backoff_max": 0.02, "jitter": False}


@pytest.fixture
def sim(simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FivetranSimulator]:
    simulator.add_connection("conn")
    monkeypatch.setenv(
        "AIRFLOW_CONN_FIVETRAN_DEFAULT", simulator.airflow_connection_json(extra={**FAST, "max_retries": 2})
    )
    yield simulator


def test_a_patch_that_keeps_failing_is_verified_and_resent_max_retries_times(sim: FivetranSimulator) -> None:
    sim.faults.server_error(count=5, status=500, method="PATCH")
    hook = FivetranHook()
    try:
        with pytest.raises(FivetranServerError):
            hook.update_connection("conn", paused=True)
    finally:
        hook.close()
    assert [(r.method, r.status) for r in sim.requests] == [
        ("PATCH", 500),
        ("GET", 200),
        ("PATCH", 500),
        ("GET", 200),
        ("PATCH", 500),
    ]
    assert sim.connection("conn")["paused"] is False


def test_async_requests_stop_after_max_retries(sim: FivetranSimulator) -> None:
    sim.faults.server_error(count=5, status=503)

    async def run() -> None:
        hook = FivetranAsyncHook()
        try:
            with pytest.raises(FivetranServerError):
                await hook.arequest("GET", "/v1/connections/conn")
        finally:
            await hook.aclose()

    asyncio.run(run())
    assert [r.status for r in sim.requests] == [503, 503, 503]


def test_async_requests_send_a_body_only_when_there_is_one(sim: FivetranSimulator) -> None:
    async def run() -> Any:
        hook = FivetranAsyncHook()
        try:
            await hook.arequest(method="GET", path="/v1/connections/conn")
            return await hook.arequest("POST", "/v1/connections/conn/sync", body={"force": False})
        finally:
            await hook.aclose()

    asyncio.run(run())
    get, post = sim.requests
    assert (get.method, get.raw_body) == ("GET", b"")
    assert (post.method, post.body) == ("POST", {"force": False})


#: A read-back that fails even after its own retries (max_retries=2): dropped, or answered 503;
#: ``seen`` is the status of each failed attempt (0 for a dropped one).
FAILING_READ_BACKS = pytest.mark.parametrize(
    ("fail_reads", "seen"),
    [
        (lambda sim: sim.faults.drop_connection(count=3, method="GET"), [0, 0, 0]),
        (lambda sim: sim.faults.server_error(count=3, status=503, method="GET"), [503, 503, 503]),
    ],
    ids=["dropped", "5xx"],
)


def test_hook_calls_take_their_arguments_by_name(sim: FivetranSimulator) -> None:
    hook = FivetranHook()
    try:
        envelope = hook.request(method="GET", path="/v1/connections/conn")
        assert envelope["data"]["id"] == "conn"
        assert hook.update_connection(connection_id="conn", paused=True)["paused"] is True
    finally:
        hook.close()


@FAILING_READ_BACKS
def test_a_read_back_that_fails_gets_a_second_chance_before_the_resend(
    sim: FivetranSimulator, fail_reads: Any, seen: list[int]
) -> None:
    sim.faults.server_error(count=1, status=500, method="PATCH")
    fail_reads(sim)  # the first read-back fails even after its own retries (max_retries=2)
    hook = FivetranHook()
    try:
        assert hook.update_connection("conn", paused=True)["paused"] is True
    finally:
        hook.close()
    assert [(r.method, r.status) for r in sim.requests] == [
        ("PATCH", 500),
        *[("GET", status) for status in seen],
        ("GET", 200),
        ("PATCH", 200),
    ]
    assert sim.connection("conn")["paused"] is True


def test_a_read_back_that_fails_twice_says_the_outcome_is_unknown_and_sends_nothing_more(
    sim: FivetranSimulator,
) -> None:
    sim.faults.server_error(count=1, status=500, method="PATCH")
    sim.faults.server_error(count=6, status=502, method="GET")
    hook = FivetranHook()
    try:
        with pytest.raises(FivetranOutcomeUnknownError) as caught:
            hook.update_connection("conn", paused=True)
    finally:
        hook.close()
    message = str(caught.value)
    assert message.startswith("Outcome of PATCH /v1/connections/conn is unknown (")
    assert message.endswith("; it was not sent again.")
    assert "500" in caught.value.cause and "502" in caught.value.verify_error
    assert [r.method for r in sim.requests] == ["PATCH"] + ["GET"] * 6
    assert sim.connection("conn")["paused"] is False


def test_send_verified_takes_its_arguments_by_name(sim: FivetranSimulator) -> None:
    sim.faults.apply_then_fail(count=1, status=500)
    hook = FivetranHook()
    try:
        envelope = hook.send_verified(
            method="PATCH",
            path="/v1/connections/conn",
            body={"paused": True},
            connection_id="conn",
            remaining=lambda current, sent: None if current["paused"] is True else dict(sent),
        )
    finally:
        hook.close()
    assert envelope["data"]["paused"] is True
    assert [(r.method, r.status) for r in sim.requests] == [("PATCH", 500), ("GET", 200)]


def run_async_start_sync(**kwargs: Any) -> Any:
    async def run() -> Any:
        hook = FivetranAsyncHook()
        try:
            return await hook.astart_sync("conn", **kwargs)
        finally:
            await hook.aclose()

    return asyncio.run(run())


@FAILING_READ_BACKS
def test_async_sync_start_read_back_gets_a_second_chance(
    sim: FivetranSimulator, fail_reads: Any, seen: list[int]
) -> None:
    baseline = sim.connection("conn")
    sim.faults.server_error(count=1, status=500, method="POST")
    fail_reads(sim)
    run_async_start_sync(baseline=baseline)
    assert [(r.method, r.status) for r in sim.requests] == [
        ("POST", 500),
        *[("GET", status) for status in seen],
        ("GET", 200),
        ("POST", 200),
    ]


def test_async_sync_start_whose_read_back_fails_twice_is_not_sent_again(sim: FivetranSimulator) -> None:
    baseline = sim.connection("conn")
    sim.faults.server_error(count=1, status=500, method="POST")
    sim.faults.server_error(count=6, status=502, method="GET")
    with pytest.raises(FivetranOutcomeUnknownError) as caught:
        run_async_start_sync(baseline=baseline)
    assert str(caught.value).startswith("Outcome of POST /v1/connections/conn/sync is unknown (")
    assert "500" in caught.value.cause and "502" in caught.value.verify_error
    assert [r.method for r in sim.requests] == ["POST"] + ["GET"] * 6


def test_async_sync_start_that_was_applied_is_verified_not_resent(sim: FivetranSimulator) -> None:
    sim.faults.apply_then_fail(count=1, status=500, method="POST")
    envelope = run_async_start_sync()
    assert envelope["message"] == "verified by reading the connection back"
    assert [(r.method, r.status) for r in sim.requests] == [("GET", 200), ("POST", 500), ("GET", 200)]
    assert sim.requests[1].body == {"force": False}


def test_async_sync_start_that_keeps_failing_is_verified_and_resent_max_retries_times(
    sim: FivetranSimulator,
) -> None:
    baseline = sim.connection("conn")
    sim.faults.server_error(count=5, status=500, method="POST")
    with pytest.raises(FivetranServerError):
        run_async_start_sync(baseline=baseline)
    assert [(r.method, r.status) for r in sim.requests] == [
        ("POST", 500),
        ("GET", 200),
        ("POST", 500),
        ("GET", 200),
        ("POST", 500),
    ]


def test_async_sync_start_refused_or_redirected_is_neither_verified_nor_resent(sim: FivetranSimulator) -> None:
    baseline = sim.connection("conn")
    sim.faults.server_error(count=1, status=400, code="InvalidInput", method="POST")
    with pytest.raises(FivetranBadRequestError):
        run_async_start_sync(baseline=baseline)
    sim.faults.redirect(method="POST")
    with pytest.raises(FivetranRedirectError):
        run_async_start_sync(baseline=baseline)
    assert [r.method for r in sim.requests] == ["POST", "POST"]

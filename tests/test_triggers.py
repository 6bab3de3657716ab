"""``FivetranSyncTrigger`` on its own, in a plain event loop, against the simulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from fivetran_provider.exceptions import FivetranNotFoundError
from fivetran_provider.hooks import FivetranHook, async_pool
from fivetran_provider.sync_status import capture_baseline, epoch_to_iso, outcome_from_event, parse_timestamp
from fivetran_provider.testing import FivetranSimulator
from fivetran_provider.triggers import FivetranSyncTrigger

OLD_SUCCESS = "2026-01-01T00:00:00Z"
NO_RETRIES = {"max_retries": 0, "backoff_base": 0.01, "backoff_max": 0.05, "jitter": False}


async def first_event(trigger: FivetranSyncTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def run_trigger(trigger: FivetranSyncTrigger) -> dict[str, Any]:
    return asyncio.run(first_event(trigger))


def make(connection_id: str, baseline: str | None, **kwargs: Any) -> FivetranSyncTrigger:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deadline", epoch_to_iso(time.time() + 20))
    return FivetranSyncTrigger(connection_id, baseline=baseline, **kwargs)


def start_sync_like_the_operator(sim: FivetranSimulator, hook: FivetranHook, connection_id: str) -> str | None:
    """Read the baseline, then request the sync, as the operator does before deferring."""
    baseline = capture_baseline(hook.get_connection_details(connection_id))
    hook.start_sync(connection_id)
    return baseline


# ------------------------------------------------------------------------------ serialisation


def test_serialize_round_trip_rebuilds_the_same_trigger_without_credentials(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    from fivetran_provider._compat import import_string, serde

    serialize, deserialize = serde()

    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.3)
    baseline = start_sync_like_the_operator(sim, hook, "conn_a")
    original = make(
        "conn_a",
        baseline,
        historical=False,
        retry_policy={"max_retries": 2, "backoff_base": 0.01, "backoff_max": 0.02, "jitter": False},
        connect_timeout=3,
        read_timeout=7,
    )
    classpath, kwargs = original.serialize()
    assert classpath == "fivetran_provider.triggers.FivetranSyncTrigger"
    text = json.dumps(kwargs)
    for secret in (sim.api_key, sim.api_secret):
        assert secret not in text
        assert secret not in repr(original)
    assert kwargs["baseline"] == "2026-01-01T00:00:00.000000Z"
    assert kwargs["retry_policy"] == {
        "max_retries": 2,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        "max_retry_after": 300.0,
        "jitter": False,
    }
    assert (kwargs["connect_timeout"], kwargs["read_timeout"], kwargs["poll_interval"]) == (3.0, 7.0, 0.05)
    # Through Airflow's own serde (what the triggerer stores and reads back), then by class path.
    rebuilt = import_string(classpath)(**deserialize(serialize(json.loads(text))))
    assert rebuilt.serialize() == (classpath, kwargs)
    first, second = run_trigger(original), run_trigger(rebuilt)
    assert first["status"] == second["status"] == "success"
    assert first["succeeded_at"] == second["succeeded_at"]


def test_arguments_are_validated_when_the_trigger_is_built() -> None:
    from fivetran_provider.exceptions import FivetranValidationError

    with pytest.raises(FivetranValidationError, match="connection_id"):
        FivetranSyncTrigger("../etc")
    with pytest.raises(FivetranValidationError, match="poll_interval"):
        FivetranSyncTrigger("conn_a", poll_interval=0)
    with pytest.raises(FivetranValidationError, match="deadline"):
        FivetranSyncTrigger("conn_a", deadline="tomorrow")


# ------------------------------------------------------------------------------ outcomes


def test_a_sync_that_finished_before_the_trigger_started_is_not_missed(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.0)
    baseline = start_sync_like_the_operator(sim, hook, "conn_a")
    assert sim.connection("conn_a")["succeeded_at"] is not None  # already over before the trigger runs
    event = run_trigger(make("conn_a", baseline))
    assert event["status"] == "success"
    assert parse_timestamp(event["succeeded_at"]) > parse_timestamp(OLD_SUCCESS)  # type: ignore[operator]
    assert event["polls"] == 1


def test_a_connection_that_never_synced_succeeds_on_its_first_sync(
    fivetran_conn: FivetranSimulator, hook: FivetranHook, finish_after_polls: Any
) -> None:
    sim = fivetran_conn
    sim.add_connection("brand_new")
    sim.plan_syncs("brand_new", "success", duration=3600)
    finish_after_polls(sim, "brand_new", polls=1)  # the trigger sees it running once, then finished
    baseline = start_sync_like_the_operator(sim, hook, "brand_new")
    assert baseline is None
    event = run_trigger(make("brand_new", baseline))
    assert event["status"] == "success" and event["baseline"] is None and event["polls"] >= 2


def test_failure_is_reported_promptly_with_the_reason(fivetran_conn: FivetranSimulator, hook: FivetranHook) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "failure", duration=0.2, failure_message="Source said no")
    baseline = start_sync_like_the_operator(sim, hook, "conn_a")
    started = time.monotonic()
    event = run_trigger(make("conn_a", baseline, deadline=epoch_to_iso(time.time() + 60)))
    assert time.monotonic() - started < 5
    assert event["status"] == "failed"
    assert "Source said no" in event["message"] and event["failed_at"] is not None
    assert event["dashboard_url"] in event["message"]


def test_historical_resync_waits_for_the_flag_to_clear(fivetran_conn: FivetranSimulator, hook: FivetranHook) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.4)
    baseline = capture_baseline(hook.get_connection_details("conn_a"))
    hook.resync("conn_a")
    assert sim.connection("conn_a")["status"]["is_historical_sync"] is True
    event = run_trigger(make("conn_a", baseline, historical=True))
    assert event["status"] == "success" and event["historical"] is True
    assert sim.connection("conn_a")["status"]["is_historical_sync"] is False


def test_pausing_during_the_wait_ends_it_as_paused(fivetran_conn: FivetranSimulator, hook: FivetranHook) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=30)
    baseline = start_sync_like_the_operator(sim, hook, "conn_a")
    pauser = threading.Timer(0.3, lambda: FivetranHook().update_connection("conn_a", paused=True))
    pauser.start()
    started = time.monotonic()
    try:
        event = run_trigger(make("conn_a", baseline))
    finally:
        pauser.join()
    assert event["status"] == "paused" and "is paused" in event["message"]
    assert time.monotonic() - started < 5


def test_a_sync_that_never_starts_ends_at_the_deadline(fivetran_conn: FivetranSimulator, hook: FivetranHook) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    baseline = capture_baseline(hook.get_connection_details("conn_a"))  # and nobody starts a sync
    started = time.monotonic()
    event = run_trigger(make("conn_a", baseline, poll_interval=0.1, deadline=epoch_to_iso(time.time() + 0.6)))
    took = time.monotonic() - started
    assert 0.5 < took < 3
    assert event["status"] == "timeout"
    assert "Timed out after" in event["message"] and "has not started" in event["message"]


@pytest.mark.parametrize("schedule_type", ["auto", "manual"])
def test_rescheduled_sync_is_waited_out_and_restarted_for_manual_connections(
    fivetran_conn: FivetranSimulator, hook: FivetranHook, schedule_type: str
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS, schedule_type=schedule_type)
    sim.plan_syncs("conn_a", "rescheduled", "success", duration=0.1, rescheduled_delay=0.6)
    baseline = start_sync_like_the_operator(sim, hook, "conn_a")
    event = run_trigger(make("conn_a", baseline, poll_interval=0.05))
    assert event["status"] == "success"
    history = sim.sync_history("conn_a")
    assert [run["outcome"] for run in history] == ["rescheduled", "success"]
    posts = sim.requests_for("POST", "/v1/connections/conn_a/sync")
    if schedule_type == "manual":
        assert len(posts) == 2  # ours, then the trigger's at rescheduled_for
        due = history[0]["ended_at"] + 0.6
        assert posts[1].at >= due
        assert history[1]["trigger"] == "sync"
    else:
        assert len(posts) == 1 and history[1]["trigger"] == "resume"
    # It slept through the wait instead of polling every 50 ms.
    gets = sim.requests_for("GET", "/v1/connections/conn_a")
    assert len(gets) < 12


def test_an_unknown_connection_ends_the_wait_with_a_not_found_error(fivetran_conn: FivetranSimulator) -> None:
    event = run_trigger(make("no_such_conn", OLD_SUCCESS))
    assert event["status"] == "error" and event["http_status"] == 404
    with pytest.raises(FivetranNotFoundError):
        outcome_from_event(event)


# ------------------------------------------------------------------------------ transient errors


def test_errors_beyond_the_retry_policy_do_not_end_the_wait(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.5)
    baseline = start_sync_like_the_operator(sim, hook, "conn_a")
    sim.faults.server_error(count=3, status=503, method="GET")
    sim.faults.drop_connection(count=2, method="GET")
    sim.faults.server_error(count=1, status=502, body="html", method="GET")
    event = run_trigger(make("conn_a", baseline, retry_policy=NO_RETRIES))
    assert event["status"] == "success"
    statuses = [r.status for r in sim.requests_for("GET", "/v1/connections/conn_a")]
    assert statuses.count(503) == 3 and statuses.count(0) == 2 and statuses.count(502) == 1


def test_the_retry_policy_retries_within_one_poll(fivetran_conn: FivetranSimulator, hook: FivetranHook) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.0)
    baseline = start_sync_like_the_operator(sim, hook, "conn_a")
    sim.faults.drop_connection(count=1, method="GET")
    sim.faults.server_error(count=2, status=500, method="GET")
    sim.faults.rate_limit(count=1, retry_after=0, method="GET")
    policy = {"max_retries": 5, "backoff_base": 0.01, "backoff_max": 0.02, "jitter": False}
    event = run_trigger(make("conn_a", baseline, retry_policy=policy))
    assert event["status"] == "success" and event["polls"] == 1  # one poll, several attempts


# ------------------------------------------------------------------------------ the event loop


def test_the_event_loop_keeps_running_while_triggers_wait_on_slow_and_rate_limited_answers(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    sim = fivetran_conn
    ids = [f"conn_{index}" for index in range(10)]
    baselines = {}
    for connection_id in ids:
        sim.add_connection(connection_id, succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(connection_id, "success", duration=1.5)
        baselines[connection_id] = start_sync_like_the_operator(sim, hook, connection_id)
    # Every trigger's first poll is held by the simulator until a coroutine on the same event loop
    # lets it go. A trigger that blocked the loop (time.sleep, synchronous HTTP) would stop that
    # coroutine from ever running; the held requests would then be answered only by the hold's
    # safety timeout, with the gate never released. No timing bound is involved.
    held = sim.faults.hold(count=len(ids), timeout=30, method="GET")
    sim.faults.rate_limit(count=6, retry_after=1, method="GET")
    policy = {"max_retries": 5, "backoff_base": 0.05, "backoff_max": 0.2, "jitter": False}
    triggers = [make(cid, baselines[cid], poll_interval=0.1, retry_policy=policy, shared_polling=False) for cid in ids]

    finished = asyncio.Event()

    async def release_once_all_are_held() -> int:
        while held.waiting < len(ids):  # every trigger has a request in flight at the same time
            if finished.is_set():
                return held.waiting
            await asyncio.sleep(0.01)
        waiting = held.waiting
        held.release()
        return waiting

    async def work() -> tuple[list[dict[str, Any]], int]:
        releaser = asyncio.create_task(release_once_all_are_held())
        events = await asyncio.gather(*(first_event(trigger) for trigger in triggers))
        finished.set()
        return list(events), await releaser

    events, waiting_at_release = asyncio.run(work())
    assert waiting_at_release == len(ids) and held.gate.is_set()
    assert [event["status"] for event in events] == ["success"] * len(ids)
    statuses = [r.status for r in sim.requests_for("GET")]
    assert statuses.count(429) == 6  # the triggers really did wait out Retry-After


def test_triggers_of_one_loop_share_one_client_and_always_release_it(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    sim = fivetran_conn
    for index in range(5):
        sim.add_connection(f"conn_{index}", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(f"conn_{index}", "success", duration=30)
        hook.start_sync(f"conn_{index}")

    async def scenario() -> tuple[list[tuple[Any, int]], Any]:
        tasks = [
            asyncio.create_task(first_event(make(f"conn_{index}", OLD_SUCCESS, poll_interval=0.05)))
            for index in range(5)
        ]
        await asyncio.sleep(0.4)
        during = [(pool, pool.users) for pool in async_pool.shared_pools.values()]
        for task in tasks:  # the triggerer cancels triggers whose task was cleared or timed out
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return during, during[0][0] if during else None

    during, pool = asyncio.run(scenario())
    assert len(during) == 1 and during[0][1] == 5
    assert 1 <= len(pool.clients) <= async_pool.MAX_CONCURRENT_REQUESTS
    assert pool.is_closed
    assert async_pool.shared_pools == {}


def test_trigger_logs_progress_without_credentials(
    fivetran_conn: FivetranSimulator, hook: FivetranHook, task_output: Any
) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=0.2)
    baseline = start_sync_like_the_operator(sim, hook, "conn_a")
    sim.faults.server_error(count=1, status=503, method="GET")
    event = run_trigger(make("conn_a", baseline, retry_policy=NO_RETRIES))
    output = task_output()
    assert "succeeded at" in output and "still waiting" in output
    for secret in (sim.api_key, sim.api_secret):
        assert secret not in output
        assert secret not in json.dumps(event)

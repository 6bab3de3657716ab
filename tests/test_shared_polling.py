"""The shared status poller: many ``FivetranSyncTrigger`` in one event loop, one read per group.

Against the simulator over loopback HTTP. Outcomes are decided by the simulator's state, not by
timing: long syncs are ended by the test (``finish_sync``) once the poller has demonstrably read
them, and waits for a condition poll the poller's own counters instead of sleeping and hoping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from fivetran_provider import budget as budget_module
from fivetran_provider.exceptions import FivetranNotFoundError, FivetranSyncError
from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook, async_pool, polling
from fivetran_provider.sync_status import capture_baseline, epoch_to_iso, outcome_from_event
from fivetran_provider.testing import FivetranSimulator
from fivetran_provider.triggers import FivetranSyncTrigger

OLD_SUCCESS = "2026-01-01T00:00:00Z"
NO_RETRIES = {"max_retries": 0, "backoff_base": 0.01, "backoff_max": 0.05, "jitter": False}


@pytest.fixture(autouse=True)
def fresh_budgets() -> None:
    budget_module.forget_budgets()


async def first_event(trigger: FivetranSyncTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


async def until_true(condition: Callable[[], bool], limit: float = 30.0) -> None:
    """Yield to the event loop until ``condition`` holds (a generous safety limit, not a timing assertion)."""
    give_up = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < give_up, "condition never became true"
        await asyncio.sleep(0.01)


def make(connection_id: str, baseline: str | None, **kwargs: Any) -> FivetranSyncTrigger:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deadline", epoch_to_iso(time.time() + 60))
    return FivetranSyncTrigger(connection_id, baseline=baseline, **kwargs)


def list_reads(sim: FivetranSimulator, group_id: str) -> list[Any]:
    return [r for r in sim.requests_for("GET", "/v1/connections") if r.query.get("group_id") == group_id]


def single_reads(sim: FivetranSimulator) -> list[Any]:
    return [r for r in sim.requests_for("GET") if r.path.startswith("/v1/connections/")]


def the_poller() -> polling.SharedPoller:
    pollers = polling.active_pollers()
    assert len(pollers) == 1
    return pollers[0]


# ------------------------------------------------------------------------------ fifty waits, one group


def test_fifty_waits_in_one_group_each_get_their_own_outcome_from_shared_reads(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    sim = fivetran_conn
    sim.add_group("group_a")
    plan: dict[str, str] = {}
    for index in range(50):
        cid = f"conn_{index:02d}"
        schedule = "manual" if index == 47 else "auto"
        sim.add_connection(cid, group_id="group_a", succeeded_at=OLD_SUCCESS, schedule_type=schedule)
        plan[cid] = "success" if index < 30 else "failed" if index < 46 else "other"
    sim.add_connection("conn_other_group", group_id="group_b", succeeded_at=OLD_SUCCESS)  # never listed
    baselines = {cid: capture_baseline(hook.get_connection_details(cid)) for cid in plan}
    for cid in plan:
        if cid not in ("conn_46", "conn_48", "conn_49"):
            sim.plan_syncs(cid, "rescheduled" if cid == "conn_47" else "success", duration=3600)
            hook.start_sync(cid)
    sim.plan_syncs("conn_47", "success", duration=0.0)  # after the rescheduled run
    hook.update_connection("conn_46", paused=True)  # paused: the sync will never run
    # conn_48 and conn_49 are never synced: conn_48 times out at its short deadline; conn_49 is
    # left to the end (so that its wait spans the others) and then synced.
    sim.clear_requests()

    sharing: dict[str, int] = {}

    async def scenario() -> dict[str, dict[str, Any]]:
        triggers = {
            cid: make(
                cid,
                baselines[cid],
                group_id="group_a",
                deadline=epoch_to_iso(time.time() + (1.5 if cid == "conn_48" else 120)),
            )
            for cid in plan
        }
        tasks = {cid: asyncio.create_task(first_event(trigger)) for cid, trigger in triggers.items()}
        await until_true(
            lambda: polling.active_pollers() != [] and sum(sub.reads for sub in the_poller().members) >= 100
        )
        # While all fifty wait: the readings they were given against the requests sent for them.
        sharing["readings"] = sum(sub.reads for sub in the_poller().members)
        sharing["requests"] = len(sim.requests)
        for index in range(30):
            sim.finish_sync(f"conn_{index:02d}", "success")
        for index in range(30, 46):
            sim.finish_sync(f"conn_{index:02d}", "failure")
        sim.finish_sync("conn_47", "rescheduled")  # Fivetran put it off; the trigger restarts it at rescheduled_for
        await until_true(lambda: tasks["conn_48"].done())  # the timeout happens while conn_49 still waits
        hook.start_sync("conn_49")
        return {cid: await task for cid, task in tasks.items()}

    events = asyncio.run(scenario())
    for cid, event in events.items():
        assert event["connection_id"] == cid
        if plan[cid] in ("success", "failed"):
            assert event["status"] == plan[cid], event
    assert events["conn_46"]["status"] == "paused" and "is paused" in events["conn_46"]["message"]
    assert events["conn_48"]["status"] == "timeout" and "has not started" in events["conn_48"]["message"]
    assert events["conn_47"]["status"] == "success"
    assert [run["outcome"] for run in sim.sync_history("conn_47")] == ["rescheduled", "success"]
    assert events["conn_49"]["status"] == "success"
    assert "failed at" in events["conn_31"]["message"]
    with pytest.raises(FivetranSyncError):
        outcome_from_event(events["conn_31"])

    # The reads were shared: while all fifty waited, each request served many of them (per-trigger
    # polling would send one request per reading); over the whole test, far fewer requests than readings.
    assert sharing["readings"] >= 100 and sharing["requests"] * 10 <= sharing["readings"], sharing
    readings = sum(event["polls"] for event in events.values())
    lists = list_reads(sim, "group_a")
    singles = single_reads(sim)
    assert all(r.query.get("limit") == "1000" for r in lists)
    assert not any(r.query.get("group_id") == "group_b" for r in sim.requests_for("GET"))
    assert len(lists) >= 2 and len(lists) + len(singles) < readings / 2, (len(lists), len(singles), readings)
    # Everything has left: the poller stopped and released the HTTP clients.
    assert polling.active_pollers() == [] and async_pool.shared_pools == {}


# ------------------------------------------------------------------------------ leaving the group


@pytest.mark.parametrize("how", ["deleted", "moved"])
def test_a_connection_that_leaves_its_group_ends_its_wait_with_a_clear_error(
    fivetran_conn: FivetranSimulator, hook: FivetranHook, how: str
) -> None:
    sim = fivetran_conn
    for cid in ("conn_a", "conn_b"):
        sim.add_connection(cid, group_id="group_a", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(cid, "success", duration=3600)
        hook.start_sync(cid)
    sim.add_group("group_z")

    async def scenario() -> dict[str, dict[str, Any]]:
        tasks = {
            cid: asyncio.create_task(first_event(make(cid, OLD_SUCCESS, group_id="group_a")))
            for cid in ("conn_a", "conn_b")
        }
        await until_true(lambda: polling.active_pollers() != [] and the_poller().list_requests >= 1)
        sim.state.delete_connection("conn_a")
        if how == "moved":  # the same id, now in another group
            sim.add_connection("conn_a", group_id="group_z", succeeded_at=OLD_SUCCESS)
        await until_true(lambda: tasks["conn_a"].done())
        sim.finish_sync("conn_b", "success")
        return {cid: await task for cid, task in tasks.items()}

    events = asyncio.run(scenario())
    assert events["conn_b"]["status"] == "success"
    event = events["conn_a"]
    assert event["status"] == "error"
    if how == "deleted":
        assert event["http_status"] == 404
        assert "no longer in group group_a and does not exist any more" in event["message"]
        with pytest.raises(FivetranNotFoundError, match="no longer in group group_a"):
            outcome_from_event(event)
    else:
        assert "left group group_a" in event["message"] and "now in group group_z" in event["message"]
        with pytest.raises(FivetranSyncError, match="left group group_a"):
            outcome_from_event(event)


def test_a_connection_given_with_the_wrong_group_is_caught_by_its_single_read(fivetran_conn: FivetranSimulator) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", group_id="group_real", succeeded_at=OLD_SUCCESS)
    event = asyncio.run(first_event(make("conn_a", OLD_SUCCESS, group_id="group_else")))
    assert event["status"] == "error" and "left group group_else" in event["message"]


def test_the_group_is_learned_from_the_first_read_when_not_given(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    sim = fivetran_conn
    for cid in ("conn_a", "conn_b", "conn_c"):
        sim.add_connection(cid, group_id="group_a", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(cid, "success", duration=3600)
        hook.start_sync(cid)
    sim.clear_requests()

    async def scenario() -> list[dict[str, Any]]:
        tasks = [asyncio.create_task(first_event(make(cid, OLD_SUCCESS))) for cid in ("conn_a", "conn_b", "conn_c")]
        await until_true(lambda: polling.active_pollers() != [] and the_poller().list_requests >= 2)
        groups = {sub.group_id for sub in the_poller().members}
        assert groups == {"group_a"}
        for cid in ("conn_a", "conn_b", "conn_c"):
            sim.finish_sync(cid, "success")
        return await asyncio.gather(*tasks)

    events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["success"] * 3
    # A single read per connection taught the group (plus at most one more each while the three
    # fall into step); after that, list reads.
    singles = single_reads(sim)
    expected = {"/v1/connections/conn_a", "/v1/connections/conn_b", "/v1/connections/conn_c"}
    assert {r.path for r in singles} == expected
    assert len(singles) <= 6 and len(list_reads(sim, "group_a")) >= 2


# ------------------------------------------------------------------------------ schedules


def test_a_shorter_interval_is_served_on_its_own_schedule(fivetran_conn: FivetranSimulator, hook: FivetranHook) -> None:
    sim = fivetran_conn
    for cid in ("conn_fast", "conn_slow"):
        sim.add_connection(cid, group_id="group_a", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(cid, "success", duration=3600)
        hook.start_sync(cid)

    async def scenario() -> tuple[int, int]:
        fast = asyncio.create_task(first_event(make("conn_fast", OLD_SUCCESS, group_id="group_a", poll_interval=0.05)))
        slow = asyncio.create_task(first_event(make("conn_slow", OLD_SUCCESS, group_id="group_a", poll_interval=2.0)))
        await until_true(lambda: polling.active_pollers() != [] and len(the_poller().members) == 2)
        subs = {sub.connection_id: sub for sub in the_poller().members}
        start = subs["conn_fast"].reads, subs["conn_slow"].reads
        await until_true(lambda: subs["conn_fast"].reads >= start[0] + 20 and subs["conn_slow"].reads > start[1])
        counts = subs["conn_fast"].reads - start[0], subs["conn_slow"].reads - start[1]
        sim.finish_sync("conn_fast", "success")
        sim.finish_sync("conn_slow", "success")
        assert (await fast)["status"] == "success"
        slow.cancel()  # not waiting two more seconds for its next read
        await asyncio.gather(slow, return_exceptions=True)
        return counts

    fast_reads, slow_reads = asyncio.run(scenario())
    # Intervals of 0.05 s and 2 s: however loaded the machine, the slow wait is read far less often.
    assert fast_reads >= 20 and 1 <= slow_reads <= fast_reads // 5, (fast_reads, slow_reads)


def test_a_single_waited_connection_is_read_alone(fivetran_conn: FivetranSimulator, hook: FivetranHook) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", group_id="group_a", succeeded_at=OLD_SUCCESS)
    sim.add_connection("conn_b", group_id="group_a", succeeded_at=OLD_SUCCESS)  # in the group, not waited on
    sim.plan_syncs("conn_a", "success", duration=0.3)
    hook.start_sync("conn_a")
    sim.clear_requests()
    event = asyncio.run(first_event(make("conn_a", OLD_SUCCESS, group_id="group_a")))
    assert event["status"] == "success" and event["polls"] >= 1
    assert list_reads(sim, "group_a") == []
    assert len(single_reads(sim)) == event["polls"]


# ------------------------------------------------------------------------------ leaving and stopping


def test_cancelled_triggers_leave_and_the_last_one_stops_the_poller(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    sim = fivetran_conn
    for index in range(3):
        sim.add_connection(f"conn_{index}", group_id="group_a", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(f"conn_{index}", "success", duration=3600)
        hook.start_sync(f"conn_{index}")

    async def scenario() -> None:
        tasks = [
            asyncio.create_task(first_event(make(f"conn_{index}", OLD_SUCCESS, group_id="group_a")))
            for index in range(3)
        ]
        await until_true(lambda: polling.active_pollers() != [] and the_poller().list_requests >= 1)
        poller = the_poller()
        assert len(poller.members) == 3 and poller.running
        tasks[0].cancel()  # the triggerer cancels a trigger whose task was cleared
        await asyncio.gather(tasks[0], return_exceptions=True)
        assert sorted(sub.connection_id for sub in poller.members) == ["conn_1", "conn_2"]
        assert set(poller.groups["group_a"]) == set(poller.members)
        before = poller.list_requests
        await until_true(lambda: poller.list_requests >= before + 2)  # the others are still served
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await until_true(lambda: not poller.running and not poller._reads)
        assert poller.members == {} and poller.groups == {}
        assert polling.active_pollers() == [] and async_pool.shared_pools == {}
        # A request cancelled on its way may still reach the simulator's log a little later; after
        # that, nothing polls any more.
        await asyncio.sleep(0.3)
        settled = len(sim.requests)
        await asyncio.sleep(0.3)
        assert len(sim.requests) == settled

    asyncio.run(scenario())


# ------------------------------------------------------------------------------ the API budget


def test_budget_stretches_in_proportion_and_logs_once_per_stretch(caplog: pytest.LogCaptureFixture) -> None:
    budget = budget_module.RateBudget(reserve=0.1)
    assert budget.stretch_factor() == 1.0  # nothing known yet
    budget.observe({"X-Rate-Limit": "20000", "X-Rate-Limit-Remaining": "5000"}, now=0)
    assert (budget.limit, budget.remaining, budget.threshold) == (20000, 5000, 2000.0)
    caplog.set_level(logging.INFO, logger="fivetran_provider.budget")
    assert budget.stretch_factor() == 1.0
    budget.observe({"X-Rate-Limit-Remaining": "1000"})  # the limit is remembered
    assert budget.stretch_factor() == 2.0
    budget.observe({"X-Rate-Limit-Remaining": "500"})
    assert budget.stretch_factor() == 4.0
    budget.observe({"X-Rate-Limit-Remaining": "0"})
    assert budget.stretch_factor() == budget_module.MAX_STRETCH
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "1000 of 20000 requests left" in warnings[0].getMessage()
    budget.observe({"X-Rate-Limit-Remaining": "19000"})
    assert budget.stretch_factor() == 1.0
    budget.observe({"X-Rate-Limit-Remaining": "100"})
    assert budget.stretch_factor() == 20.0
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2  # a second stretch
    budget.observe({"X-Rate-Limit-Remaining": "not a number"})
    assert budget.remaining == 100
    # A 429 holds polls back until Retry-After; its "0 left" is not taken as the budget to come.
    budget.observe({"Retry-After": "5", "X-Rate-Limit-Remaining": "0"}, now=1000.0)
    assert budget.blocked_until == 1005.0 and budget.remaining == 100
    with pytest.raises(ValueError, match="rate_limit_reserve"):
        budget_module.RateBudget(reserve=1.5)


def test_both_clients_record_the_budget_and_the_reserve_comes_from_the_connection(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator
    monkeypatch.setenv(
        "AIRFLOW_CONN_FIVETRAN_DEFAULT", sim.airflow_connection_json(extra={"rate_limit_reserve": "0.5"})
    )
    sim.rate_limit_per_hour = 100
    sim.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    sync_hook = FivetranHook()
    try:
        sync_hook.get_connection_details("conn_a")
    finally:
        sync_hook.close()
    budget = sync_hook.settings.budget
    assert (budget.limit, budget.remaining, budget.reserve) == (100, 99, 0.5)

    async def read_async() -> None:
        async_hook = FivetranAsyncHook()
        try:
            await async_hook.aget_connection_details("conn_a")
            assert (await async_hook.asettings()).budget is budget  # one account, one budget
        finally:
            await async_hook.aclose()

    asyncio.run(read_async())
    assert budget.remaining == 98

    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", sim.airflow_connection_json(extra={"rate_limit_reserve": "x"}))
    from fivetran_provider.exceptions import FivetranConfigurationError

    with pytest.raises(FivetranConfigurationError, match="rate_limit_reserve must be a number from 0 to 1, got 'x'"):
        _ = FivetranHook().settings


def test_a_low_budget_stretches_the_shared_polls(
    fivetran_conn: FivetranSimulator, hook: FivetranHook, caplog: pytest.LogCaptureFixture
) -> None:
    sim = fivetran_conn
    sim.rate_limit_per_hour = 100  # the default reserve, 10 %, is 10 requests
    sim.add_connection("conn_a", group_id="group_a", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn_a", "success", duration=3600)
    hook.start_sync("conn_a")
    while hook.rate_limit_remaining is None or hook.rate_limit_remaining > 6:  # spend the budget down
        hook.get_account_info()
    caplog.set_level(logging.INFO)

    async def scenario() -> tuple[float, float, float]:
        task = asyncio.create_task(first_event(make("conn_a", OLD_SUCCESS, group_id="group_a", poll_interval=1.0)))
        await until_true(lambda: polling.active_pollers() != [] and the_poller().single_requests >= 1)
        poller = the_poller()
        sub = next(iter(poller.members))
        await until_true(lambda: sub.reads >= 1 and sub.waiting is not None)
        planned = sub.due - sub.last_polled_at  # type: ignore[operator]
        remaining = poller.budget.remaining  # type: ignore[union-attr]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return planned, float(remaining or 0), poller.budget.threshold  # type: ignore[union-attr,return-value]

    planned, remaining, threshold = asyncio.run(scenario())
    assert threshold == 10.0 and 0 < remaining < threshold
    assert planned == pytest.approx(1.0 * threshold / remaining, rel=1e-6)  # the 1 s interval, stretched
    warnings = [r.getMessage() for r in caplog.records if "budget is low" in r.getMessage()]
    assert len(warnings) == 1 and "of 100 requests left" in warnings[0]


def test_a_429_holds_every_read_back_and_never_fails_the_waits(
    fivetran_conn: FivetranSimulator, hook: FivetranHook
) -> None:
    sim = fivetran_conn
    for cid in ("conn_a", "conn_b"):
        sim.add_connection(cid, group_id="group_a", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(cid, "success", duration=0.5)
        hook.start_sync(cid)
    sim.clear_requests()
    sim.faults.rate_limit(count=2, retry_after=1, method="GET")

    async def scenario() -> list[dict[str, Any]]:
        triggers = [make(cid, OLD_SUCCESS, group_id="group_a", retry_policy=NO_RETRIES) for cid in ("conn_a", "conn_b")]
        return await asyncio.gather(*(first_event(trigger) for trigger in triggers))

    events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["success", "success"]
    answered = sim.requests_for("GET")
    assert [r.status for r in answered].count(429) == 2
    first_ok = next(r for r in answered if r.status == 200)
    last_429 = [r for r in answered if r.status == 429][-1]
    assert first_ok.at >= last_429.at + 1.0  # nothing was sent before Retry-After had passed


# ------------------------------------------------------------------------------ per-trigger mode


def test_per_trigger_polling_is_still_available(fivetran_conn: FivetranSimulator, hook: FivetranHook) -> None:
    sim = fivetran_conn
    sim.add_connection("conn_a", group_id="group_a", succeeded_at=OLD_SUCCESS)
    sim.add_connection("conn_b", group_id="group_a", succeeded_at=OLD_SUCCESS)
    for cid in ("conn_a", "conn_b"):
        sim.plan_syncs(cid, "success", duration=0.3)
        hook.start_sync(cid)
    sim.clear_requests()

    async def scenario() -> list[dict[str, Any]]:
        triggers = [make(cid, OLD_SUCCESS, group_id="group_a", shared_polling=False) for cid in ("conn_a", "conn_b")]
        return await asyncio.gather(*(first_event(trigger) for trigger in triggers))

    events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["success", "success"]
    assert list_reads(sim, "group_a") == [] and polling.active_pollers() == []
    assert len(single_reads(sim)) == sum(event["polls"] for event in events)


def test_trigger_kwargs_carry_the_group_and_mode_but_no_credentials(fivetran_conn: FivetranSimulator) -> None:
    sim = fivetran_conn
    classpath, kwargs = make("conn_a", OLD_SUCCESS, group_id="group_a").serialize()
    assert kwargs["group_id"] == "group_a" and kwargs["shared_polling"] is True
    text = json.dumps(kwargs)
    assert sim.api_key not in text and sim.api_secret not in text
    rebuilt = FivetranSyncTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    from fivetran_provider.exceptions import FivetranValidationError

    with pytest.raises(FivetranValidationError, match="group_id"):
        FivetranSyncTrigger("conn_a", group_id="../x")


def test_the_airflow_connection_is_read_once_for_all_the_waits_of_a_loop(
    fivetran_conn: FivetranSimulator, hook: FivetranHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fivetran_conn
    for index in range(20):
        sim.add_connection(f"conn_{index}", group_id="group_a", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(f"conn_{index}", "success", duration=0.2)
        hook.start_sync(f"conn_{index}")
    # A spy on the real lookup (it still reads the connection): each call is one round trip to
    # Airflow, which in a triggerer goes through the supervisor to the API server.
    reads: list[str] = []
    real = FivetranAsyncHook.asettings

    async def counting(self: FivetranAsyncHook) -> Any:
        if self._async_settings is None:
            reads.append(self.fivetran_conn_id)
        return await real(self)

    monkeypatch.setattr(FivetranAsyncHook, "asettings", counting)

    async def scenario() -> list[dict[str, Any]]:
        triggers = [make(f"conn_{index}", OLD_SUCCESS, group_id="group_a") for index in range(20)]
        return await asyncio.gather(*(first_event(trigger) for trigger in triggers))

    events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["success"] * 20
    assert reads == ["fivetran_default"]

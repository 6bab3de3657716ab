"""``FivetranSyncEventTrigger`` and ``fivetran_connection_asset`` against the simulator.

The trigger runs in a plain event loop. Nothing waits on wall-clock luck: the test acts on the
simulator only after the trigger's first read has been recorded (so the trigger has started),
and "no event" is judged after a fixed number of further polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from fivetran_provider._compat import AIRFLOW_V_3_PLUS
from fivetran_provider.event_triggers import CompletionTracker, FivetranSyncEventTrigger
from fivetran_provider.exceptions import FivetranValidationError
from fivetran_provider.sync_status import parse_timestamp
from fivetran_provider.testing import FivetranSimulator, SimulatedClock

OLD = "2026-01-01T00:00:00Z"

needs_airflow_3 = pytest.mark.skipif(
    not AIRFLOW_V_3_PLUS, reason="event-driven scheduling (asset watchers) needs Airflow 3; its refusal is tested below"
)
SAFETY = 30.0  # a hang guard, not a timing assertion


class Watch:
    """Drive a trigger's ``run()`` generator from a test."""

    def __init__(self, sim: FivetranSimulator, trigger: FivetranSyncEventTrigger) -> None:
        self.sim = sim
        self.trigger = trigger
        self.path = f"/v1/connections/{trigger.connection_id}"
        self.events: AsyncIterator[Any] = trigger.run()
        self.pending: asyncio.Task[Any] | None = None
        self.before = self._all_reads()

    def _all_reads(self) -> int:
        return len(self.sim.requests_for("GET", self.path))

    def reads(self) -> int:
        """Reads of the connection since this watch began (the first is the trigger's baseline)."""
        return self._all_reads() - self.before

    async def until_reads(self, count: int) -> None:
        while self.reads() < count:
            await asyncio.sleep(0.005)

    def start_next(self) -> None:
        self.pending = asyncio.ensure_future(self.events.__anext__())

    async def next_event(self) -> dict[str, Any]:
        if self.pending is None:
            self.start_next()
        assert self.pending is not None
        event = await asyncio.wait_for(self.pending, SAFETY)
        self.pending = None
        return dict(event.payload)

    async def no_event_for(self, polls: int) -> None:
        if self.pending is None:
            self.start_next()
        target = self.reads() + polls
        await asyncio.wait_for(self.until_reads(target), SAFETY)
        assert self.pending is not None
        assert not self.pending.done(), self.pending.result()

    async def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await self.pending
        await self.events.aclose()  # type: ignore[attr-defined]


def trigger(connection_id: str, **kwargs: Any) -> FivetranSyncEventTrigger:
    kwargs.setdefault("poll_interval", 0.02)
    return FivetranSyncEventTrigger(connection_id, **kwargs)


def complete(sim: FivetranSimulator, connection_id: str, outcome: str = "success") -> dict[str, Any]:
    sim.plan_syncs(connection_id, outcome, duration=3600)
    from fivetran_provider.hooks import FivetranHook

    hook = FivetranHook()
    try:
        hook.start_sync(connection_id)
    finally:
        hook.close()
    return sim.finish_sync(connection_id, outcome)


@needs_airflow_3
def test_two_completions_give_two_events_and_none_repeats(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("mellow_quartz", succeeded_at=OLD)

    async def scenario() -> list[dict[str, Any]]:
        watch = Watch(fivetran_conn, trigger("mellow_quartz"))
        try:
            watch.start_next()
            await asyncio.wait_for(watch.until_reads(1), SAFETY)
            first = complete(fivetran_conn, "mellow_quartz")
            one = await watch.next_event()
            await watch.no_event_for(3)
            second = complete(fivetran_conn, "mellow_quartz")
            two = await watch.next_event()
            assert one["succeeded_at"] == first["succeeded_at"]
            assert two["succeeded_at"] == second["succeeded_at"]
            return [one, two]
        finally:
            await watch.close()

    one, two = asyncio.run(scenario())
    assert one["connection_id"] == "mellow_quartz"
    assert one["outcome"] == two["outcome"] == "success"
    assert one["historical"] is False
    assert one["succeeded_at"] < two["succeeded_at"]
    assert one["dashboard_url"].endswith("/connections/mellow_quartz/status")


@needs_airflow_3
def test_a_completion_before_the_start_fires_nothing(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("mellow_quartz", succeeded_at=OLD, failed_at=OLD)
    complete(fivetran_conn, "mellow_quartz")  # just before the trigger starts

    async def scenario() -> None:
        watch = Watch(fivetran_conn, trigger("mellow_quartz", outcomes=["success", "failure"]))
        try:
            await watch.no_event_for(4)
        finally:
            await watch.close()

    asyncio.run(scenario())


@needs_airflow_3
def test_failures_fire_only_when_asked(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("mellow_quartz", succeeded_at=OLD)

    async def scenario(outcomes: list[str]) -> dict[str, Any]:
        watch = Watch(fivetran_conn, trigger("mellow_quartz", outcomes=outcomes))
        try:
            watch.start_next()
            await asyncio.wait_for(watch.until_reads(1), SAFETY)
            complete(fivetran_conn, "mellow_quartz", "failure")
            if outcomes == ["success"]:
                await watch.no_event_for(3)
                complete(fivetran_conn, "mellow_quartz", "success")
            return await watch.next_event()
        finally:
            await watch.close()

    only_success = asyncio.run(scenario(["success"]))
    assert only_success["outcome"] == "success"
    with_failure = asyncio.run(scenario(["success", "failure"]))
    assert with_failure["outcome"] == "failure"
    assert with_failure["failed_at"] is not None


@needs_airflow_3
def test_a_restarted_trigger_does_not_replay(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("mellow_quartz", succeeded_at=OLD)
    first = trigger("mellow_quartz")
    classpath, kwargs = first.serialize()
    assert classpath == "fivetran_provider.event_triggers.FivetranSyncEventTrigger"
    assert set(kwargs) == {"connection_id", "fivetran_conn_id", "poll_interval", "outcomes"}  # no timestamps

    async def before_restart() -> dict[str, Any]:
        watch = Watch(fivetran_conn, first)
        try:
            watch.start_next()
            await asyncio.wait_for(watch.until_reads(1), SAFETY)
            complete(fivetran_conn, "mellow_quartz")
            return await watch.next_event()
        finally:
            await watch.close()

    fired = asyncio.run(before_restart())

    async def after_restart() -> dict[str, Any]:
        watch = Watch(fivetran_conn, FivetranSyncEventTrigger(**kwargs))
        try:
            await watch.no_event_for(4)
            complete(fivetran_conn, "mellow_quartz")
            return await watch.next_event()
        finally:
            await watch.close()

    later = asyncio.run(after_restart())
    assert later["succeeded_at"] > fired["succeeded_at"]


@needs_airflow_3
def test_a_historical_sync_is_reported_as_historical(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("mellow_quartz", succeeded_at=OLD)

    async def scenario() -> dict[str, Any]:
        watch = Watch(fivetran_conn, trigger("mellow_quartz"))
        try:
            watch.start_next()
            await asyncio.wait_for(watch.until_reads(1), SAFETY)
            fivetran_conn.plan_syncs("mellow_quartz", "success", duration=3600)
            from fivetran_provider.hooks import FivetranHook

            hook = FivetranHook()
            try:
                hook.resync("mellow_quartz")
            finally:
                hook.close()
            reads = watch.reads()
            await asyncio.wait_for(watch.until_reads(reads + 2), SAFETY)  # seen running as historical
            fivetran_conn.finish_sync("mellow_quartz")
            return await watch.next_event()
        finally:
            await watch.close()

    assert asyncio.run(scenario())["historical"] is True


@needs_airflow_3
def test_a_failed_reading_is_logged_and_watching_goes_on(fivetran_conn: FivetranSimulator) -> None:
    sim = fivetran_conn
    sim.add_connection("mellow_quartz", succeeded_at=OLD)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        watch = Watch(sim, trigger("mellow_quartz"))
        try:
            watch.start_next()
            await asyncio.wait_for(watch.until_reads(1), SAFETY)
            # More 500s than the hook's retries (5 after the first attempt): one whole reading fails.
            fault = sim.faults.server_error(6, method="GET", path_prefix="/v1/connections/mellow_quartz")
            await asyncio.wait_for(until(lambda: fault.remaining == 0), SAFETY)
            landed = complete(sim, "mellow_quartz")
            return landed, await watch.next_event()
        finally:
            await watch.close()

    landed, event = asyncio.run(scenario())
    assert event["succeeded_at"] == landed["succeeded_at"]


@needs_airflow_3
def test_a_missing_connection_ends_the_trigger_with_the_error(fivetran_conn: FivetranSimulator) -> None:
    from fivetran_provider.exceptions import FivetranNotFoundError

    async def scenario() -> None:
        async for _event in trigger("no_such_thing").run():
            raise AssertionError("no event expected")

    with pytest.raises(FivetranNotFoundError):
        asyncio.run(scenario())


# ------------------------------------------------------------------------------ clocks


@contextlib.contextmanager
def simulator_on_its_own_clock(monkeypatch: pytest.MonkeyPatch, start: float) -> Iterator[FivetranSimulator]:
    """A simulator whose clock (Fivetran's) stands at ``start`` and moves only when the test says."""
    from tests.conftest import conn_json

    with FivetranSimulator(simulated_time=True, start_time=start) as sim:
        sim.scheduled_syncs = False  # only the syncs the test runs
        monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(sim))
        yield sim


def land_one(sim: FivetranSimulator, connection_id: str) -> dict[str, Any]:
    """Run one sync that takes a second of Fivetran's time and succeeds; the connection afterwards."""
    sim.plan_syncs(connection_id, "success", duration=3600)
    from fivetran_provider.hooks import FivetranHook

    hook = FivetranHook()
    try:
        hook.start_sync(connection_id)
    finally:
        hook.close()
    clock = sim.state.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(1.0)
    return sim.finish_sync(connection_id, "success")


@needs_airflow_3
def test_completions_count_when_fivetrans_clock_is_behind_the_triggerers(monkeypatch: pytest.MonkeyPatch) -> None:
    watching_since = time.time()
    # Fivetran's clock 30 s behind this machine's: every sync lands, by its own stamp, before the
    # moment this machine started watching.
    with simulator_on_its_own_clock(monkeypatch, watching_since - 30) as sim:
        sim.add_connection("mellow_quartz", succeeded_at=OLD)

        async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            watch = Watch(sim, trigger("mellow_quartz"))
            try:
                watch.start_next()
                await asyncio.wait_for(watch.until_reads(1), SAFETY)
                first = land_one(sim, "mellow_quartz")
                one = await watch.next_event()
                second = land_one(sim, "mellow_quartz")
                two = await watch.next_event()
                return [first, second], [one, two]
            finally:
                await watch.close()

        landed, events = asyncio.run(scenario())
    assert [event["succeeded_at"] for event in events] == [sync["succeeded_at"] for sync in landed]
    assert all(parse_timestamp(sync["succeeded_at"]).timestamp() < watching_since for sync in landed)  # type: ignore[union-attr]


@needs_airflow_3
def test_a_completion_stamped_in_the_future_does_not_silence_later_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    with simulator_on_its_own_clock(monkeypatch, time.time()) as sim:
        sim.add_connection("mellow_quartz", succeeded_at=OLD)

        async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            watch = Watch(sim, trigger("mellow_quartz"))
            try:
                watch.start_next()
                await asyncio.wait_for(watch.until_reads(1), SAFETY)
                sim.advance(days=1)  # Fivetran's clock runs a day fast for one sync...
                landed = [land_one(sim, "mellow_quartz")]
                events = [await watch.next_event()]
                sim.state.clock = SimulatedClock(start=time.time())  # ...and is then put right
                for _sync in range(2):
                    landed.append(land_one(sim, "mellow_quartz"))
                    events.append(await watch.next_event())
                await watch.no_event_for(3)  # and nothing fires twice
                return landed, events
            finally:
                await watch.close()

        landed, events = asyncio.run(scenario())
    stamps = [sync["succeeded_at"] for sync in landed]
    assert [event["succeeded_at"] for event in events] == stamps
    assert stamps[1] < stamps[0] and stamps[2] < stamps[0]  # the later syncs carry earlier stamps


@needs_airflow_3
def test_a_watched_connection_that_moves_to_another_group_is_followed(fivetran_conn: FivetranSimulator) -> None:
    sim = fivetran_conn
    sim.add_connection("mellow_quartz", group_id="group_a", succeeded_at=OLD)

    async def scenario() -> dict[str, Any]:
        watch = Watch(sim, trigger("mellow_quartz"))
        try:
            watch.start_next()
            await asyncio.wait_for(watch.until_reads(1), SAFETY)
            sim.state.delete_connection("mellow_quartz")  # the same id, now in another group
            sim.add_connection("mellow_quartz", group_id="group_z", succeeded_at=OLD)
            await asyncio.wait_for(watch.until_reads(watch.reads() + 2), SAFETY)
            landed = complete(sim, "mellow_quartz")
            event = await watch.next_event()
            assert event["succeeded_at"] == landed["succeeded_at"]
            return event
        finally:
            await watch.close()

    assert asyncio.run(scenario())["connection_id"] == "mellow_quartz"


# ------------------------------------------------------------------------------ the shared poller


@needs_airflow_3
def test_watchers_of_one_group_are_read_with_one_list_request_per_interval(
    fivetran_conn: FivetranSimulator,
) -> None:
    sim = fivetran_conn
    groups = {group: [f"{group}_c{index}" for index in range(10)] for group in ("group_a", "group_b")}
    for group, ids in groups.items():
        for connection_id in ids:
            sim.add_connection(connection_id, group_id=group, succeeded_at=OLD)
    every_id = [connection_id for ids in groups.values() for connection_id in ids]
    rounds = 4
    # Half a second between reads: far above the event loop's delays on a loaded machine, so the
    # count below depends on the poller's sharing, not on how busy the machine is.
    interval = 0.5

    def list_reads() -> int:
        return len(sim.requests_for("GET", "/v1/connections"))

    async def scenario() -> tuple[int, int, list[dict[str, Any]]]:
        watches = {
            connection_id: Watch(sim, trigger(connection_id, poll_interval=interval)) for connection_id in every_id
        }
        try:
            for watch in watches.values():
                watch.start_next()
            await asyncio.wait_for(asyncio.gather(*(w.until_reads(1) for w in watches.values())), SAFETY)

            async def rounds_read(lists_before: int, count: int) -> None:
                while list_reads() - lists_before < count * len(groups):
                    await asyncio.sleep(0.005)

            # Counted from the watchers' second round on: by then each has read its group once.
            await asyncio.wait_for(rounds_read(list_reads(), 1), SAFETY)
            gets_before, lists_before = len(sim.requests_for("GET")), list_reads()
            await asyncio.wait_for(rounds_read(lists_before, rounds), SAFETY)
            gets, lists = len(sim.requests_for("GET")) - gets_before, list_reads() - lists_before
            landed = {connection_id: complete(sim, connection_id) for connection_id in every_id}
            events = [await watch.next_event() for watch in watches.values()]
            for connection_id, event in zip(watches, events, strict=True):
                assert event["connection_id"] == connection_id
                assert event["succeeded_at"] == landed[connection_id]["succeeded_at"]
            return gets, lists, events
        finally:
            await asyncio.gather(*(watch.close() for watch in watches.values()))

    gets, lists, events = asyncio.run(scenario())
    assert len(events) == len(every_id)
    # Per-connection polling would have read each of the 20 connections once per interval: at
    # least 20 * 4 GETs for these rounds. Shared, the reads after each watcher's first one are
    # list reads of its group (a couple of single reads at most while the watchers fall into step),
    # and every watcher still saw its own sync land.
    assert gets <= rounds * len(groups) + 4, (gets, lists)


@needs_airflow_3
def test_watchers_given_their_group_take_even_their_first_reading_from_the_group_list(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fivetran_provider import event_triggers

    monkeypatch.setattr(event_triggers, "FIRST_POLL_SPREAD", 0.0)  # all start together, as after a restart
    sim = fivetran_conn
    ids = [f"group_a_c{index}" for index in range(10)]
    for connection_id in ids:
        sim.add_connection(connection_id, group_id="group_a", succeeded_at=OLD)

    async def scenario() -> list[dict[str, Any]]:
        watches = [Watch(sim, trigger(connection_id, group_id="group_a")) for connection_id in ids]
        try:
            for watch in watches:
                watch.start_next()
            await asyncio.wait_for(
                until(lambda: len(sim.requests_for("GET", "/v1/connections")) >= 2), SAFETY
            )  # the baselines, then one more round
            assert [r.path for r in sim.requests_for("GET") if r.path != "/v1/connections"] == []
            landed = complete(sim, ids[3])
            event = await watches[3].next_event()
            assert event["succeeded_at"] == landed["succeeded_at"]
            return [event]
        finally:
            await asyncio.gather(*(watch.close() for watch in watches))

    assert asyncio.run(scenario())[0]["connection_id"] == ids[3]


async def until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.005)


def test_tracker_orders_two_completions_between_polls() -> None:
    tracker = CompletionTracker("mellow_quartz", ("success", "failure"))
    assert tracker.observe({"succeeded_at": OLD, "failed_at": None}) == []  # the baseline
    events = tracker.observe({"succeeded_at": "2026-01-02T00:00:02Z", "failed_at": "2026-01-02T00:00:01Z"})
    assert [event["outcome"] for event in events] == ["failure", "success"]
    assert tracker.observe({"succeeded_at": "2026-01-02T00:00:02Z", "failed_at": "2026-01-02T00:00:01Z"}) == []


@needs_airflow_3
@pytest.mark.parametrize(
    ("argument", "value", "needle"),
    [("outcomes", ["done"], "success"), ("outcomes", [], "non-empty"), ("poll_interval", 0, "above 0")],
)
def test_bad_arguments_are_refused_clearly(argument: str, value: Any, needle: str) -> None:
    with pytest.raises(FivetranValidationError, match=needle) as info:
        FivetranSyncEventTrigger("mellow_quartz", **{argument: value})
    assert argument in str(info.value)


def test_tracker_never_fires_a_value_it_has_seen_even_from_a_stale_answer() -> None:
    tracker = CompletionTracker("mellow_quartz")
    first, second = "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"
    assert tracker.observe({"succeeded_at": first}) == []  # the baseline
    assert [e["succeeded_at"] for e in tracker.observe({"succeeded_at": second})] == ["2026-01-03T00:00:00.000000Z"]
    assert tracker.observe({"succeeded_at": first}) == []  # an older answer read again
    assert tracker.observe({"succeeded_at": second}) == []


# ------------------------------------------------------------------------------ the asset


@needs_airflow_3
def test_asset_has_the_fivetran_uri_and_the_watcher() -> None:
    from airflow.sdk import Asset

    from fivetran_provider.assets import fivetran_connection_asset

    asset = fivetran_connection_asset("mellow_quartz", poll_interval=30, outcomes="failure")
    assert asset.uri == asset.name == "fivetran://mellow_quartz"
    (watcher,) = asset.watchers
    assert isinstance(watcher.trigger, FivetranSyncEventTrigger)
    assert watcher.trigger.serialize()[1] == {
        "connection_id": "mellow_quartz",
        "fivetran_conn_id": "fivetran_default",
        "poll_interval": 30.0,
        "outcomes": ["failure"],
    }
    # the registered normaliser: a trailing slash goes, anything after the id is refused
    assert Asset(uri="FIVETRAN://mellow_quartz/").uri == "fivetran://mellow_quartz"
    grouped = fivetran_connection_asset("mellow_quartz", group_id="tidal_lantern").watchers[0].trigger
    assert grouped.serialize()[1]["group_id"] == "tidal_lantern"
    assert Asset(uri="fivetran://mellow_quartz/task-syncs/").uri == "fivetran://mellow_quartz/task-syncs"
    with pytest.raises(ValueError, match=r"fivetran://<connection_id>"):
        Asset(uri="fivetran://mellow_quartz/tables")


@needs_airflow_3
def test_tasks_emit_for_the_task_sync_asset_never_for_the_watched_one() -> None:
    from fivetran_provider.assets import fivetran_connection_asset, task_sync_asset
    from fivetran_provider.operators import FivetranSyncOperator

    watched = fivetran_connection_asset("mellow_quartz")
    outlets = FivetranSyncOperator(task_id="sync", connection_id="mellow_quartz").outlets
    assert all(getattr(outlet, "uri", None) != watched.uri for outlet in outlets)
    assert task_sync_asset("mellow_quartz").uri == "fivetran://mellow_quartz/task-syncs"
    assert task_sync_asset("mellow_quartz").watchers == []


def test_landed_syncs_reads_each_sync_once_oldest_first() -> None:
    from types import SimpleNamespace

    from fivetran_provider.assets import landed_syncs, sync_identity
    from fivetran_provider.event_triggers import sync_event

    early = sync_event("mellow_quartz", "success", "2026-02-01T00:00:00.000000Z", None, False)
    late = sync_event("mellow_quartz", "success", "2026-02-02T00:00:00.000000Z", None, False)
    failed = sync_event("mellow_quartz", "failure", "2026-02-01T00:00:00.000000Z", "2026-02-01T12:00:00.000000Z", False)

    def stored(payload: dict[str, Any]) -> Any:
        return SimpleNamespace(extra={"from_trigger": True, "payload": payload})

    # Airflow files an event added through an alias under the asset and under the alias.
    events = {
        "asset": [stored(late), stored(early)],
        "alias": [stored(late)],
        "other": [SimpleNamespace(extra={"rows": 3})],
        "watcher": [stored(failed)],
    }
    assert landed_syncs(events) == [early, failed, late]
    assert landed_syncs(None) == []
    assert sync_identity(failed) == ("mellow_quartz", "failure", "2026-02-01T12:00:00.000000Z")


def test_asset_on_airflow_2_says_it_needs_airflow_3(monkeypatch: pytest.MonkeyPatch) -> None:
    from fivetran_provider import _compat
    from fivetran_provider.assets import fivetran_connection_asset

    # On Airflow 3 the version flag is what the check reads; on Airflow 2 it is false already.
    monkeypatch.setattr(_compat, "AIRFLOW_V_3_PLUS", False)
    with pytest.raises(_compat.AirflowFeatureUnavailableError, match="needs Airflow 3"):
        fivetran_connection_asset("mellow_quartz")
    with pytest.raises(_compat.AirflowFeatureUnavailableError, match="needs Airflow 3"):
        FivetranSyncEventTrigger("mellow_quartz")

"""Benchmark: many ``FivetranSyncTrigger`` waiting at once in one event loop, against a baseline.

Runs N triggers (1,000 by default) concurrently against the Fivetran simulator, which runs in a
**separate process** so that its HTTP server threads do not compete with the event loop being
measured. Each connection gets a sync lasting 5-10 s, so every trigger polls several times. The
simulator delays every answer by ``--latency`` seconds (0.05 by default): real Fivetran answers
take tens to hundreds of milliseconds, and a loopback server answering in a millisecond would
hide what a blocking call costs the event loop.

The same run first measures a **baseline**: the straightforward way to wait for a sync inside a
triggerer, an ``async def`` loop that calls the synchronous
``FivetranHook().get_connection_details()`` (blocking ``requests`` on the event loop thread) and
then ``await asyncio.sleep(interval)``. It waits for the same kind of syncs, with the same
measurement, but for fewer of them (``--baseline-waits``, 200 by default) so that the run stays
short; a blocking loop only gets worse with more waits. The real triggers follow, and a
comparison of the two is printed at the end (``--no-baseline`` skips it).

Reported:

* peak memory added by the triggers: RSS delta (sampled every 50 ms) and, in a second run with
  ``tracemalloc`` on, the peak of Python allocations;
* polls per second;
* poll drift: how far each gap between two polls of one trigger is from the poll interval, and
  the share of gaps within 10 % of it;
* the worst event-loop stall, measured by a ticker coroutine that asks to wake every 10 ms,
  and how much of it was a garbage collection (the interpreter stops everything for a full
  collection of its heap, which in an Airflow process is mostly Airflow's own objects).

The triggers' INFO progress lines (a few per trigger) are not printed, so the terminal does not
become the thing being measured; warnings still are.

The triggers run twice in the same run: polling alone (``shared_polling=False``, one
``GET /v1/connections/{id}`` per wait and interval) and through the event loop's shared poller
(the default: one ``GET /v1/connections?group_id=…`` per group and interval), with the
connections spread over ``--groups`` groups (10 by default). The requests each pass cost, as the
simulator counted them, are printed side by side, with the GC-tracked allocations per poll.

With ``--watchers N`` a last pass runs N asset watchers (``FivetranSyncEventTrigger``, one per
connection, as ``fivetran_connection_asset`` makes them) in one event loop while every watched
connection runs one sync, for ``--watch-intervals`` poll intervals after their first readings.
It prints the requests of the steady state per poll interval, against the one read per watched
connection and interval that watchers polling alone would cost, and how many events each watcher
fired (exactly one per landed sync is right).

Targets: the shared poller costs at most 2 % of the per-trigger requests, every trigger polls
within 10 % of its interval, worst stall outside GC under 20 ms, under 50 MB added. Nothing is
asserted; figures are printed.

Usage::

    .venv/bin/python benchmarks/triggers.py                 # 200 baseline waits, then 1,000 triggers
    .venv/bin/python benchmarks/triggers.py --latency 0.2   # slower answers (both passes)
    .venv/bin/python benchmarks/triggers.py --baseline-waits 1000   # a baseline as large as the trigger pass
    .venv/bin/python benchmarks/triggers.py --no-share      # one HTTP client per trigger (the naive way)
    .venv/bin/python benchmarks/triggers.py --gc-freeze     # gc.freeze() Airflow's objects first
    .venv/bin/python benchmarks/triggers.py --groups 50     # more, smaller groups
    .venv/bin/python benchmarks/triggers.py --no-alone      # only the shared poller
    .venv/bin/python benchmarks/triggers.py --watchers 1000 --no-triggers   # only 1,000 asset watchers
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OLD_SUCCESS = "2026-01-01T00:00:00Z"


# ------------------------------------------------------------------------------ simulator process


def serve_simulator(
    pipe: Connection,
    count: int,
    min_duration: float,
    max_duration: float,
    seed: int,
    latency: float = 0.0,
    groups: int = 10,
) -> None:
    """Child process: seed ``count`` connections, start their syncs on request, serve until told to stop.

    The parent sends ``("start", n)`` to start the syncs of the first ``n`` connections,
    ``"stats"`` for the answers given since, anything else to stop.

    :param pipe: the parent's end of a pipe.
    :param count: number of connections.
    :param min_duration: shortest sync, seconds.
    :param max_duration: longest sync, seconds.
    :param seed: random seed for the durations.
    :param latency: seconds added to every answer (0: none).
    :param groups: connections are dealt round-robin into this many groups (destinations).
    """
    from fivetran_provider.testing import FivetranSimulator

    rng = random.Random(seed)
    with FivetranSimulator() as sim:
        group_ids = [sim.add_group(f"bench_group_{index}")["id"] for index in range(max(1, groups))]
        created = [
            sim.add_connection(group_id=group_ids[index % len(group_ids)], succeeded_at=OLD_SUCCESS)
            for index in range(count)
        ]
        ids = [connection["id"] for connection in created]
        group_of = {connection["id"]: connection["group_id"] for connection in created}
        if latency > 0:
            sim.faults.latency(latency)  # every request, until the simulator stops
        pipe.send({"url": sim.url, "key": sim.api_key, "secret": sim.api_secret, "ids": ids, "groups": group_of})
        while True:
            command = pipe.recv()
            if isinstance(command, tuple) and command[0] == "start":
                sim.clear_requests()
                for connection_id in ids[: command[1]]:
                    sim.plan_syncs(connection_id, "success", duration=rng.uniform(min_duration, max_duration))
                    sim.state.trigger_sync(connection_id, force=False)
                pipe.send("started")
            elif command == "stats":
                statuses: dict[int, int] = {}
                kinds = {"list": 0, "single": 0, "other": 0}
                for recorded in sim.requests:
                    statuses[recorded.status] = statuses.get(recorded.status, 0) + 1
                    if recorded.method == "GET" and recorded.path == "/v1/connections":
                        kinds["list"] += 1
                    elif recorded.method == "GET" and recorded.path.startswith("/v1/connections/"):
                        kinds["single"] += 1
                    else:
                        kinds["other"] += 1
                pipe.send({"statuses": statuses, **kinds})
            else:
                break


# ------------------------------------------------------------------------------ measurement


@dataclass
class Run:
    """Figures of one benchmark run."""

    polls: dict[str, list[float]] = field(default_factory=dict)
    lateness: list[float] = field(default_factory=list)
    tick_times: list[float] = field(default_factory=list)
    gc_pauses: list[tuple[int, float, float]] = field(default_factory=list)  # (generation, start, seconds)
    rss_samples: list[int] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    rss_before: int = 0
    traced_peak: int | None = None
    gc_collections: list[int] = field(default_factory=lambda: [0, 0, 0])  # per generation, during the run
    requests: dict[str, Any] = field(default_factory=dict)  # the simulator's count of this run's requests


_PROCESS: list[Any] = []


def rss_bytes() -> int:
    """Resident set size of this process (one ``psutil.Process``, built once: building it reads /proc)."""
    import psutil

    if not _PROCESS:
        _PROCESS.append(psutil.Process())
    return int(_PROCESS[0].memory_info().rss)


def make_trigger_class(share_clients: bool = True) -> type:
    """The real trigger class, recording when each poll starts (the ``polled_at`` its waiter is given).

    Works in both modes (shared poller or polling alone), since both feed every read to the
    trigger's :class:`~fivetran_provider.sync_status.SyncWaiter` with the time it was started.

    :param share_clients: let the triggers' hooks share the event loop's HTTP clients (the
        default); with False every trigger's hook builds its own.
    """
    from fivetran_provider.sync_status import SyncWaiter
    from fivetran_provider.triggers import FivetranSyncTrigger

    class RecordingWaiter(SyncWaiter):
        poll_log: list[float]

        def observe(self, connection: Any, polled_at: float) -> Any:
            self.poll_log.append(polled_at)
            return super().observe(connection, polled_at)

        def observe_error(self, error: BaseException, polled_at: float) -> Any:
            self.poll_log.append(polled_at)
            return super().observe_error(error, polled_at)

    class MeasuredTrigger(FivetranSyncTrigger):
        """The real trigger, recording when each poll starts."""

        poll_log: list[float]

        def _hook(self) -> Any:
            hook = super()._hook()
            hook.share_clients = share_clients
            return hook

        def _waiter(self) -> Any:
            waiter = super()._waiter()
            waiter.__class__ = RecordingWaiter
            waiter.poll_log = self.poll_log
            return waiter

        def _note(self, step: Any) -> None:
            if step.warning:  # INFO progress lines are not printed (see the module docstring)
                super()._note(step)

    return MeasuredTrigger


def make_blocking_trigger_class() -> type:
    """The baseline: a coroutine that polls with the synchronous hook, blocking the event loop.

    It waits the straightforward way: ``FivetranHook().get_connection_details()`` (``requests``,
    on the event loop thread), then ``await asyncio.sleep(interval)``, until the sync is over.
    Whether it is over is judged by the same :class:`~fivetran_provider.sync_status.SyncWaiter`
    as the real trigger, so both passes end on the same answers; only the waiting differs. It
    subclasses the real trigger only to take the same arguments.
    """
    from fivetran_provider.hooks import FivetranHook
    from fivetran_provider.sync_status import DONE
    from fivetran_provider.triggers import FivetranSyncTrigger

    class BlockingPollTrigger(FivetranSyncTrigger):
        """Polls with blocking calls from a coroutine, recording when each poll starts."""

        poll_log: list[float]

        async def wait(self) -> dict[str, Any]:
            waiter = self._waiter()
            hook = FivetranHook(self.fivetran_conn_id)
            try:
                while True:
                    polled_at = time.time()
                    self.poll_log.append(polled_at)
                    try:
                        connection = hook.get_connection_details(self.connection_id)  # blocks the loop
                    except Exception as error:
                        step = waiter.observe_error(error, polled_at)
                    else:
                        step = waiter.observe(connection, polled_at)
                    if step.action == DONE:
                        assert step.event is not None
                        return step.event
                    await asyncio.sleep(self.poll_interval)
            finally:
                hook.close()

    return BlockingPollTrigger


async def run_triggers(
    ids: list[str],
    baseline: str,
    interval: float,
    stagger: float,
    trace: bool,
    freeze: bool = False,
    share_clients: bool = True,
    trigger_class: type | None = None,
    shared_polling: bool = False,
    groups: dict[str, str] | None = None,
) -> Run:
    """Run one trigger per connection id concurrently and measure.

    :param ids: connection ids.
    :param baseline: the baseline of every trigger (a time before the syncs were started).
    :param interval: poll interval, seconds.
    :param stagger: spread the trigger starts over this many seconds (0: all at once).
    :param trace: measure Python allocations with tracemalloc.
    :param freeze: ``gc.freeze()`` everything allocated before the triggers start.
    :param share_clients: see :func:`make_trigger_class`.
    :param trigger_class: the class to run (default: :func:`make_trigger_class`); it takes the
        real trigger's arguments and appends the start of each poll to ``poll_log``.
    :param shared_polling: the triggers hand their reads to the event loop's shared poller.
    :param groups: connection id to group id (passed to the triggers as the operators do).
    """
    if trigger_class is None:
        trigger_class = make_trigger_class(share_clients)
    run = Run()
    stop = asyncio.Event()

    async def ticker() -> None:
        period = 0.01
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(period)
            run.lateness.append(time.perf_counter() - before - period)
            run.tick_times.append(before)

    async def sampler() -> None:
        while not stop.is_set():
            run.rss_samples.append(rss_bytes())
            await asyncio.sleep(0.05)

    async def one(trigger: Any, delay: float) -> dict[str, Any]:
        if delay:
            await asyncio.sleep(delay)
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    gc_started: dict[int, float] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        if phase == "start":
            gc_started[generation] = time.perf_counter()
        elif generation in gc_started:
            begun = gc_started.pop(generation)
            run.gc_pauses.append((generation, begun, time.perf_counter() - begun))

    gc.collect()
    if freeze:
        gc.freeze()
    collections_before = [stats["collections"] for stats in gc.get_stats()]
    gc.callbacks.append(on_gc)
    run.rss_before = rss_bytes()
    if trace:
        tracemalloc.start()
    deadline = time.time() + 120
    triggers = []
    for connection_id in ids:
        extra = {"shared_polling": shared_polling, "group_id": (groups or {}).get(connection_id)}
        trigger = trigger_class(
            connection_id,
            baseline=baseline,
            poll_interval=interval,
            deadline=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(deadline)),
            **extra,
        )
        trigger.poll_log = []
        run.polls[connection_id] = trigger.poll_log
        triggers.append(trigger)
    background = [asyncio.create_task(ticker()), asyncio.create_task(sampler())]
    await asyncio.sleep(0.05)
    run.started = time.perf_counter()
    rng = random.Random(7)
    run.events = await asyncio.gather(*(one(t, rng.uniform(0, stagger) if stagger else 0.0) for t in triggers))
    run.finished = time.perf_counter()
    run.gc_collections = [
        stats["collections"] - before for stats, before in zip(gc.get_stats(), collections_before, strict=True)
    ]
    if trace:
        run.traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    stop.set()
    await asyncio.gather(*background)
    gc.callbacks.remove(on_gc)
    if freeze:
        gc.unfreeze()
    return run


async def run_watchers(
    ids: list[str], interval: float, watch_intervals: int, groups: int, group_of: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one asset watcher per connection id in this event loop; count requests and events.

    :param ids: connection ids (each is running one sync when this starts).
    :param interval: the watchers' poll interval, seconds.
    :param watch_intervals: poll intervals to measure after every watcher has its first reading.
    :param groups: number of groups the connections are spread over (for the printout).
    :param group_of: connection id to group id, given to the watchers (``None``: not given).
    """
    import logging

    from fivetran_provider.event_triggers import FivetranSyncEventTrigger
    from fivetran_provider.hooks import polling

    quiet = logging.getLogger("fivetran_benchmark.watchers")
    quiet.setLevel(logging.WARNING)

    class QuietWatcher(FivetranSyncEventTrigger):  # type: ignore[misc,valid-type,unused-ignore]
        """The real watcher; its INFO lines (one per event) are not printed."""

        log = quiet

    events: dict[str, list[dict[str, Any]]] = {connection_id: [] for connection_id in ids}

    async def watch(trigger: Any) -> None:
        async for event in trigger.run():
            events[trigger.connection_id].append(dict(event.payload))

    started = time.monotonic()
    tasks = [
        asyncio.create_task(
            watch(QuietWatcher(connection_id, poll_interval=interval, group_id=(group_of or {}).get(connection_id)))
        )
        for connection_id in ids
    ]
    give_up = started + 120
    while not polling.active_pollers() or min(sub.reads for sub in polling.active_pollers()[0].members) < 1:
        if time.monotonic() > give_up:
            raise RuntimeError("the watchers' first readings did not all come within 120 s")
        await asyncio.sleep(0.05)
    poller = polling.active_pollers()[0]
    first_readings = time.monotonic() - started
    first_requests = poller.requests
    await asyncio.sleep(2 * interval)  # the watchers fall into step with their groups
    lists, singles, since = poller.list_requests, poller.single_requests, time.monotonic()
    await asyncio.sleep(watch_intervals * interval)
    lists, singles, span = poller.list_requests - lists, poller.single_requests - singles, time.monotonic() - since
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    counts = [len(fired) for fired in events.values()]
    measured = span / interval
    figures = {
        "watchers": len(ids),
        "groups": groups,
        "interval_seconds": interval,
        "first_readings_seconds": round(first_readings, 2),
        "group_given": group_of is not None,
        "first_readings_requests": first_requests,
        "steady_intervals_measured": round(measured, 1),
        "steady_list_requests": lists,
        "steady_single_requests": singles,
        "steady_requests_per_interval": round((lists + singles) / measured, 2),
        "alone_requests_per_interval": len(ids),
        "watchers_with_exactly_one_event": counts.count(1),
        "watchers_with_no_event": counts.count(0),
        "watchers_with_more_than_one_event": sum(1 for count in counts if count > 1),
    }
    print(json.dumps(figures, indent=2))
    print(
        f"Asset watchers: {len(ids)} watched connections over {groups} groups cost "
        f"{figures['steady_requests_per_interval']} requests per {interval:g} s interval once their first "
        f"readings are done ({first_requests} requests, {first_readings:.1f} s), against {len(ids)} when each "
        f"polls alone; {counts.count(1)} of {len(ids)} watchers fired exactly one event for their one sync"
    )
    return figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def stalls_outside_gc(run: Run) -> list[float]:
    """Ticker lateness of every tick, less the garbage-collection time that overlapped its sleep.

    Subtracting (rather than dropping the ticks that saw a collection) keeps a long stall that
    merely contains a short collection, as a blocking call does, from being put down to GC.
    """
    spans = [(begun, begun + seconds) for _generation, begun, seconds in run.gc_pauses]
    kept = []
    for before, late in zip(run.tick_times, run.lateness, strict=True):
        after = before + 0.01 + late
        in_gc = sum(max(0.0, min(end, after) - max(begun, before)) for begun, end in spans)
        kept.append(max(0.0, late - in_gc))
    return kept


def report(run: Run, interval: float, label: str) -> dict[str, Any]:
    """Print and return the figures of one run."""
    gaps = [b - a for log in run.polls.values() for a, b in itertools.pairwise(log)]
    drift = [abs(gap - interval) / interval for gap in gaps]
    within = sum(1 for value in drift if value <= 0.10)
    total_polls = sum(len(log) for log in run.polls.values())
    span = run.finished - run.started
    outcomes: dict[str, int] = {}
    for event in run.events:
        outcomes[event["status"]] = outcomes.get(event["status"], 0) + 1
    polled_twice = [log for log in run.polls.values() if len(log) >= 2]
    triggers_all_within = sum(
        1 for log in polled_twice if all(abs((b - a) - interval) <= 0.1 * interval for a, b in itertools.pairwise(log))
    )
    outside_gc = stalls_outside_gc(run)
    figures = {
        "label": label,
        "triggers": len(run.polls),
        "outcomes": outcomes,
        "wall_seconds": round(span, 2),
        "polls": total_polls,
        "polls_per_second": round(total_polls / span, 1) if span else 0.0,
        "polls_per_trigger_mean": round(total_polls / max(1, len(run.polls)), 2),
        "gaps": len(gaps),
        "gaps_within_10pct": within,
        "share_within_10pct": round(within / len(gaps), 4) if gaps else None,
        "triggers_polled_twice_or_more": len(polled_twice),
        "triggers_all_gaps_within_10pct": triggers_all_within,
        "gap_seconds_median": round(statistics.median(gaps), 4) if gaps else None,
        "gap_seconds_p99": round(percentile(gaps, 0.99), 4) if gaps else None,
        "gap_seconds_max": round(max(gaps), 4) if gaps else None,
        "stall_ms_worst": round(max(run.lateness) * 1000, 1) if run.lateness else None,
        "stall_ms_p99": round(percentile(run.lateness, 0.99) * 1000, 1) if run.lateness else None,
        "ticks": len(run.lateness),
        "stall_worst_at_seconds": round(run.tick_times[run.lateness.index(max(run.lateness))] - run.started, 2)
        if run.lateness
        else None,
        "stalls_over_50ms": sum(1 for value in run.lateness if value > 0.05),
        "gc_gen2_pauses": len([p for p in run.gc_pauses if p[0] == 2]),
        "gc_pause_ms_worst": round(max((p[2] for p in run.gc_pauses), default=0.0) * 1000, 1),
        "stall_ms_worst_not_during_gc": round(max(outside_gc, default=0.0) * 1000, 1),
        "stall_not_during_gc_worst_at_seconds": round(
            run.tick_times[outside_gc.index(max(outside_gc))] - run.started, 2
        )
        if outside_gc
        else None,
        "rss_added_mb_peak": round((max(run.rss_samples, default=run.rss_before) - run.rss_before) / 2**20, 1),
        "gc_collections_by_generation": run.gc_collections,
        # Each generation-0 collection follows about gc.get_threshold()[0] more container objects
        # allocated than freed: a proxy for the garbage each poll leaves behind.
        "gc_tracked_allocations_per_poll": round(run.gc_collections[0] * gc.get_threshold()[0] / total_polls, 1)
        if total_polls
        else None,
    }
    if run.requests:
        sent = run.requests["list"] + run.requests["single"] + run.requests["other"]
        figures["requests"] = sent
        figures["requests_list"] = run.requests["list"]
        figures["requests_single"] = run.requests["single"]
        figures["requests_per_minute"] = round(sent / span * 60, 1) if span else None
        figures["polls_per_request"] = round(total_polls / sent, 1) if sent else None
    if run.traced_peak is not None:
        figures["tracemalloc_peak_mb"] = round(run.traced_peak / 2**20, 1)
    print(json.dumps(figures, indent=2))
    return figures


def ratio(numerator: float | None, denominator: float | None) -> str:
    """``numerator / denominator`` as ``"12.3 x"`` (``"n/a"`` when it cannot be computed)."""
    if numerator is None or denominator is None or denominator == 0:
        return "n/a"
    return f"{numerator / denominator:.1f} x"


def compare(base: dict[str, Any], real: dict[str, Any], interval: float) -> None:
    """Print the baseline's figures next to the real trigger's, with their ratios.

    :param base: :func:`report` of the baseline pass.
    :param real: :func:`report` of the trigger pass (timing).
    :param interval: poll interval, seconds.
    """
    base_share, real_share = base["share_within_10pct"] or 0.0, real["share_within_10pct"] or 0.0
    base_rate = base["polls_per_second"] / max(1, base["triggers"])
    real_rate = real["polls_per_second"] / max(1, real["triggers"])
    rows = [
        (
            "poll gaps within 10% of the interval",
            f"{base_share:.1%}",
            f"{real_share:.1%}",
            f"trigger/baseline {ratio(real_share, base_share)}" if base_share else "baseline has none",
        ),
        (
            "median poll gap (s)",
            f"{base['gap_seconds_median']}",
            f"{real['gap_seconds_median']}",
            f"baseline/trigger {ratio(base['gap_seconds_median'], real['gap_seconds_median'])}",
        ),
        (
            "worst stall (ms)",
            f"{base['stall_ms_worst']}",
            f"{real['stall_ms_worst']}",
            f"baseline/trigger {ratio(base['stall_ms_worst'], real['stall_ms_worst'])}",
        ),
        (
            "worst stall outside GC (ms)",
            f"{base['stall_ms_worst_not_during_gc']}",
            f"{real['stall_ms_worst_not_during_gc']}",
            f"baseline/trigger {ratio(base['stall_ms_worst_not_during_gc'], real['stall_ms_worst_not_during_gc'])}",
        ),
        (
            "polls/s",
            f"{base['polls_per_second']}",
            f"{real['polls_per_second']}",
            f"trigger/baseline {ratio(real['polls_per_second'], base['polls_per_second'])}",
        ),
        (
            f"polls/s per waiting trigger (ideal {1 / interval:g})",
            f"{base_rate:.3f}",
            f"{real_rate:.3f}",
            f"trigger/baseline {ratio(real_rate, base_rate)}",
        ),
    ]
    print(
        f"Comparison (same run): baseline = {base['triggers']} waits polling with the blocking client, "
        f"trigger = {real['triggers']} FivetranSyncTrigger"
    )
    width = max(len(row[0]) for row in rows)
    print(f"  {'':<{width}}  {'baseline':>10}  {'trigger':>10}")
    for name, base_value, real_value, note in rows:
        print(f"  {name:<{width}}  {base_value:>10}  {real_value:>10}  {note}")
    print(
        "  worst stall outside GC: baseline {b} ms vs trigger {r} ms = {x}".format(
            b=base["stall_ms_worst_not_during_gc"],
            r=real["stall_ms_worst_not_during_gc"],
            x=ratio(base["stall_ms_worst_not_during_gc"], real["stall_ms_worst_not_during_gc"]),
        )
    )
    if base["triggers"] != real["triggers"]:
        print(
            f"  (the baseline waited for {base['triggers']} syncs, the trigger pass for {real['triggers']}: "
            "polls/s are totals of different loads; compare the per-trigger rate)"
        )


def compare_requests(alone: dict[str, Any], shared: dict[str, Any], interval: float, groups: int) -> None:
    """Print what the shared poller costs in requests against triggers polling alone, same run.

    :param alone: :func:`report` of the pass where every trigger polled alone.
    :param shared: :func:`report` of the shared-poller pass.
    :param interval: poll interval, seconds.
    :param groups: number of groups the connections are spread over.
    """
    rows = [
        ("requests per minute", alone.get("requests_per_minute"), shared.get("requests_per_minute")),
        ("requests in all", alone.get("requests"), shared.get("requests")),
        ("polls judged per request", alone.get("polls_per_request"), shared.get("polls_per_request")),
        ("poll gaps within 10% of the interval", alone["share_within_10pct"], shared["share_within_10pct"]),
        ("worst stall outside GC (ms)", alone["stall_ms_worst_not_during_gc"], shared["stall_ms_worst_not_during_gc"]),
        ("worst stall (ms)", alone["stall_ms_worst"], shared["stall_ms_worst"]),
        ("RSS added (MB)", alone["rss_added_mb_peak"], shared["rss_added_mb_peak"]),
        (
            "GC-tracked allocations per poll",
            alone["gc_tracked_allocations_per_poll"],
            shared["gc_tracked_allocations_per_poll"],
        ),
        ("gen-2 collections", alone["gc_collections_by_generation"][2], shared["gc_collections_by_generation"][2]),
    ]
    print(
        f"Requests (same run): {alone['triggers']} waits over {groups} groups, interval {interval:g} s; "
        "'alone' = every trigger polls GET /v1/connections/{id}, 'shared' = one poller per event loop"
    )
    width = max(len(row[0]) for row in rows)
    print(f"  {'':<{width}}  {'alone':>10}  {'shared':>10}")
    for name, left, right in rows:
        print(f"  {name:<{width}}  {left!s:>10}  {right!s:>10}")
    a, b = alone.get("requests_per_minute"), shared.get("requests_per_minute")
    if a and b:
        print(f"  shared/alone requests per minute: {b / a:.2%} (target: at most 2%)")
        nominal = alone["triggers"] * 60 / interval
        print(
            f"  shared requests per minute against the nominal per-trigger cost ({nominal:g}/min, one read per "
            f"wait per interval): {b / nominal:.2%}"
        )
    pa, pb = alone.get("polls_per_request"), shared.get("polls_per_request")
    if pa and pb:
        print(f"  requests per poll judged, shared/alone: {pa / pb:.2%} (the same work: a poll is one judged read)")
        per_interval = b * interval / 60
        print(f"  shared requests per poll interval: {per_interval:.1f} for {groups} groups")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    parser.add_argument("--min-duration", type=float, default=5.0)
    parser.add_argument("--max-duration", type=float, default=10.0)
    parser.add_argument("--stagger", type=float, default=0.0, help="spread trigger starts over this many seconds")
    parser.add_argument("--no-share", action="store_true", help="one httpx client per trigger")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() the loaded modules first (a deployment-side tuning)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.05,
        metavar="SECONDS",
        help="delay the simulator adds to every answer, in both passes (default 0.05)",
    )
    parser.add_argument(
        "--baseline-waits",
        type=int,
        default=200,
        help="syncs the blocking baseline waits for (default 200; fewer than --triggers keeps the run short)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the blocking baseline pass")
    parser.add_argument("--groups", type=int, default=10, help="groups the connections are spread over (default 10)")
    parser.add_argument(
        "--no-alone", action="store_true", help="skip the pass where every trigger polls alone (no request comparison)"
    )
    parser.add_argument("--watchers", type=int, default=0, help="then run this many asset watchers (Airflow 3)")
    parser.add_argument(
        "--watch-intervals", type=int, default=10, help="poll intervals the watcher pass measures (default 10)"
    )
    parser.add_argument(
        "--watchers-know-group", action="store_true", help="give each watcher its group_id (first reads shared too)"
    )
    parser.add_argument("--no-triggers", action="store_true", help="skip every sync-trigger pass (watchers only)")
    parser.add_argument("--json", help="also write every pass's figures to this file")
    args = parser.parse_args(argv)
    baseline_waits = 0 if args.no_baseline or args.no_triggers else args.baseline_waits

    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="fivetran-bench-"))
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(
        target=serve_simulator,
        args=(
            child,
            max(0 if args.no_triggers else args.triggers, baseline_waits, args.watchers),
            args.min_duration,
            args.max_duration,
            1,
            args.latency,
            args.groups,
        ),
        daemon=True,
    )
    server.start()
    info = parent.recv()
    os.environ["AIRFLOW_CONN_FIVETRAN_DEFAULT"] = json.dumps(
        {"conn_type": "fivetran", "host": info["url"], "login": info["key"], "password": info["secret"]}
    )

    from fivetran_provider.sync_status import epoch_to_iso

    print(
        f"{args.triggers} triggers, poll interval {args.interval:g} s, syncs of "
        f"{args.min_duration:g}-{args.max_duration:g} s, simulator in process {server.pid} answering after "
        f"{args.latency * 1000:g} ms, "
        f"{'one shared client pool per loop' if not args.no_share else 'own clients per trigger'}, "
        f"stagger {args.stagger:g} s{', gc.freeze()' if args.gc_freeze else ''}"
    )
    if baseline_waits:
        print(
            f"Baseline in the same run: {baseline_waits} waits (not {args.triggers}, to keep the run short) "
            "polling with the synchronous FivetranHook from a coroutine (blocking requests on the event loop), "
            f"then asyncio.sleep({args.interval:g}); same simulator latency, same measurement"
        )
    # (key, label, connections, trace, blocking baseline, shared poller)
    passes: list[tuple[str, str, int, bool, bool, bool]] = []
    if baseline_waits:
        passes.append(
            (
                "baseline",
                f"baseline: blocking client in a coroutine, {baseline_waits} waits",
                baseline_waits,
                False,
                True,
                False,
            )
        )
    if not args.no_alone and not args.no_triggers:
        passes.append(("alone", "triggers polling alone: timing + RSS", args.triggers, False, False, False))
    if not args.no_triggers:
        passes.append(("trigger", "shared poller: timing + RSS", args.triggers, False, False, True))
    if not args.no_trace and not args.no_triggers:
        passes.append(
            ("traced", "shared poller, tracemalloc (memory only; distorts timings)", args.triggers, True, False, True)
        )
    results: dict[str, dict[str, Any]] = {}
    for key, label, count, trace, blocking, shared in passes:
        baseline = epoch_to_iso(time.time())  # every sync of this pass starts (and ends) after it
        parent.send(("start", count))
        parent.recv()
        run = asyncio.run(
            run_triggers(
                info["ids"][:count],
                baseline,
                args.interval,
                args.stagger,
                trace,
                args.gc_freeze,
                share_clients=not args.no_share,
                trigger_class=make_blocking_trigger_class() if blocking else None,
                shared_polling=shared,
                groups=info["groups"],
            )
        )
        parent.send("stats")
        run.requests = parent.recv()
        print(f"--- {label}: simulator answered {run.requests}")
        results[key] = report(run, args.interval, label)
    if args.watchers:
        parent.send(("start", args.watchers))  # every watched connection runs one sync
        parent.recv()
        print(f"--- asset watchers: {args.watchers}, poll interval {args.interval:g} s")
        results["watchers"] = asyncio.run(
            run_watchers(
                info["ids"][: args.watchers],
                args.interval,
                args.watch_intervals,
                args.groups,
                info["groups"] if args.watchers_know_group else None,
            )
        )
        parent.send("stats")
        print(f"    simulator answered {parent.recv()}")
    parent.send("stop")
    server.join(timeout=10)
    if "trigger" not in results:
        return 0
    first = results["trigger"]
    print(
        "Summary: {share:.1%} of poll gaps within 10% of the interval ({ok}/{n} triggers polling more than "
        "once were always), "
        "worst stall {stall} ms ({outside} ms outside GC), {pps} polls/s, RSS +{rss} MB{traced}".format(
            share=first["share_within_10pct"] or 0.0,
            ok=first["triggers_all_gaps_within_10pct"],
            n=first["triggers_polled_twice_or_more"],
            stall=first["stall_ms_worst"],
            outside=first["stall_ms_worst_not_during_gc"],
            pps=first["polls_per_second"],
            rss=first["rss_added_mb_peak"],
            traced=f", Python allocations peak {results['traced']['tracemalloc_peak_mb']} MB"
            if "traced" in results
            else "",
        )
    )
    if "baseline" in results:
        compare(results["baseline"], first, args.interval)
    if "alone" in results:
        compare_requests(results["alone"], first, args.interval, args.groups)
    if args.json:
        settings = {"triggers": args.triggers, "baseline_waits": baseline_waits, "groups": args.groups}
        with open(args.json, "w") as handle:
            json.dump({"settings": settings, "passes": results}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

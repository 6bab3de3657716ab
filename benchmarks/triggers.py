"""Benchmark: many ``FivetranSyncTrigger`` waiting at once in one event loop.

Runs N triggers (1,000 by default) concurrently against the Fivetran simulator, which runs in a
**separate process** so that its HTTP server threads do not compete with the event loop being
measured. Each connection gets a sync lasting 5-10 s, so every trigger polls several times.

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

Targets: every trigger polls within 10 % of its interval, worst stall under 50 ms, under 100 MB
added. Nothing is asserted; figures are printed.

Usage::

    .venv/bin/python benchmarks/triggers.py                 # 1,000 triggers, 1 s interval
    .venv/bin/python benchmarks/triggers.py --no-share      # one HTTP client per trigger (the naive way)
    .venv/bin/python benchmarks/triggers.py --gc-freeze     # gc.freeze() Airflow's objects first
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


def serve_simulator(pipe: Connection, count: int, min_duration: float, max_duration: float, seed: int) -> None:
    """Child process: seed ``count`` connections, start their syncs on request, serve until told to stop.

    :param pipe: the parent's end of a pipe.
    :param count: number of connections.
    :param min_duration: shortest sync, seconds.
    :param max_duration: longest sync, seconds.
    :param seed: random seed for the durations.
    """
    from fivetran_provider.testing import FivetranSimulator

    rng = random.Random(seed)
    with FivetranSimulator() as sim:
        ids = [sim.add_connection(succeeded_at=OLD_SUCCESS)["id"] for _ in range(count)]
        pipe.send({"url": sim.url, "key": sim.api_key, "secret": sim.api_secret, "ids": ids})
        while True:
            command = pipe.recv()
            if command == "start":
                sim.clear_requests()
                for connection_id in ids:
                    sim.plan_syncs(connection_id, "success", duration=rng.uniform(min_duration, max_duration))
                    sim.state.trigger_sync(connection_id, force=False)
                pipe.send("started")
            elif command == "stats":
                statuses: dict[int, int] = {}
                for recorded in sim.requests:
                    statuses[recorded.status] = statuses.get(recorded.status, 0) + 1
                pipe.send(statuses)
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


def rss_bytes() -> int:
    """Resident set size of this process."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def make_trigger_class(share_clients: bool = True) -> type:
    """The real trigger class, recording when each poll starts.

    :param share_clients: let the triggers' hooks share the event loop's HTTP clients (the
        default); with False every trigger's hook builds its own.
    """
    from fivetran_provider.triggers import FivetranSyncTrigger

    class MeasuredTrigger(FivetranSyncTrigger):
        """The real trigger, recording when each poll starts."""

        poll_log: list[float]

        def _hook(self) -> Any:
            hook = super()._hook()
            hook.share_clients = share_clients
            return hook

        async def _poll(self, hook: Any, waiter: Any, polled_at: float) -> Any:
            self.poll_log.append(time.perf_counter())
            return await super()._poll(hook, waiter, polled_at)

        def _note(self, step: Any) -> None:
            if step.warning:  # INFO progress lines are not printed (see the module docstring)
                super()._note(step)

    return MeasuredTrigger


async def run_triggers(
    ids: list[str],
    baseline: str,
    interval: float,
    stagger: float,
    trace: bool,
    freeze: bool = False,
    share_clients: bool = True,
) -> Run:
    """Run one trigger per connection id concurrently and measure.

    :param ids: connection ids.
    :param baseline: the baseline of every trigger (a time before the syncs were started).
    :param interval: poll interval, seconds.
    :param stagger: spread the trigger starts over this many seconds (0: all at once).
    :param trace: measure Python allocations with tracemalloc.
    :param freeze: ``gc.freeze()`` everything allocated before the triggers start.
    :param share_clients: see :func:`make_trigger_class`.
    """
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
    gc.callbacks.append(on_gc)
    run.rss_before = rss_bytes()
    if trace:
        tracemalloc.start()
    deadline = time.time() + 120
    triggers = []
    for connection_id in ids:
        trigger = trigger_class(
            connection_id,
            baseline=baseline,
            poll_interval=interval,
            deadline=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(deadline)),
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
    if trace:
        run.traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    stop.set()
    await asyncio.gather(*background)
    gc.callbacks.remove(on_gc)
    if freeze:
        gc.unfreeze()
    return run


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def stalls_outside_gc(run: Run) -> list[float]:
    """Ticker lateness of ticks whose sleep did not overlap a garbage collection."""
    spans = [(begun, begun + seconds) for _generation, begun, seconds in run.gc_pauses]
    kept = []
    for before, late in zip(run.tick_times, run.lateness, strict=True):
        after = before + 0.01 + late
        if not any(begun < after and end > before for begun, end in spans):
            kept.append(late)
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
        "stall_ms_worst_not_during_gc": round(max(stalls_outside_gc(run), default=0.0) * 1000, 1),
        "rss_added_mb_peak": round((max(run.rss_samples, default=run.rss_before) - run.rss_before) / 2**20, 1),
    }
    if run.traced_peak is not None:
        figures["tracemalloc_peak_mb"] = round(run.traced_peak / 2**20, 1)
    print(json.dumps(figures, indent=2))
    return figures


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
    args = parser.parse_args(argv)

    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="fivetran-bench-"))
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(
        target=serve_simulator, args=(child, args.triggers, args.min_duration, args.max_duration, 1), daemon=True
    )
    server.start()
    info = parent.recv()
    os.environ["AIRFLOW_CONN_FIVETRAN_DEFAULT"] = json.dumps(
        {"conn_type": "fivetran", "host": info["url"], "login": info["key"], "password": info["secret"]}
    )

    from fivetran_provider.sync_status import epoch_to_iso

    print(
        f"{args.triggers} triggers, poll interval {args.interval:g} s, syncs of "
        f"{args.min_duration:g}-{args.max_duration:g} s, simulator in process {server.pid}, "
        f"{'one shared client pool per loop' if not args.no_share else 'own clients per trigger'}, "
        f"stagger {args.stagger:g} s"
    )
    results = []
    passes = [("timing + RSS", False)] + (
        [] if args.no_trace else [("tracemalloc (memory only; its overhead distorts timings)", True)]
    )
    for label, trace in passes:
        baseline = epoch_to_iso(time.time())  # every sync of this pass starts (and ends) after it
        parent.send("start")
        parent.recv()
        run = asyncio.run(
            run_triggers(
                info["ids"],
                baseline,
                args.interval,
                args.stagger,
                trace,
                args.gc_freeze,
                share_clients=not args.no_share,
            )
        )
        parent.send("stats")
        statuses = parent.recv()
        print(f"--- {label}: simulator answered {statuses}")
        results.append(report(run, args.interval, label))
    parent.send("stop")
    server.join(timeout=10)
    first = results[0]
    print(
        "Summary: {share:.1%} of poll gaps within 10% of the interval ({ok}/{n} triggers polling more than "
        "once were always), "
        "worst stall {stall} ms, {pps} polls/s, RSS +{rss} MB{traced}".format(
            share=first["share_within_10pct"] or 0.0,
            ok=first["triggers_all_gaps_within_10pct"],
            n=first["triggers_polled_twice_or_more"],
            stall=first["stall_ms_worst"],
            pps=first["polls_per_second"],
            rss=first["rss_added_mb_peak"],
            traced=f", Python allocations peak {results[1]['tracemalloc_peak_mb']} MB" if len(results) > 1 else "",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: asset watchers' ``FivetranSyncEventTrigger``s in one event loop, against a baseline.

N triggers (200 by default, connections over 10 groups) watch their connections for
``--seconds`` while every connection runs one sync of 5-10 s, against the Fivetran simulator in a
**separate process** that delays each answer by ``--latency``. Reported: the requests the
simulator answered per minute, and how many of the syncs that finished were reported as events.

The requests sent while the watchers shut down count too, but the rate is per watched minute.
The baseline, measured in the same run against the same simulator: one coroutine per connection
that reads ``GET /v1/connections/{id}`` every poll interval with one shared ``httpx`` client, the
plain way to watch N connections. Nothing is asserted; figures are printed (``--json`` writes
them for ``benchmarks/run_all.py``).

    .venv/bin/python benchmarks/event_triggers.py [--triggers 200] [--seconds 20] [--interval 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from triggers import serve_simulator  # the simulator process of the trigger benchmark

#: Seconds the cancelled triggers get to stop; those still running then are counted, not awaited.
STOP_WITHIN = 10.0
STUCK: list[asyncio.Task[None]] = []


def run_pass(coroutine: Any) -> set[str]:
    """Run one pass in its own event loop, without waiting for tasks that would not stop.

    :param coroutine: the pass.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        if not STUCK:
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def watch_with_triggers(ids: list[str], interval: float, seconds: float) -> set[str]:
    """Run one event trigger per connection for ``seconds``; the connections an event was fired for.

    :param ids: the connection ids.
    :param interval: the triggers' poll interval.
    :param seconds: how long to watch.
    """
    from fivetran_provider.event_triggers import FivetranSyncEventTrigger

    fired: set[str] = set()

    async def one(connection_id: str) -> None:
        trigger = FivetranSyncEventTrigger(connection_id=connection_id, poll_interval=interval)
        async for event in trigger.run():
            fired.add(event.payload["connection_id"])

    tasks = [asyncio.ensure_future(one(connection_id)) for connection_id in ids]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    # A triggerer cancels a trigger the same way when its DAG stops watching the asset.
    _, still_running = await asyncio.wait(tasks, timeout=STOP_WITHIN)
    STUCK.extend(task for task in still_running)
    return fired


async def watch_plainly(ids: list[str], interval: float, seconds: float, url: str, auth: tuple[str, str]) -> set[str]:
    """The baseline: one read per connection and interval through one shared client.

    :param ids: the connection ids.
    :param interval: seconds between two reads of a connection.
    :param seconds: how long to watch.
    :param url: the simulator's base URL.
    :param auth: API key and secret.
    """
    import httpx

    finished: set[str] = set()
    async with httpx.AsyncClient(base_url=url, auth=auth, headers={"Accept": "application/json;version=2"}) as client:

        async def one(connection_id: str) -> None:
            while True:
                answer = await client.get(f"/v1/connections/{connection_id}")
                data = answer.json()["data"]
                if data.get("status", {}).get("sync_state") != "syncing" and data.get("succeeded_at"):
                    finished.add(connection_id)
                await asyncio.sleep(interval)

        tasks = [asyncio.ensure_future(one(connection_id)) for connection_id in ids]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return finished


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triggers", type=int, default=200)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each pass watches")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every answer")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="fivetran-bench-"))
    logging.disable(logging.INFO)  # one line per trigger and event; keep the report readable
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(
        target=serve_simulator, args=(child, args.triggers, 5.0, 10.0, 1, args.latency, args.groups), daemon=True
    )
    server.start()
    info = parent.recv()
    os.environ["AIRFLOW_CONN_FIVETRAN_DEFAULT"] = json.dumps(
        {"conn_type": "fivetran", "host": info["url"], "login": info["key"], "password": info["secret"]}
    )
    print(
        f"{args.triggers} connections over {args.groups} groups, each running one sync of 5-10 s; "
        f"poll interval {args.interval:g} s, {args.seconds:g} s per pass, {args.latency * 1000:g} ms per answer"
    )
    results: dict[str, dict[str, Any]] = {}
    for name in ("event_triggers", "baseline"):
        parent.send(("start", args.triggers))
        parent.recv()
        if name == "baseline":
            auth = (info["key"], info["secret"])
            seen = run_pass(watch_plainly(info["ids"], args.interval, args.seconds, info["url"], auth))
        else:
            seen = run_pass(watch_with_triggers(info["ids"], args.interval, args.seconds))
        parent.send("stats")
        stats = parent.recv()
        sent = stats["list"] + stats["single"] + stats["other"]
        results[name] = {
            "requests": sent,
            "requests_per_minute": round(sent / args.seconds * 60, 1),
            "completions_seen": len(seen),
            "statuses": stats["statuses"],
        }
        if name == "event_triggers":
            results[name]["not_stopped_within_10s_of_cancel"] = len(STUCK)
        print(f"{name}: {json.dumps(results[name])}")
    parent.send("stop")
    server.join(timeout=10)
    ours, base = results["event_triggers"], results["baseline"]
    ratio = ours["requests_per_minute"] / base["requests_per_minute"] if base["requests_per_minute"] else None
    print(
        f"requests per minute: event triggers {ours['requests_per_minute']}, one read per connection "
        f"{base['requests_per_minute']} ({ratio:.1%} of it); completions reported "
        f"{ours['completions_seen']}/{args.triggers}"
        if ratio is not None
        else "baseline sent nothing"
    )
    if args.json:
        figures = {
            "benchmark": f"{args.triggers} event triggers (asset watchers) over {args.groups} groups",
            "measure": "requests per minute",
            "ours": ours["requests_per_minute"],
            "baseline": base["requests_per_minute"],
            "baseline_is": "one GET per connection and interval, shared httpx client",
            "completions_reported": ours["completions_seen"],
            "not_stopped_within_10s_of_cancel": len(STUCK),
            "passes": results,
        }
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=1)
    if STUCK:
        print(f"{len(STUCK)} triggers had not stopped {STOP_WITHIN:g} s after being cancelled")
        sys.stdout.flush()
        os._exit(0)  # their worker threads would keep the interpreter from exiting
    return 0


if __name__ == "__main__":
    sys.exit(main())

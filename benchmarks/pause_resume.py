"""Benchmark: pause and resume 200 connections of one group, with 50 ms of latency per request.

Runs the same job twice against the local Fivetran simulator:

* through ``PauseConnectionOperator(group_id=...)`` and ``ResumeConnectionOperator(restore_from=...)``
  (one HTTP session, ``max_parallel`` connections at a time, only what differs is sent);
* the way existing providers do it: one ``requests.request`` per call, a GET then a PATCH for each
  connection, one after the other.

It prints both wall times, their ratio and the requests each approach sent per connection. It
is a measurement, not a test: nothing here asserts on timings. ``execute()`` is called directly,
so Airflow warns once per operator that it runs outside the task runner; that is expected.

    .venv/bin/python benchmarks/pause_resume.py [--connections 200] [--latency 0.05] [--max-parallel 16]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from typing import Any

# Airflow reads its configuration on first import: use a throwaway home and no example DAGs.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="fivetran-benchmark-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

import requests

from fivetran_provider.testing import FivetranSimulator

GROUP = "benchmark_group"


class TaskInstanceStandIn:
    """The operators' ``execute()`` is called here without Airflow's task runner, so there is no task
    instance. This stand-in keeps XCom values in a dict, which is all the operators use of it: the
    pause task's record is what the resume task reads through ``xcom_pull``.
    """

    def __init__(self) -> None:
        self.xcoms: dict[tuple[str, str], Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[("<running task>", key)] = value

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_ids, key))


def per_connection(sim: FivetranSimulator) -> dict[str, Counter[str]]:
    """Requests per connection id, by method (the group listing is counted separately)."""
    counts: dict[str, Counter[str]] = {}
    for recorded in sim.requests:
        parts = recorded.path.split("/")
        if len(parts) == 4 and parts[2] == "connections":
            counts.setdefault(parts[3], Counter())[recorded.method] += 1
    return counts


def describe_counts(sim: FivetranSimulator) -> str:
    """How many requests were sent, and how many GETs and PATCHes each connection received."""
    counts = per_connection(sim)
    listings = len(sim.requests_for("GET", "/v1/connections"))
    shapes = Counter((count["GET"], count["PATCH"]) for count in counts.values())
    per = "; ".join(f"{n} connections: {gets} GET + {patches} PATCH" for (gets, patches), n in sorted(shapes.items()))
    return f"{len(sim.requests)} requests ({listings} group listing; {per})"


def with_operators(sim: FivetranSimulator, max_parallel: int) -> tuple[float, list[str]]:
    from fivetran_provider.operators import PauseConnectionOperator, ResumeConnectionOperator

    os.environ["AIRFLOW_CONN_FIVETRAN_DEFAULT"] = sim.airflow_connection_json()
    ti = TaskInstanceStandIn()
    pause = PauseConnectionOperator(task_id="pause", group_id=GROUP, max_parallel=max_parallel)
    resume = ResumeConnectionOperator(task_id="resume", restore_from="pause", max_parallel=max_parallel)
    notes = []
    started = time.perf_counter()
    record = pause.execute({"ti": ti})  # type: ignore[arg-type]
    ti.xcoms[("pause", "return_value")] = json.loads(json.dumps(record))
    paused_at = time.perf_counter()
    notes.append(f"  pause:  {paused_at - started:6.2f} s, {describe_counts(sim)}")
    sim.clear_requests()
    resume.execute({"ti": ti})  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    notes.append(f"  resume: {elapsed - (paused_at - started):6.2f} s, {describe_counts(sim)}")
    return elapsed, notes


def sequential_baseline(sim: FivetranSimulator) -> tuple[float, list[str]]:
    auth = (sim.api_key, sim.api_secret)
    headers = {"Accept": "application/json;version=2"}
    notes = []

    def set_paused(paused: bool) -> None:
        listing = requests.request(
            "GET", f"{sim.url}/v1/connections", params={"group_id": GROUP, "limit": 1000}, auth=auth, headers=headers
        )
        for item in listing.json()["data"]["items"]:
            url = f"{sim.url}/v1/connections/{item['id']}"
            current = requests.request("GET", url, auth=auth, headers=headers, timeout=30).json()["data"]
            if current["paused"] != paused:
                requests.request("PATCH", url, json={"paused": paused}, auth=auth, headers=headers, timeout=30)

    started = time.perf_counter()
    set_paused(True)
    paused_at = time.perf_counter()
    notes.append(f"  pause:  {paused_at - started:6.2f} s, {describe_counts(sim)}")
    sim.clear_requests()
    set_paused(False)
    elapsed = time.perf_counter() - started
    notes.append(f"  resume: {elapsed - (paused_at - started):6.2f} s, {describe_counts(sim)}")
    return elapsed, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--max-parallel", type=int, default=16)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the operators log one line per connection; keep the report readable

    results: dict[str, tuple[float, list[str]]] = {}
    for name, job in (
        ("operators", lambda sim: with_operators(sim, args.max_parallel)),
        ("sequential", sequential_baseline),
    ):
        with FivetranSimulator() as sim:
            sim.add_connections(args.connections, group_id=GROUP)
            sim.faults.latency(args.latency)
            results[name] = job(sim)
            assert not any(item["paused"] for item in sim.state.list_connections(group_id=GROUP))

    operators, sequential = results["operators"][0], results["sequential"][0]
    print(
        f"Pause + resume of {args.connections} connections, {args.latency * 1000:.0f} ms added per request, "
        f"max_parallel={args.max_parallel}"
    )
    print(f"PauseConnectionOperator + ResumeConnectionOperator: {operators:6.2f} s")
    print("\n".join(results["operators"][1]))
    print(f"Sequential, new request per call (GET then PATCH):  {sequential:6.2f} s")
    print("\n".join(results["sequential"][1]))
    print(f"Speed-up: {sequential / operators:.1f}x")
    if args.json:
        figures = {
            "connections": args.connections,
            "latency_s": args.latency,
            "max_parallel": args.max_parallel,
            "operators_s": round(operators, 2),
            "sequential_s": round(sequential, 2),
        }
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

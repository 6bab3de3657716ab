"""A seeded, randomized fault soak: the provider's safety promises hold whatever fault Fivetran produces.

Each trial runs a real workflow against the simulator over loopback while faults are queued at
random points with the simulator's own fault controls (no timing luck: a fault hits the first
matching request, whenever that comes):

* **pause trials** (most of them): ``PauseConnectionOperator`` over 8 of 10 connections (some
  already paused) → a migration that fails or succeeds → ``ResumeConnectionOperator`` with
  ``restore_from`` the pause, as a teardown would;
* **update trials**: ``UpdateFivetranConnectionOperator(is_historical_sync=True)``;
* **sync trials**: ``FivetranSyncOperator`` with a historical re-sync or a forced sync.

Fault kinds: refused before applying (5xx or dropped connection), applied then 500, applied then
dropped, applied then a malformed 200 (HTML, truncated JSON, broken gzip, no ``data``, ``data`` as
a list), 429 beyond the retry cap on the verifying read, and a slow-drip answer (one byte every
0.25 s; the call deadline is 1 s, far above a normal answer on loopback).

After every trial the invariants are checked:

1. no connection ends paused unless it was paused before or the error names it;
2. at most one historical sync (or forced sync) per request, and one when the task reported success;
3. no request with a side effect is sent again to a connection without a read of that connection
   in between (unless the earlier one was refused with 429, which Fivetran never applies).

The task instance is a stand-in (``tests.test_operators.TaskInstanceStandIn``): hundreds of DAG
runs on the metadata DB would take far longer than the minute the soak may take, and the
hand-over of the change record through XCom is covered by the DAG tests. The seed comes from
``FIVETRAN_SOAK_SEED`` (default fixed); the totals are printed with it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from fivetran_provider.exceptions import FivetranPartialFailureError
from fivetran_provider.operators import (
    FivetranSyncOperator,
    PauseConnectionOperator,
    ResumeConnectionOperator,
    UpdateFivetranConnectionOperator,
)
from fivetran_provider.testing import FivetranSimulator
from fivetran_provider.testing.faults import is_side_effect
from tests.test_operators import TaskInstanceStandIn, run

SEED = int(os.environ.get("FIVETRAN_SOAK_SEED", "20261202"))
PAUSE_TRIALS = 200
UPDATE_TRIALS = 30
SYNC_TRIALS = 30
CONNECTIONS = 10
PER_TRIAL = 8
SLOW_DRIP_SHARE = 0.03  # each slow drip costs a whole deadline (1 s)

SOAK_SETTINGS: dict[str, Any] = {
    "max_retries": 3,
    "backoff_base": 0.0,
    "backoff_max": 0.0,
    "jitter": False,
    "max_retry_after": 1,
    "read_timeout": 10,
    "call_deadline": 1,
}

MALFORMED = ("html", "truncated", "bad_gzip", "no_data", "data_list")


@dataclass
class Totals:
    trials: Counter[str] = field(default_factory=Counter)
    faults_queued: Counter[str] = field(default_factory=Counter)
    faults_hit: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)


def _queue_fault(sim: FivetranSimulator, rng: random.Random, connection_id: str, method: str, totals: Totals) -> Any:
    """Queue one random fault for requests to one connection; return the queued fault(s)."""
    prefix = f"/v1/connections/{connection_id}"
    action = prefix if method == "PATCH" else None
    kinds = ["before_apply", "applied_then_500", "applied_then_drop", "applied_then_malformed", "verify_429"]
    kind = "slow_drip" if rng.random() < SLOW_DRIP_SHARE else rng.choice(kinds)
    totals.faults_queued[kind] += 1
    faults = sim.faults
    if kind == "before_apply":
        if rng.random() < 0.5:
            return kind, [
                faults.server_error(
                    count=1, status=rng.choice([500, 502, 503]), method=method, path_prefix=action or prefix
                )
            ]
        return kind, [faults.drop_connection(count=1, method=method, path_prefix=action or prefix)]
    if kind == "applied_then_500":
        return kind, [faults.apply_then_fail(count=1, status=500, method=method, path_prefix=prefix)]
    if kind == "applied_then_drop":
        return kind, [faults.apply_then_drop(count=1, method=method, path_prefix=prefix)]
    if kind == "applied_then_malformed":
        shapes = MALFORMED if method == "PATCH" else tuple(shape for shape in MALFORMED if shape != "no_data")
        return kind, [faults.apply_then_malformed(count=1, body=rng.choice(shapes), method=method, path_prefix=prefix)]
    if kind == "verify_429":
        refused = rng.choice([1, 2, 4, 12])  # 12: every verifying read and every rollback read is refused
        applied = faults.apply_then_fail(count=1, status=500, method=method, path_prefix=prefix)
        return kind, [applied, faults.rate_limit(count=refused, retry_after=3600, path_prefix=prefix, after=applied)]
    return kind, [faults.slow_drip(0.25, count=1, method=rng.choice([method, "GET"]), path_prefix=prefix)]


def _reads_between_side_effects(sim: FivetranSimulator) -> list[str]:
    """Invariant 3: a side-effect request repeated on a connection needs a read of it in between."""
    problems = []
    last: dict[tuple[str, str], int] = {}  # (method, path) -> status of the last side-effect request
    read_since: dict[str, bool] = {}
    for recorded in sim.requests:
        parts = recorded.path.strip("/").split("/")
        if len(parts) < 3 or parts[1] != "connections":
            continue
        connection = parts[2]
        if recorded.method == "GET" and len(parts) == 3:
            read_since[connection] = True
            continue
        if not is_side_effect(recorded.method, recorded.path):
            continue
        key = (recorded.method, recorded.path)
        if key in last and last[key] != 429 and not read_since.get(connection, False):
            problems.append(f"{recorded.method} {recorded.path} re-sent without a read in between")
        last[key] = recorded.status
        read_since[connection] = False
    return problems


def _hits(queued: list[Any]) -> bool:
    return any(fault.hits > 0 for fault in queued)


def _pause_trial(sim: FivetranSimulator, rng: random.Random, ids: list[str], totals: Totals) -> list[str]:
    chosen = rng.sample(ids, PER_TRIAL)
    pre_paused = set(rng.sample(chosen, rng.choice([0, 1, 2])))
    for cid in ids:
        sim.state.update_connection(cid, {"paused": cid in pre_paused}, run_setup_tests=False)
    queued = []
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        queued.append(_queue_fault(sim, rng, rng.choice(chosen), "PATCH", totals))
    sim.clear_requests()
    problems: list[str] = []
    ti = TaskInstanceStandIn()

    def paused_unnamed(named: set[str]) -> list[str]:
        return [cid for cid in chosen if sim.connection(cid)["paused"] and cid not in pre_paused and cid not in named]

    pause = PauseConnectionOperator(task_id="pause", connection_ids=chosen, max_parallel=rng.choice([1, 4, 8]))
    named: set[str] = set()
    try:
        record = run(pause, ti)
        totals.outcomes["pause ok"] += 1
        paused_by_task = set(record["connection_ids"])
        if paused_by_task & pre_paused:
            problems.append(
                f"pause recorded connections that were paused before: {sorted(paused_by_task & pre_paused)}"
            )
        named |= paused_by_task
    except FivetranPartialFailureError as error:
        totals.outcomes["pause failed"] += 1
        named |= set(error.changed) | set(getattr(error, "unverified", ()))
        for cid in named:
            if cid not in str(error):
                problems.append(f"pause error lists {cid} but its message does not name it")
        if "nothing is left paused" in str(error) and (error.changed or getattr(error, "unverified", ())):
            problems.append("pause error says nothing is left paused but lists connections")
        left = paused_unnamed(named)
        if left:
            problems.append(f"after a failed pause, paused but not named: {left}: {error}")
    except Exception as error:  # any exception fails the task, typed or not
        totals.outcomes["pause failed (other)"] += 1
        left = paused_unnamed(set())
        if left:
            problems.append(f"after {type(error).__name__}, paused but not named: {left}")
    totals.outcomes["migration failed" if rng.random() < 0.5 else "migration ok"] += 1
    # The resume runs as a teardown whatever the migration did.
    resume = ResumeConnectionOperator(task_id="resume", restore_from="pause", max_parallel=rng.choice([1, 4, 8]))
    resume_named: set[str] = set()
    try:
        run(resume, ti)
        totals.outcomes["resume ok"] += 1
    except FivetranPartialFailureError as error:
        totals.outcomes["resume failed"] += 1
        resume_named = set(error.failures) | set(getattr(error, "unverified", ()))
        for cid in resume_named:
            if cid not in str(error):
                problems.append(f"resume error lists {cid} but its message does not name it")
    except Exception:
        totals.outcomes["resume failed (other)"] += 1
    # A pause that failed left no record: what it could not undo is named in its own error.
    pause_named = named if ti.xcoms.get(("pause", "return_value")) is None else set()
    left = paused_unnamed(pause_named | resume_named)
    if left:
        problems.append(f"after the trial, paused but not named by any error: {left}")
    problems += _reads_between_side_effects(sim)
    for kind, faults in queued:
        if _hits(faults):
            totals.faults_hit[kind] += 1
    return problems


def _one_connection_trial(
    sim: FivetranSimulator, rng: random.Random, index: int, kind: str, totals: Totals
) -> list[str]:
    connection_id = f"{kind}_{index}"
    sim.add_connection(connection_id, service="postgres")
    sim.default_sync_duration = rng.choice([0.0, 0.0, 30.0])  # over before the check, or still running
    method = "PATCH" if kind == "update" else "POST"
    queued = [_queue_fault(sim, rng, connection_id, method, totals) for _ in range(rng.choice([1, 1, 2]))]
    sim.clear_requests()
    problems: list[str] = []
    resync = kind == "resync"
    if kind == "update":
        operator: Any = UpdateFivetranConnectionOperator(
            task_id="update", connection_id=connection_id, is_historical_sync=True, wait_for_completion=False
        )
    else:
        operator = FivetranSyncOperator(
            task_id="sync", connection_id=connection_id, resync=resync, force=not resync, wait_for_completion=False
        )
    try:
        run(operator)
        succeeded = True
        totals.outcomes[f"{kind} ok"] += 1
    except Exception:
        succeeded = False
        totals.outcomes[f"{kind} failed"] += 1
    history = sim.state.sync_history(connection_id)
    started = [item for item in history if item["historical"]] if kind != "sync" else history
    if len(started) > 1:
        problems.append(f"{kind}: {len(started)} syncs started for one request")
    if succeeded and len(started) != 1:
        problems.append(f"{kind}: reported success but {len(started)} syncs started")
    problems += _reads_between_side_effects(sim)
    for fault_kind, faults in queued:
        if _hits(faults):
            totals.faults_hit[fault_kind] += 1
    return problems


def test_randomized_fault_soak(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", simulator.airflow_connection_json(extra=SOAK_SETTINGS))
    rng = random.Random(SEED)
    totals = Totals()
    ids = [simulator.add_connection(f"soak_{index}", group_id="soak")["id"] for index in range(CONNECTIONS)]
    started = time.monotonic()
    plan = ["pause"] * PAUSE_TRIALS + ["update"] * UPDATE_TRIALS + ["resync", "sync"] * (SYNC_TRIALS // 2)
    rng.shuffle(plan)
    for index, kind in enumerate(plan):
        simulator.faults.clear()
        if kind == "pause":
            problems = _pause_trial(simulator, rng, ids, totals)
        else:
            problems = _one_connection_trial(simulator, rng, index, kind, totals)
        totals.trials[kind] += 1
        totals.violations += [f"trial {index} ({kind}): {problem}" for problem in problems]
    simulator.faults.clear()
    seconds = time.monotonic() - started
    summary = (
        f"fault soak seed={SEED}: trials={sum(totals.trials.values())} {dict(totals.trials)}; "
        f"faults queued={sum(totals.faults_queued.values())} {dict(totals.faults_queued)}; "
        f"faults hit={sum(totals.faults_hit.values())} {dict(totals.faults_hit)}; "
        f"outcomes={dict(totals.outcomes)}; violations={len(totals.violations)}; seconds={seconds:.1f}"
    )
    with capsys.disabled():  # shown in every run, passing or not
        print("\n" + summary)
    assert totals.trials["pause"] >= 200
    assert all(totals.faults_hit[kind] > 0 for kind in totals.faults_queued), summary
    assert not totals.violations, summary + "\n" + "\n".join(totals.violations[:20])


# ------------------------------------------------------------------ lost requests during a running sync

LOST_TRIALS = 150
LOST_KINDS = ("forced", "historical_resync", "historical_patch")


def _lost_request_trial(sim: FivetranSimulator, rng: random.Random, index: int, kind: str, totals: Totals) -> list[str]:
    """A forced or historical sync asked for while a scheduled sync runs, its request lost or its answer lost.

    The running sync may finish while the client backs off (as a scheduled sync does). A task that
    reports success must have evidence that *its* request took effect: a restart (forced), or a
    historical sync pending, running or run (historical); never two historical syncs.
    """
    connection_id = f"lost_{kind}_{index}"
    sim.add_connection(connection_id, service="postgres", succeeded_at="2026-01-01T00:00:00Z")
    sim.default_sync_duration = 600.0
    sim.resync_finish_window = 3600.0
    sim.state.trigger_sync(connection_id, force=False)  # the scheduled sync, already running
    method = "PATCH" if kind == "historical_patch" else "POST"
    path = f"/v1/connections/{connection_id}" + {"forced": "/sync", "historical_resync": "/resync"}.get(kind, "")
    fault = rng.choice(["lost_500", "lost_drop", "lost_500", "lost_drop", "applied_then_500", "applied_then_drop"])
    totals.faults_queued[f"{kind}:{fault}"] += 1
    faults = sim.faults
    if fault == "lost_500":
        queued = faults.server_error(
            count=rng.choice([1, 1, 2]), status=rng.choice([500, 502, 503]), method=method, path_prefix=path
        )
    elif fault == "lost_drop":
        queued = faults.drop_connection(count=rng.choice([1, 1, 2]), method=method, path_prefix=path)
    elif fault == "applied_then_500":
        queued = faults.apply_then_fail(count=1, status=500, method=method, path_prefix=path)
    else:
        queued = faults.apply_then_drop(count=1, method=method, path_prefix=path)
    if rng.random() < 0.6:  # the scheduled sync finishes during the backoff

        def finish(seen_method: str, target: str, status: int) -> None:
            if seen_method == method and target.split("?")[0] == path and status != 200:
                sim.answer_listener = None
                if sim.connection(connection_id)["status"]["sync_state"] == "syncing":
                    sim.finish_sync(connection_id, "success")

        sim.answer_listener = finish
    sim.clear_requests()
    if kind == "historical_patch":
        operator: Any = UpdateFivetranConnectionOperator(
            task_id="update", connection_id=connection_id, is_historical_sync=True, wait_for_completion=False
        )
    else:
        operator = FivetranSyncOperator(
            task_id="sync",
            connection_id=connection_id,
            force=kind == "forced",
            resync=kind != "forced",
            wait_for_completion=False,
        )
    try:
        run(operator)
        succeeded = True
        totals.outcomes[f"{kind} ok"] += 1
    except Exception as error:
        succeeded = False
        totals.outcomes[f"{kind} failed: {type(error).__name__}"] += 1
    sim.answer_listener = None
    if queued.hits:
        totals.faults_hit[f"{kind}:{fault}"] += 1
    problems = _reads_between_side_effects(sim)
    history = sim.sync_history(connection_id)
    if kind == "forced":
        # history[0] is the scheduled sync; a restart (or, once it had finished, a new sync) follows it.
        if succeeded and len(history) < 2:
            problems.append(f"forced ({fault}): reported success but no sync started after the request")
        return problems
    pending = sim.connection(connection_id)["status"]["is_historical_sync"] is True
    historical = [item for item in history if item["historical"]]
    if len(historical) > 1:
        problems.append(f"{kind} ({fault}): {len(historical)} historical syncs for one request")
    if succeeded and not historical and not pending:
        problems.append(f"{kind} ({fault}): reported success but no historical sync was applied")
    return problems


def test_lost_forced_and_historical_syncs_during_scheduled_syncs(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", simulator.airflow_connection_json(extra=SOAK_SETTINGS))
    rng = random.Random(SEED + 1)
    totals = Totals()
    started = time.monotonic()
    plan = [LOST_KINDS[index % len(LOST_KINDS)] for index in range(LOST_TRIALS)]
    rng.shuffle(plan)
    for index, kind in enumerate(plan):
        simulator.faults.clear()
        problems = _lost_request_trial(simulator, rng, index, kind, totals)
        totals.trials[kind] += 1
        totals.violations += [f"trial {index} ({kind}): {problem}" for problem in problems]
    simulator.faults.clear()
    seconds = time.monotonic() - started
    summary = (
        f"lost-request soak seed={SEED + 1}: trials={sum(totals.trials.values())} {dict(totals.trials)}; "
        f"faults hit={sum(totals.faults_hit.values())}; outcomes={dict(totals.outcomes)}; "
        f"violations={len(totals.violations)}; seconds={seconds:.1f}"
    )
    with capsys.disabled():
        print("\n" + summary)
    assert sum(totals.faults_hit.values()) >= LOST_TRIALS * 0.9, summary
    assert not totals.violations, summary + "\n" + "\n".join(totals.violations[:20])


# ------------------------------------------------------------------ the edges: holds, cursors, headers
#
# A second soak over the promises at the edges, kept apart from the workflow soak above:
#
# * **hold trials**: a wait (blocking in a worker, or shared triggers in one event loop) whose
#   first read is answered 429 with a random ``Retry-After`` (long, short, ``inf``, ``1e308``, a
#   date in 2999, garbage). Invariants: the wait ends with an outcome no later than its deadline
#   plus one final read (a generous bound, far below any hold), and no hold outlasts ``max_retry_after``;
# * **cursor trials**: a listing (sync or async) whose ``next_cursor`` repeats or never ends, for
#   a random number of pages. Invariants: at most ``MAX_PAGES`` requests, and the listing either
#   ends normally or with ``FivetranPagingError``;
# * **header trials**: an answer (200 or 429) with a random hostile ``X-Rate-Limit-Remaining``,
#   ``X-Rate-Limit`` or ``Retry-After``. Invariants: only typed errors, the recorded budget is a
#   bounded whole number, and no hold outlasts ``max_retry_after``.

EDGE_HOLD_TRIALS = 40
EDGE_CURSOR_TRIALS = 60
EDGE_HEADER_TRIALS = 100
EDGE_MAX_RETRY_AFTER = 5.0
EDGE_BASELINE = "2026-01-01T00:00:00Z"
EDGE_SETTINGS: dict[str, Any] = {**SOAK_SETTINGS, "max_retry_after": EDGE_MAX_RETRY_AFTER}
HOSTILE_RETRY_AFTER = (
    "3600",
    "5",
    "0",
    "-1",
    "inf",
    "1e308",
    "NaN",
    "Fri, 01 Jan 2999 00:00:00 GMT",
    "\u00b2",
    "9" * 400,
)


def _hostile_number(rng: random.Random) -> str:
    """Text a proxy could put in a numeric header (latin-1, as HTTP headers are)."""
    shapes = [
        lambda: "".join(rng.choice("0123456789\u00b2\u00b3\u00b9\u00bd") for _ in range(rng.randint(1, 8))),
        lambda: "9" * rng.choice([13, 400, 5000]),
        lambda: rng.choice(["inf", "-inf", "NaN", "1e308", "-5", "0x10", " ", "", "1_000", "+7", "3.5"]),
        lambda: str(rng.randint(0, 10**12)),
    ]
    return rng.choice(shapes)()


def _hold_trial(sim: FivetranSimulator, rng: random.Random, index: int, totals: Totals) -> list[str]:
    from fivetran_provider.hooks import FivetranHook
    from fivetran_provider.operators.sync import wait_blocking
    from fivetran_provider.retry import FINAL_READ_SECONDS
    from fivetran_provider.sync_status import SyncWaiter, epoch_to_iso
    from fivetran_provider.triggers import FivetranSyncTrigger

    group = f"hold_{index}"
    ids = [
        sim.add_connection(f"{group}_{n}", group_id=group, succeeded_at="2026-01-01T00:00:00Z")["id"] for n in range(3)
    ]
    starter = FivetranHook()
    for cid in ids:
        sim.plan_syncs(cid, rng.choice(["success", "failure"]), duration=rng.choice([0.0, 3600.0]))
        starter.start_sync(cid)
    starter.close()
    value = rng.choice(HOSTILE_RETRY_AFTER)
    sim.faults.rate_limit(count=rng.choice([1, 3]), retry_after=value, method="GET")
    totals.faults_queued["retry_after_hold"] += 1
    wait = rng.choice([0.2, 0.4])
    bound = wait + FINAL_READ_SECONDS + 1.0  # generous: far below every hold asked for
    started = time.monotonic()
    problems: list[str] = []
    if rng.random() < 0.5:
        hook = FivetranHook()
        waiter = SyncWaiter(
            ids[0],
            baseline="2026-01-01T00:00:00Z",
            poll_interval=0.05,
            deadline=time.time() + wait,
            started_at=time.time(),
        )
        events = [wait_blocking(hook, waiter, _QUIET)]
        budget = hook.settings.budget
        hook.close()
    else:
        deadline = epoch_to_iso(time.time() + wait)

        async def shared() -> list[dict[str, Any]]:
            async def one(cid: str) -> dict[str, Any]:
                trigger = FivetranSyncTrigger(
                    cid, baseline=EDGE_BASELINE, poll_interval=0.05, deadline=deadline, group_id=group
                )
                async for event in trigger.run():
                    return dict(event.payload)
                return {"status": "no event"}

            return await asyncio.wait_for(asyncio.gather(*(one(cid) for cid in ids)), 60)

        events = asyncio.run(shared())
        budget = FivetranHook().settings.budget
    elapsed = time.monotonic() - started
    if elapsed > bound:
        problems.append(f"hold {value!r}: the wait took {elapsed:.1f} s for a {wait} s deadline")
    if any(event.get("status") not in ("success", "failed", "timeout") for event in events):
        problems.append(f"hold {value!r}: outcomes {[event.get('status') for event in events]}")
    if budget.blocked_until > time.time() + EDGE_MAX_RETRY_AFTER:
        problems.append(f"hold {value!r}: polls held {budget.blocked_until - time.time():.0f} s, above the cap")
    budget.blocked_until = 0.0  # the next trial starts unheld
    if sim.faults.pending == [] or any(f.hits for f in sim.faults.pending):
        totals.faults_hit["retry_after_hold"] += 1
    totals.outcomes[f"hold {'/'.join(sorted({e.get('status', '?') for e in events}))}"] += 1
    return problems


def _cursor_trial(sim: FivetranSimulator, rng: random.Random, index: int, totals: Totals) -> list[str]:
    from fivetran_provider.exceptions import FivetranError, FivetranPagingError
    from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook
    from fivetran_provider.hooks.core import MAX_PAGES

    group = f"cursor_{index}"
    sim.add_connections(rng.choice([1, 3]), group_id=group)
    mode = rng.choice(["repeat", "endless"])
    fault = sim.faults.broken_cursor(mode, count=rng.choice([1, 5, 50, None]))
    totals.faults_queued[f"cursor_{mode}"] += 1
    sim.clear_requests()
    problems: list[str] = []
    try:
        if rng.random() < 0.5:
            hook = FivetranHook()
            hook.list_connections(group_id=group)
            hook.close()
        else:

            async def listing() -> Any:
                hook = FivetranAsyncHook()
                try:
                    return await hook.alist_group_connections(group)
                finally:
                    await hook.aclose()

            asyncio.run(listing())
        totals.outcomes["cursor listed"] += 1
    except FivetranPagingError:
        totals.outcomes["cursor paging error"] += 1
    except FivetranError as error:
        problems.append(f"cursor {mode}: {type(error).__name__}: {error}")
    sent = len(sim.requests_for("GET", "/v1/connections"))
    if sent > MAX_PAGES:
        problems.append(f"cursor {mode}: {sent} requests for one listing")
    if fault.hits:
        totals.faults_hit[f"cursor_{mode}"] += 1
    sim.faults.clear()
    return problems


def _header_trial(sim: FivetranSimulator, rng: random.Random, index: int, totals: Totals) -> list[str]:
    from fivetran_provider.exceptions import FivetranError
    from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook

    connection_id = f"headers_{index}"
    sim.add_connection(connection_id)
    header = rng.choice(["X-Rate-Limit-Remaining", "X-Rate-Limit", "Retry-After"])
    value = _hostile_number(rng)
    if rng.random() < 0.3:
        # Only the hostile value is held for (within the cap); the plain 429 asks for no wait.
        sim.faults.rate_limit(count=1, retry_after=value if header == "Retry-After" else 0, method="GET")
    fault = sim.faults.with_headers({header: value}, count=1, method="GET")
    totals.faults_queued["hostile_header"] += 1
    problems: list[str] = []
    hook = FivetranHook()
    try:
        if rng.random() < 0.5:
            hook.get_connection_details(connection_id)
        else:

            async def read() -> Any:
                other = FivetranAsyncHook()
                try:
                    return await other.aget_connection_details(connection_id)
                finally:
                    await other.aclose()

            asyncio.run(read())
        totals.outcomes["header read"] += 1
    except FivetranError:
        totals.outcomes["header typed error"] += 1
    except Exception as error:  # the finding: raw ValueError from a header
        problems.append(f"{header}: {value[:20]!r}: {type(error).__name__}")
    budget = hook.settings.budget
    for number in (budget.remaining, budget.limit):
        if number is not None and not (isinstance(number, int) and 0 <= number < 10**12):
            problems.append(f"{header}: {value[:20]!r} recorded as {number!r}")
    if budget.blocked_until > time.time() + EDGE_MAX_RETRY_AFTER:
        problems.append(f"{header}: {value[:20]!r} held polls {budget.blocked_until - time.time():.0f} s")
    budget.blocked_until = 0.0
    hook.close()
    if fault.hits:
        totals.faults_hit["hostile_header"] += 1
    sim.faults.clear()
    return problems


_QUIET = logging.getLogger("tests.soak")


def test_edge_fault_soak(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fivetran_provider import budget as budget_module

    budget_module.forget_budgets()
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", simulator.airflow_connection_json(extra=EDGE_SETTINGS))
    rng = random.Random(SEED + 1)
    totals = Totals()
    plan = ["hold"] * EDGE_HOLD_TRIALS + ["cursor"] * EDGE_CURSOR_TRIALS + ["header"] * EDGE_HEADER_TRIALS
    rng.shuffle(plan)
    trial = {"hold": _hold_trial, "cursor": _cursor_trial, "header": _header_trial}
    started = time.monotonic()
    for index, kind in enumerate(plan):
        simulator.faults.clear()
        problems = trial[kind](simulator, rng, index, totals)
        totals.trials[kind] += 1
        totals.violations += [f"trial {index} ({kind}): {problem}" for problem in problems]
    simulator.faults.clear()
    budget_module.forget_budgets()
    seconds = time.monotonic() - started
    summary = (
        f"edge fault soak seed={SEED + 1}: trials={sum(totals.trials.values())} {dict(totals.trials)}; "
        f"faults queued={sum(totals.faults_queued.values())} {dict(totals.faults_queued)}; "
        f"faults hit={sum(totals.faults_hit.values())} {dict(totals.faults_hit)}; "
        f"outcomes={dict(totals.outcomes)}; violations={len(totals.violations)}; seconds={seconds:.1f}"
    )
    with capsys.disabled():
        print("\n" + summary)
    assert sum(totals.trials.values()) >= 200  # with the workflow soak above: over 400 trials
    assert all(totals.faults_hit[kind] > 0 for kind in totals.faults_queued), summary
    assert not totals.violations, summary + "\n" + "\n".join(totals.violations[:20])

#!/usr/bin/env python3
"""The provider at work against the built-in Fivetran simulator (run it with ``python3 dev.py demo``).

1. Starts a local Fivetran API simulator with a demo account (two groups, five connections).
2. Uses ``FivetranHook`` directly: pauses a connection, changes its schedule, resumes it.
3. Prepares a throwaway Airflow home (SQLite, ``airflow db migrate``) and runs every example DAG
   with ``airflow dags test`` against the simulator. Each run's output goes to a log file in that
   home and is shown only if the run fails.
4. Prints what each DAG changed on which connection (from the PATCH requests the simulator
   received) and whether the connections ended as they should: back as they were for the DAGs
   that restore, changed as asked for the DAG that makes a lasting change.

Exits non-zero if a DAG run fails or a connection does not end as it should.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
EXAMPLE_DAGS = ROOT / "example_dags"
SETTINGS = ("paused", "sync_frequency", "daily_sync_time", "schedule_type", "data_delay_sensitivity", "config")
HOME = Path(tempfile.mkdtemp(prefix="fivetran-demo-airflow-"))

# Airflow reads its configuration when first imported (the hook below imports it).
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow.db'}",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
}
os.environ.update(AIRFLOW_ENV)


@dataclass
class Scenario:
    """One example DAG run and what the connections it touches must look like afterwards.

    :param dag_id: the example DAG.
    :param conf: the run's conf (empty: the DAG's defaults, which match the demo account).
    :param expect: ``restored`` (every touched connection ends as it started) or a mapping of
        the settings each changed connection must end with.
    :param story: one line saying what the DAG does.
    :param fault: a fault to inject first, as ``(method, connection id, HTTP status)``; the run
        is then expected to fail.
    :param sync_seconds: ``(connection id, seconds)``: how long the simulator's next sync of that
        connection takes, so the run visibly waits for it.
    """

    dag_id: str
    conf: dict[str, Any]
    expect: str | dict[str, Any]
    story: str
    fault: tuple[str, str, int] | None = None
    sync_seconds: tuple[str, float] | None = None
    ok: bool = False
    seconds: float = 0.0
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.dag_id + (" (fault)" if self.fault else "")


SCENARIOS = [
    Scenario(
        "fivetran_pause_during_migration",
        {},
        "restored",
        "pause group tidal_lantern, migrate, resume what was paused (teardown); brisk_heron was paused before",
    ),
    Scenario(
        "fivetran_pause_during_migration",
        {"group_id": "amber_meadow"},
        "restored",
        "pausing silver_comet is refused (403): the run fails and the pause is rolled back, nothing left paused",
        fault=("PATCH", "silver_comet", 403),
    ),
    Scenario(
        "fivetran_historical_resync_before_backfill",
        {"full_refresh": True, "poll_interval_seconds": 1},
        "restored",
        "start a historical re-sync of mellow_quartz (an action: no setting changes), wait for it "
        "in the triggerer (the simulator's sync takes 4 s), then backfill",
        sync_seconds=("mellow_quartz", 4.0),
    ),
    Scenario(
        "fivetran_temporary_schedule_change",
        {},
        "restored",
        "switch quiet_meadow to manual syncs during a pipeline, restore it (teardown)",
    ),
    Scenario(
        "fivetran_update_many_connections",
        {"sync_frequency": 720},
        {"sync_frequency": 720},
        "set sync_frequency=720 on three connections, one mapped task each (a lasting change)",
    ),
    Scenario(
        "fivetran_sync_by_name",
        {},
        "restored",
        "find the connection named pg_prod in group tidal_lantern (one list call) and sync it; "
        "the sync emits an asset event for fivetran://mellow_quartz/task-syncs",
    ),
    Scenario(
        "fivetran_run_when_data_lands",
        {},
        "restored",
        "the DAG scheduled on fivetran://mellow_quartz, run by hand (no triggering event); "
        "its watcher polls from the triggerer, never from a task",
    ),
    Scenario(
        "fivetran_sync_broken_connection",
        {},
        "restored",
        "gentle_harbor's setup is not finished: run its setup tests (they pass), then sync it",
    ),
    Scenario(
        "fivetran_align_group_settings",
        {"group_id": "tidal_lantern", "sync_frequency": 360},
        {"sync_frequency": 360},
        "drift report for group tidal_lantern against sync_frequency=360 (dry run), then send only "
        "what differs, all or nothing (a lasting change)",
    ),
]


def show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def settings_of(sim: Any, connection_id: str) -> dict[str, Any]:
    view = sim.connection(connection_id)
    return {name: view.get(name) for name in SETTINGS}


# ------------------------------------------------------------------------------------ (a) the hook


def hook_walkthrough(sim: Any) -> bool:
    from fivetran_provider import changes, fields
    from fivetran_provider.hooks import FivetranHook

    connection_id = "gentle_harbor"
    print(f"\n(a) FivetranHook on its own: pause {connection_id}, change its schedule, resume it")
    hook = FivetranHook()
    initial = hook.get_connection_details(connection_id)
    steps = [
        ("pause", {"paused": True}),
        ("daily at 06:00", {"sync_frequency": 1440, "daily_sync_time": "06:00"}),
        ("resume", {"paused": False}),
    ]
    try:
        for label, wanted in steps:
            current = hook.get_connection_details(connection_id)
            body = fields.validate_update(wanted, current=current)
            diff = fields.diff_update(current, body)
            hook.update_connection(connection_id, current_state=current, **fields.body_for_changes(diff, body))
            print(f"    {label:<16} {changes.describe(changes.build_entry(connection_id, diff, patched=True))}")
    finally:
        hook.close()
    final = sim.connection(connection_id)
    print(
        f"    now: paused={show(final['paused'])}, sync_frequency={final['sync_frequency']} "
        f"(was {initial['sync_frequency']}), daily_sync_time={show(final.get('daily_sync_time'))}"
    )
    return final["paused"] is False and final["sync_frequency"] == 1440


# ------------------------------------------------------------------------------------ (b) the DAGs


def airflow(args: list[str], log_file: Path, env: dict[str, str], timeout: float = 240) -> int:
    with log_file.open("w") as out:
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            cwd=str(HOME),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        ).returncode


def fail_with_log(what: str, log_file: Path) -> None:
    print(f"\n{what} failed; the end of {log_file}:\n")
    lines = log_file.read_text(errors="replace").splitlines()
    print("\n".join(lines[-60:]))


def touched_connections(sim: Any) -> list[str]:
    ids: list[str] = []
    for recorded in sim.requests:
        parts = recorded.path.split("/")
        found: list[str] = []
        if len(parts) == 4 and parts[2] == "connections":
            found = [parts[3]]
        elif recorded.path == "/v1/connections" and recorded.query.get("group_id"):
            found = [c["id"] for c in sim.state.list_connections(group_id=recorded.query["group_id"])]
        ids.extend(cid for cid in found if cid not in ids and sim.state.has_connection(cid))
    return ids


def judge(scenario: Scenario, sim: Any, before: dict[str, dict[str, Any]]) -> None:
    from fivetran_provider import changes

    scenario.ok = True
    for connection_id in touched_connections(sim):
        requests = sim.requests_for("PATCH", f"/v1/connections/{connection_id}")
        sent = [r.body for r in requests if r.status == 200]
        history: dict[str, list[str]] = {}
        for recorded in requests:
            for name, value in recorded.body.items():
                if name == "run_setup_tests":
                    continue
                start = before[connection_id].get(name) if name in SETTINGS else False
                shown = show(changes.mask_field(name, value))
                if recorded.status != 200:
                    shown += f" (refused: {recorded.status})"
                history.setdefault(name, [show(changes.mask_field(name, start))]).append(shown)
        what = "; ".join(f"{name}: " + " -> ".join(values) for name, values in history.items())
        after = settings_of(sim, connection_id)
        if scenario.expect == "restored":
            good = after == before[connection_id]
            if not sent:
                verdict = "unchanged" if requests else "untouched"
            elif all(name in ("is_historical_sync", "run_setup_tests") for body in sent for name in body):
                runs = [run for run in sim.sync_history(connection_id) if run["historical"]]
                finished = [run for run in runs if run["outcome"] == "success"]
                if finished:
                    took = finished[-1]["ended_at"] - finished[-1]["started_at"]
                    verdict = f"settings unchanged; historical sync finished ({took:.1f} s) before the backfill"
                else:
                    verdict = "NO FINISHED HISTORICAL SYNC"
                good = good and bool(finished)
            else:
                verdict = "restored"
            verdict = verdict if good else "NOT RESTORED"
            if not good:
                differing = [n for n in SETTINGS if after[n] != before[connection_id][n]]
                verdict += " (" + ", ".join(f"{n}={show(after[n])}" for n in differing) + ")"
        else:
            assert isinstance(scenario.expect, dict)
            good = all(after[name] == value for name, value in scenario.expect.items())
            verdict = ("changed as asked" if sent else "already as asked") if good else "NOT AS ASKED"
        scenario.ok = scenario.ok and good
        scenario.rows.append((connection_id, what or untouched_settings(sim, connection_id, after), verdict))


def untouched_settings(sim: Any, connection_id: str, after: dict[str, Any]) -> str:
    """What a DAG did to a connection whose settings it never tried to change (no PATCH)."""
    prefix = f"/v1/connections/{connection_id}/"
    # In the order they were sent: "test and sync" for a setup test before the sync.
    actions = list(
        dict.fromkeys(r.path.removeprefix(prefix) for r in sim.requests_for("POST") if r.path.startswith(prefix))
    )
    done = f"{' and '.join(actions)} requested" if actions else "only read"
    return f"{done}; settings not changed ({'paused' if after['paused'] else 'running'})"


def run_dags(sim: Any) -> None:
    env = {**os.environ, **AIRFLOW_ENV, "AIRFLOW_CONN_FIVETRAN_DEFAULT": sim.airflow_connection_json()}
    print(f"\n(b) Airflow home {HOME}: airflow db migrate ...", end=" ", flush=True)
    started = time.monotonic()
    if airflow(["db", "migrate"], HOME / "db-migrate.log", env) != 0:
        fail_with_log("airflow db migrate", HOME / "db-migrate.log")
        raise SystemExit(1)
    print(f"done ({time.monotonic() - started:.1f} s)")
    for scenario in SCENARIOS:
        ids = [c["id"] for c in sim.state.list_connections()]
        before = {cid: settings_of(sim, cid) for cid in ids}
        sim.clear_requests()
        if scenario.sync_seconds:
            connection_id, seconds = scenario.sync_seconds
            sim.plan_syncs(connection_id, "success", duration=seconds)
        if scenario.fault:
            method, connection_id, status = scenario.fault
            sim.faults.server_error(
                count=1, status=status, code="Forbidden", method=method, path_prefix=f"/v1/connections/{connection_id}"
            )
        conf = ["-c", json.dumps(scenario.conf)] if scenario.conf else []
        injected = (
            f"  [simulator answers {scenario.fault[2]} to {scenario.fault[0]} {scenario.fault[1]}]"
            if scenario.fault
            else ""
        )
        print(
            f"    airflow dags test {scenario.dag_id} {' '.join(conf[1:])}".rstrip() + injected + " ...",
            end=" ",
            flush=True,
        )
        started = time.monotonic()
        log_file = HOME / f"{scenario.dag_id}{'-fault' if scenario.fault else ''}.log"
        code = airflow(["dags", "test", scenario.dag_id, *conf], log_file, env)
        scenario.seconds = time.monotonic() - started
        sim.faults.clear()
        if (code != 0) != bool(scenario.fault):
            print(f"{'FAILED' if code else 'SUCCEEDED, but a failure was expected'} ({scenario.seconds:.1f} s)")
            fail_with_log(f"airflow dags test {scenario.dag_id}", log_file)
            scenario.ok = False
            continue
        print(f"{'failed, as expected' if code else 'ok'} ({scenario.seconds:.1f} s)")
        judge(scenario, sim, before)


# ------------------------------------------------------------------------------------ (c) the summary


def summary() -> bool:
    print("\n(c) What each DAG changed (from the PATCH requests the simulator received) and how it ended\n")
    header = ("DAG", "connection", "sent (value before -> each PATCH)", "end state")
    rows = [
        (s.label, *row)
        for s in SCENARIOS
        for row in (s.rows or [("-", "no API call", "ok") if s.ok else ("-", "run failed", "FAILED")])
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header).rstrip())
    print(line.format(*("-" * w for w in widths)).rstrip())
    previous = None
    for row in rows:
        print(line.format("" if row[0] == previous else row[0], *row[1:]).rstrip())
        previous = row[0]
    print()
    for scenario in SCENARIOS:
        print(f"  {'ok  ' if scenario.ok else 'FAIL'}  {scenario.label}: {scenario.story}")
    return all(s.ok for s in SCENARIOS)


def main() -> int:
    started = time.monotonic()
    from fivetran_provider.testing import FivetranSimulator

    keep = "--keep" in sys.argv[1:]
    try:
        with FivetranSimulator(seed_demo=True) as sim:
            os.environ["AIRFLOW_CONN_FIVETRAN_DEFAULT"] = sim.airflow_connection_json()
            print(f"Fivetran API simulator on {sim.url} with the demo account:")
            for conn in sim.state.list_connections():
                print(
                    f"    {conn['id']:<14} group={conn['group_id']:<13} {conn['service']:<13} "
                    f"paused={show(conn['paused']):<5} sync_frequency={conn['sync_frequency']:<4} "
                    f"schedule_type={conn['schedule_type']}"
                )
            hook_ok = hook_walkthrough(sim)
            run_dags(sim)
            all_ok = summary() and hook_ok
    finally:
        if not keep:
            shutil.rmtree(HOME, ignore_errors=True)
    verdict = "Everything ended as it should" if all_ok else "SOMETHING WENT WRONG"
    print(f"\n{verdict} ({time.monotonic() - started:.0f} s).")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())

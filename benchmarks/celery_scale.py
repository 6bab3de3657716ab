"""Scale-out run on Airflow's distributed engine: CeleryExecutor, Redis, Postgres, two workers, two triggerers.

Everything on 127.0.0.1 in a temporary folder, started and stopped by this script (Postgres and
Redis from Debian's packages, installed when missing): the API server, scheduler, DAG processor,
two Celery workers (``airflow celery worker``), two triggerers, and Fivetran simulators in this
process (so the script decides when syncs end and reads every request they received).

1. **Mass wait**: 200 mapped deferrable ``FivetranSyncOperator`` tasks over 4 groups
   (``live_mass_wait`` of ``scripts/live_dags/``), polling every 10 s. Once all are deferred the
   triggerers poll for two minutes; then one triggerer is stopped and the other takes its
   triggers over; after another minute every sync is ended and the tasks resume on the workers.
2. **Group-wide pause**: the ``fivetran_pause_during_migration`` example pauses the 200
   connections of one group and resumes them.

Reported: requests per minute of each triggerer (told apart by the host name each uses for the
simulator: ``127.0.0.1`` and ``localhost``), before and after the stop; task durations; whether a
task ran twice (try number above 1, a sync started twice) or was lost (a task that never finished,
a connection left paused). Nothing is asserted; figures are printed (and written to
``.artifacts/celery-scale.json``).

Needs a virtualenv with the provider, Airflow, the Celery provider and the Postgres drivers
(Celery below 5.7: ``apache-airflow-providers-celery`` 3.26.0 imports ``retry`` from
``celery.backends.database``, which Celery 5.7.0 no longer has, and its workers exit at start)::

    python3 -m venv /tmp/celery-venv
    /tmp/celery-venv/bin/pip install -e . apache-airflow==3.3.2 apache-airflow-providers-celery "celery<5.7" \\
        psycopg2-binary asyncpg
    /tmp/celery-venv/bin/python benchmarks/celery_scale.py            # as root, or with Postgres/Redis installed
    /tmp/celery-venv/bin/python benchmarks/celery_scale.py --waits 40 # a smaller run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from live_check import (  # noqa: E402 - the live check's building blocks, beside it in scripts/
    MASS_INTERVAL,
    Airflow,
    CheckFailed,
    Postgres,
    Processes,
    SimulatorClient,
    airflow_env,
    free_port,
    in_process_simulator,
    run,
    wait_for,
)

GROUPS = 4
PAUSE_GROUP_SIZE = 200
TRIGGERER_HOSTS = {"triggerer-a": "127.0.0.1", "triggerer-b": "localhost"}


def redis_server() -> str:
    """Debian's Redis server, installed when missing."""
    path = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(path).exists():
        if os.geteuid() != 0:
            raise CheckFailed("Redis is missing: apt-get install redis-server (as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server"]
        if subprocess.run(install, env=env).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
            subprocess.run(install, env=env, check=True)
    return path


def seconds(ti: dict[str, Any], start: str, end: str) -> float | None:
    if not ti.get(start) or not ti.get(end):
        return None
    return (datetime.fromisoformat(ti[end]) - datetime.fromisoformat(ti[start])).total_seconds()


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    return (
        f"min {ordered[0]:.1f} s, median {statistics.median(ordered):.1f} s, "
        f"p90 {ordered[int(0.9 * (len(ordered) - 1))]:.1f} s, max {ordered[-1]:.1f} s (n={len(ordered)})"
    )


def trigger_owners(pg: Postgres) -> dict[str, int]:
    """How many triggers each triggerer (job id) holds, from the metadata DB."""
    sql = "SELECT coalesce(triggerer_id::text, 'unassigned'), count(*) FROM trigger GROUP BY 1"
    psql = [str(pg.bin / "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "airflow", "-Atc", sql]
    done = run(["runuser", "-u", "postgres", "--", *psql] if os.geteuid() == 0 else psql)
    return {owner: int(n) for owner, n in (line.split("|") for line in done.stdout.split())}


def host_of(record: Any) -> str:
    """The host name a request was sent to (its ``Host`` header without the port)."""
    value = next((v for k, v in record.headers.items() if k.lower() == "host"), "")
    return str(value).rsplit(":", 1)[0]


def per_minute(records: list[Any], host: str, start: float, end: float) -> dict[str, float]:
    """Requests per minute a triggerer sent in ``[start, end]``, split into list and other reads."""
    mine = [r for r in records if start <= r.at <= end and host_of(r) == host]
    minutes = max(end - start, 1e-9) / 60
    lists = sum(1 for r in mine if r.path == "/v1/connections")
    return {"list/min": round(lists / minutes, 1), "other/min": round((len(mine) - lists) / minutes, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waits", type=int, default=200, help="mapped deferrable syncs (default: 200)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default: 2)")
    parser.add_argument("--concurrency", type=int, default=4, help="task slots per worker (default: 4)")
    parser.add_argument("--observe", type=float, default=120, help="seconds of waiting before the stop (default: 120)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds any one wait may take (default: 1800)")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"waits": args.waits, "groups": GROUPS, "poll_interval_s": MASS_INTERVAL}
    work = Path(tempfile.mkdtemp(prefix="fivetran-celery-scale-"))
    os.chmod(work, 0o755)
    (work / "logs").mkdir()
    processes = Processes(work / "logs")
    pg = Postgres(work / "postgres", free_port(), work / "logs")
    mass = in_process_simulator([f"live_{i:03d}" for i in range(args.waits)], GROUPS, 24 * 3600.0)
    landing = in_process_simulator(["landing_pad"], 1, 2.0)
    pausing = in_process_simulator([f"pause_{i:03d}" for i in range(PAUSE_GROUP_SIZE)], 1, 2.0)
    ok = False
    began = time.monotonic()
    try:
        redis_port, api_port = free_port(), free_port()
        processes.start(
            "redis",
            [redis_server(), "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
            dict(os.environ),
        )
        pg.start()
        base = f"http://127.0.0.1:{api_port}"
        env = airflow_env(
            work / "airflow-home",
            pg,
            base,
            {"fivetran_default": pausing.url, "fivetran_landing": landing.url, "fivetran_mass": mass.url},
        )
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(args.workers * args.concurrency * 2),
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://postgres@127.0.0.1:{pg.port}/airflow",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(args.concurrency),
            }
        )
        started = time.monotonic()
        run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, timeout=args.timeout)
        airflow = [sys.executable, "-m", "airflow"]
        processes.start("api-server", [*airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port)], env)
        processes.start("scheduler", [*airflow, "scheduler", "--skip-serve-logs"], env)
        processes.start("dag-processor", [*airflow, "dag-processor"], env)
        for name, host in TRIGGERER_HOSTS.items():
            own = {
                **env,
                "AIRFLOW_CONN_FIVETRAN_MASS": SimulatorClient(mass.url.replace("127.0.0.1", host)).connection_json(),
            }
            processes.start(name, [*airflow, "triggerer", "--skip-serve-logs"], own)
        for index in range(args.workers):
            processes.start(
                f"worker-{index + 1}",
                [*airflow, "celery", "worker", "--skip-serve-logs", "--celery-hostname", f"worker{index + 1}@%h"],
                env,
            )
        api = Airflow(base)

        def parsed() -> bool:
            processes.check_alive()
            try:
                known = {dag["dag_id"] for dag in api.get("/dags?limit=100")["dags"]}
            except (OSError, CheckFailed):
                return False
            return {"live_mass_wait", "fivetran_pause_during_migration"} <= known

        wait_for("Airflow to start and parse the DAGs", parsed, args.timeout, every=3)
        figures["start_s"] = round(time.monotonic() - started, 1)
        print(f"up after {figures['start_s']} s", flush=True)

        # 1. The mass wait.
        run_id = api.trigger("live_mass_wait", {"count": args.waits})
        t0 = time.monotonic()

        def waits() -> list[dict[str, Any]]:
            return [ti for ti in api.task_instances("live_mass_wait", run_id) if ti["task_id"] == "sync_and_wait"]

        def all_deferred() -> bool:
            processes.check_alive()
            states = [ti["state"] for ti in waits()]
            print(f"    {sum(s == 'deferred' for s in states)}/{args.waits} deferred", flush=True)
            return len(states) == args.waits and all(state == "deferred" for state in states)

        wait_for(f"all {args.waits} waits deferred", all_deferred, args.timeout, every=10)
        figures["all_deferred_after_s"] = round(time.monotonic() - t0, 1)
        deferred_at = time.time()
        time.sleep(args.observe)
        figures["triggers_per_triggerer_before_stop"] = trigger_owners(pg)
        stopped_at = time.time()
        processes.stop("triggerer-b")
        print("stopped triggerer-b", flush=True)

        def one_owner() -> bool:
            owners = trigger_owners(pg)
            return len(owners) == 1 and "unassigned" not in owners

        wait_for("the remaining triggerer to take every trigger over", one_owner, args.timeout, every=1)
        figures["takeover_s"] = round(time.time() - stopped_at, 1)
        figures["triggers_per_triggerer_after_stop"] = trigger_owners(pg)
        time.sleep(max(60.0, args.observe / 2))
        finished_at = time.time()
        records = mass.requests
        figures["requests_per_minute_both_running"] = {
            name: per_minute(records, host, deferred_at, stopped_at) for name, host in TRIGGERER_HOSTS.items()
        }
        figures["requests_per_minute_after_stop"] = {
            name: per_minute(records, host, stopped_at, finished_at) for name, host in TRIGGERER_HOSTS.items()
        }
        for index in range(args.waits):
            mass.finish_sync(f"live_{index:03d}")
        api.wait_run("live_mass_wait", run_id, args.timeout)
        figures["mass_run_s"] = round(time.monotonic() - t0, 1)
        tis = waits()
        figures["ran_twice"] = sorted(ti["map_index"] for ti in tis if ti["try_number"] != 1)
        figures["lost"] = sorted(ti["map_index"] for ti in tis if ti["state"] != "success")
        starts: dict[str, int] = {}
        for record in mass.requests_for("POST"):
            if record.path.endswith("/sync"):
                starts[record.path] = starts.get(record.path, 0) + 1
        figures["syncs_started"] = len(starts)
        figures["syncs_started_twice"] = sorted(path for path, n in starts.items() if n > 1)
        figures["mass_task_duration"] = spread([d for ti in tis if (d := seconds(ti, "start_date", "end_date"))])
        figures["mass_queued_to_end"] = spread([d for ti in tis if (d := seconds(ti, "queued_when", "end_date"))])

        # 2. The group-wide pause.
        t1 = time.monotonic()
        run_id = api.trigger("fivetran_pause_during_migration", {"group_id": "group_0"})
        api.wait_run("fivetran_pause_during_migration", run_id, args.timeout)
        figures["pause_run_s"] = round(time.monotonic() - t1, 1)
        pause_tis = api.task_instances("fivetran_pause_during_migration", run_id)
        figures["pause_tasks_s"] = {ti["task_id"]: ti["duration"] for ti in pause_tis}
        figures["pause_requests"] = {
            method: len(pausing.requests_for(method)) for method in ("GET", "PATCH") if pausing.requests_for(method)
        }
        left_paused = [conn for conn in pausing.state.list_connections(group_id="group_0") if conn.get("paused")]
        figures["pause_left_paused"] = len(left_paused)
        processes.check_alive()
        ok = True
    finally:
        processes.stop_all()
        for sim in (mass, landing, pausing):
            sim.stop()
        pg.stop()
        figures["total_s"] = round(time.monotonic() - began, 1)
        out = ROOT / ".artifacts" / "celery-scale"
        shutil.rmtree(out, ignore_errors=True)
        if not ok:
            shutil.copytree(work / "logs", out)
            print(f"logs kept in {out}", flush=True)
        shutil.rmtree(work, ignore_errors=True)
        (ROOT / ".artifacts").mkdir(exist_ok=True)
        (ROOT / ".artifacts" / "celery-scale.json").write_text(json.dumps(figures, indent=1))
        print(json.dumps(figures, indent=1), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

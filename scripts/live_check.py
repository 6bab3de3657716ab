"""Run the provider under real Airflow processes on Postgres, as a deployment would, and check it.

What it starts, every part bound to 127.0.0.1 on free ports, all in one temporary folder:

* a Postgres cluster of its own (``initdb`` / ``pg_ctl``, run as the ``postgres`` user when this
  runs as root); Debian's ``postgresql`` package is installed first if it is missing;
* three Fivetran simulators (``python -m fivetran_provider.testing``), one per part of the check,
  so that each request log holds one part's requests: the demo account for the example DAGs,
  ``landing_pad`` for the asset runs, 100 connections over two groups for the mass wait;
* ``airflow api-server`` (tasks of Airflow 3 talk to it), ``scheduler`` (LocalExecutor),
  ``dag-processor`` and ``triggerer``; the scheduler and triggerer with ``--skip-serve-logs``
  (their log servers would listen on every interface; the API server reads the log files).

The DAGs come from two bundles: ``fivetran_examples`` (``example_dags/``) and ``live_check``
(``scripts/live_dags/``). What it asserts, through Airflow's REST API (v2) and the simulators:

1. the pause, schedule-change and historical-resync examples succeed and leave every connection
   of the demo account as it was; the historical wait is seen in the state ``deferred``;
2. one landed sync starts exactly one run of the DAG scheduled on the connection's asset, when the
   sync was started by ``FivetranSyncOperator`` and when it was started by someone else;
3. 100 mapped deferrable waits cost at most one list request per group per poll interval, and
   each connection gets exactly one sync request;
4. a triggerer restarted during the mass wait replays nothing: every mapped task succeeds at its
   first try, no sync is started twice, the asset-scheduled DAG gets no extra run;
5. nothing it started listens on anything but loopback.

On failure the log of every process is kept under ``.artifacts/live/``. Every process is stopped
at the end whatever happens. Exits non-zero naming what failed.

    .nox/live/bin/python scripts/live_check.py       # normally run by ``nox -s live``
    .nox/live/bin/python scripts/live_check.py --keep-logs --mass 20
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".artifacts" / "live"
LIVE_DAGS = ROOT / "scripts" / "live_dags"
EXAMPLE_DAGS = ROOT / "example_dags"
EXAMPLES = {
    "fivetran_pause_during_migration": {},
    "fivetran_temporary_schedule_change": {},
    "fivetran_historical_resync_before_backfill": {"full_refresh": True, "poll_interval_seconds": 3},
}
LIVE_DAG_IDS = ("live_start_sync", "live_landed_consumer", "live_mass_wait")
WATCH_INTERVAL = 3  # scripts/live_dags: the consumer's watcher
#: How long landing_pad's syncs take. Far longer than a busy scheduler needs to take note that the
#: deferring task process ended: when the trigger fires before that, Airflow 3.3's scheduler takes
#: the late "process ended" for the resumed, queued task and fails it (its own race, not the
#: provider's; a real sync takes minutes).
LANDING_SYNC_SECONDS = 15.0
MASS_INTERVAL = 10  # scripts/live_dags: the mapped waits' poll interval
MASS_GROUPS = 2
KEY, SECRET = "live-check-key", "live-check-secret-7781"
# Fields a sync changes by itself; everything else of a connection must be as it was.
SYNC_FIELDS = {"status", "succeeded_at", "failed_at", "sync_started_at", "source_sync_details", "setup_tests"}


class CheckFailed(AssertionError):
    """A live assertion did not hold."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], Any], timeout: float, every: float = 2.0) -> Any:
    """Call ``probe`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise CheckFailed(f"{what}: not reached within {timeout:.0f} s (last seen: {last!r})")
        time.sleep(every)


# ----------------------------------------------------------------------------------- processes


class Processes:
    """Processes started in their own process groups, each logging to its own file."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: dict[str, int] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        count = self.starts.get(name, 0) + 1
        self.starts[name] = count
        log = self.logs / (f"{name}.log" if count == 1 else f"{name}-{count}.log")
        with log.open("ab") as out:
            process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.running[name] = process
        return process

    def log_of(self, name: str) -> Path:
        count = self.starts.get(name, 1)
        return self.logs / (f"{name}.log" if count == 1 else f"{name}-{count}.log")

    def check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                raise CheckFailed(f"{name} exited ({process.returncode}); see {self.log_of(name).name}")

    def stop(self, name: str, timeout: float = 60) -> None:
        process = self.running.pop(name)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout)
        # The group may hold children that outlived their parent (a task runner, a log server).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def stop_all(self, timeout: float = 30) -> None:
        """SIGTERM to every group at once, SIGKILL to what is left after ``timeout`` seconds."""
        for process in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for name in list(self.running):
            self.stop(name, timeout=0.1)

    def pids(self) -> set[int]:
        """Every live process of every group started here."""
        import psutil

        found: set[int] = set()
        for process in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(process.pid) in {p.pid for p in self.running.values()}:
                    found.add(process.pid)
        return found


# ------------------------------------------------------------------------------------ Postgres


def postgres_bin() -> Path:
    """Debian's Postgres binaries, installed from the distribution's packages when missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        if os.geteuid() != 0:
            raise CheckFailed("Postgres is missing: apt-get install postgresql (as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"]
        if subprocess.run(install, env=env).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
            subprocess.run(install, env=env, check=True)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent


class Postgres:
    """A throwaway cluster in ``folder``, listening on 127.0.0.1 only (no Unix socket elsewhere)."""

    def __init__(self, folder: Path, port: int, logs: Path) -> None:
        self.bin = postgres_bin()
        self.folder, self.port, self.log = folder, port, logs / "postgres.log"
        self.data = folder / "data"
        self.started = False

    def _as_owner(self, *argv: str) -> list[str]:
        # Postgres refuses to run as root: run its tools as the postgres user then.
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            self._as_owner(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"
            ),
            check=True,
            capture_output=True,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c max_connections=300"
        server_log = self.folder / "server.log"
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(server_log), "-o", options]
        subprocess.run(self._as_owner(*pg_ctl, "-w", "-t", "120", "start"), check=True, capture_output=True)
        self.started = True
        createdb = [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "airflow"]
        subprocess.run(self._as_owner(*createdb), check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/airflow"

    def stop(self) -> None:
        if self.started:
            subprocess.run(
                self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"),
                capture_output=True,
            )
            self.started = False
        server_log = self.folder / "server.log"
        if server_log.exists():
            shutil.copy(server_log, self.log)


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command to its end; on failure raise with the end of its output."""
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise CheckFailed(f"{' '.join(argv[:4])} ... exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}")
    return done


# ------------------------------------------------------------------------------------ HTTP


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """One JSON request; the decoded answer, or ``CheckFailed`` with the status and body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            text = answer.read().decode()
    except urllib.error.HTTPError as error:
        raise CheckFailed(f"{method} {url}: {error.code} {error.read().decode()[:500]}") from None
    return json.loads(text) if text else None


class SimulatorClient:
    """Fivetran's REST API as a client outside Airflow sees it (another user, a script, the UI)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def connection_json(self) -> str:
        return json.dumps({"conn_type": "fivetran", "login": KEY, "password": SECRET, "host": self.url})

    def api(self, method: str, path: str, body: Any = None) -> Any:
        token = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        return http(method, self.url + path, body, {"Authorization": f"Basic {token}"})

    def connection(self, connection_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/v1/connections/{connection_id}")["data"])

    def connections(self) -> dict[str, dict[str, Any]]:
        """Every connection of the account, by id."""
        found: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            page = self.api("GET", "/v1/connections?limit=1000" + (f"&cursor={cursor}" if cursor else ""))["data"]
            found.update({item["id"]: self.connection(item["id"]) for item in page["items"]})
            cursor = page.get("next_cursor")
            if not cursor:
                return found


def start_demo_simulator(processes: Processes) -> SimulatorClient:
    """The demo account in its own process, as a user would start it for the examples."""
    port = free_port()
    argv = [sys.executable, "-m", "fivetran_provider.testing", "--port", str(port), "--sync-duration", "8"]
    processes.start("simulator", [*argv, "--api-key", KEY, "--api-secret", SECRET], dict(os.environ))
    client = SimulatorClient(f"http://127.0.0.1:{port}")

    def answering() -> bool:
        processes.check_alive()
        try:
            return bool(client.api("GET", "/v1/groups"))
        except (OSError, CheckFailed):
            return False

    wait_for("the simulator to answer", answering, 120, every=1)
    return client


def in_process_simulator(connections: list[str], groups: int, sync_seconds: float) -> Any:
    """A simulator in this process, so the check decides when syncs end and reads its request log."""
    from fivetran_provider.testing import FivetranSimulator

    sim = FivetranSimulator(api_key=KEY, api_secret=SECRET)
    sim.default_sync_duration = sync_seconds
    for index in range(groups):
        sim.add_group(f"group_{index}", f"Group {index}")
    for index, connection_id in enumerate(connections):
        sim.add_connection(
            connection_id, group_id=f"group_{index % groups}", service="postgres", succeeded_at="2026-01-01T00:00:00Z"
        )
    return sim


class Airflow:
    """Airflow's REST API (v2) with a token of the simple auth manager."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._token: str | None = None

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = http("GET", f"{self.base}/auth/token")["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def get(self, path: str) -> Any:
        return http("GET", f"{self.base}/api/v2{path}", headers=self._headers())

    def post(self, path: str, body: Any) -> Any:
        return http("POST", f"{self.base}/api/v2{path}", body, self._headers())

    def patch(self, path: str, body: Any) -> Any:
        return http("PATCH", f"{self.base}/api/v2{path}", body, self._headers())

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run = self.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/dags/{dag_id}/dagRuns?limit=100&order_by=id")["dag_runs"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100&offset={len(found)}")
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        state = wait_for(f"run {run_id} of {dag_id} to finish", finished, timeout)
        if state != "success":
            tis = {
                ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""): ti["state"]
                for ti in self.task_instances(dag_id, run_id)
            }
            raise CheckFailed(f"{dag_id} run {run_id} ended {state}: {tis}")
        return state


# ------------------------------------------------------------------------------------ the check


class Check:
    """Timed steps; assertions that must hold, and ones whose failure is reported at the end."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.done: list[tuple[str, float]] = []
        self.deferred_failures: list[str] = []
        self.figures: dict[str, Any] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        print(f"--- {name}", flush=True)
        try:
            yield
        except BaseException:
            print(f"FAILED at step: {name}", flush=True)
            raise
        self.done.append((name, time.monotonic() - began))
        print(f"    ok ({time.monotonic() - began:.1f} s)", flush=True)

    def expect(self, ok: bool, message: str) -> None:
        """An assertion whose failure does not stop the remaining steps (reported at the end)."""
        if not ok:
            print(f"    FAILED: {message}", flush=True)
            self.deferred_failures.append(message)

    def summary(self) -> str:
        lines = [f"{seconds:6.1f} s  {name}" for name, seconds in self.done]
        lines.append(f"{time.monotonic() - self.started:6.1f} s  total")
        lines += [f"{name}: {value}" for name, value in self.figures.items()]
        return "\n".join(lines)


def airflow_env(home: Path, pg: Postgres, base: str, urls: dict[str, str]) -> dict[str, str]:
    bundles = [
        {
            "name": "fivetran_examples",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(EXAMPLE_DAGS), "refresh_interval": 3600},
        },
        {
            "name": "live_check",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(LIVE_DAGS), "refresh_interval": 3600},
        },
    ]
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg.url,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
            "AIRFLOW__API__SECRET_KEY": os.urandom(16).hex(),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            # Not served (--skip-serve-logs), but never the shared defaults 8793/8794 either.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            **{f"AIRFLOW_CONN_{name.upper()}": SimulatorClient(url).connection_json() for name, url in urls.items()},
        }
    )
    return env


def start_airflow(processes: Processes, env: dict[str, str], port: int) -> None:
    airflow = [sys.executable, "-m", "airflow"]
    processes.start("api-server", [*airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)], env)
    processes.start("scheduler", [*airflow, "scheduler", "--skip-serve-logs"], env)
    processes.start("dag-processor", [*airflow, "dag-processor"], env)
    processes.start("triggerer", [*airflow, "triggerer", "--skip-serve-logs"], env)


def wait_ready(api: Airflow, processes: Processes, timeout: float) -> None:
    def healthy() -> Any:
        processes.check_alive()
        try:
            health = http("GET", f"{api.base}/api/v2/monitor/health")
        except (OSError, CheckFailed):
            return None
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return all(health.get(part, {}).get("status") == "healthy" for part in parts) and health

    wait_for("every Airflow process reports healthy", healthy, timeout, every=3)

    def parsed() -> Any:
        processes.check_alive()
        known = {dag["dag_id"] for dag in api.get("/dags?limit=100")["dags"]}
        missing = [dag_id for dag_id in (*EXAMPLES, *LIVE_DAG_IDS) if dag_id not in known]
        return not missing or None

    wait_for("the DAGs of both bundles to be parsed", parsed, timeout, every=3)


def only_loopback(processes: Processes) -> list[str]:
    """Listening sockets of the processes started here that are not on loopback."""
    import psutil

    pids = processes.pids()
    exposed = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids and conn.laddr.ip not in ("127.0.0.1", "::1"):
            exposed.append(f"pid {conn.pid} on {conn.laddr.ip}:{conn.laddr.port}")
    return exposed


def settings(connection: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in connection.items() if name not in SYNC_FIELDS}


def check_examples(check: Check, api: Airflow, demo: SimulatorClient, timeout: float) -> None:
    """The three examples succeed, the historical wait defers, every connection is as it was."""
    before = {conn_id: settings(conn) for conn_id, conn in demo.connections().items()}
    historical, pause = "fivetran_historical_resync_before_backfill", "fivetran_pause_during_migration"
    # The pause example pauses the group of the historical example's connection: not at the same time.
    runs = {dag_id: api.trigger(dag_id, conf) for dag_id, conf in EXAMPLES.items() if dag_id != pause}

    def deferred() -> Any:
        tis = api.task_instances(historical, runs[historical])
        state = {ti["task_id"]: ti["state"] for ti in tis}.get("start_historical_resync")
        if state in ("success", "failed", "upstream_failed"):
            raise CheckFailed(f"start_historical_resync ended {state} without being seen deferred")
        return state == "deferred"

    wait_for("the historical wait to be deferred to the triggerer", deferred, timeout, every=1)
    for dag_id, run_id in runs.items():
        api.wait_run(dag_id, run_id, timeout)
    runs[pause] = api.trigger(pause, EXAMPLES[pause])
    api.wait_run(pause, runs[pause], timeout)
    after = {conn_id: settings(conn) for conn_id, conn in demo.connections().items()}
    changed = {
        conn_id: {
            k: (old.get(k), after.get(conn_id, {}).get(k))
            for k in set(old) | set(after.get(conn_id, {}))
            if old.get(k) != after.get(conn_id, {}).get(k)
        }
        for conn_id, old in before.items()
    }
    changed = {conn_id: diff for conn_id, diff in changed.items() if diff}
    if changed or set(after) != set(before):
        raise CheckFailed(f"connections not left as they were: {changed}")
    check.figures["examples"] = f"{len(runs)} runs succeeded; all {len(before)} connections as they were"


def consumer_runs(api: Airflow) -> list[dict[str, Any]]:
    return api.runs("live_landed_consumer")


def settle(api: Airflow, count: int, timeout: float, quiet: float) -> list[dict[str, Any]]:
    """Wait until the consumer has ``count`` runs, then watch ``quiet`` seconds for more; all runs."""
    wait_for(f"live_landed_consumer to have {count} run(s)", lambda: len(consumer_runs(api)) >= count, timeout)
    until = time.monotonic() + quiet
    while time.monotonic() < until and len(consumer_runs(api)) <= count:
        time.sleep(1)
    return consumer_runs(api)


def check_landing(check: Check, api: Airflow, landing: Any, timeout: float) -> None:
    """One landed sync, one run of the asset-scheduled DAG: started here, then started elsewhere."""
    # Several watcher polls and the scheduler's reaction to them: a second run for the same sync
    # would show up within this.
    quiet = 5 * WATCH_INTERVAL + 15
    run_id = api.trigger("live_start_sync")
    api.wait_run("live_start_sync", run_id, timeout)
    runs = settle(api, 1, timeout, quiet)
    # [exactly-once per landed sync] The operator emits an asset event for the sync it saw land and
    # the asset's watcher reports the same sync: both must end in one run.
    check.expect(
        len(runs) == 1,
        f"[exactly-once per landed sync] one sync started by FivetranSyncOperator started "
        f"{len(runs)} runs of live_landed_consumer, expected 1",
    )
    started_here = len(runs)
    SimulatorClient(landing.url).api("POST", "/v1/connections/landing_pad/sync", {})
    runs = settle(api, started_here + 1, timeout, quiet)
    check.expect(
        len(runs) == started_here + 1,
        f"[exactly-once per landed sync] one sync started outside Airflow started "
        f"{len(runs) - started_here} runs of live_landed_consumer, expected 1",
    )
    for run in runs:
        if run["state"] == "failed":
            raise CheckFailed(f"live_landed_consumer run {run['dag_run_id']} failed")
    check.figures["asset runs"] = (
        f"{started_here} for the operator's sync, {len(runs) - started_here} for the sync started elsewhere"
    )


def check_mass(
    check: Check, api: Airflow, mass: Any, processes: Processes, env: dict[str, str], count: int, timeout: float
) -> None:
    """``count`` mapped deferred waits; the triggerer is restarted while they wait."""
    began = time.monotonic()
    run_id = api.trigger("live_mass_wait", {"count": count})

    def waits() -> list[dict[str, Any]]:
        return [ti for ti in api.task_instances("live_mass_wait", run_id) if ti["task_id"] == "sync_and_wait"]

    def all_deferred() -> Any:
        states = [ti["state"] for ti in waits()]
        if any(state in ("success", "failed", "upstream_failed") for state in states):
            raise CheckFailed(f"a mapped wait ended before its sync did: {sorted(set(states))}")
        return len(states) == count and all(state == "deferred" for state in states)

    wait_for(f"all {count} mapped waits to be deferred", all_deferred, timeout, every=3)
    deferred_at = time.time()
    check.figures["mass start"] = f"{time.monotonic() - began:.0f} s until all {count} mapped waits were deferred"
    consumer_before = len(consumer_runs(api))
    # Let the waits settle on their groups' schedule for an interval, watch them for three more,
    # then restart the triggerer while they wait.
    time.sleep(4 * MASS_INTERVAL)
    stopping_at = time.time()
    processes.stop("triggerer")
    restarted_at = time.time()
    processes.start("triggerer", [sys.executable, "-m", "airflow", "triggerer", "--skip-serve-logs"], env)

    def groups_read_again() -> bool:
        processes.check_alive()
        read = {r.query.get("group_id") for r in mass.requests_for("GET", "/v1/connections") if r.at > restarted_at}
        return read >= {f"group_{index}" for index in range(MASS_GROUPS)}

    wait_for("the restarted triggerer to read every group", groups_read_again, timeout, every=2)
    time.sleep(MASS_INTERVAL + 1)  # one more interval of waiting under the new triggerer
    finished_at = time.time()
    for index in range(count):
        mass.finish_sync(f"live_{index:03d}")
    api.wait_run("live_mass_wait", run_id, timeout)
    check.figures["mass run"] = f"{time.monotonic() - began:.0f} s for {count} mapped deferred syncs"

    not_first_try = {
        ti["map_index"]: (ti["state"], ti["try_number"])
        for ti in waits()
        if ti["state"] != "success" or ti["try_number"] != 1
    }
    if not_first_try:
        raise CheckFailed(f"mapped waits not succeeded at their first try: {not_first_try}")
    starts: dict[str, int] = {}
    for record in mass.requests_for("POST"):
        if record.path.endswith("/sync"):
            starts[record.path] = starts.get(record.path, 0) + 1
    twice = {path: n for path, n in starts.items() if n != 1}
    if len(starts) != count or twice:
        raise CheckFailed(f"syncs started for {len(starts)} of {count} connections; more than once: {twice}")

    # Steady state, every task deferred under one triggerer: reads per group and interval.
    steady_from = deferred_at + MASS_INTERVAL
    timeline = [r for r in mass.requests if r.method == "GET" and deferred_at - 30 <= r.at <= finished_at]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "mass-requests.txt").write_text(
        "\n".join(f"{r.at - deferred_at:8.2f} {r.path} {r.query.get('group_id', '')}" for r in timeline) + "\n"
    )
    steady = [r for r in timeline if steady_from <= r.at < stopping_at]
    span = stopping_at - steady_from
    per_group = {f"group_{index}": 0 for index in range(MASS_GROUPS)}
    for record in steady:
        if record.path == "/v1/connections" and record.query.get("group_id") in per_group:
            per_group[str(record.query["group_id"])] += 1
    singles = sum(1 for r in steady if r.path.startswith("/v1/connections/"))
    allowed = int(span // MASS_INTERVAL) + 1
    after_restart = [r for r in timeline if r.at >= stopping_at]
    check.figures["mass wait requests"] = (
        f"{count} waits, {MASS_INTERVAL} s interval: over {span:.0f} s of steady waiting, list requests per group "
        f"{per_group} (at most {allowed} allowed), {singles} single-connection reads; from the triggerer restart "
        f"to the end of the syncs ({finished_at - stopping_at:.0f} s): "
        f"{sum(r.path == '/v1/connections' for r in after_restart)} list requests, "
        f"{sum(r.path.startswith('/v1/connections/') for r in after_restart)} single-connection reads"
    )
    over = {group: n for group, n in per_group.items() if n > allowed}
    if over or singles:
        raise CheckFailed(f"more than one read per group per interval: {per_group}, {singles} single reads")
    # A restarted watcher must not report landing_pad's last sync again.
    time.sleep(3 * WATCH_INTERVAL + 10)
    after = len(consumer_runs(api))
    if after != consumer_before:
        raise CheckFailed(f"after the triggerer restart live_landed_consumer got {after - consumer_before} more run(s)")


def keep_logs(work: Path, home: Path) -> None:
    """Copy every process's log and Airflow's task logs to ``.artifacts/live/``."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    shutil.copytree(work / "logs", ARTIFACTS)
    if (home / "logs").exists():
        shutil.copytree(home / "logs", ARTIFACTS / "airflow-logs", dirs_exist_ok=True)
    print(f"logs of every process kept in {ARTIFACTS}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mass", type=int, default=100, help="mapped deferred waits (default: 100)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds any one wait may take (default: 600)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs under .artifacts/live/ on success too")
    args = parser.parse_args(argv)
    check = Check()
    work = Path(tempfile.mkdtemp(prefix="fivetran-live-check-"))
    os.chmod(work, 0o755)
    (work / "logs").mkdir()
    home = work / "airflow-home"
    processes = Processes(work / "logs")
    pg = Postgres(work / "postgres", free_port(), work / "logs")
    sims: list[Any] = []
    ok = False
    try:
        with check.step("start Postgres (127.0.0.1) and migrate Airflow's metadata DB on it"):
            pg.start()
            landing = in_process_simulator(["landing_pad"], 1, LANDING_SYNC_SECONDS)
            mass = in_process_simulator([f"live_{i:03d}" for i in range(args.mass)], MASS_GROUPS, 24 * 3600.0)
            sims += [landing, mass]
            demo = start_demo_simulator(processes)
            api_port = free_port()
            base = f"http://127.0.0.1:{api_port}"
            env = airflow_env(
                home,
                pg,
                base,
                {"fivetran_default": demo.url, "fivetran_landing": landing.url, "fivetran_mass": mass.url},
            )
            run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, timeout=args.timeout)
        api = Airflow(base)
        with check.step("start api-server, scheduler, dag-processor and triggerer; wait for the DAGs"):
            start_airflow(processes, env, api_port)
            wait_ready(api, processes, args.timeout)
        with check.step("nothing listens outside loopback"):
            exposed = only_loopback(processes)
            if exposed:
                raise CheckFailed(f"listening outside loopback: {exposed}")
        with check.step("examples: pause, schedule change, historical re-sync (deferred)"):
            check_examples(check, api, demo, args.timeout)
        with check.step("one landed sync, one asset-scheduled run (started here and elsewhere)"):
            check_landing(check, api, landing, args.timeout)
        with check.step(f"{args.mass} mapped deferred waits, triggerer restarted while they wait"):
            check_mass(check, api, mass, processes, env, args.mass, args.timeout)
        processes.check_alive()
        ok = not check.deferred_failures
    finally:
        processes.stop_all()
        for sim in sims:
            sim.stop()
        pg.stop()
        if not ok or args.keep_logs:
            keep_logs(work, home)
        shutil.rmtree(work, ignore_errors=True)
        print(check.summary(), flush=True)
    if check.deferred_failures:
        print("FAILED:\n" + "\n".join(f"  {failure}" for failure in check.deferred_failures), flush=True)
        return 1
    print("live check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

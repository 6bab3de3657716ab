"""Shared test set-up: a throwaway Airflow home, a migrated SQLite metadata DB, and the simulator.

Airflow reads its configuration when it is first imported, so the environment is prepared at
the top of this module, before any test module imports Airflow.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="fivetran-provider-tests-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"

os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}"
os.environ.pop("AIRFLOW_CONN_FIVETRAN_DEFAULT", None)

#: Example DAGs scheduled on assets with watchers: Airflow 3 only (on Airflow 2 they fail to parse
#: with an error saying so, which tests/test_event_example_dags.py checks).
NEEDS_AIRFLOW_3 = {"fivetran_run_when_data_lands.py"}

# The DAG folder holds the shipped example DAGs plus the test-only DAGs in tests/dags.
DAGS_FOLDER.mkdir()
for source in [*(ROOT / "example_dags").glob("*.py"), *(ROOT / "tests" / "dags").glob("*.py")]:
    if source.name in NEEDS_AIRFLOW_3 and not version("apache-airflow").startswith("3"):
        continue
    shutil.copy(source, DAGS_FOLDER / source.name)

from fivetran_provider._compat import build_in_process_execution_api_once  # noqa: E402
from fivetran_provider.testing import FivetranSimulator  # noqa: E402

build_in_process_execution_api_once()

# Retry settings that keep retry tests fast; the policy itself is unchanged.
FAST_RETRIES: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.05, "jitter": False}


#: Test files whose tests take longest (a minute of schemathesis, the randomized soak): run first,
#: so that with parallel workers they do not start last and leave the other workers idle.
LONGEST_FIRST = ("test_conformance.py", "test_fault_soak.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    # The conformance test involves no Airflow: the full matrix runs all its generated requests on
    # the newest Airflow and fewer on the others, so every environment still runs it.
    parser.addoption(
        "--conformance-examples",
        type=int,
        default=None,
        help="generated requests per operation and mode in test_conformance.py (default: all of its own)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture
def simulator() -> Iterator[FivetranSimulator]:
    """A fresh Fivetran simulator on loopback for one test."""
    with FivetranSimulator() as sim:
        yield sim


@pytest.fixture
def fivetran_conn(simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch) -> FivetranSimulator:
    """Point the ``fivetran_default`` Airflow connection at the simulator (fast retries)."""
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(simulator))
    return simulator


@pytest.fixture
def hook(fivetran_conn: FivetranSimulator) -> Iterator[Any]:
    """A ``FivetranHook`` talking to the simulator."""
    from fivetran_provider.hooks import FivetranHook

    instance = FivetranHook()
    yield instance
    instance.close()


#: Where a migrated metadata DB of this environment's Airflow is kept between sessions and workers.
DB_TEMPLATES = Path(sys.prefix) / "fivetran-provider-test-dbs"


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A fully migrated SQLite metadata DB for this session (one per pytest-xdist worker).

    Migrating takes far longer than copying a file, so the first session of an environment
    migrates a template kept beside it (one per Airflow version, made under a lock so that
    parallel workers migrate once) and every session starts from a copy of it.
    """
    from airflow import settings
    from airflow.utils import db

    target = AIRFLOW_HOME / "airflow.db"
    DB_TEMPLATES.mkdir(parents=True, exist_ok=True)
    # Made anew when Airflow or this set-up changes.
    setup = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    template = DB_TEMPLATES / f"airflow-{version('apache-airflow')}-{setup}.db"
    with _exclusive(DB_TEMPLATES / ".lock"):
        if not template.exists():
            db.resetdb()
            settings.engine.dispose()
            partial = template.with_suffix(".partial")
            shutil.copyfile(target, partial)
            partial.replace(template)
            return
    settings.engine.dispose()
    shutil.copyfile(template, target)


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (a file) across processes, where the platform has one."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: workers may both migrate, which is only slower
        yield
        return
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def http(sim: FivetranSimulator) -> Iterator[requests.Session]:
    """An authenticated HTTP session to the test module's own ``sim`` simulator (raw wire tests)."""
    session = requests.Session()
    session.auth = (sim.api_key, sim.api_secret)
    yield session
    session.close()


def conn_json(simulator: FivetranSimulator, **extra: Any) -> str:
    """The connection JSON for the simulator with extra settings merged in."""
    return simulator.airflow_connection_json(extra={**FAST_RETRIES, **extra})


@pytest.fixture(scope="session")
def dag_bag(airflow_db: None) -> Any:
    """Every DAG of the test DAG folder (example DAGs and tests/dags), parsed once."""
    from fivetran_provider._compat import dag_bag as parse_dags

    bag = parse_dags(str(DAGS_FOLDER))
    assert bag.import_errors == {}, bag.import_errors
    return bag


@pytest.fixture
def run_dag(dag_bag: Any, fivetran_conn: FivetranSimulator) -> Any:
    """Run a DAG end to end with ``dag.test()`` against the simulator; returns the DagRun.

    ``dag.test()`` does not raise when a task fails: assert on the run's and tasks' states.
    """

    def _run(dag_id: str, **conf: Any) -> Any:
        dag = dag_bag.get_dag(dag_id)
        assert dag is not None, f"no DAG {dag_id!r}"
        # Running a task in this process resolves the run's conf into the task's own Param
        # objects, so without this the conf of one run would become the default of the next.
        params = {task.task_id: copy.deepcopy(task.params) for task in dag.tasks}
        try:
            return dag.test(run_conf=conf or None)
        finally:
            for task in dag.tasks:
                task.params = params[task.task_id]

    return _run


@pytest.fixture
def task_output(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """Read what tasks printed or logged since the last read (stdout, stderr and log records).

    Airflow 3 writes task logs to stdout through structlog; Airflow 2 logs through the standard
    ``logging`` module, which pytest captures as records. Tests read all of it.
    """
    caplog.set_level(logging.INFO)

    def read() -> str:
        out, err = capfd.readouterr()
        text = out + err + caplog.text
        caplog.clear()
        return text

    return read


def task_started_at(dag_run: Any, task_id: str) -> Any:
    """When a task of a finished run started.

    Airflow 2's ``dag.test()`` leaves ``start_date`` unset; there the latest end of the task's
    upstream tasks stands in for it (the task cannot have started earlier).
    """
    instances = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    started = instances[task_id].start_date
    if started is not None:
        return started
    upstream = dag_run.get_dag().get_task(task_id).upstream_task_ids
    return max(instances[tid].end_date for tid in upstream)


@pytest.fixture
def finish_after_polls() -> Iterator[Callable[..., None]]:
    """End a connection's running sync only after the client has read the connection N more times.

    Plan the sync to take far longer than the test (``plan_syncs(..., duration=3600)``), then call
    ``finish_after_polls(sim, connection_id, polls)``: a watcher thread counts the ``GET``s of the
    connection since the last request that changed it and ends the sync once it has seen
    ``polls`` of them. The waiting code has then observed the running sync that many times, on a
    fast machine or a loaded one.
    """
    stop = threading.Event()
    watchers: list[threading.Thread] = []

    def start(sim: FivetranSimulator, connection_id: str, polls: int, outcome: str = "success") -> None:
        path = f"/v1/connections/{connection_id}"

        def watch() -> None:
            deadline = time.monotonic() + 120
            while not stop.is_set() and time.monotonic() < deadline:
                recorded = [r for r in sim.requests if r.path.startswith(path)]
                changes = [i for i, r in enumerate(recorded) if r.method != "GET"]
                if changes:
                    reads = [r for r in recorded[changes[-1] + 1 :] if r.method == "GET" and r.path == path]
                    if len(reads) >= polls:
                        try:
                            sim.finish_sync(connection_id, outcome)
                            return
                        except RuntimeError:  # not running (yet): keep watching
                            pass
                stop.wait(0.01)

        watcher = threading.Thread(target=watch, name=f"finish-{connection_id}", daemon=True)
        watcher.start()
        watchers.append(watcher)

    yield start
    stop.set()
    for watcher in watchers:
        watcher.join(timeout=5)

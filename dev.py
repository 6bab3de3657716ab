#!/usr/bin/env python3
"""Set up a local environment and run the demo, the test suite or the benchmarks.

    python3 dev.py demo                  # the main job: the provider at work against the built-in simulator
    python3 dev.py test                  # lint, the whole pytest suite on every supported Airflow, the
                                         # package check, the docs build, the browser check of the UI and
                                         # the live check (real Airflow processes on Postgres), as stages
                                         # that run side by side; each stage's time is printed at the end
    python3 dev.py test --airflow 3.3    # lint and pytest on one Airflow only (quick local work)
    python3 dev.py test --airflow 2.11 -- -k restore -x   # arguments after -- go to pytest
    python3 dev.py bench                 # every benchmark of benchmarks/, one table in .artifacts/bench.md
    python3 dev.py mutate [target ...]   # mutation score of the core modules (mutation/run.py)

Needs only Python 3.10+. The first run creates ``.venv`` beside this file with the package, its
development tools, nox and Airflow 3.3 (about a minute); later runs reuse it until
``pyproject.toml`` changes. The test matrix runs through nox (``noxfile.py``) with one virtualenv
per Airflow version under ``.nox/``; the first full run installs them while tests already run.

Stages: ``dev.py test`` is a list of named stages (:func:`test_stages`). Each is a command with
the stages it waits for and the number of cores it keeps busy; stages whose prerequisites have
succeeded run side by side while their cores add up to at most ``--jobs`` (the machine's cores
plus one: every stage partly waits, on the disk, on loopback or on a poll interval). Each stage
writes its output to ``.artifacts/stages/<name>.log``; a failing stage's log tail is printed. To add a check, write a
nox session in ``noxfile.py`` and add ``Stage("name", (nox_session("name"),), after=..., cores=...)``
to :func:`test_stages`; it is run, timed and reported like the others.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import venv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
ARTIFACTS = ROOT / ".artifacts"
MATRIX = ARTIFACTS / "matrix"
STAGE_LOGS = ARTIFACTS / "stages"
# The release of each supported Airflow line the suite runs on (the newest patch release of each);
# noxfile.py builds its matrix from this table.
AIRFLOW_RELEASES = {"2.11": "2.11.2", "3.0": "3.0.6", "3.1": "3.1.8", "3.2": "3.2.2", "3.3": "3.3.2"}
NEWEST = "3.3"
VERSIONS = tuple(AIRFLOW_RELEASES)
# The Airflow release of the development environment (demo, ruff, mypy).
AIRFLOW_PIN = f"apache-airflow=={AIRFLOW_RELEASES[NEWEST]}"
#: Rough duration of the whole ``dev.py test`` on a 2-core machine with pip's cache warm, and of
#: one ``--airflow`` version once its environment exists (printed before a run starts).
MINUTES_WHOLE_COMMAND = 12
MINUTES_ONE_AIRFLOW = 2
#: The official OpenAPI definition, when it sits beside the repository (as CI finds it).
SPEC_BESIDE_REPO = ROOT.parent / "shared" / "reference" / "fivetran-openapi.json"
#: pytest's workers per Airflow version (pytest-xdist); ``-- -n 0`` runs in one process (e.g. for --pdb).
PYTEST_WORKERS = 2
#: pytest's workers when one Airflow's suite runs alone (``--airflow X``): many tests wait on the
#: simulator rather than compute, so more workers than cores finish sooner when nothing runs beside.
PYTEST_WORKERS_ALONE = 4
#: The environment variable through which ``dev.py`` tells the nox session how many workers to start.
WORKERS_ENV = "FIVETRAN_PYTEST_WORKERS"
#: Generated requests per operation and mode of the conformance test on every Airflow but the newest.
CONFORMANCE_SAMPLE = 5
#: The order in which the matrix's suites start: the most CPU time first (the newest runs all of
#: the conformance test), so that the last one to finish is a short one.
PYTEST_ORDER = ("3.3", "3.0", "3.2", "3.1", "2.11")


def _stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + AIRFLOW_PIN.encode()).hexdigest()
    return digest[:16]


def ensure_environment() -> None:
    """Create ``.venv`` and install the package with its development extra, unless already done."""
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py runs on whatever python3 the machine has
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    marker = VENV / ".installed"
    if marker.exists() and marker.read_text().strip() == _stamp() and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing the provider and its development tools (first run only, about a minute) ...", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]", AIRFLOW_PIN],
        cwd=ROOT,
        check=True,
    )
    marker.write_text(_stamp())


# ---------------------------------------------------------------------------------------------
# Stages


@dataclass(frozen=True)
class Stage:
    """One named step of ``dev.py test``: commands run one after the other from the repository root.

    :param name: what the summary calls it (also the name of its log file).
    :param commands: the commands; the stage fails at the first one that exits non-zero.
    :param after: the stages that must have succeeded before this one starts.
    :param cores: how many cores it keeps busy on average (a suite with two workers: 1; they wait half the time).
    """

    name: str
    commands: tuple[tuple[str, ...], ...]
    after: tuple[str, ...] = ()
    cores: int = 1


@dataclass
class Outcome:
    """How a stage ended: ``passed``, ``FAILED`` or ``skipped`` (a prerequisite failed)."""

    status: str
    seconds: float = 0.0
    cpu_seconds: float | None = None
    code: int = 0
    note: str = ""
    log: Path | None = field(default=None)


def nox_session(session: str, *extra: str, install_only: bool = False, posargs: Sequence[str] = ()) -> tuple[str, ...]:
    """The command that runs one nox session of ``noxfile.py``.

    :param session: the session's name, e.g. ``"tests(airflow='3.3')"`` or ``"package"``.
    :param extra: further nox options.
    :param install_only: only create or update the session's virtualenv.
    :param posargs: arguments for the session (pytest's, for the tests sessions).
    """
    command = [str(PYTHON), "-m", "nox", "--no-color", *(["--install-only"] if install_only else []), *extra]
    command += ["-s", session]
    if posargs:
        command += ["--", *posargs]
    return tuple(command)


LINT = (
    (str(PYTHON), "-m", "ruff", "check", "."),
    (str(PYTHON), "-m", "ruff", "format", "--check", "."),
    (str(PYTHON), "-m", "mypy"),
)


def test_stages(versions: Sequence[str], *, lint: bool, full: bool, pytest_args: Sequence[str]) -> list[Stage]:
    """The stages of ``dev.py test``, in the order they should start when several could.

    Every Airflow version has an ``install-X`` stage (its virtualenv; nothing to do when it is up
    to date) and a ``pytest-X`` stage after it, so that the other versions' environments are
    built while the first suites run (the slowest suite first). A suite counts as one core: its
    two workers spend about half their time waiting on the simulator. The full command adds the
    live check, started right after the first install and lint (the longest stage, and mostly
    waiting on Airflow's processes), and the package, docs and UI checks.

    :param versions: the Airflow versions to run pytest on.
    :param lint: include ruff and mypy.
    :param full: the whole command (every version, package, ui).
    :param pytest_args: extra arguments for pytest.
    """
    ordered = [v for v in PYTEST_ORDER if v in versions] + [v for v in versions if v not in PYTEST_ORDER]
    stages: list[Stage] = []
    for version in ordered:
        session = f"tests(airflow='{version}')"
        # The conformance test involves no Airflow: all of its requests on the newest, a sample elsewhere.
        once = [f"--conformance-examples={CONFORMANCE_SAMPLE}"] if full and version != NEWEST else []
        command = nox_session(session, posargs=[*once, *pytest_args])
        stages.append(Stage(f"install-{version}", (nox_session(session, install_only=True),)))
        if lint and version == ordered[0]:
            stages.append(Stage("lint", LINT))
        if full and version == ordered[0]:
            stages.append(Stage("live", (nox_session("live"),)))
        stages.append(Stage(f"pytest-{version}", (command,), after=(f"install-{version}",), cores=1))
    if full:
        stages.append(Stage("package", (nox_session("package"),)))
        stages.append(Stage("docs", (nox_session("docs"),)))
        stages.append(Stage("ui", (nox_session("ui"),)))
    return stages


def _tail(path: Path, lines: int) -> str:
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _pytest_line(path: Path) -> str:
    """pytest's final summary line in a stage's log (``12 passed, 1 skipped in 30.1s``), if any."""
    for line in reversed(path.read_text(errors="replace").splitlines()):
        stripped = line.strip("= ")
        if " in " in stripped and any(word in stripped for word in ("passed", "failed", "error", "no tests")):
            return stripped
    return ""


def _launch(stage: Stage, log: Path) -> subprocess.Popen[bytes]:
    """Start a stage's commands in one shell-free child: a small Python loop that stops at the first failure."""
    runner = (
        "import subprocess, sys, json\n"
        "for command in json.loads(sys.argv[1]):\n"
        "    print('$ ' + ' '.join(command), flush=True)\n"
        "    code = subprocess.run(command).returncode\n"
        "    if code != 0:\n"
        "        sys.exit(code if code > 0 else 128 - code)\n"
    )
    handle = log.open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-c", runner, json.dumps([list(c) for c in stage.commands])],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that an interrupted run can end all of it
        )
    finally:
        handle.close()


def run_stages(stages: Sequence[Stage], jobs: int) -> dict[str, Outcome]:
    """Run ``stages`` side by side, each once its prerequisites succeeded, within ``jobs`` cores.

    A stage that needs more cores than are free waits, unless nothing else runs; while it waits
    only for smaller stages to end, no stage after it in the list takes the cores it needs. A
    stage whose prerequisite failed is skipped. Returns every stage's outcome, in the order given.

    :param stages: what to run.
    :param jobs: how many cores the running stages may keep busy together.
    """
    STAGE_LOGS.mkdir(parents=True, exist_ok=True)
    names = {stage.name for stage in stages}
    for stage in stages:
        missing = [name for name in stage.after if name not in names]
        if missing:
            raise ValueError(f"stage {stage.name!r} waits for unknown stages {missing}")
    outcomes: dict[str, Outcome] = {}
    running: dict[str, tuple[subprocess.Popen[bytes], float, Stage]] = {}
    pending = list(stages)
    started_all = time.monotonic()
    try:
        _schedule(pending, running, outcomes, jobs, started_all)
    finally:
        for process, _started, _stage in running.values():  # only left when interrupted
            _end(process)
    return {stage.name: outcomes[stage.name] for stage in stages}


def _schedule(
    pending: list[Stage],
    running: dict[str, tuple[subprocess.Popen[bytes], float, Stage]],
    outcomes: dict[str, Outcome],
    jobs: int,
    started_all: float,
) -> None:
    """The loop of :func:`run_stages`: start what may start, collect what ended, until all ended."""
    while pending or running:
        for stage in list(pending):
            if any(outcomes.get(name, Outcome("")).status not in ("", "passed") for name in stage.after):
                outcomes[stage.name] = Outcome("skipped", note="a stage it waits for did not pass")
                pending.remove(stage)
                print(f"[{_clock(started_all)}] {stage.name}: skipped", flush=True)
        passed = {name for name, outcome in outcomes.items() if outcome.status == "passed"}
        for stage in startable(pending, [entry[2] for entry in running.values()], passed, jobs):
            log = STAGE_LOGS / f"{stage.name}.log"
            running[stage.name] = (_launch(stage, log), time.monotonic(), stage)
            pending.remove(stage)
            print(f"[{_clock(started_all)}] {stage.name}: started (log: {log.relative_to(ROOT)})", flush=True)
        for name, (process, started, _stage) in list(running.items()):
            ended = _reap(process)
            if ended is None:
                continue
            code, cpu = ended
            del running[name]
            log = STAGE_LOGS / f"{name}.log"
            outcome = Outcome(
                "passed" if code == 0 else "FAILED", time.monotonic() - started, cpu, code, _pytest_line(log), log
            )
            outcomes[name] = outcome
            print(f"[{_clock(started_all)}] {name}: {outcome.status} in {outcome.seconds:.0f} s", flush=True)
            if code != 0:
                print(f"----- last lines of {log.relative_to(ROOT)} -----\n{_tail(log, 60)}\n-----", flush=True)
        time.sleep(0.2)


def _reap(process: subprocess.Popen[bytes]) -> tuple[int, float | None] | None:
    """The exit code and CPU seconds of a stage that ended (``None`` while it runs).

    The CPU seconds are those of the stage's process and of every process below it that was
    waited for (nox, pytest and its workers): what the stage cost the machine's cores. Where the
    system cannot tell (Windows), they are ``None``.
    """
    if not hasattr(os, "wait4"):  # pragma: no cover - Windows
        code = process.poll()
        return None if code is None else (code, None)
    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
    if pid == 0:
        return None
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code
    return code, usage.ru_utime + usage.ru_stime


def startable(pending: Sequence[Stage], running: Sequence[Stage], passed: set[str], jobs: int) -> list[Stage]:
    """The pending stages to start now, in list order.

    A stage may start once every stage it waits for passed and its cores fit beside the running
    stages' (or nothing runs). A ready stage that does not fit only because smaller stages run
    keeps its cores: no stage after it takes them, or they would never all be free at once. A
    ready stage that waits for one as large as itself keeps nothing: smaller ones fill in.

    :param pending: the stages not started yet, in the order they should start.
    :param running: the stages running now.
    :param passed: the names of the stages that passed.
    :param jobs: how many cores the running stages may keep busy together.
    """
    busy = sum(stage.cores for stage in running)
    large_running = list(running)
    reserved = 0
    chosen: list[Stage] = []
    for stage in pending:
        if not all(name in passed for name in stage.after):
            continue
        if (running or chosen) and busy + reserved + stage.cores > jobs:
            large = sum(other.cores for other in large_running if other.cores >= stage.cores)
            if large + stage.cores <= jobs:
                reserved += stage.cores
            continue
        chosen.append(stage)
        large_running.append(stage)
        busy += stage.cores
    return chosen


def _end(process: subprocess.Popen[bytes]) -> None:
    """Stop a stage that is still running, with every process it started."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGTERM)
        else:  # pragma: no cover - Windows
            process.terminate()
    except ProcessLookupError:
        pass


def _clock(since: float) -> str:
    seconds = int(time.monotonic() - since)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def stage_table(outcomes: dict[str, Outcome]) -> str:
    """The result, time and CPU time of every stage, as a Markdown table.

    ``cores`` is CPU time over time: how many cores the stage kept busy on average.
    """
    lines = ["| stage | result | time (s) | CPU (s) | cores | note |", "|---|---|---|---|---|---|"]
    for name, outcome in outcomes.items():
        cpu = outcome.cpu_seconds
        figures = "| |" if cpu is None or not outcome.seconds else f"| {cpu:.0f} | {cpu / outcome.seconds:.1f} |"
        lines.append(f"| {name} | {outcome.status} | {outcome.seconds:.0f} {figures} {outcome.note} |")
    return "\n".join(lines)


def summary(sessions: list[str]) -> str:
    """The matrix table of this run, from the figures each nox session recorded."""
    lines = [
        "| Airflow | passed | failed | skipped | install (s) | tests (s) |",
        "|---|---|---|---|---|---|",
    ]
    for version in VERSIONS:
        path = MATRIX / f"airflow-{version}.json"
        if f"airflow-{version}" not in sessions or not path.exists():
            continue
        fig = json.loads(path.read_text())
        pins = f" (pinned {', '.join(fig['pins'])})" if fig["pins"] else ""
        lines.append(
            f"| {fig['airflow']}{pins} | {fig['passed']} | {fig['failed']} | {fig['skipped']} "
            f"| {fig['install_s']} | {fig['test_s']} |"
        )
    for name in ("package", "ui", "docs", "live"):
        path = MATRIX / f"{name}.json"
        if name in sessions and path.exists():
            lines.append(f"{name}: " + json.dumps(json.loads(path.read_text())))
    return "\n".join(lines)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (``n/a`` where the system has none)."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - Windows
        return "n/a"


def openapi_spec() -> str | None:
    """Fivetran's official OpenAPI definition for the contract tests: ``FIVETRAN_OPENAPI_SPEC``, or
    the file beside the repository (where CI finds it), or ``None`` (those tests are then skipped)."""
    return os.environ.get("FIVETRAN_OPENAPI_SPEC") or (str(SPEC_BESIDE_REPO) if SPEC_BESIDE_REPO.is_file() else None)


def run_tests(argv: list[str]) -> int:
    """Lint, the matrix, the package and UI checks as stages; non-zero if any stage failed."""
    parser = argparse.ArgumentParser(prog="dev.py test", description="Lint, then the test matrix.")
    parser.add_argument("--airflow", choices=VERSIONS, action="append", help="run pytest on this Airflow only")
    parser.add_argument("--no-lint", action="store_true", help="skip ruff and mypy")
    parser.add_argument(
        "--jobs",
        type=int,
        default=(os.cpu_count() or 1) + 1,
        help="cores the stages running side by side may keep busy together (default: cores + 1)",
    )
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    # Python's bytecode caches (``__pycache__``, ignored by git) are written even where the
    # environment turns them off: without them every pytest worker and every Airflow process
    # compiles the provider, the simulator and the tests again, about 4 s of CPU each.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    spec = openapi_spec()
    if spec:
        os.environ["FIVETRAN_OPENAPI_SPEC"] = spec
    else:
        print("FIVETRAN_OPENAPI_SPEC is not set: the tests against the official definition are skipped.", flush=True)
    versions = args.airflow or list(VERSIONS)
    os.environ.setdefault(WORKERS_ENV, str(PYTEST_WORKERS_ALONE if len(versions) == 1 else PYTEST_WORKERS))
    minutes = MINUTES_ONE_AIRFLOW * len(versions) if args.airflow else MINUTES_WHOLE_COMMAND
    print(f"Expect about {minutes} min on a 2-core machine (a first run also installs the environments).", flush=True)
    stages = test_stages(versions, lint=not args.no_lint, full=not args.airflow, pytest_args=args.pytest_args)
    print(f"{len(stages)} stages, up to {args.jobs} cores busy; load average {load_average()}", flush=True)
    try:
        outcomes = run_stages(stages, args.jobs)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130
    names = [f"airflow-{v}" for v in versions] + ([] if args.airflow else ["package", "ui", "docs", "live"])
    failed = [name for name, outcome in outcomes.items() if outcome.status != "passed"]
    print("\n" + summary(names), flush=True)
    print("\n" + stage_table(outcomes), flush=True)
    cpu = sum(outcome.cpu_seconds or 0.0 for outcome in outcomes.values())
    print(
        f"total: {time.monotonic() - started:.0f} s ({cpu:.0f} s of CPU time), "
        f"load average at the end {load_average()}, "
        f"{'OK' if not failed else 'FAILED: ' + ', '.join(failed)}",
        flush=True,
    )
    return 0 if not failed else 1


def run_bench(argv: list[str]) -> int:
    """Every benchmark of ``benchmarks/``, one table (``benchmarks/run_all.py``)."""
    return subprocess.run([str(PYTHON), str(ROOT / "benchmarks" / "run_all.py"), *argv], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup", "mutate", "bench"):
        print(__doc__)
        return 2
    ensure_environment()
    command, extra = argv[0], argv[1:]
    if command == "setup":
        return 0
    if command == "test":
        return run_tests(extra)
    if command == "bench":
        return run_bench(extra)
    if command == "mutate":
        return subprocess.run([str(PYTHON), str(ROOT / "mutation" / "run.py"), *extra], cwd=ROOT).returncode
    return subprocess.run([str(PYTHON), str(ROOT / "demo.py"), *extra], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Set up a local environment and run the demo or the test suite.

    python3 dev.py demo                  # the main job: the provider at work against the built-in simulator
    python3 dev.py test                  # ruff and mypy once, then the whole pytest suite on every supported
                                         # Airflow, the package check, the docs build, the browser check
                                         # and the live check (real Airflow processes on Postgres)
    python3 dev.py test --airflow 3.3    # ruff, mypy and pytest on one Airflow only (quick local work)
    python3 dev.py test --airflow 2.11 -- -k restore -x   # arguments after -- go to pytest
    python3 dev.py mutate [target ...]   # mutation score of the core modules (mutation/run.py)

Needs only Python 3.10+. The first run creates ``.venv`` beside this file with the package, its
development tools, nox and Airflow 3.3 (about a minute); later runs reuse it until
``pyproject.toml`` changes. The test matrix runs through nox (``noxfile.py``) with one virtualenv
per Airflow version under ``.nox/``; the first full run installs them all (about a minute each).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
MATRIX = ROOT / ".artifacts" / "matrix"
# The release of each supported Airflow line the suite runs on (the newest patch release of each);
# noxfile.py builds its matrix from this table.
AIRFLOW_RELEASES = {"2.11": "2.11.2", "3.0": "3.0.6", "3.1": "3.1.8", "3.2": "3.2.2", "3.3": "3.3.2"}
NEWEST = "3.3"
VERSIONS = tuple(AIRFLOW_RELEASES)
# Rough duration of `dev.py test` on a 2-core machine: per Airflow version (install and pytest),
# and for the package, UI and documentation sessions together.
MINUTES_PER_AIRFLOW = 6
MINUTES_OTHER_SESSIONS = 3
# The official OpenAPI definition, when it sits beside the repository (as CI finds it).
SPEC_BESIDE_REPO = ROOT.parent / "shared" / "reference" / "fivetran-openapi.json"
# The Airflow release of the development environment (demo, ruff, mypy).
AIRFLOW_PIN = f"apache-airflow=={AIRFLOW_RELEASES[NEWEST]}"


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


def _run(step: list[str]) -> int:
    print("$ " + " ".join(Path(step[0]).name if i == 0 else part for i, part in enumerate(step)), flush=True)
    return subprocess.run(step, cwd=ROOT).returncode


def lint() -> int:
    """ruff check, ruff format --check and mypy, once (they do not depend on the Airflow version)."""
    for step in (
        [str(PYTHON), "-m", "ruff", "check", "."],
        [str(PYTHON), "-m", "ruff", "format", "--check", "."],
        [str(PYTHON), "-m", "mypy"],
    ):
        code = _run(step)
        if code != 0:
            return code
    return 0


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


def openapi_spec() -> str | None:
    """Fivetran's official OpenAPI definition for the contract tests: ``FIVETRAN_OPENAPI_SPEC``, or
    the file beside the repository (where CI finds it), or ``None`` (those tests are then skipped)."""
    return os.environ.get("FIVETRAN_OPENAPI_SPEC") or (str(SPEC_BESIDE_REPO) if SPEC_BESIDE_REPO.is_file() else None)


def run_tests(argv: list[str]) -> int:
    """Lint once, then the nox matrix; return non-zero if any step or any Airflow version failed."""
    parser = argparse.ArgumentParser(prog="dev.py test", description="Lint, then the test matrix.")
    parser.add_argument("--airflow", choices=VERSIONS, action="append", help="run pytest on this Airflow only")
    parser.add_argument("--no-lint", action="store_true", help="skip ruff and mypy")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    spec = openapi_spec()
    if spec:
        os.environ["FIVETRAN_OPENAPI_SPEC"] = spec
    else:
        print("FIVETRAN_OPENAPI_SPEC is not set: the tests against the official definition are skipped.", flush=True)
    code = 0 if args.no_lint else lint()
    if code != 0:
        return code
    versions = args.airflow or list(VERSIONS)
    sessions = [f"tests(airflow='{v}')" for v in versions]
    names = [f"airflow-{v}" for v in versions]
    if not args.airflow:
        sessions += ["package", "ui", "docs", "live"]
        names += ["package", "ui", "docs", "live"]
    minutes = MINUTES_PER_AIRFLOW * len(versions) + (0 if args.airflow else MINUTES_OTHER_SESSIONS)
    print(f"Expect about {minutes} min on a 2-core machine (a first run installs each virtualenv too).", flush=True)
    nox = [str(PYTHON), "-m", "nox", "--no-color", "-s", *sessions]
    if args.pytest_args:
        nox += ["--", *args.pytest_args]
    code = _run(nox)
    print("\n" + summary(names), flush=True)
    print(f"total: {time.monotonic() - started:.0f} s, {'OK' if code == 0 else 'FAILED'}", flush=True)
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup", "mutate"):
        print(__doc__)
        return 2
    ensure_environment()
    command, extra = argv[0], argv[1:]
    if command == "setup":
        return 0
    if command == "test":
        return run_tests(extra)
    if command == "mutate":
        return subprocess.run([str(PYTHON), str(ROOT / "mutation" / "run.py"), *extra], cwd=ROOT).returncode
    return subprocess.run([str(PYTHON), str(ROOT / "demo.py"), *extra], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

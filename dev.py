#!/usr/bin/env python3
"""Set up a local environment and run the demo or the test suite.

    python3 dev.py demo   # the main job: the provider at work against the built-in Fivetran simulator
    python3 dev.py test   # ruff, mypy and the whole pytest suite
    python3 dev.py mutate [target ...]   # mutation score of the core modules (mutation/run.py)

Needs only Python 3.10+. The first run creates ``.venv`` beside this file and installs the
package with its test tools (about a minute); later runs reuse it until ``pyproject.toml``
changes. Extra arguments after ``test`` go to pytest, after ``demo`` to the demo script, after
``mutate`` to ``mutation/run.py``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# The Airflow release the suite is run against; the package itself accepts any 3.x.
AIRFLOW_PIN = "apache-airflow==3.3.2"


def _stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + AIRFLOW_PIN.encode()).hexdigest()
    return digest[:16]


def ensure_environment() -> None:
    """Create ``.venv`` and install the package with its test extras, unless already done."""
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py runs on whatever python3 the machine has
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    marker = VENV / ".installed"
    if marker.exists() and marker.read_text().strip() == _stamp() and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing the provider and its test tools (first run only, about a minute) ...", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]", AIRFLOW_PIN],
        cwd=ROOT,
        check=True,
    )
    marker.write_text(_stamp())


def run_tests(extra: list[str]) -> int:
    """Lint, type-check and run pytest; return the first failing exit code (0 if all pass)."""
    steps = [
        [str(PYTHON), "-m", "ruff", "check", "."],
        [str(PYTHON), "-m", "ruff", "format", "--check", "."],
        [str(PYTHON), "-m", "mypy"],
        [str(PYTHON), "-m", "pytest", *extra],
    ]
    for step in steps:
        print("$ " + " ".join(Path(step[0]).name if i == 0 else part for i, part in enumerate(step)), flush=True)
        code = subprocess.run(step, cwd=ROOT).returncode
        if code != 0:
            return code
    return 0


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

"""Test matrix: the whole pytest suite on every supported Airflow, the package check and the UI check.

Run through ``python3 dev.py test`` (which installs nox into ``.venv``), or directly:

    .venv/bin/nox -s "tests(airflow='3.3')"   # one Airflow version
    .venv/bin/nox -s package                  # build sdist + wheel, check them, install the wheel cleanly
    .venv/bin/nox -s ui                       # real-browser check of the Airflow UI (newest Airflow)
    .venv/bin/nox -s docs                     # build the documentation site, warnings as errors
    .venv/bin/nox -s live                     # real Airflow processes on Postgres (newest Airflow)

Each session has its own virtualenv under ``.nox/`` (ignored by git), kept between runs and
reinstalled only when its requirements or ``pyproject.toml`` change; pip's cache is shared.
Timings and test counts of each session are written to ``.artifacts/matrix/`` for the summary
table ``dev.py`` prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nox

# dev.py, beside this file, holds the table of Airflow releases the matrix runs on.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev import AIRFLOW_RELEASES as AIRFLOW
from dev import MATRIX, NEWEST, PYTEST_WORKERS, ROOT, WORKERS_ENV

ARTIFACTS = ROOT / ".artifacts"

# Known-bad combinations of Airflow's own dependencies, pinned for the test environments only.
# The in-process execution API that dag.test() uses fails with the newest fastapi/cadwyn/svcs:
# on 3.0.6 every task start answers 422 (cadwyn 9 / fastapi 0.165), on 3.2.2 tasks fail inside
# the API. These are the versions each works with (3.1.8 and 3.3.2 resolve working ones).
PINS: dict[str, list[str]] = {
    "3.0": ["fastapi==0.117.1", "cadwyn==5.4.6"],
    "3.2": ["fastapi==0.136.3", "cadwyn==7.0.0", "svcs==25.1.0"],
}

nox.options.envdir = ".nox"
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "package", "ui", "docs", "live"]


def _install(session: nox.Session, *requirements: str, editable: bool = True) -> str:
    """Install the package (editable, with its test extra) and ``requirements`` unless already done.

    A stamp in the virtualenv remembers what was installed and how long it took; an unchanged
    environment is reused without calling pip. Returns the install time for the summary table:
    seconds, or "reused (N s)" with the time of the install that made the environment.
    """
    wanted = [*(["-e", ".[test]"] if editable else []), *requirements]
    digest = hashlib.sha256(json.dumps(wanted).encode() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = Path(session.virtualenv.location) / ".fivetran-provider-installed.json"
    if stamp.exists():
        previous = json.loads(stamp.read_text())
        if previous["digest"] == digest:
            session.log("environment is up to date, reusing it")
            return f"reused ({previous['seconds']} s)"
    started = time.monotonic()
    session.install("--disable-pip-version-check", *wanted)
    seconds = round(time.monotonic() - started, 1)
    stamp.write_text(json.dumps({"digest": digest, "seconds": seconds}))
    return str(seconds)


def _dependencies() -> str:
    """The ``dependencies`` of ``pyproject.toml`` (what a user's pip installs with the wheel)."""
    import re

    found = re.search(r"^dependencies = \[(.*?)\]", (ROOT / "pyproject.toml").read_text(), re.DOTALL | re.MULTILINE)
    return found.group(1) if found else ""


def _junit_counts(path: Path) -> dict[str, int]:
    """Passed/failed/skipped counts from a pytest JUnit XML report."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return {"passed": total - failed - skipped, "failed": failed, "skipped": skipped}


def _record(name: str, **figures: object) -> None:
    MATRIX.mkdir(parents=True, exist_ok=True)
    (MATRIX / f"{name}.json").write_text(json.dumps(figures, indent=1))


@nox.session
@nox.parametrize("airflow", list(AIRFLOW))
def tests(session: nox.Session, airflow: str) -> None:
    """The whole pytest suite on one Airflow release, in parallel workers (extra arguments go to pytest).

    With ``--install-only`` only the virtualenv is made (``dev.py test`` does that while other
    versions' suites run). Without arguments every test must run and pass; with arguments (e.g.
    ``-k restore``) a version where nothing matches passes too (pytest's exit code 5).
    """
    install_s = _install(session, f"apache-airflow=={AIRFLOW[airflow]}", *PINS.get(airflow, []))
    figures = MATRIX / f"airflow-{airflow}.json"
    junit = MATRIX / f"junit-airflow-{airflow}.xml"
    MATRIX.mkdir(parents=True, exist_ok=True)
    for stale in (figures, junit):
        stale.unlink(missing_ok=True)
    started = time.monotonic()
    failure: BaseException | None = None
    # pytest: 0 all passed, 1 some failed, 2 interrupted, 3 internal error, 4 usage error, 5 nothing
    # collected. Only 0 is a pass, and 5 when the caller narrowed the selection.
    narrowed = [arg for arg in session.posargs if not arg.startswith("--conformance-examples")]
    success_codes = [0, 5] if narrowed else [0]
    workers = os.environ.get(WORKERS_ENV, str(PYTEST_WORKERS))
    command = ["python", "-m", "pytest", "-n", workers, f"--junitxml={junit}", "--durations=30"]
    try:
        ran = session.run(*command, *session.posargs, success_codes=success_codes)
    except BaseException as exc:  # record the figures of a failing run too, then fail the session
        ran, failure = True, exc
    if ran is None:  # --install-only: the environment is ready, nothing was run
        return
    test_s = time.monotonic() - started
    counts = _junit_counts(junit) if junit.exists() else {"passed": 0, "failed": 0, "skipped": 0}
    _record(
        f"airflow-{airflow}",
        airflow=AIRFLOW[airflow],
        pins=PINS.get(airflow, []),
        install_s=install_s,
        test_s=round(test_s, 1),
        ok=failure is None,
        **counts,
    )
    if failure is not None:
        raise failure


@nox.session
def package(session: nox.Session) -> None:
    """Build the sdist and wheel, check their metadata and contents, install the wheel in a clean venv."""
    dist = ARTIFACTS / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    started = time.monotonic()
    _install(session, "build>=1.2", "twine>=5", editable=False)
    session.run("python", "-m", "build", "--outdir", str(dist), ".")
    session.run("python", "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir())))
    session.run("python", str(ROOT / "scripts" / "check_dist.py"), str(dist))
    # A clean virtualenv with only the wheel and Airflow: it must register. It is made anew when the
    # declared dependencies change; otherwise only the wheel is replaced, and pip check confirms
    # that what the wheel declares is still satisfied.
    clean = ROOT / ".nox" / "wheel-install"
    pip = [str(clean / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    wheel = next(dist.glob("*.whl"))
    airflow = f"apache-airflow=={AIRFLOW[NEWEST]}"
    declared = hashlib.sha256(_dependencies().encode() + airflow.encode()).hexdigest()
    stamp = clean / ".declared-dependencies"
    if stamp.exists() and stamp.read_text() == declared:
        session.run(*pip, "install", "--quiet", "--force-reinstall", "--no-deps", str(wheel), external=True)
        session.run(*pip, "check", external=True)
    else:
        shutil.rmtree(clean, ignore_errors=True)
        session.run("python", "-m", "venv", str(clean))
        session.run(*pip, "install", "--quiet", str(wheel), airflow, external=True)
        stamp.write_text(declared)
    home = ARTIFACTS / "wheel-airflow-home"
    shutil.rmtree(home, ignore_errors=True)
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    session.run(str(clean / "bin" / "python"), str(ROOT / "scripts" / "check_installed.py"), env=env, external=True)
    _record("package", seconds=round(time.monotonic() - started, 1), wheel=wheel.name, ok=True)


@nox.session
def ui(session: nox.Session) -> None:
    """Click through the Airflow UI in headless Chromium: connection form, Test, a DAG run, the extra link."""
    (MATRIX / "ui.json").unlink(missing_ok=True)
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        if os.geteuid() != 0:
            session.error("Debian's chromium is needed: apt-get install chromium (as root)")
        session.run("apt-get", "update", "-q", external=True)
        session.run("apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", external=True)
    install_s = _install(session, f"apache-airflow=={AIRFLOW[NEWEST]}", *PINS.get(NEWEST, []), "playwright>=1.45")
    started = time.monotonic()
    session.run("python", str(ROOT / "scripts" / "ui_check.py"))
    _record("ui", install_s=install_s, seconds=round(time.monotonic() - started, 1), ok=True)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (docs/) with Sphinx: warnings are errors, every cross-reference must resolve.

    Nitpicky mode (``-n``) makes a reference to a Python object that no page documents a warning;
    MyST reports links to missing pages and headings; ``-W --keep-going`` fails on any of them
    after listing them all. The examples on the pages run in the pytest suite
    (``tests/test_docs_examples.py``), on every Airflow.
    """
    (MATRIX / "docs.json").unlink(missing_ok=True)
    install_s = _install(
        session, "-e", ".[docs]", f"apache-airflow=={AIRFLOW[NEWEST]}", *PINS.get(NEWEST, []), editable=False
    )
    out = ARTIFACTS / "docs"
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    session.run("python", "-m", "sphinx", "-E", "-W", "--keep-going", "-n", "-q", "-b", "html", "docs", str(out))
    pages = len(list((ROOT / "docs").rglob("*.md")))  # each Markdown source is one page of the site
    _record("docs", install_s=install_s, seconds=round(time.monotonic() - started, 1), pages=pages, ok=True)


@nox.session
def live(session: nox.Session) -> None:
    """Real Airflow processes (API server, scheduler, DAG processor, triggerer) on Postgres: scripts/live_check.py."""
    (MATRIX / "live.json").unlink(missing_ok=True)
    install_s = _install(
        session, f"apache-airflow=={AIRFLOW[NEWEST]}", *PINS.get(NEWEST, []), "psycopg2-binary>=2.9", "asyncpg>=0.29"
    )
    started = time.monotonic()
    session.run("python", str(ROOT / "scripts" / "live_check.py"), *session.posargs)
    _record("live", install_s=install_s, seconds=round(time.monotonic() - started, 1), ok=True)

"""``dev.py test`` runs named stages: what waits for what, what a failure does to the exit code.

The stages here are small Python commands, run by the same runner as the real ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import dev  # noqa: E402


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(dev, "STAGE_LOGS", tmp_path / "stages")
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    return tmp_path / "stages"


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def test_a_stage_starts_only_after_the_stages_it_waits_for_passed(tmp_path: Path, logs: Path) -> None:
    marker = tmp_path / "made-by-first"
    stages = [
        dev.Stage("second", (python(f"import pathlib; print(pathlib.Path({str(marker)!r}).read_text())"),), ("first",)),
        dev.Stage("first", (python(f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ready')"),)),
    ]
    outcomes = dev.run_stages(stages, jobs=1)
    assert [outcome.status for outcome in outcomes.values()] == ["passed", "passed"]
    assert "ready" in (logs / "second.log").read_text()


def test_a_failing_command_fails_its_stage_skips_what_waits_for_it_and_runs_the_rest(logs: Path) -> None:
    stages = [
        dev.Stage("broken", (python("print('checked'); raise SystemExit(3)"), python("print('never')"))),
        dev.Stage("after-broken", (python("print('never either')"),), ("broken",)),
        dev.Stage("independent", (python("print('ran')"),)),
    ]
    outcomes = dev.run_stages(stages, jobs=2)
    assert outcomes["broken"].status == "FAILED" and outcomes["broken"].code == 3
    assert "never" not in (logs / "broken.log").read_text()
    assert outcomes["after-broken"].status == "skipped"
    assert outcomes["independent"].status == "passed"
    assert "| broken | FAILED |" in dev.stage_table(outcomes)


@pytest.mark.skipif(not hasattr(__import__("os"), "wait4"), reason="CPU time per process tree needs wait4")
def test_a_stage_reports_the_cpu_time_of_the_processes_it_started(logs: Path) -> None:
    burn = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass"
    idle = "import time; time.sleep(0.4)"
    stages = [dev.Stage("burns", (python(burn),)), dev.Stage("idles", (python(idle),))]
    outcomes = dev.run_stages(stages, jobs=2)
    burned, idled = outcomes["burns"].cpu_seconds, outcomes["idles"].cpu_seconds
    assert burned is not None and idled is not None
    assert burned >= 0.4 > idled  # the child's CPU time counts, a sleep's does not
    table = dev.stage_table(outcomes)
    assert "| CPU (s) | cores |" in table
    assert f"| burns | passed | {outcomes['burns'].seconds:.0f} | {burned:.0f} |" in table


def test_a_stage_waiting_for_an_unknown_stage_is_refused(logs: Path) -> None:
    with pytest.raises(ValueError, match="unknown stages"):
        dev.run_stages([dev.Stage("lonely", (python("pass"),), ("nowhere",))], jobs=1)


def test_the_whole_command_has_every_airflow_install_and_suite_and_the_package_docs_ui_and_live_checks() -> None:
    stages = dev.test_stages(dev.VERSIONS, lint=True, full=True, pytest_args=[])
    names = [stage.name for stage in stages]
    for version in dev.VERSIONS:
        assert f"install-{version}" in names and f"pytest-{version}" in names
        pytest_stage = stages[names.index(f"pytest-{version}")]
        assert pytest_stage.after == (f"install-{version}",)
        sampled = f"--conformance-examples={dev.CONFORMANCE_SAMPLE}" in pytest_stage.commands[0]
        assert sampled == (version != dev.NEWEST), "all conformance requests on the newest Airflow, a sample elsewhere"
    assert {"lint", "package", "ui", "docs", "live"} <= set(names)


def test_one_version_runs_lint_and_that_suite_with_the_callers_pytest_arguments() -> None:
    stages = dev.test_stages(["2.11"], lint=True, full=False, pytest_args=["-k", "restore"])
    assert [stage.name for stage in stages] == ["install-2.11", "lint", "pytest-2.11"]
    assert stages[-1].commands[0][-3:] == ("--", "-k", "restore")


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == "python3 dev.py test"
    assert "`python3 dev.py test`" in (ROOT / "README.md").read_text()


def stage(name: str, cores: int = 1, after: tuple[str, ...] = ()) -> dev.Stage:
    return dev.Stage(name, (python("pass"),), after, cores)


def test_a_suite_waiting_for_installs_to_end_keeps_its_cores_from_the_next_install() -> None:
    installs = [stage("install-3.3"), stage("lint")]
    waiting = [stage("pytest-3.2", 2, ("install-3.2",)), stage("install-3.1"), stage("ui")]
    assert dev.startable(waiting, installs, {"install-3.2"}, jobs=3) == []
    # One install ended: the suite starts beside the other.
    assert dev.startable(waiting, installs[:1], {"install-3.2"}, jobs=3) == [waiting[0]]


def test_beside_a_running_suite_installs_fill_the_spare_core_while_the_next_suite_waits() -> None:
    running = [stage("pytest-3.2", 2)]
    waiting = [stage("pytest-3.3", 2, ("install-3.3",)), stage("install-3.1"), stage("ui")]
    assert dev.startable(waiting, running, {"install-3.3"}, jobs=3) == [waiting[1]]


def test_a_stage_larger_than_the_budget_still_runs_when_nothing_else_does() -> None:
    assert dev.startable([stage("huge", 4)], [], set(), jobs=3) == [stage("huge", 4)]

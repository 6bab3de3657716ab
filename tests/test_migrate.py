"""``python -m fivetran_provider.migrate``: dry run, --write, idempotence, files needing nothing, Airflow 3 notes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fivetran_provider import migrate

DAGS = Path(__file__).resolve().parent / "dags"

MIXED = '''"""Every import form of the old package, plus Airflow 2 code the command must leave alone."""
from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from fivetran_provider_async.operators import (  # keep this comment
    FivetranOperator,
    FivetranResyncOperator,
)
import fivetran_provider_async.hooks as fivetran_hooks
import os, fivetran_provider_async
from fivetran_provider_async.triggers import FivetranTrigger

if os.environ.get("X"):
    from fivetran_provider_async import sensors

text = "fivetran_provider_async stays in strings: déjà vu"
dag = DAG("d", schedule_interval=timedelta(days=1))
'''

MIXED_AFTER = '''"""Every import form of the old package, plus Airflow 2 code the command must leave alone."""
from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from fivetran_provider.compat.fivetran_async.operators import (  # keep this comment
    FivetranOperator,
    FivetranResyncOperator,
)
import fivetran_provider.compat.fivetran_async.hooks as fivetran_hooks
import os, fivetran_provider.compat.fivetran_async as fivetran_provider_async
from fivetran_provider.compat.fivetran_async.triggers import FivetranTrigger

if os.environ.get("X"):
    from fivetran_provider.compat.fivetran_async import sensors

text = "fivetran_provider_async stays in strings: déjà vu"
dag = DAG("d", schedule_interval=timedelta(days=1))
'''


def test_migrate_source_rewrites_only_the_import_module_names() -> None:
    after, notes = migrate.migrate_source(MIXED)
    assert after == MIXED_AFTER
    assert notes == [
        (5, "Airflow 3: airflow.operators.python moved to the standard provider (ruff AIR312)"),
        (18, "Airflow 3: schedule_interval= is gone; use schedule= (ruff AIR301)"),
    ]
    assert migrate.migrate_source(after)[0] == after  # nothing left to do


def test_migrated_names_resolve() -> None:
    namespace: dict[str, object] = {}
    exec(  # the rewritten import statements, run for real
        "import fivetran_provider.compat.fivetran_async as fivetran_provider_async\n"
        "from fivetran_provider.compat.fivetran_async.operators import FivetranOperator, FivetranResyncOperator\n"
        "from fivetran_provider.compat.fivetran_async.sensors import FivetranSensor\n"
        "from fivetran_provider.compat.fivetran_async.hooks import FivetranHook, FivetranHookAsync\n"
        "from fivetran_provider.compat.fivetran_async.triggers import FivetranTrigger\n"
        "via_package = fivetran_provider_async.operators.FivetranOperator\n",
        namespace,
    )
    assert namespace["via_package"] is namespace["FivetranOperator"]


def test_modules_without_a_counterpart_are_listed_and_left_alone() -> None:
    source = (
        "from fivetran_provider_async.utils.operator_utils import datasets\n"
        "import fivetran_provider_async.utils\n"
        "from fivetran_provider_async import hooks\n"
    )
    after, notes = migrate.migrate_source(source)
    assert after.splitlines()[:2] == source.splitlines()[:2]
    assert after.splitlines()[2] == "from fivetran_provider.compat.fivetran_async import hooks"
    assert [line for line, _message in notes] == [1, 2]
    assert "fivetran_provider_async.utils.operator_utils has no counterpart" in notes[0][1]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A DAG folder written for both earlier providers, plus a file that needs nothing."""
    shutil.copytree(DAGS / "compat_async", tmp_path / "async_dags")
    shutil.copytree(DAGS / "compat_archived", tmp_path / "archived_dags")
    (tmp_path / "mixed.py").write_text(MIXED, encoding="utf-8")
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*.py"))}


def test_dry_run_prints_a_diff_exits_1_and_changes_nothing(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(folder)
    assert migrate.main([str(folder)]) == 1
    out, err = capsys.readouterr()
    assert snapshot(folder) == before
    assert f"--- {folder / 'async_dags' / 'async_sync.py'} (before)" in out
    assert "-from fivetran_provider_async.operators import FivetranOperator\n" in out
    assert "+from fivetran_provider.compat.fivetran_async.operators import FivetranOperator\n" in out
    assert "archived_dags" not in out  # written for 1.x: those imports exist here
    changed = sum(1 for line in out.splitlines() if line.startswith("+++ "))
    assert changed == 5 + 1  # every async DAG and the mixed file
    assert "would rewrite 6 file(s)" in err
    assert f"{folder / 'mixed.py'}:18: Airflow 3: schedule_interval= is gone" in err
    assert "AIR312" in err and "ruff check --select AIR3" in err


def test_write_rewrites_in_place_and_a_second_run_changes_nothing(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(folder)
    assert migrate.main(["--write", str(folder)]) == 0
    after = snapshot(folder)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {f"async_dags/{path.name}" for path in (DAGS / "compat_async").glob("*.py")} | {"mixed.py"}
    assert after["mixed.py"] == MIXED_AFTER.encode("utf-8")
    for name in changed:  # only import lines differ
        old_lines, new_lines = before[name].splitlines(), after[name].splitlines()
        assert len(old_lines) == len(new_lines)
        for old, new in zip(old_lines, new_lines, strict=True):
            assert old == new or (b"fivetran_provider_async" in old and b"import" in old)
    capsys.readouterr()
    assert migrate.main([str(folder)]) == 0  # dry run: nothing left
    out, err = capsys.readouterr()
    assert out == "" and "nothing to change" in err
    assert migrate.main(["--write", str(folder)]) == 0
    assert snapshot(folder) == after


def test_files_that_need_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(DAGS / "compat_archived", tmp_path / "archived")
    (tmp_path / "plain.py").write_text("from fivetran_provider.operators import FivetranSyncOperator\n")
    before = snapshot(tmp_path)
    assert migrate.main([str(tmp_path)]) == 0
    assert migrate.main(["--write", str(tmp_path)]) == 0
    out, _err = capsys.readouterr()
    assert out == "" and snapshot(tmp_path) == before


def test_a_file_that_does_not_parse_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("from fivetran_provider_async.operators import (\n")
    assert migrate.main(["--write", str(tmp_path)]) == 2
    assert broken.read_text() == "from fivetran_provider_async.operators import (\n"
    assert "broken.py: left alone, SyntaxError" in capsys.readouterr().err


def test_the_module_runs_as_a_command(folder: Path) -> None:
    target = folder / "async_dags" / "async_resync.py"
    done = subprocess.run(
        [sys.executable, "-m", "fivetran_provider.migrate", str(target)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "+from fivetran_provider.compat.fivetran_async.operators import FivetranResyncOperator" in done.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "fivetran_provider.migrate", str(folder / "nowhere")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr

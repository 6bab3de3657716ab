"""Importing the provider beside the archived ``airflow-provider-fivetran`` fails at once, saying why.

Both distributions install into ``fivetran_provider/``. Installing the real archived package
would overwrite this checkout's files, so the tests put only its *metadata* on the path: a
``airflow_provider_fivetran-1.1.4.dist-info`` folder in a temporary directory added to
``PYTHONPATH``, which is exactly what ``importlib.metadata`` finds for an installed distribution.
Each case runs in a fresh interpreter so the import really happens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def fake_archived_distribution(folder: Path) -> Path:
    """The metadata pip leaves for airflow-provider-fivetran 1.1.4 (nothing else of it)."""
    info = folder / "airflow_provider_fivetran-1.1.4.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: airflow-provider-fivetran\nVersion: 1.1.4\n")
    (info / "RECORD").write_text("")
    return folder


def import_in_fresh_interpreter(statement: str, extra_path: Path | None) -> subprocess.CompletedProcess[str]:
    path = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    return subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(
    "statement",
    ["import fivetran_provider", "from fivetran_provider.operators import PauseConnectionOperator"],
)
def test_import_beside_the_archived_distribution_fails_naming_both_and_the_fix(tmp_path: Path, statement: str) -> None:
    done = import_in_fresh_interpreter(statement, fake_archived_distribution(tmp_path))
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("fivetran_provider._clash.ConflictingDistributionError:"), done.stderr
    assert "'airflow-provider-fivetran' 1.1.4" in last_line
    assert "'airflow-provider-fivetran-connections'" in last_line
    assert "pip uninstall -y airflow-provider-fivetran airflow-provider-fivetran-connections" in last_line


def test_the_check_also_guards_modules_imported_without_the_package_init(tmp_path: Path) -> None:
    # If the archived package was installed last, its __init__.py replaced ours. Airflow's own
    # provider discovery then stops the import first (the entry point's package name no longer
    # matches the distribution); otherwise _compat, which every module imports, checks again.
    fake_archived_distribution(tmp_path)
    statement = (
        "import sys, types; pkg = types.ModuleType('fivetran_provider'); pkg.__version__ = '1.1.4'; "
        "pkg.get_provider_info = lambda: {'package-name': 'airflow-provider-fivetran', 'name': 'Fivetran', "
        "'description': 'archived', 'versions': ['1.1.4']}; "
        f"pkg.__path__ = [{str(ROOT / 'fivetran_provider')!r}]; sys.modules['fivetran_provider'] = pkg; "
        "import fivetran_provider.hooks"
    )
    done = import_in_fresh_interpreter(statement, tmp_path)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    ours = "ConflictingDistributionError" in last_line
    airflows = "airflow-provider-fivetran-connections" in last_line and "do not match" in last_line
    assert ours or airflows, done.stderr


def test_import_without_the_archived_distribution_works() -> None:
    done = import_in_fresh_interpreter("from fivetran_provider.operators import PauseConnectionOperator", None)
    assert done.returncode == 0, done.stderr

"""Parsing a DAG file that uses our operators and sensor imports nothing a plain DAG file does not.

Users notice this as DAG parse time: ``task`` alone pulls in the standard provider's Python
operators, ``requests`` costs tens of milliseconds per parse. Each probe runs in a fresh
interpreter (this test session has long imported everything) and starts where every DAG file
starts: ``import airflow.sdk`` (``from airflow import DAG`` on Airflow 2). What the probe's DAG
adds is compared with what the same DAG adds when built from Airflow's own ``BaseOperator``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

START = """
import json, sys
try:
    import airflow.sdk
    # The base classes of an operator, a sensor and an extra link, which ours derive from.
    from airflow.sdk import DAG, BaseOperator, BaseOperatorLink, BaseSensorOperator
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.models.baseoperator import BaseOperator
    from airflow.models.baseoperatorlink import BaseOperatorLink
    from airflow.sensors.base import BaseSensorOperator
before = set(sys.modules)
"""

PLAIN = (
    START
    + """
class Plain(BaseOperator):
    def execute(self, context):
        return None
imported = set(sys.modules) - before
try:  # Airflow 3: our tasks declare the connection's asset as an outlet; so does this one
    from airflow.sdk import Asset
    outlets = [Asset("fivetran://plain")]
except ImportError:  # Airflow 2
    outlets = []
with DAG("plain", schedule=None):
    for name in ("update", "pause", "resume", "sync"):
        Plain(task_id=name)
    Plain(task_id="wait", outlets=outlets)
print(json.dumps({"imported": sorted(imported), "built": sorted(set(sys.modules) - before)}))
"""
)

OURS = (
    START
    + """
from fivetran_provider.operators import (
    FivetranSyncOperator, PauseConnectionOperator, ResumeConnectionOperator, UpdateFivetranConnectionOperator,
)
from fivetran_provider.sensors import FivetranSyncSensor
imported = set(sys.modules) - before
with DAG("ours", schedule=None):
    UpdateFivetranConnectionOperator(task_id="update", connection_id="conn_a", sync_frequency=60)
    PauseConnectionOperator(task_id="pause", connection_id="conn_a")
    ResumeConnectionOperator(task_id="resume", connection_id="conn_a")
    FivetranSyncOperator(task_id="sync", connection_id="conn_a")
    FivetranSyncSensor(task_id="wait", connection_id="conn_a")
print(json.dumps({"imported": sorted(imported), "built": sorted(set(sys.modules) - before)}))
"""
)

HEAVY = (
    "requests",
    "httpx",
    "urllib3",
    "fivetran_provider.sync_status",
    "fivetran_provider.hooks.async_hook",
    "difflib",
)


def probe(code: str, home: Path) -> dict[str, list[str]]:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("AIRFLOW_CONN_FIVETRAN_DEFAULT", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, cwd=str(ROOT)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def foreign(names: list[str]) -> set[str]:
    """The modules of ``names`` that are not this provider's."""
    return {name for name in names if name.split(".")[0] != "fivetran_provider"}


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    home = tmp_path_factory.mktemp("import-cost-home")
    return probe(PLAIN, home), probe(OURS, home)


def test_importing_the_operators_and_sensor_adds_no_module_of_airflow_or_anyone_else(
    probes: tuple[dict[str, list[str]], dict[str, list[str]]],
) -> None:
    plain, ours = probes
    assert "fivetran_provider.operators.sync" in ours["imported"] and "fivetran_provider.sensors" in ours["imported"]
    added = foreign(ours["imported"]) - foreign(plain["imported"])
    assert added == set(), f"importing the operators and sensor imported {sorted(added)} beyond airflow.sdk"


def test_building_the_tasks_adds_nothing_a_dag_of_plain_operators_does_not(
    probes: tuple[dict[str, list[str]], dict[str, list[str]]],
) -> None:
    plain, ours = probes
    added = foreign(ours["built"]) - foreign(plain["built"])
    assert added == set(), f"building our tasks imported {sorted(added)} beyond a DAG of plain operators"


def test_no_http_client_or_trigger_code_is_imported_at_parse_time(
    probes: tuple[dict[str, list[str]], dict[str, list[str]]],
) -> None:
    plain, ours = probes
    # Airflow 3.0's own asset classes import httpx: what the plain DAG imports too is not ours.
    heavy = [name for name in ours["built"] if name in HEAVY or name.split(".")[0] in ("requests", "httpx", "urllib3")]
    pulled = sorted(set(heavy) - set(plain["built"]))
    assert pulled == [], f"building the operators and sensor imported {pulled}"


def test_the_trigger_still_finds_its_base_class_through_the_compat_module() -> None:
    from fivetran_provider import _compat
    from fivetran_provider.triggers import FivetranSyncTrigger

    assert issubclass(FivetranSyncTrigger, _compat.BaseTrigger)
    assert _compat.TriggerEvent({"status": "success"}).payload == {"status": "success"}


def test_names_imported_on_first_use_are_airflows_own() -> None:
    from fivetran_provider import _compat

    for name in ("DAG", "Param", "PokeReturnValue", "task", "BaseHook"):
        value = getattr(_compat, name)
        assert value.__module__.split(".")[0] == "airflow", (name, value.__module__)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _compat.Nothing  # noqa: B018

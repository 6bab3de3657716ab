"""Parsing a DAG file that uses our operators and sensor must not pull in the HTTP clients or the triggerer's code.

Users notice this as DAG parse time: ``requests`` alone costs tens of milliseconds per parse.
Run in a fresh interpreter, since this test session has long imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
from fivetran_provider._compat import AIRFLOW_V_3_PLUS, DAG, BaseOperator, asset_classes
# What Airflow itself loads for any DAG with a task (on 3.0 BaseOperator pulls in the serializer
# and with it airflow.triggers.base; Airflow's asset classes import httpx there) is not our cost.
if AIRFLOW_V_3_PLUS:
    asset_classes()
class Plain(BaseOperator):
    def execute(self, context):
        return None
with DAG("baseline", schedule=None):
    Plain(task_id="plain")
before = set(sys.modules)
from fivetran_provider.operators import (
    FivetranSyncOperator, PauseConnectionOperator, ResumeConnectionOperator, UpdateFivetranConnectionOperator,
)
from fivetran_provider.sensors import FivetranSyncSensor
# Building the tasks, as a DAG file does, must not import them either.
with DAG("probe", schedule=None):
    UpdateFivetranConnectionOperator(task_id="update", connection_id="conn_a", sync_frequency=60)
    PauseConnectionOperator(task_id="pause", connection_id="conn_a")
    ResumeConnectionOperator(task_id="resume", connection_id="conn_a")
    FivetranSyncOperator(task_id="sync", connection_id="conn_a")
    FivetranSyncSensor(task_id="wait", connection_id="conn_a")
print(json.dumps(sorted(set(sys.modules) - before)))
"""

HEAVY = ("requests", "httpx", "urllib3", "airflow.triggers.base", "fivetran_provider.sync_status", "difflib")


def test_operators_and_sensor_import_without_http_clients_or_trigger_code(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("AIRFLOW_CONN_FIVETRAN_DEFAULT", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False, cwd=str(ROOT)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    added = json.loads(result.stdout.strip().splitlines()[-1])
    assert "fivetran_provider.operators.sync" in added and "fivetran_provider.sensors" in added
    pulled = [name for name in added if name in HEAVY or name.split(".")[0] in ("requests", "httpx", "urllib3")]
    assert pulled == [], f"importing the operators and sensor imported {pulled}"


def test_the_trigger_still_finds_its_base_class_through_the_compat_module() -> None:
    from fivetran_provider import _compat
    from fivetran_provider.triggers import FivetranSyncTrigger

    assert issubclass(FivetranSyncTrigger, _compat.BaseTrigger)
    assert _compat.TriggerEvent({"status": "success"}).payload == {"status": "success"}

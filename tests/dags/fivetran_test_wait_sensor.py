"""Test DAGs: wait with ``FivetranSyncSensor`` for a sync someone else runs, in each sensor mode."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG, task
from fivetran_provider.sensors import FivetranSyncSensor


@task
def report(outcome: dict[str, Any]) -> str:
    """Stands for work that needs the fresh data."""
    assert outcome["status"] == "success", outcome
    return f"data of {outcome['connection_id']} as of {outcome['succeeded_at']}"


for mode in ("poke", "reschedule", "deferrable"):
    with DAG(
        dag_id=f"test_wait_sensor_{mode}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["test"],
    ):
        sensor = FivetranSyncSensor(
            task_id="wait",
            connection_id="{{ dag_run.conf['connection_id'] }}",
            completed_after="{{ dag_run.conf.get('completed_after') }}",
            mode="reschedule" if mode == "reschedule" else "poke",
            deferrable=mode == "deferrable",
            poke_interval=1,
            timeout=20,
        )
        report(sensor.output)

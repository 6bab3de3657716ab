"""Test DAGs: start a Fivetran sync or re-sync, wait for it (in the worker or the triggerer), then backfill.

The connection id (and options) come from the run's conf so one DAG serves every scenario.
Durations are tiny because the tests drive the simulator's clock-based sync lifecycle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG, task
from fivetran_provider.operators import FivetranSyncOperator

CONNECTION_ID = "{{ dag_run.conf['connection_id'] }}"


@task
def backfill(sync_result: dict[str, Any]) -> str:
    """Stands for a backfill that must only run once the sync has finished."""
    assert sync_result["sync"]["status"] == "success", sync_result
    return f"backfilled {sync_result['connection_id']} up to {sync_result['sync']['succeeded_at']}"


def manual_dag(dag_id: str) -> DAG:
    """A DAG run only by hand, with the run's conf saying which connection."""
    return DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"])


for mode, deferrable in (("deferrable", True), ("blocking", False)):
    with manual_dag(f"test_wait_sync_{mode}"):
        sync = FivetranSyncOperator(
            task_id="sync",
            connection_id=CONNECTION_ID,
            force="{{ dag_run.conf.get('force', False) }}",
            unpause_if_paused=False,
            deferrable=deferrable,
            poll_interval=1,
            timeout=30,
        )
        backfill(sync.output)

    with manual_dag(f"test_wait_resync_{mode}"):
        resync = FivetranSyncOperator(
            task_id="resync",
            connection_id=CONNECTION_ID,
            resync=True,
            scope="{{ dag_run.conf.get('scope') }}",
            deferrable=deferrable,
            poll_interval=1,
            timeout=30,
        )
        backfill(resync.output)

    with manual_dag(f"test_wait_timeout_{mode}"):
        FivetranSyncOperator(
            task_id="sync",
            connection_id=CONNECTION_ID,
            deferrable=deferrable,
            poll_interval=1,
            timeout=1.5,
        )

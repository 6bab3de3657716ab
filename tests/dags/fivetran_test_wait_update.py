"""Test DAGs for ``UpdateFivetranConnectionOperator(is_historical_sync=True)`` waiting for its sync,
in deferrable and blocking mode."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG, task
from fivetran_provider.operators import RestoreFivetranConnectionOperator, UpdateFivetranConnectionOperator


@task
def backfill(result: dict[str, Any]) -> str:
    """Stands for a backfill that needs the historical sync to be over."""
    assert result["sync"]["status"] == "success", result
    return result["sync"]["succeeded_at"]


for mode, deferrable in (("deferrable", True), ("blocking", False)):
    with DAG(
        dag_id=f"test_wait_update_{mode}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["test"],
    ):
        patch = UpdateFivetranConnectionOperator(
            task_id="patch",
            connection_id="{{ dag_run.conf['connection_id'] }}",
            is_historical_sync=True,
            wait_for_completion="{{ dag_run.conf.get('wait', True) }}",
            deferrable=deferrable,
            poll_interval=1,
            timeout=30,
        )
        backfill(patch.output)


with DAG(
    dag_id="test_wait_update_then_restore",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["test"],
):
    # A schedule change and a historical sync in one update; the undo must work even when the
    # sync fails after the PATCH has been applied.
    change = UpdateFivetranConnectionOperator(
        task_id="patch",
        connection_id="{{ dag_run.conf['connection_id'] }}",
        sync_frequency=60,
        is_historical_sync=True,
        deferrable=False,
        poll_interval=1,
        timeout=30,
    )
    change >> RestoreFivetranConnectionOperator(task_id="restore", restore_from="patch", trigger_rule="all_done")

"""Test DAGs for the ``SyncWaitMixin`` contract, with a minimal operator shaped like the update operator.

``PatchHistoricalOperator`` does what ``UpdateFivetranConnectionOperator(is_historical_sync=True)``
does: read the connection (the baseline), PATCH ``is_historical_sync: true``, then hand its own
result to ``wait_for_sync``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, BaseOperator, task

from fivetran_provider.hooks import FivetranHook
from fivetran_provider.operators.sync import SyncWaitMixin
from fivetran_provider.sync_status import capture_baseline


class PatchHistoricalOperator(SyncWaitMixin, BaseOperator):
    """Start a historical sync with a PATCH and wait for it through the mixin."""

    template_fields = ("connection_id", "wait_for_completion")

    def __init__(
        self,
        *,
        connection_id: str,
        deferrable: bool,
        wait_for_completion: bool | str = True,
        poll_interval: float = 0.1,
        timeout: float | None = 30,
        fivetran_conn_id: str = "fivetran_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.connection_id = connection_id
        self.deferrable = deferrable
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.fivetran_conn_id = fivetran_conn_id

    def execute(self, context: Any) -> Any:
        hook = FivetranHook(self.fivetran_conn_id)
        current = hook.get_connection_details(self.connection_id)
        baseline = capture_baseline(current)  # before the request
        hook.update_connection(self.connection_id, current_state=current, is_historical_sync=True)
        own = {"connection_id": self.connection_id, "changed": ["is_historical_sync"]}
        return self.wait_for_sync(
            context, connection_id=self.connection_id, baseline=baseline, historical=True, result=own, hook=hook
        )


@task
def backfill(result: dict[str, Any]) -> str:
    """Stands for a backfill that needs the historical sync to be over."""
    assert result["sync"]["status"] == "success", result
    return result["sync"]["succeeded_at"]


for mode, deferrable in (("deferrable", True), ("blocking", False)):
    with DAG(
        dag_id=f"test_wait_mixin_{mode}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["test"],
    ):
        patch = PatchHistoricalOperator(
            task_id="patch",
            connection_id="{{ dag_run.conf['connection_id'] }}",
            wait_for_completion="{{ dag_run.conf.get('wait', True) }}",
            deferrable=deferrable,
        )
        backfill(patch.output)

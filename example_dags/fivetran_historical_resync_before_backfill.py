"""Start a historical re-sync of a Fivetran connection before backfilling from its data.

``start_historical_resync`` sets ``is_historical_sync`` from the ``full_refresh`` param. The value
arrives as rendered text (``"True"``/``"False"``) and is coerced, so the DAG needs no native
rendering. With ``full_refresh`` false nothing is sent to Fivetran and the backfill runs on the
data as it is; with true Fivetran starts re-syncing the whole connection. The task's XCom
records what it asked for.

``backfill`` stands for your own backfill that reads what the connection loads.

Try it against the local simulator::

    python -m fivetran_provider.testing
    airflow dags test fivetran_historical_resync_before_backfill -c '{"full_refresh": true}'
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from fivetran_provider.operators import UpdateFivetranConnectionOperator

with DAG(
    dag_id="fivetran_historical_resync_before_backfill",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
    params={
        "connection_id": Param("mellow_quartz", type="string", description="Fivetran connection to re-sync."),
        "full_refresh": Param(False, type="boolean", description="Re-sync all history before the backfill."),
    },
):
    start_resync = UpdateFivetranConnectionOperator(
        task_id="start_historical_resync",
        connection_id="{{ params.connection_id }}",
        is_historical_sync="{{ params.full_refresh }}",
    )

    # --- Wait for the historical sync here -------------------------------------------------
    # The backfill should only start once Fivetran has finished re-syncing. Put a task that
    # waits for the connection's sync to complete between ``start_resync`` and ``backfill``.
    # -----------------------------------------------------------------------------------------

    @task
    def backfill(**context: object) -> None:
        """Your backfill goes here, reading the tables the connection loads."""
        print(f"Backfilling from connection {context['params']['connection_id']} ...")  # type: ignore[index]

    start_resync >> backfill()

"""Start a historical re-sync of a Fivetran connection before backfilling from its data.

``start_historical_resync`` sets ``is_historical_sync`` from the ``full_refresh`` param. The value
arrives as rendered text (``"True"``/``"False"``) and is coerced, so the DAG needs no native
rendering. With ``full_refresh`` false nothing is sent to Fivetran and the backfill runs on the
data as it is; with true Fivetran starts re-syncing the whole connection and the task waits until
that historical sync has finished — deferred to the triggerer, so it holds no worker slot while
Fivetran works. A failed sync fails the task (with Fivetran's failure time and a link to the
connection's dashboard), so the backfill never runs on half-loaded data. The task's XCom records
what it changed and how the sync ended.

``backfill`` stands for your own backfill that reads what the connection loads.

Try it against the local simulator::

    python -m fivetran_provider.testing
    airflow dags test fivetran_historical_resync_before_backfill -c '{"full_refresh": true}'
"""

from __future__ import annotations

from datetime import timedelta

from fivetran_provider.operators import UpdateFivetranConnectionOperator

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider.sdk import DAG, Param, task

with DAG(
    dag_id="fivetran_historical_resync_before_backfill",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
    params={
        "connection_id": Param("mellow_quartz", type="string", description="Fivetran connection to re-sync."),
        "full_refresh": Param(False, type="boolean", description="Re-sync all history before the backfill."),
        "poll_interval_seconds": Param(60, type="number", description="How often to look at the sync."),
    },
):
    start_resync = UpdateFivetranConnectionOperator(
        task_id="start_historical_resync",
        connection_id="{{ params.connection_id }}",
        is_historical_sync="{{ params.full_refresh }}",
        wait_for_completion=True,  # the default, spelled out: the backfill needs the re-synced data
        deferrable=True,
        poll_interval="{{ params.poll_interval_seconds }}",
        timeout=timedelta(hours=12),
    )

    @task
    def backfill(**context: object) -> None:
        """Your backfill goes here, reading the tables the connection loads."""
        print(f"Backfilling from connection {context['params']['connection_id']} ...")  # type: ignore[index]

    start_resync >> backfill()

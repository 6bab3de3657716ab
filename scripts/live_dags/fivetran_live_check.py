"""DAGs of the live check (``scripts/live_check.py``), next to the example DAGs in their own bundle.

Each talks to its own simulator through its own Airflow connection, so each simulator's request
log holds the requests of one part of the check only:

* ``live_start_sync`` starts a sync of ``landing_pad`` with ``FivetranSyncOperator`` and waits for
  it in the triggerer (``fivetran_landing``);
* ``live_landed_consumer`` is scheduled on ``landing_pad``'s asset: it must run exactly once per
  landed sync, whoever started it;
* ``live_mass_wait`` starts ``params.count`` syncs as mapped deferrable tasks, spread over the
  groups of the ``fivetran_mass`` simulator.
"""

from __future__ import annotations

from typing import Any

from fivetran_provider._compat import DAG, Param, task
from fivetran_provider.assets import fivetran_connection_asset, sync_payload
from fivetran_provider.operators import FivetranSyncOperator

#: The consumer's watcher polls this often; the live check waits a few of these to see no extra run.
WATCH_INTERVAL = 3

with DAG(
    dag_id="live_start_sync",
    schedule=None,
    catchup=False,
    tags=["live-check"],
    params={"connection_id": Param("landing_pad", type="string")},
):
    # A templated id: the operator emits its event through the provider's asset alias. (A literal
    # id would declare the asset ``fivetran://landing_pad`` here without the watcher that
    # ``live_landed_consumer`` attaches to it; Airflow keeps one definition of an asset.)
    FivetranSyncOperator(
        task_id="sync_landing_pad",
        connection_id="{{ params.connection_id }}",
        fivetran_conn_id="fivetran_landing",
        deferrable=True,
        poll_interval=2,
    )

with DAG(
    dag_id="live_landed_consumer",
    schedule=[
        fivetran_connection_asset("landing_pad", fivetran_conn_id="fivetran_landing", poll_interval=WATCH_INTERVAL)
    ],
    catchup=False,
    tags=["live-check"],
):

    @task
    def report_landing(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """The landed syncs behind this run."""
        landed = []
        for events in (triggering_asset_events or {}).values():
            for event in events:
                sync = sync_payload(event)
                if sync is not None:
                    landed.append(sync)
        return landed

    report_landing()

with DAG(
    dag_id="live_mass_wait",
    schedule=None,
    catchup=False,
    max_active_tasks=500,
    tags=["live-check"],
    params={"count": Param(100, type="integer")},
):

    @task
    def connection_ids(**context: Any) -> list[str]:
        """``live_000`` ... one id per mapped wait."""
        return [f"live_{index:03d}" for index in range(int(context["params"]["count"]))]

    FivetranSyncOperator.partial(
        task_id="sync_and_wait",
        fivetran_conn_id="fivetran_mass",
        deferrable=True,
        poll_interval=10,  # MASS_INTERVAL in scripts/live_check.py
    ).expand(connection_id=connection_ids())

"""Run a DAG when Fivetran has landed new data: event-driven scheduling on a ``fivetran://`` asset.

``fivetran_connection_asset("mellow_quartz")`` is an Airflow 3 asset with a watcher: the
triggerer runs ``FivetranSyncEventTrigger``, which reads the connection every ``poll_interval``
seconds and emits an asset event each time a sync of ``mellow_quartz`` succeeds, whoever
started it (Fivetran's own schedule, another DAG, someone in the Fivetran UI). The scheduler
then starts this DAG. No sensor holds a worker slot, and one poll serves every DAG scheduled on
the asset.

The watcher is the asset's only source of events, so each landed sync starts this DAG once,
including a sync started by this provider in another DAG (``fivetran_sync_by_name``): the tasks
that start or wait for a sync emit their own event for ``fivetran://mellow_quartz/task-syncs``,
not for this asset. The event's ``extra`` carries ``connection_id``, ``outcome``,
``succeeded_at``, ``failed_at`` and ``historical`` under ``"payload"``; ``report_landing`` reads
each landed sync once with ``landed_syncs`` (Airflow files an event added through an alias under
both the asset and the alias).

Needs Airflow 3 (on Airflow 2 ``fivetran_connection_asset`` raises an error saying so) and a
running triggerer::

    python -m fivetran_provider.testing      # the simulator, with mellow_quartz
    airflow standalone                       # scheduler + triggerer
"""

from __future__ import annotations

from typing import Any

from fivetran_provider.assets import fivetran_connection_asset, landed_syncs
from fivetran_provider.sdk import DAG, task

MELLOW_QUARTZ = fivetran_connection_asset("mellow_quartz", poll_interval=60)

with DAG(
    dag_id="fivetran_run_when_data_lands",
    schedule=[MELLOW_QUARTZ],
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
):

    @task
    def report_landing(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """What landed: each sync behind this run once, from the asset events' extra."""
        landed = landed_syncs(triggering_asset_events)
        for sync in landed:
            print(f"Fivetran {sync['connection_id']}: sync {sync['outcome']} at {sync['succeeded_at']}")
        return landed

    report_landing()

"""Switch a Fivetran connection to manual syncs while a pipeline runs, then restore its schedule.

``switch_to_manual`` sets ``schedule_type="manual"`` on the connection given by the
``connection_id`` param, so Fivetran only syncs when asked through the API while ``pipeline``
(your own work) runs. It records the earlier values. ``restore_schedule`` is a teardown that puts
back whatever ``switch_to_manual`` changed, read from its XCom record, even when the pipeline
fails. Nothing is sent when the connection already has the wanted values, and the restore then
has nothing to undo.

To pin the connection to one daily sync instead, replace ``schedule_type="manual"`` with
``sync_frequency=1440, daily_sync_time="03:00"``; the restore works the same way.

Try it against the local simulator::

    python -m fivetran_provider.testing
    airflow dags test fivetran_temporary_schedule_change
"""

from __future__ import annotations

from fivetran_provider.operators import RestoreFivetranConnectionOperator, UpdateFivetranConnectionOperator

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider.sdk import DAG, Param, task

with DAG(
    dag_id="fivetran_temporary_schedule_change",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
    params={
        "connection_id": Param("quiet_meadow", type="string", description="Fivetran connection to switch."),
    },
):
    switch = UpdateFivetranConnectionOperator(
        task_id="switch_to_manual",
        connection_id="{{ params.connection_id }}",
        schedule_type="manual",
    )

    @task
    def pipeline() -> None:
        """Your pipeline goes here; the connection only syncs when the pipeline asks for it."""
        print("Running the pipeline while the connection's schedule is on hold ...")

    restore = RestoreFivetranConnectionOperator(task_id="restore_schedule", restore_from="switch_to_manual")

    switch >> pipeline() >> restore.as_teardown(setups=switch)

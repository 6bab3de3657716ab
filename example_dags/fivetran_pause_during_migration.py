"""Pause the Fivetran connections of a destination group while a migration runs, then resume them.

``pause_connections`` pauses every connection of the group given by the ``group_id`` param and
records which ones it paused. ``migrate`` stands for your own work on the destination (schema
changes, table rewrites, ...), during which Fivetran must not write. ``resume_connections`` is a
teardown: it runs even when the migration fails (the run is still marked failed), and it resumes
exactly the connections the pause task paused (``restore_from``), so a connection that was
already paused before the run stays paused.

If pausing fails for some connections, the pause task resumes the ones it had paused before it
fails, and the migration does not start.

Try it against the local simulator::

    python -m fivetran_provider.testing            # prints an AIRFLOW_CONN_FIVETRAN_DEFAULT to export
    airflow dags test fivetran_pause_during_migration
"""

from __future__ import annotations

from fivetran_provider.operators import PauseConnectionOperator, ResumeConnectionOperator

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider.sdk import DAG, Param, task

with DAG(
    dag_id="fivetran_pause_during_migration",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
    params={
        "group_id": Param(
            "tidal_lantern",
            type="string",
            description="Fivetran group (destination) whose connections are paused during the migration.",
        ),
    },
):
    pause = PauseConnectionOperator(task_id="pause_connections", group_id="{{ params.group_id }}")

    @task
    def migrate() -> None:
        """Your migration goes here; Fivetran does not sync into the destination while it runs."""
        print("Migrating the destination while its Fivetran connections are paused ...")

    resume = ResumeConnectionOperator(task_id="resume_connections", restore_from="pause_connections")

    pause >> migrate() >> resume.as_teardown(setups=pause)

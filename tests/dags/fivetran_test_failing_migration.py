"""Test DAG: the pause-during-migration shape with a migration step that fails.

The teardown must still resume what the pause task paused, and the run must end failed.
"""

from __future__ import annotations

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG, task
from fivetran_provider.operators import PauseConnectionOperator, ResumeConnectionOperator

with DAG(
    dag_id="fivetran_test_failing_migration",
    schedule=None,
    catchup=False,
    params={"group_id": "tidal_lantern"},
):
    pause = PauseConnectionOperator(task_id="pause_connections", group_id="{{ params.group_id }}")

    @task
    def migrate() -> None:
        raise RuntimeError("migration failed on purpose")

    resume = ResumeConnectionOperator(task_id="resume_connections", restore_from="pause_connections")
    pause >> migrate() >> resume.as_teardown(setups=pause)

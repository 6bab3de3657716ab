"""Test DAG: the extra link of tasks that work on a list, a group, or nothing at all."""

from __future__ import annotations

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG, task
from fivetran_provider.operators import (
    PauseConnectionOperator,
    RestoreFivetranConnectionOperator,
    ResumeConnectionOperator,
    UpdateFivetranConnectionOperator,
)

with DAG(dag_id="fivetran_test_links", schedule=None, catchup=False):
    pause_list = PauseConnectionOperator(task_id="pause_list", connection_ids=["l_one", "l_two", "l_three"])
    resume_group = ResumeConnectionOperator(task_id="resume_group", group_id="links_group")

    @task
    def no_record() -> None:
        """Changes nothing, so there is no record to restore from."""

    restore_nothing = RestoreFivetranConnectionOperator(task_id="restore_nothing", restore_from="no_record")
    update_group = UpdateFivetranConnectionOperator(
        task_id="update_group", group_id="links_group", sync_frequency=360, dry_run=True
    )
    update_list = UpdateFivetranConnectionOperator(
        task_id="update_list", connection_ids=["l_two", "l_three"], sync_frequency=720
    )
    pause_list >> resume_group >> no_record() >> restore_nothing >> update_group >> update_list

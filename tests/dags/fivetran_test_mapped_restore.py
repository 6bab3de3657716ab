"""Test DAG: a mapped update of several connections, undone by one restore teardown from all records."""

from __future__ import annotations

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG, task
from fivetran_provider.operators import RestoreFivetranConnectionOperator, UpdateFivetranConnectionOperator

with DAG(
    dag_id="fivetran_test_mapped_restore",
    schedule=None,
    catchup=False,
    params={"connection_ids": ["m_one", "m_two", "m_three"], "fail_pipeline": False},
):

    @task
    def ids(params: dict | None = None) -> list[str]:
        return list((params or {})["connection_ids"])

    switch = UpdateFivetranConnectionOperator.partial(
        task_id="switch",
        schedule_type="manual",
        sync_frequency="1440",
        daily_sync_time="05:00",
    ).expand(connection_id=ids())

    @task
    def pipeline(params: dict | None = None) -> None:
        if (params or {}).get("fail_pipeline"):
            raise RuntimeError("pipeline failed on purpose")

    restore = RestoreFivetranConnectionOperator(task_id="restore", restore_from="switch")
    switch >> pipeline() >> restore.as_teardown(setups=switch)

"""A DAG written for airflow-provider-fivetran-async 2.x, plus an undo of the schedule change its operator makes.

``FivetranOperator`` sets ``schedule_type="manual"`` by default, as 2.x did; here that change is
recorded beside the operator's return value (the previous completion time), and
``RestoreFivetranConnectionOperator`` puts the connection back on Fivetran's schedule.
"""

from datetime import datetime, timedelta

from airflow import DAG
from fivetran_provider_async.operators import FivetranOperator

from fivetran_provider.operators import RestoreFivetranConnectionOperator

default_args = {
    "owner": "Airflow",
    "start_date": datetime(2021, 4, 6),
}

with DAG(
    "compat_async_restore",
    default_args=default_args,
    schedule=timedelta(days=1),
    catchup=False,
) as dag:
    sync = FivetranOperator(
        task_id="fivetran_task",
        fivetran_conn_id="fivetran_default",
        connector_id="{{ var.value.connector_id }}",
        wait_for_completion=False,
    )
    restore = RestoreFivetranConnectionOperator(task_id="restore", restore_from="fivetran_task")
    sync >> restore

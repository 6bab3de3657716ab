"""A DAG written for airflow-provider-fivetran-async 2.x: start a sync and wait for it (deferrable, the default)."""

from datetime import datetime, timedelta

from airflow import DAG
from fivetran_provider_async.operators import FivetranOperator

default_args = {
    "owner": "Airflow",
    "start_date": datetime(2021, 4, 6),
}

dag = DAG(
    dag_id="compat_async_sync",
    default_args=default_args,
    schedule=timedelta(days=1),
    catchup=False,
)

with dag:
    fivetran_sync_start = FivetranOperator(
        task_id="fivetran_task",
        fivetran_conn_id="fivetran_default",
        connector_id="{{ var.value.connector_id }}",
        poll_frequency=1,
    )

"""A DAG written for airflow-provider-fivetran-async 2.x: name the connection and its destination instead of its id."""

from datetime import datetime, timedelta

from airflow import DAG
from fivetran_provider_async.operators import FivetranOperator

default_args = {
    "owner": "Airflow",
    "start_date": datetime(2021, 4, 6),
}

with DAG(
    "compat_async_by_name",
    default_args=default_args,
    schedule=timedelta(days=1),
    catchup=False,
) as dag:
    fivetran_sync_start = FivetranOperator(
        task_id="fivetran_task",
        fivetran_conn_id="fivetran_default",
        connector_name="{{ var.value.connector_name }}",
        destination_name="{{ var.value.destination_name }}",
        deferrable=False,
        poll_frequency=1,
    )

"""A DAG written for the archived airflow-provider-fivetran 1.x: start a sync, then wait for it with the sensor.

The imports and arguments are those of 1.x. Only Airflow's own 2-to-3 change is applied
(``schedule`` instead of ``schedule_interval``); the poke interval is short for the test.
"""

from datetime import datetime, timedelta

from airflow import DAG

from fivetran_provider.operators.fivetran import FivetranOperator
from fivetran_provider.sensors.fivetran import FivetranSensor

default_args = {
    "owner": "Airflow",
    "start_date": datetime(2021, 4, 6),
}

dag = DAG(
    dag_id="compat_archived_sync_and_wait",
    default_args=default_args,
    schedule=timedelta(days=1),
    catchup=False,
)

with dag:
    fivetran_sync_start = FivetranOperator(
        task_id="fivetran-task",
        fivetran_conn_id="fivetran_default",
        connector_id="{{ var.value.connector_id }}",
    )

    fivetran_sync_wait = FivetranSensor(
        task_id="fivetran-sensor",
        fivetran_conn_id="fivetran_default",
        connector_id="{{ var.value.connector_id }}",
        poke_interval=1,
    )

    fivetran_sync_start >> fivetran_sync_wait

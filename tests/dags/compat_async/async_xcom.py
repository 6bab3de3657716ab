"""A DAG written for airflow-provider-fivetran-async 2.x: start a sync without waiting, wait for it with the sensor.

The sensor waits for a sync completed after the time the operator returned (XCom).
"""

import time
from datetime import datetime, timedelta

from airflow import DAG

try:
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2 without the standard provider
    from airflow.operators.python import PythonOperator

from fivetran_provider_async.operators import FivetranOperator
from fivetran_provider_async.sensors import FivetranSensor

default_args = {
    "owner": "Airflow",
    "start_date": datetime(2021, 4, 6),
}

dag = DAG(
    dag_id="compat_async_xcom",
    default_args=default_args,
    schedule=timedelta(days=1),
    catchup=False,
)

with dag:
    fivetran_operator = FivetranOperator(
        task_id="fivetran-operator",
        fivetran_conn_id="fivetran_default",
        connector_id="{{ var.value.connector_id }}",
        wait_for_completion=False,
    )

    delay_task = PythonOperator(task_id="delay_python_task", python_callable=lambda: time.sleep(0.1))

    fivetran_sensor = FivetranSensor(
        task_id="fivetran-sensor",
        fivetran_conn_id="fivetran_default",
        connector_id="{{ var.value.connector_id }}",
        poke_interval=1,
        completed_after_time="{{ task_instance.xcom_pull('fivetran-operator', key='return_value') }}",
    )

    fivetran_operator >> delay_task >> fivetran_sensor

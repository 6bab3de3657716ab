"""A DAG written for the archived airflow-provider-fivetran 1.x: the sensor waits past the time the operator returned.

The operator and the sensor use 1.x's default Airflow connection id (``fivetran``); the sensor
reads the operator's return value through ``xcom``. Airflow's own 2-to-3 changes only:
``schedule`` and the standard provider's ``PythonOperator``.
"""

import time
from datetime import datetime, timedelta

from airflow import DAG

try:
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2 without the standard provider
    from airflow.operators.python import PythonOperator

from fivetran_provider.operators.fivetran import FivetranOperator
from fivetran_provider.sensors.fivetran import FivetranSensor

default_args = {
    "owner": "Airflow",
    "start_date": datetime(2021, 4, 6),
}

dag = DAG(
    dag_id="compat_archived_xcom",
    default_args=default_args,
    schedule=timedelta(days=1),
    catchup=False,
)

with dag:
    fivetran_operator = FivetranOperator(
        task_id="fivetran-operator",
        connector_id="{{ var.value.connector_id }}",
        schedule_type="auto",
    )

    delay_task = PythonOperator(task_id="delay_python_task", python_callable=lambda: time.sleep(0.1))

    fivetran_sensor = FivetranSensor(
        task_id="fivetran-sensor",
        connector_id="{{ var.value.connector_id }}",
        poke_interval=1,
        xcom="{{ task_instance.xcom_pull('fivetran-operator', key='return_value') }}",
    )

    fivetran_operator >> delay_task >> fivetran_sensor

"""A DAG written for airflow-provider-fivetran-async 2.x: re-sync a whole connection, then only some tables."""

from datetime import datetime, timedelta

from airflow import DAG
from fivetran_provider_async.operators import FivetranResyncOperator

default_args = {
    "owner": "Airflow",
    "start_date": datetime(2021, 4, 6),
}

dag = DAG(
    dag_id="compat_async_resync",
    default_args=default_args,
    schedule=timedelta(days=1),
    catchup=False,
)

with dag:
    # The whole connection.
    fivetran_resync_all = FivetranResyncOperator(
        task_id="fivetran_resync_all",
        fivetran_conn_id="fivetran_default",
        connector_id="{{ var.value.connector_id }}",
        poll_frequency=1,
    )

    # Only these tables: schema name to table names, as Fivetran names them.
    fivetran_resync_scoped = FivetranResyncOperator(
        task_id="fivetran_resync_scoped",
        fivetran_conn_id="fivetran_default",
        connector_id="{{ var.value.connector_id }}",
        scope={"salesforce": ["account", "campaign"]},
        poll_frequency=1,
    )

    fivetran_resync_all >> fivetran_resync_scoped

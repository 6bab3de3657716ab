"""Test DAG: credentials in ``config`` (literal) and ``auth`` (templated from the run's params).

Neither value may reach the task log, XCom or the rendered-fields table. The restore teardown
must refuse to write the masked password back.
"""

from __future__ import annotations

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG
from fivetran_provider.operators import RestoreFivetranConnectionOperator, UpdateFivetranConnectionOperator

CONFIG_PASSWORD = "Pa55word-in-config-7781"

with DAG(
    dag_id="fivetran_test_secrets",
    schedule=None,
    catchup=False,
    params={"connection_id": "secret_conn", "client_secret": "placeholder-client-secret"},
):
    rotate = UpdateFivetranConnectionOperator(
        task_id="rotate_credentials",
        connection_id="{{ params.connection_id }}",
        config={"user": "loader", "password": CONFIG_PASSWORD},
        auth={"client_access": {"client_id": "loader-client", "client_secret": "{{ params.client_secret }}"}},
    )
    restore = RestoreFivetranConnectionOperator(task_id="restore_credentials", restore_from="rotate_credentials")
    rotate >> restore

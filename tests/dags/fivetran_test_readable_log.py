"""Test DAG: one config change without any secret, found by name, and one rotating secrets.

The first task's log must show every value it changed as it is; the second task's secrets (one
under a key only Fivetran masks, one under a key the definition marks as a password, one under a
name that marks a credential) must appear nowhere in the log.
"""

from __future__ import annotations

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG
from fivetran_provider.operators import UpdateFivetranConnectionOperator

with DAG(
    dag_id="fivetran_test_readable_log",
    schedule=None,
    catchup=False,
    params={"storage_account_key": "placeholder-storage-account-key"},
):
    UpdateFivetranConnectionOperator(
        task_id="move_database",
        connection_name="analytics",
        group_id="g1",
        networking_method="Directly",
        config={
            "host": "db.internal",
            "database": "postgres",
            "user": "loader",
            "schema_prefix": "analytics",
            "update_method": "Directly",
        },
    )
    UpdateFivetranConnectionOperator(
        task_id="rotate_keys",
        connection_id="rotating",
        config={
            "storage_account_key": "{{ params.storage_account_key }}",
            "client_private_key": "pem-private-key-material-5521",
            "sftp_password_x": "sftp-secret-value-8812",
        },
    )

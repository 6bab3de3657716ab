"""Sync a Fivetran connection named by its schema name, and announce the landed data.

Fivetran connection ids (``mellow_quartz``) are generated; what people know is the connection's
name, which Fivetran calls its ``schema`` (``pg_prod``). ``connection_name`` with ``group_id``
finds the id when the task runs, with one list call of the group; a name that matches no
connection, or several, fails the task with the names the group does have.

When the sync has succeeded, the task:

* emits an asset event for ``fivetran://mellow_quartz/task-syncs`` (Airflow 3); the connection is
  only known at run time, so the event goes through the ``fivetran_syncs`` asset alias. DAGs
  scheduled on the connection's own asset, such as ``fivetran_run_when_data_lands``, run once for
  this sync too: its watcher reports it (the task's event is kept apart, so it does not start them
  a second time);
* reports lineage when ``apache-airflow-providers-openlineage`` is installed: the enabled source
  tables as inputs and their destination tables as outputs, read from
  ``GET /v1/connections/{id}/schemas`` once, after the sync.

Try it against the local simulator::

    python -m fivetran_provider.testing
    airflow dags test fivetran_sync_by_name -c '{"connection_name": "pg_prod"}'
"""

from __future__ import annotations

from fivetran_provider.operators import FivetranSyncOperator
from fivetran_provider.sdk import DAG, Param

with DAG(
    dag_id="fivetran_sync_by_name",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
    params={
        "connection_name": Param("pg_prod", type="string", description="The connection's schema name."),
        "group_id": Param("tidal_lantern", type="string", description="The group (destination) it belongs to."),
    },
):
    FivetranSyncOperator(
        task_id="sync",
        connection_name="{{ params.connection_name }}",
        group_id="{{ params.group_id }}",
        poll_interval=1,
    )

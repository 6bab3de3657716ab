"""Apply one schedule change to a list of Fivetran connections, one mapped task per connection.

``list_connections`` turns the ``connection_ids`` param into the list to map over, and
``update_connection`` is expanded over it with dynamic task mapping, so every connection gets
its own task instance (labelled with the connection id), its own retries and its own change
record in XCom. ``sync_frequency`` comes from a param as rendered text and is coerced to a
number. Connections that already sync at that frequency are left alone (no PATCH). To undo the
whole change later, a ``RestoreFivetranConnectionOperator(restore_from="update_connection")``
reads the records of all mapped instances.

Try it against the local simulator::

    python -m fivetran_provider.testing
    airflow dags test fivetran_update_many_connections -c '{"sync_frequency": 720}'
"""

from __future__ import annotations

from typing import Any

from fivetran_provider.operators import UpdateFivetranConnectionOperator

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider.sdk import DAG, Param, task

with DAG(
    dag_id="fivetran_update_many_connections",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
    params={
        "connection_ids": Param(
            ["mellow_quartz", "silver_comet", "gentle_harbor"],
            type="array",
            items={"type": "string"},
            minItems=1,
            description="Fivetran connections to update.",
        ),
        "sync_frequency": Param(
            360,
            type="integer",
            enum=[1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440],
            description="Minutes between syncs.",
        ),
    },
):

    @task
    def list_connections(params: dict[str, Any] | None = None) -> list[str]:
        """The connection ids to update, from the DAG params."""
        return list((params or {})["connection_ids"])

    UpdateFivetranConnectionOperator.partial(
        task_id="update_connection",
        sync_frequency="{{ params.sync_frequency }}",
        map_index_template="{{ task.connection_id }}",
    ).expand(connection_id=list_connections())

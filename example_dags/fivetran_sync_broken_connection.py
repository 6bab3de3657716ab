"""Sync a connection that may be broken: run its setup tests first, fail with their messages.

A connection whose ``setup_state`` is not ``connected`` (expired credentials, a revoked
permission, a setup never finished) will not sync. With ``test_if_broken=True``,
``FivetranSyncOperator`` runs the connection's setup tests (``POST /v1/connections/{id}/test``)
before asking for the sync. If they pass, the connection is connected again and the sync runs;
if not, the task fails with each failing test's title and message and the dashboard link, and no
sync is requested. Connected connections are synced at once, with no test. It is off by default
because setup tests count against their own rate limit.

In the demo account ``gentle_harbor`` has an unfinished setup (``incomplete``); its setup tests
pass in the simulator, so the sync runs.

Try it against the local simulator::

    python -m fivetran_provider.testing
    airflow dags test fivetran_sync_broken_connection
"""

from __future__ import annotations

from fivetran_provider.operators import FivetranSyncOperator
from fivetran_provider.sdk import DAG, Param

with DAG(
    dag_id="fivetran_sync_broken_connection",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
    params={"connection_id": Param("gentle_harbor", type="string", description="The connection to sync.")},
):
    FivetranSyncOperator(
        task_id="sync",
        connection_id="{{ params.connection_id }}",
        test_if_broken=True,
        poll_interval=1,
    )

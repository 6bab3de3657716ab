"""Test DAG: every argument of the update and sync operators comes from a template.

The run's params decide them; each is checked after rendering and before the first request, so
a bad value fails the task with nothing sent to Fivetran.
"""

from __future__ import annotations

# From airflow.sdk on Airflow 3 and from their older homes on Airflow 2.11.
from fivetran_provider._compat import DAG
from fivetran_provider.operators import FivetranSyncOperator, UpdateFivetranConnectionOperator

with DAG(
    dag_id="fivetran_test_rendered_arguments",
    schedule=None,
    catchup=False,
    params={
        "connection_id": "rendered",
        "sync_frequency": 60,
        "dry_run": True,
        "deferrable": False,
        "poll_interval": 1,
        "timeout": 600,
        "max_parallel": 4,
        "force": False,
        "test_if_broken": False,
        "wait_for_completion": True,
    },
):
    UpdateFivetranConnectionOperator(
        task_id="update",
        connection_id="{{ params.connection_id }}",
        sync_frequency="{{ params.sync_frequency }}",
        dry_run="{{ params.dry_run }}",
        deferrable="{{ params.deferrable }}",
        poll_interval="{{ params.poll_interval }}",
        timeout="{{ params.timeout }}",
        max_parallel="{{ params.max_parallel }}",
        wait_for_completion="{{ params.wait_for_completion }}",
    )
    FivetranSyncOperator(
        task_id="sync",
        connection_id="{{ params.connection_id }}",
        force="{{ params.force }}",
        deferrable="{{ params.deferrable }}",
        poll_interval="{{ params.poll_interval }}",
        timeout="{{ params.timeout }}",
        test_if_broken="{{ params.test_if_broken }}",
        unpause_if_paused="{{ params.force }}",
        resume_rescheduled="{{ params.wait_for_completion }}",
    )

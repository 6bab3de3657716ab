"""Report and fix settings drift across every connection of a Fivetran group, all or nothing.

``UpdateFivetranConnectionOperator`` with ``group_id`` (or ``connection_ids``) works on many
connections over one HTTP session, ``max_parallel`` at a time:

* ``drift_report`` (``dry_run=True``) reads every connection and returns, per connection, which
  requested settings differ and how (``{"drift": {connection_id: {setting: {"current",
  "requested"}}}}`` in XCom), and logs the same as a table. Nothing is sent.
* ``align`` sends, per connection, only the settings that differ. If any PATCH fails, the
  connections this task already changed are put back before the task fails; the error names
  any that could not be. Its change record lets ``RestoreFivetranConnectionOperator
  (restore_from="align")`` undo the whole change later.

Try it against the local simulator::

    python -m fivetran_provider.testing
    airflow dags test fivetran_align_group_settings -c '{"group_id": "tidal_lantern", "sync_frequency": 360}'
"""

from __future__ import annotations

from fivetran_provider.operators import UpdateFivetranConnectionOperator
from fivetran_provider.sdk import DAG, Param

with DAG(
    dag_id="fivetran_align_group_settings",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["fivetran", "example"],
    params={
        "group_id": Param("tidal_lantern", type="string", description="The group (destination) to align."),
        "sync_frequency": Param(
            360,
            type="integer",
            enum=[1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440],
            description="Minutes between syncs, for every connection of the group.",
        ),
        "data_delay_sensitivity": Param("NORMAL", type="string", enum=["LOW", "NORMAL", "HIGH", "CUSTOM"]),
    },
):
    settings = {
        "group_id": "{{ params.group_id }}",
        "sync_frequency": "{{ params.sync_frequency }}",
        "data_delay_sensitivity": "{{ params.data_delay_sensitivity }}",
    }
    drift_report = UpdateFivetranConnectionOperator(task_id="drift_report", dry_run=True, **settings)
    align = UpdateFivetranConnectionOperator(task_id="align", **settings)
    drift_report >> align

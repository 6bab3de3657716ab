"""Every task shows a useful "Fivetran connection" link, and reading it logs no false alarm.

A task on one connection links to that connection, on a group to the group's page, on a list
(or a restore after a mapped task) to the first connection's page with the others in the task
log, and a task with no connection stores an empty link. Airflow 3 reads each task's link when
the task ends; a missing XCom would log an "XCom not found" error there.
"""

from __future__ import annotations

from typing import Any

from fivetran_provider._compat import AIRFLOW_V_3_PLUS
from fivetran_provider.links import XCOM_KEY, FivetranConnectionLink, connection_dashboard_url, group_dashboard_url
from fivetran_provider.testing import FivetranSimulator
from tests.test_example_dags import task_states, xcoms


def links(dag_run: Any) -> dict[str, Any]:
    """The link each task shows: what Airflow 3 stored for the UI, or what Airflow 2's UI would ask."""
    if AIRFLOW_V_3_PLUS:
        return {
            f"{tid}[{index}]" if index >= 0 else tid: value
            for tid, index, key, value in xcoms(dag_run)
            if key == "_link_FivetranConnectionLink"
        }
    dag = dag_run.get_dag()
    shown = {}
    for ti in dag_run.get_task_instances():
        operator = dag.get_task(ti.task_id)
        if FivetranConnectionLink in map(type, getattr(operator, "operator_extra_links", ())):
            name = f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id
            shown[name] = FivetranConnectionLink().get_link(operator, ti_key=ti.key)
    return shown


def test_list_group_and_empty_tasks_link_sensibly(
    run_dag: Any, fivetran_conn: FivetranSimulator, task_output: Any
) -> None:
    sim = fivetran_conn
    for connection_id in ("l_one", "l_two", "l_three"):
        sim.add_connection(connection_id, group_id="links_group")
    task_output()

    dag_run = run_dag("fivetran_test_links")

    output = task_output()
    assert dag_run.state == "success", task_states(dag_run)
    assert links(dag_run) == {
        "pause_list": connection_dashboard_url("l_one"),
        "resume_group": group_dashboard_url("links_group"),
        "restore_nothing": "",
        "update_group": group_dashboard_url("links_group"),
        "update_list": connection_dashboard_url("l_two"),
    }
    assert group_dashboard_url("links_group") == "https://fivetran.com/dashboard/destinations/links_group"
    stored = {tid: value for tid, _index, key, value in xcoms(dag_run) if key == XCOM_KEY}
    assert stored["pause_list"] == connection_dashboard_url("l_one")
    assert stored["update_group"] == group_dashboard_url("links_group")
    # The other connections of the list are named in the task log, with their pages.
    for connection_id in ("l_two", "l_three"):
        assert f"{connection_id} {connection_dashboard_url(connection_id)}" in output
    assert "XCom not found" not in output


def test_restore_after_a_mapped_update_links_the_first_connection_and_warns_about_nothing(
    run_dag: Any, fivetran_conn: FivetranSimulator, task_output: Any
) -> None:
    sim = fivetran_conn
    for connection_id in ("m_one", "m_two", "m_three"):
        sim.add_connection(connection_id, sync_frequency=360)
    task_output()

    dag_run = run_dag("fivetran_test_mapped_restore")

    output = task_output()
    assert dag_run.state == "success", task_states(dag_run)
    shown = links(dag_run)
    assert shown["restore"] == connection_dashboard_url("m_one")
    assert [shown[f"switch[{i}]"] for i in range(3)] == [
        connection_dashboard_url(c) for c in ("m_one", "m_two", "m_three")
    ]
    assert "XCom not found" not in output
    # daily_sync_time had no value before the switch: the restore says so, but not as a warning.
    notes = [line for line in output.splitlines() if "not restoring daily_sync_time" in line]
    assert notes, output
    assert not [line for line in notes if "warn" in line.lower()], notes
    assert not [line for line in output.splitlines() if "[warning" in line or " WARNING " in line], output

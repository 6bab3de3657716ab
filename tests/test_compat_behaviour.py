"""The earlier providers' documented behaviours, kept by the compatibility classes, against the simulator.

Tasks are executed directly with an empty context (no task instance): only the Fivetran side is
under test here; ``tests/test_compat_dags.py`` runs whole DAGs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fivetran_provider.compat.fivetran_async.hooks import FivetranHook as AsyncProviderHook
from fivetran_provider.compat.fivetran_async.operators import FivetranOperator as AsyncOperator
from fivetran_provider.compat.fivetran_async.sensors import FivetranSensor as AsyncSensor
from fivetran_provider.exceptions import FivetranSyncFailedError
from fivetran_provider.hooks.fivetran import FivetranHook as ArchivedHook
from fivetran_provider.operators.fivetran import FivetranOperator as ArchivedOperator
from fivetran_provider.setup_tests import FivetranConnectionBrokenError
from fivetran_provider.sync_status import parse_timestamp
from fivetran_provider.testing import FivetranSimulator

OLD_SUCCESS = "2026-01-01T00:00:00Z"
OLD_FAILURE = "2026-01-02T00:00:00Z"


def test_archived_operator_refuses_a_connection_that_is_not_set_up(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn_a", setup_state="broken")
    with pytest.raises(FivetranConnectionBrokenError, match="not correctly set up"):
        ArchivedOperator(task_id="t", connector_id="conn_a", fivetran_conn_id="fivetran_default").execute({})
    assert fivetran_conn.requests_for("POST") == [] and fivetran_conn.requests_for("PATCH") == []


def test_async_operator_runs_the_setup_tests_of_a_broken_connection_first(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn_a", setup_state="broken", schedule_type="manual")
    AsyncOperator(task_id="t", connector_id="conn_a", wait_for_completion=False).execute({})
    paths = [(r.method, r.path) for r in fivetran_conn.requests if r.method == "POST"]
    assert paths == [("POST", "/v1/connections/conn_a/test"), ("POST", "/v1/connections/conn_a/sync")]


def test_paused_connection_that_never_synced_returns_the_time_it_was_resumed(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn_a", paused=True, schedule_type="manual")
    returned = AsyncOperator(task_id="t", connector_id="conn_a", wait_for_completion=False).execute({})
    resumed = fivetran_conn.requests_for("PATCH", "/v1/connections/conn_a")
    assert [r.body for r in resumed] == [{"paused": False, "run_setup_tests": False}]
    moment = parse_timestamp(returned)
    assert moment is not None and abs(moment.timestamp() - resumed[0].at) < 60


def test_sensor_propagate_failures_forward(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn_a", succeeded_at=OLD_SUCCESS, failed_at=OLD_FAILURE)
    after_the_failure = "2026-01-03T00:00:00Z"
    lenient = AsyncSensor(task_id="s", connector_id="conn_a", completed_after_time=after_the_failure)
    assert lenient.poke({}) is False  # 2.4.0's default: an earlier failure is not this wait's business
    strict = AsyncSensor(
        task_id="s", connector_id="conn_a", completed_after_time=after_the_failure, propagate_failures_forward=True
    )
    with pytest.raises(FivetranSyncFailedError, match="failed"):
        strict.poke({})


def test_sensor_always_wait_when_syncing(fivetran_conn: FivetranSimulator, hook: Any) -> None:
    fivetran_conn.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    fivetran_conn.plan_syncs("conn_a", "success", duration=0.0)
    hook.start_sync("conn_a")
    hook.get_connection_details("conn_a")  # the first sync is over
    fivetran_conn.plan_syncs("conn_a", "success", duration=3600)
    hook.start_sync("conn_a")  # a second one is running
    earlier = "2026-01-01T12:00:00Z"
    assert AsyncSensor(task_id="s", connector_id="conn_a", completed_after_time=earlier).poke({})
    waiting = AsyncSensor(
        task_id="s", connector_id="conn_a", completed_after_time=earlier, always_wait_when_syncing=True
    )
    assert waiting.poke({}) is False


@pytest.mark.parametrize("hook_class", [ArchivedHook, AsyncProviderHook])
def test_hook_methods_keep_their_names_on_the_current_api(
    fivetran_conn: FivetranSimulator, hook_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import conn_json

    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN", conn_json(fivetran_conn))
    fivetran_conn.add_group("grp_ci", name="integration_team_ci")
    fivetran_conn.add_connection("conn_a", group_id="grp_ci", schema="salesforce", succeeded_at=OLD_SUCCESS)
    hook = hook_class("fivetran_default") if hook_class is AsyncProviderHook else hook_class()
    assert hook.get_connector("conn_a")["id"] == "conn_a"
    assert hook.get_connector_id(connector_name="salesforce", destination_name="integration_team_ci") == "conn_a"
    assert hook.prep_connector("conn_a", "manual") is True
    previous = hook.start_fivetran_sync("conn_a")
    assert parse_timestamp(previous) == parse_timestamp(OLD_SUCCESS)
    assert hook.get_sync_status("conn_a", parse_timestamp(previous)) is True  # the simulator's sync took no time
    assert hook.get_last_sync("conn_a") > parse_timestamp(previous)
    assert fivetran_conn.connection("conn_a")["schedule_type"] == "manual"
    for recorded in fivetran_conn.requests:
        assert recorded.path.startswith(("/v1/connections", "/v1/groups")), recorded.path


def test_async_hook_methods_and_a_given_airflow_connection(fivetran_conn: FivetranSimulator) -> None:
    from fivetran_provider._compat import import_string
    from fivetran_provider.compat.fivetran_async.hooks import FivetranHookAsync
    from tests.conftest import conn_json

    connection_class = import_string("airflow.models.connection.Connection")
    given = connection_class.from_json(conn_json(fivetran_conn), conn_id="not_registered_anywhere")
    fivetran_conn.add_connection("conn_a", succeeded_at=OLD_SUCCESS, failed_at=OLD_FAILURE)

    async def ask() -> tuple[Any, ...]:
        hook = FivetranHookAsync(fivetran_conn_id="not_registered_anywhere", fivetran_conn=given)
        try:
            connection = await hook.get_connector_async("conn_a")
            last = await hook.get_last_sync_async("conn_a")
            assert await hook.get_sync_status_async("conn_a", parse_timestamp("2025-12-31T00:00:00Z")) == "success"
            between = parse_timestamp("2026-01-01T12:00:00Z")
            with pytest.raises(FivetranSyncFailedError):  # failed after that time, no success since
                await hook.get_sync_status_async("conn_a", between)
            after = await hook.get_sync_status_async("conn_a", parse_timestamp(OLD_FAILURE))
            return connection["id"], last, after
        finally:
            await hook.aclose()

    connection_id, last, after = asyncio.run(ask())
    assert connection_id == "conn_a" and last == parse_timestamp(OLD_FAILURE) and after == "pending"


def test_trigger_fires_the_old_events(fivetran_conn: FivetranSimulator, hook: Any) -> None:
    from fivetran_provider.compat.fivetran_async.triggers import FivetranTrigger

    fivetran_conn.add_connection("conn_a", succeeded_at=OLD_SUCCESS)
    hook.start_sync("conn_a")  # finished at the next read

    async def first_event(trigger: FivetranTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    success = asyncio.run(
        first_event(
            FivetranTrigger("t", "conn_a", "fivetran_default", previous_completed_at=OLD_SUCCESS, poke_interval=1)
        )
    )
    assert success["status"] == "success"
    assert parse_timestamp(success["return_value"]) == parse_timestamp(
        fivetran_conn.connection("conn_a")["succeeded_at"]
    )
    missing = asyncio.run(first_event(FivetranTrigger("t", "no_such_conn", "fivetran_default", poke_interval=1)))
    assert missing["status"] == "error" and "no_such_conn" in missing["message"]

"""No success without evidence: a lost forced or historical sync is never reported as started.

Each case runs the hook against the simulator over loopback. A sync is already running when the
request is sent (as a scheduled sync would be); the request is lost before Fivetran applies it
(a 5xx answer or a dropped connection), and the read-back must not take the running or finishing
sync for the one asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from fivetran_provider.exceptions import FivetranOutcomeUnknownError, FivetranServerError, FivetranTransportError
from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook
from fivetran_provider.operators import FivetranSyncOperator
from fivetran_provider.testing import FivetranSimulator
from tests.test_operators import run

SYNC = "/v1/connections/conn/sync"
RESYNC = "/v1/connections/conn/resync"
PATCH = "/v1/connections/conn"


def lose_before_apply(sim: FivetranSimulator, kind: str, method: str, path: str, count: int = 1) -> None:
    """Queue a fault that answers (or drops) the request before the simulator applies it."""
    if kind == "500":
        sim.faults.server_error(count=count, status=500, method=method, path_prefix=path)
    elif kind == "502_html":
        sim.faults.server_error(count=count, status=502, body="html", method=method, path_prefix=path)
    else:
        sim.faults.drop_connection(count=count, method=method, path_prefix=path)


def a_sync_is_running(sim: FivetranSimulator, hook: FivetranHook) -> None:
    """Start an ordinary sync that runs for ten minutes, then forget the requests that started it."""
    sim.add_connection("conn", succeeded_at="2026-01-01T00:00:00Z")
    sim.default_sync_duration = 600.0
    hook.start_sync("conn")
    assert hook.get_connection_details("conn")["status"]["sync_state"] == "syncing"
    sim.clear_requests()


def finish_running_sync_when(sim: FivetranSimulator, method: str, path: str) -> None:
    """When the lost request has been answered, the running sync finishes (during the backoff)."""

    def listener(seen_method: str, target: str, status: int) -> None:
        if seen_method == method and target.startswith(path) and status != 200:
            sim.answer_listener = None
            sim.finish_sync("conn", "success")

    sim.answer_listener = listener


def triggers(sim: FivetranSimulator) -> list[str]:
    return [run["trigger"] for run in sim.sync_history("conn")]


LOST = ["500", "502_html", "drop"]


@pytest.mark.parametrize("kind", LOST)
def test_a_lost_forced_sync_during_a_running_sync_is_sent_again_and_restarts_it(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, kind: str
) -> None:
    a_sync_is_running(fivetran_conn, hook)
    lose_before_apply(fivetran_conn, kind, "POST", SYNC)
    hook.start_sync("conn", force=True)
    assert len(fivetran_conn.requests_for("POST", SYNC)) == 2
    assert triggers(fivetran_conn) == ["sync", "force"]  # the running sync was restarted
    assert fivetran_conn.sync_history("conn")[0]["outcome"] == "cancelled"


def test_a_forced_sync_lost_every_time_fails_and_never_reports_the_old_sync(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    a_sync_is_running(fivetran_conn, hook)
    lose_before_apply(fivetran_conn, "500", "POST", SYNC, count=10)
    with pytest.raises(FivetranServerError):
        hook.start_sync("conn", force=True)
    assert triggers(fivetran_conn) == ["sync"]  # still the first sync, never restarted


def test_the_async_client_sends_a_lost_forced_sync_again(fivetran_conn: FivetranSimulator) -> None:
    sync_hook = FivetranHook()
    a_sync_is_running(fivetran_conn, sync_hook)
    sync_hook.close()
    lose_before_apply(fivetran_conn, "drop", "POST", SYNC)

    async def go() -> None:
        hook = FivetranAsyncHook()
        try:
            await hook.astart_sync("conn", force=True)
        finally:
            await hook.aclose()

    asyncio.run(go())
    assert len(fivetran_conn.requests_for("POST", SYNC)) == 2
    assert triggers(fivetran_conn) == ["sync", "force"]


@pytest.mark.parametrize("kind", LOST)
@pytest.mark.parametrize("how", ["resync", "patch"])
def test_a_lost_historical_sync_while_a_running_sync_finishes_is_an_unknown_outcome(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, kind: str, how: str
) -> None:
    a_sync_is_running(fivetran_conn, hook)
    fivetran_conn.resync_finish_window = 3600.0  # the re-sync would wait for the running sync
    method, path = ("POST", RESYNC) if how == "resync" else ("PATCH", PATCH)
    lose_before_apply(fivetran_conn, kind, method, path)
    finish_running_sync_when(fivetran_conn, method, path)
    start: Callable[[], Any] = (
        (lambda: hook.resync("conn"))
        if how == "resync"
        else (lambda: hook.update_connection("conn", is_historical_sync=True))
    )
    with pytest.raises(FivetranOutcomeUnknownError) as caught:
        start()
    message = str(caught.value)
    assert "succeeded_at" in message and "is_historical_sync reads false" in message
    assert "sync history" in message  # what to check
    assert len(fivetran_conn.requests_for(method, path)) == 1  # never a second historical sync
    assert not any(run["historical"] for run in fivetran_conn.sync_history("conn"))


def test_a_lost_historical_sync_whose_flag_is_read_true_counts_as_started(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    a_sync_is_running(fivetran_conn, hook)
    fivetran_conn.resync_finish_window = 3600.0
    fivetran_conn.faults.apply_then_fail(count=1, status=500, method="POST", path_prefix=RESYNC)
    hook.resync("conn")
    assert len(fivetran_conn.requests_for("POST", RESYNC)) == 1
    assert fivetran_conn.connection("conn")["status"]["is_historical_sync"] is True


def test_a_lost_historical_sync_with_nothing_running_is_sent_again(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    fivetran_conn.add_connection("conn", succeeded_at="2026-01-01T00:00:00Z")
    lose_before_apply(fivetran_conn, "drop", "POST", RESYNC)
    hook.resync("conn")
    assert len(fivetran_conn.requests_for("POST", RESYNC)) == 2
    assert [run["historical"] for run in fivetran_conn.sync_history("conn")] == [True]


def test_the_sync_operator_fails_a_lost_resync_instead_of_waiting_on_the_scheduled_sync(
    fivetran_conn: FivetranSimulator,
) -> None:
    hook = FivetranHook()
    a_sync_is_running(fivetran_conn, hook)
    hook.close()
    fivetran_conn.resync_finish_window = 3600.0
    lose_before_apply(fivetran_conn, "500", "POST", RESYNC)
    finish_running_sync_when(fivetran_conn, "POST", RESYNC)
    operator = FivetranSyncOperator(
        task_id="resync", connection_id="conn", resync=True, poll_interval=1, deferrable=False
    )
    with pytest.raises((FivetranOutcomeUnknownError, FivetranTransportError)):
        run(operator)
    assert not any(item["historical"] for item in fivetran_conn.sync_history("conn"))

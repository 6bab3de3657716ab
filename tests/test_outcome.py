"""The pure rule that decides what to re-send after an unknown outcome (``fivetran_provider.outcome``)."""

from __future__ import annotations

from typing import Any

import pytest

from fivetran_provider import outcome
from fivetran_provider.exceptions import (
    FivetranBadRequestError,
    FivetranDeadlineError,
    FivetranRateLimitError,
    FivetranRedirectError,
    FivetranServerError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
)

T0 = "2026-01-01T10:00:00.000000Z"
T1 = "2026-01-01T10:00:00.000001Z"


def conn(
    *, historical: bool = False, state: str = "scheduled", succeeded: str | None = T0, failed: str | None = None
) -> dict[str, Any]:
    return {
        "paused": False,
        "sync_frequency": 60,
        "succeeded_at": succeeded,
        "failed_at": failed,
        "status": {"is_historical_sync": historical, "sync_state": state},
    }


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (FivetranTransportError("PATCH", "/p", "ConnectionError"), True),
        (FivetranDeadlineError("PATCH", "/p", 1.0), True),
        (FivetranServerError(500, None, "x"), True),
        (FivetranUnexpectedResponseError(200, None, "no data"), True),
        (FivetranRedirectError(307, "elsewhere"), True),
        (FivetranBadRequestError(400, "InvalidInput", "x"), False),
        (FivetranRateLimitError(429, None, "x"), False),
        (ValueError("x"), False),
    ],
)
def test_which_errors_leave_the_outcome_unknown(error: BaseException, unknown: bool) -> None:
    assert outcome.outcome_unknown(error) is unknown


@pytest.mark.parametrize(
    ("before", "after", "moved"),
    [
        (T0, T0, False),
        (T0, None, False),
        (None, None, False),
        (None, T0, True),
        (T0, T1, True),
        (T1, T0, False),
        (T0, "not a time", True),
        ("2026-01-01T10:00:00Z", "2026-01-01T10:00:00+00:00", False),
        ("2026-01-01T10:00:00", "2026-01-01T10:30:00+01:00", False),  # no zone means UTC: 09:30 UTC is earlier
        ("2026-01-01T10:00:00", "2026-01-01T10:30:00", True),
        (T0, 1767261600, True),  # not text: cannot be read as a time, so something happened
        ("not a time", "".join(["not a ", "time"]), False),  # the same unreadable text read again: no change
    ],
)
def test_timestamp_moved(before: str | None, after: str | None, moved: bool) -> None:
    assert outcome.timestamp_moved(before, after) is moved


def test_a_historical_sync_counts_as_started_while_pending_or_once_finished() -> None:
    baseline = conn()
    assert not outcome.historical_sync_started(baseline, conn())
    assert outcome.historical_sync_started(baseline, conn(historical=True))
    assert outcome.historical_sync_started(baseline, conn(succeeded=T1))  # already over: the flag is false again
    assert outcome.historical_sync_started(baseline, conn(failed=T1))
    assert not outcome.historical_sync_started(baseline, conn(state="syncing"))  # an ordinary sync is not one


def test_a_sync_counts_as_started_when_running_or_finished() -> None:
    baseline = conn()
    assert outcome.sync_needs_resend(baseline, conn())
    assert not outcome.sync_needs_resend(baseline, conn(state="syncing"))
    assert not outcome.sync_needs_resend(baseline, conn(succeeded=T1))
    assert not outcome.sync_needs_resend(baseline, conn(failed=T1))
    assert outcome.sync_needs_resend(None, conn(succeeded=None))


def test_a_status_without_state_or_flag_is_nothing_started() -> None:
    baseline = conn()
    quiet = {**conn(), "status": {}}
    assert not outcome.historical_sync_started(baseline, quiet)
    assert outcome.sync_needs_resend(baseline, quiet)
    assert outcome.resync_needs_resend(baseline, {**conn(), "status": None}, None)


def test_resync_whole_connection_or_tables() -> None:
    baseline = conn()
    assert outcome.resync_needs_resend(baseline, conn(), None)
    assert not outcome.resync_needs_resend(baseline, conn(historical=True), None)
    assert outcome.resync_needs_resend(baseline, conn(state="syncing"), None)
    assert not outcome.resync_needs_resend(baseline, conn(state="syncing"), {"public": ["orders"]})
    assert outcome.resync_needs_resend(baseline, conn(), {"public": ["orders"]})


def test_only_the_unapplied_part_of_an_update_is_left() -> None:
    body = {"paused": True, "sync_frequency": 60, "is_historical_sync": True, "run_setup_tests": False}
    baseline = conn()
    applied_and_over = {**conn(succeeded=T1), "paused": True}
    assert outcome.remaining_update(baseline, applied_and_over, body) == {}
    nothing_applied = conn()
    assert outcome.remaining_update(baseline, nothing_applied, body) == {
        "paused": True,
        "is_historical_sync": True,
        "run_setup_tests": False,
    }
    half = {**conn(historical=True), "sync_frequency": 60}
    assert outcome.remaining_update(baseline, half, body) == {"paused": True, "run_setup_tests": False}


def test_a_completion_after_a_sync_that_was_already_running_cannot_prove_a_historical_sync() -> None:
    running = conn(state="syncing")
    with pytest.raises(outcome.Inconclusive) as caught:
        outcome.historical_sync_started(running, conn(succeeded=T1))
    assert "succeeded_at" in caught.value.seen and "sync history" in caught.value.check
    with pytest.raises(outcome.Inconclusive):
        outcome.resync_needs_resend(running, conn(failed=T1), None)
    with pytest.raises(outcome.Inconclusive):
        outcome.remaining_update(running, conn(succeeded=T1), {"is_historical_sync": True})
    assert outcome.historical_sync_started(running, conn(historical=True, state="syncing"))
    assert not outcome.historical_sync_started(running, conn(state="syncing"))  # the old one, still running


def test_a_forced_sync_against_a_running_sync_is_sent_again_whatever_the_read_shows() -> None:
    running = conn(state="syncing")
    for current in (conn(state="syncing"), conn(succeeded=T1), conn(failed=T1), conn()):
        assert outcome.sync_needs_resend(running, current, force=True)
        assert not outcome.sync_needs_resend(running, current, force=False) or current == conn()
    assert not outcome.sync_needs_resend(conn(), conn(state="syncing"), force=True)  # nothing ran before


def test_a_table_resync_against_a_running_sync_cannot_be_told_from_it() -> None:
    running = conn(state="syncing")
    with pytest.raises(outcome.Inconclusive):
        outcome.resync_needs_resend(running, conn(state="syncing"), {"public": ["orders"]})
    assert not outcome.resync_needs_resend(running, conn(historical=True), {"public": ["orders"]})

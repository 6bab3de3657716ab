"""The completion logic on its own: timestamps, baselines, the verdict on a connection, and the wait's steps.

Pure functions, so connections are plain dicts shaped like ``GET /v1/connections/{id}`` data.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fivetran_provider.exceptions import (
    AirflowSensorTimeout,
    FivetranAuthError,
    FivetranConnectionPausedError,
    FivetranNotFoundError,
    FivetranRateLimitError,
    FivetranSensorTimeoutError,
    FivetranServerError,
    FivetranSyncError,
    FivetranSyncFailedError,
    FivetranSyncTimeoutError,
    FivetranTransportError,
    FivetranValidationError,
)
from fivetran_provider.sync_status import (
    DONE,
    ERROR,
    FAILED,
    PAUSED,
    PENDING,
    RESCHEDULED_MAX_SLEEP,
    RESUME,
    SLEEP,
    SUCCESS,
    TIMEOUT,
    SyncWaiter,
    capture_baseline,
    evaluate_sync,
    format_timestamp,
    is_transient,
    outcome_from_event,
    parse_timestamp,
    to_iso,
)

T0 = "2026-04-20T03:00:00.000000Z"
BEFORE = "2026-04-20T02:00:00.000000Z"
AFTER = "2026-04-20T04:00:00.000000Z"
LATER = "2026-04-20T05:00:00.000000Z"


def conn(
    succeeded_at: str | None = None,
    failed_at: str | None = None,
    *,
    sync_state: str = "scheduled",
    paused: bool = False,
    historical: bool = False,
    schedule_type: str = "auto",
    rescheduled_for: str | None = None,
    tasks: list[dict[str, Any]] | None = None,
    setup_state: str = "connected",
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "setup_state": setup_state,
        "sync_state": "paused" if paused else sync_state,
        "update_state": "on_schedule",
        "is_historical_sync": historical,
        "tasks": tasks or [],
        "warnings": [],
    }
    if rescheduled_for is not None:
        status["rescheduled_for"] = rescheduled_for
    return {
        "id": "mellow_quartz",
        "succeeded_at": succeeded_at,
        "failed_at": failed_at,
        "paused": paused,
        "schedule_type": schedule_type,
        "status": status,
    }


def epoch(text: str) -> float:
    moment = parse_timestamp(text)
    assert moment is not None
    return moment.timestamp()


# ------------------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-20T03:07:55.104000Z", datetime(2026, 4, 20, 3, 7, 55, 104000, tzinfo=timezone.utc)),
        ("2023-01-05T18:12:49.562Z", datetime(2023, 1, 5, 18, 12, 49, 562000, tzinfo=timezone.utc)),
        ("2026-04-20T03:07:55.123456789Z", datetime(2026, 4, 20, 3, 7, 55, 123456, tzinfo=timezone.utc)),
        ("2026-04-20T03:07:55Z", datetime(2026, 4, 20, 3, 7, 55, tzinfo=timezone.utc)),
        ("2026-04-20T05:07:55+02:00", datetime(2026, 4, 20, 3, 7, 55, tzinfo=timezone.utc)),
        ("2026-04-20T03:07:55", datetime(2026, 4, 20, 3, 7, 55, tzinfo=timezone.utc)),
        ("2026-04-20", datetime(2026, 4, 20, tzinfo=timezone.utc)),
    ],
)
def test_parse_timestamp_reads_fivetran_and_user_formats_as_utc(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def test_parse_timestamp_handles_datetimes_and_empty_values() -> None:
    naive = datetime(2026, 4, 20, 3, 0)
    assert parse_timestamp(naive) == naive.replace(tzinfo=timezone.utc)
    aware = datetime(2026, 4, 20, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    assert parse_timestamp(aware) == datetime(2026, 4, 20, 3, 0, tzinfo=timezone.utc)
    assert parse_timestamp(None) is None
    assert parse_timestamp("  ") is None


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00:00Z", "2026-04-20T03:07:55Zjunk", 1714000000, True])
def test_parse_timestamp_rejects_what_is_not_a_time(bad: Any) -> None:
    with pytest.raises(FivetranValidationError, match="completed_after"):
        parse_timestamp(bad, "completed_after")


def test_format_and_to_iso_round_trip() -> None:
    moment = datetime(2026, 4, 20, 3, 7, 55, 104000, tzinfo=timezone.utc)
    assert format_timestamp(moment) == "2026-04-20T03:07:55.104000Z"
    assert parse_timestamp(format_timestamp(moment)) == moment
    assert to_iso("2026-04-20T05:07:55.104+02:00") == "2026-04-20T03:07:55.104000Z"
    assert to_iso(None) is None


# ------------------------------------------------------------------------------ baseline


def test_baseline_is_the_later_of_the_two_timestamps() -> None:
    assert capture_baseline(conn(succeeded_at=T0, failed_at=BEFORE)) == T0
    assert capture_baseline(conn(succeeded_at=BEFORE, failed_at=T0)) == T0
    assert capture_baseline(conn(succeeded_at=None, failed_at=T0)) == T0
    assert capture_baseline(conn(succeeded_at="2026-04-20T03:00:00Z")) == T0


def test_baseline_of_a_connection_that_never_synced_is_none() -> None:
    assert capture_baseline(conn()) is None
    assert capture_baseline({"id": "x"}) is None


# ------------------------------------------------------------------------------ verdicts


def test_success_only_when_succeeded_at_is_strictly_after_the_baseline() -> None:
    assert evaluate_sync(conn(succeeded_at=T0), T0).state == PENDING
    assert evaluate_sync(conn(succeeded_at=BEFORE), T0).state == PENDING
    check = evaluate_sync(conn(succeeded_at="2026-04-20T03:00:00.000001Z"), T0)
    assert check.state == SUCCESS
    assert "succeeded at 2026-04-20T03:00:00.000001Z" in check.message


def test_with_no_baseline_any_sync_end_counts() -> None:
    assert evaluate_sync(conn(), None).state == PENDING
    assert evaluate_sync(conn(succeeded_at=BEFORE), None).state == SUCCESS
    failed = evaluate_sync(conn(failed_at=BEFORE), None)
    assert failed.state == FAILED


def test_failure_after_the_baseline_reports_time_reason_and_dashboard_link() -> None:
    check = evaluate_sync(
        conn(succeeded_at=BEFORE, failed_at=AFTER, tasks=[{"code": "sync_failed", "message": "Source said no"}]),
        T0,
    )
    assert check.state == FAILED
    assert "mellow_quartz" in check.message
    assert f"failed at {AFTER}" in check.message
    assert "Source said no" in check.message
    assert "https://fivetran.com/dashboard/connections/mellow_quartz/status" in check.message


def test_failure_with_no_success_ever_counts_null_succeeded_at_as_minus_infinity() -> None:
    assert evaluate_sync(conn(succeeded_at=None, failed_at=AFTER), T0).state == FAILED


def test_an_old_failure_is_not_a_failure_of_this_sync() -> None:
    assert evaluate_sync(conn(succeeded_at=None, failed_at=BEFORE), T0).state == PENDING


def test_success_after_the_baseline_wins_over_a_later_failure() -> None:
    assert evaluate_sync(conn(succeeded_at=AFTER, failed_at=LATER), T0).state == SUCCESS


def test_historical_sync_needs_the_flag_cleared_as_well() -> None:
    running = evaluate_sync(conn(succeeded_at=AFTER, historical=True, sync_state="syncing"), T0, historical=True)
    assert running.state == PENDING
    assert "is_historical_sync" in running.message
    done = evaluate_sync(conn(succeeded_at=LATER, historical=False), T0, historical=True)
    assert done.state == SUCCESS
    assert "historical sync" in done.message
    # Without historical=True the flag does not matter.
    assert evaluate_sync(conn(succeeded_at=AFTER, historical=True), T0).state == SUCCESS


def test_historical_sync_failure_is_a_failure() -> None:
    check = evaluate_sync(conn(succeeded_at=AFTER, failed_at=LATER, historical=True), T0, historical=True)
    assert check.state == FAILED


def test_paused_connection_is_reported_instead_of_waiting() -> None:
    check = evaluate_sync(conn(succeeded_at=BEFORE, paused=True), T0)
    assert check.state == PAUSED
    assert "paused" in check.message and "mellow_quartz" in check.message
    # A sync that finished before the pause still counts.
    assert evaluate_sync(conn(succeeded_at=AFTER, paused=True), T0).state == SUCCESS


def test_rescheduled_sync_is_pending_and_resumed_only_for_manual_connections_when_due() -> None:
    manual = evaluate_sync(
        conn(succeeded_at=BEFORE, sync_state="rescheduled", schedule_type="manual", rescheduled_for=AFTER), T0
    )
    assert manual.state == PENDING and manual.rescheduled
    assert "rescheduled" in manual.message and AFTER in manual.message
    assert not manual.resume_due(epoch(AFTER) - 1)
    assert manual.resume_due(epoch(AFTER))
    auto = evaluate_sync(conn(succeeded_at=BEFORE, sync_state="rescheduled", rescheduled_for=AFTER), T0)
    assert auto.rescheduled and not auto.resume_due(epoch(LATER))


def test_unreadable_api_timestamps_count_as_absent() -> None:
    assert evaluate_sync(conn(succeeded_at="garbage"), None).state == PENDING


def test_pending_message_says_the_sync_has_not_started() -> None:
    check = evaluate_sync(conn(succeeded_at=BEFORE), T0)
    assert "has not started" in check.message and "'scheduled'" in check.message
    assert "running" in evaluate_sync(conn(succeeded_at=BEFORE, sync_state="syncing"), T0).message


# ------------------------------------------------------------------------------ the waiter


def waiter(**kwargs: Any) -> SyncWaiter:
    options: dict[str, Any] = {
        "baseline": T0,
        "poll_interval": 10.0,
        "deadline": 1000.0,
        "started_at": 0.0,
    }
    options.update(kwargs)
    return SyncWaiter("mellow_quartz", **options)


def test_polls_are_scheduled_from_each_poll_start() -> None:
    w = waiter()
    step = w.observe(conn(succeeded_at=BEFORE, sync_state="syncing"), polled_at=100.0)
    assert (step.action, step.until) == (SLEEP, 110.0)
    assert step.note is not None and "running" in step.note
    # The same state again is not logged again.
    assert w.observe(conn(succeeded_at=BEFORE, sync_state="syncing"), polled_at=110.0).note is None


def test_success_ends_the_wait_with_a_json_event() -> None:
    w = waiter()
    w.observe(conn(succeeded_at=BEFORE, sync_state="syncing"), polled_at=100.0)
    step = w.observe(conn(succeeded_at=AFTER), polled_at=110.0)
    assert step.action == DONE and step.event is not None
    event = json.loads(json.dumps(step.event))
    assert event["status"] == SUCCESS
    assert event["succeeded_at"] == AFTER
    assert event["baseline"] == T0
    assert event["polls"] == 2
    assert event["waited_seconds"] == 110.0
    assert outcome_from_event(event)["succeeded_at"] == AFTER


def test_the_last_sleep_stops_at_the_deadline_and_then_it_times_out() -> None:
    w = waiter(deadline=105.0)
    step = w.observe(conn(succeeded_at=BEFORE), polled_at=100.0)
    assert (step.action, step.until) == (SLEEP, 105.0)
    step = w.observe(conn(succeeded_at=BEFORE), polled_at=105.0)
    assert step.action == DONE and step.event is not None and step.event["status"] == TIMEOUT
    message = step.event["message"]
    assert message.startswith("Timed out after 105 s waiting for a Fivetran sync of connection mellow_quartz")
    assert "has not started" in message and "dashboard/connections/mellow_quartz" in message
    with pytest.raises(FivetranSyncTimeoutError, match="Timed out after 105 s"):
        outcome_from_event(step.event)


def test_without_a_deadline_it_never_times_out() -> None:
    w = waiter(deadline=None)
    assert w.observe(conn(succeeded_at=BEFORE), polled_at=1e12).action == SLEEP


def test_rescheduled_wait_sleeps_until_rescheduled_for_within_bounds() -> None:
    due = epoch(AFTER)
    soon = waiter(poll_interval=60.0, deadline=None)
    step = soon.observe(conn(sync_state="rescheduled", rescheduled_for=AFTER), polled_at=due - 5)
    assert step.action == SLEEP and step.until == pytest.approx(due + 0.1)
    far = waiter(poll_interval=60.0, deadline=None)
    step = far.observe(conn(sync_state="rescheduled", rescheduled_for=AFTER), polled_at=due - 10_000)
    assert step.until == pytest.approx(due - 10_000 + RESCHEDULED_MAX_SLEEP)


def test_due_rescheduled_manual_sync_asks_for_a_resume_and_auto_does_not() -> None:
    due = epoch(AFTER)
    manual = waiter(deadline=None)
    step = manual.observe(conn(sync_state="rescheduled", schedule_type="manual", rescheduled_for=AFTER), due + 1)
    assert step.action == RESUME
    assert manual.after_resume(due + 1).until == due + 11
    auto = waiter(deadline=None)
    assert auto.observe(conn(sync_state="rescheduled", rescheduled_for=AFTER), due + 1).action == SLEEP
    not_asked = waiter(deadline=None, resume_rescheduled=False)
    step = not_asked.observe(conn(sync_state="rescheduled", schedule_type="manual", rescheduled_for=AFTER), due + 1)
    assert step.action == SLEEP


@pytest.mark.parametrize(
    "error",
    [
        FivetranTransportError("GET", "/v1/connections/x", "ConnectError"),
        FivetranServerError(503, "ServiceUnavailable", "down", method="GET", path="/v1/connections/x"),
        FivetranRateLimitError(429, "TooManyRequests", "slow down", retry_after=None),
    ],
)
def test_transient_errors_keep_the_wait_going_until_the_deadline(error: Exception) -> None:
    assert is_transient(error)
    w = waiter(deadline=150.0)
    step = w.observe_error(error, polled_at=100.0)
    assert step.action == SLEEP and step.until == 110.0 and step.warning
    step = w.observe_error(error, polled_at=150.0)
    assert step.action == DONE and step.event is not None and step.event["status"] == TIMEOUT
    assert "The last 2 poll(s) failed" in step.event["message"]
    assert "could not be read at all" in step.event["message"]


def test_rate_limit_waits_at_least_retry_after() -> None:
    w = waiter()
    error = FivetranRateLimitError(429, "TooManyRequests", "slow down", retry_after=3600)
    assert w.observe_error(error, polled_at=100.0).until == 1000.0  # clamped to the deadline
    assert waiter(deadline=None).observe_error(error, polled_at=100.0).until == 3700.0


def test_a_successful_poll_resets_the_error_streak() -> None:
    w = waiter()
    w.observe_error(FivetranTransportError("GET", "/p", "ConnectError"), polled_at=100.0)
    w.observe(conn(succeeded_at=BEFORE), polled_at=110.0)
    assert w.consecutive_errors == 0 and w.failed_polls == 1


def test_non_transient_errors_end_the_wait_with_the_api_error() -> None:
    error = FivetranNotFoundError(
        404, "NotFound_Connector", "Connector with id 'x' does not exist.", method="GET", path="/v1/connections/x"
    )
    assert not is_transient(error)
    step = waiter().observe_error(error, polled_at=100.0)
    assert step.action == DONE and step.event is not None and step.event["status"] == ERROR
    with pytest.raises(FivetranNotFoundError, match="does not exist") as caught:
        outcome_from_event(json.loads(json.dumps(step.event)))
    assert caught.value.status == 404 and caught.value.code == "NotFound_Connector"
    auth = waiter().observe_error(FivetranAuthError(401, "AuthFailed", "nope"), polled_at=1.0)
    assert auth.event is not None and auth.event["http_status"] == 401


def test_poll_interval_must_be_positive() -> None:
    with pytest.raises(FivetranValidationError, match="poll_interval"):
        waiter(poll_interval=0)


# ------------------------------------------------------------------------------ outcomes


def test_outcomes_raise_typed_errors_that_carry_the_connection() -> None:
    base = {"connection_id": "mellow_quartz", "dashboard_url": "https://example/x", "message": "it broke"}
    with pytest.raises(FivetranSyncFailedError, match="it broke") as failed:
        outcome_from_event({**base, "status": FAILED, "failed_at": AFTER})
    assert failed.value.failed_at == AFTER and failed.value.connection_id == "mellow_quartz"
    with pytest.raises(FivetranConnectionPausedError):
        outcome_from_event({**base, "status": PAUSED})
    with pytest.raises(FivetranSyncTimeoutError) as timed_out:
        outcome_from_event({**base, "status": TIMEOUT})
    assert not isinstance(timed_out.value, AirflowSensorTimeout)
    with pytest.raises(AirflowSensorTimeout):
        outcome_from_event({**base, "status": TIMEOUT}, timeout_error=FivetranSensorTimeoutError)
    with pytest.raises(FivetranSyncError, match="it broke"):
        outcome_from_event({**base, "status": ERROR})
    with pytest.raises(FivetranSyncError, match="no usable outcome"):
        outcome_from_event(None)

"""What a DAG author sees at the end of a wait for a sync: the returned record, the error and its
sentence, and the steps a driver takes (when to poll, when to resume, when to give up).

Pure functions and the sans-I/O waiter, fed with dicts shaped like ``GET /v1/connections/{id}``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fivetran_provider.exceptions import (
    FivetranAPIError,
    FivetranAuthError,
    FivetranBadRequestError,
    FivetranConfigurationError,
    FivetranConnectionPausedError,
    FivetranNotFoundError,
    FivetranPermissionError,
    FivetranRateLimitError,
    FivetranServerError,
    FivetranSyncError,
    FivetranSyncFailedError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
    FivetranValidationError,
)
from fivetran_provider.links import connection_dashboard_url
from fivetran_provider.sync_status import (
    DONE,
    ERROR,
    FAILED,
    PAUSED,
    PENDING,
    RESUME,
    SLEEP,
    SUCCESS,
    TIMEOUT,
    SyncWaiter,
    capture_baseline,
    epoch_to_iso,
    evaluate_sync,
    format_timestamp,
    is_transient,
    outcome_from_event,
    parse_timestamp,
    to_iso,
)

CONN = "mellow_quartz"
URL = connection_dashboard_url(CONN)
BASE = "2026-04-20T03:00:00.000000Z"
BEFORE = "2026-04-20T02:00:00.000000Z"
AFTER = "2026-04-20T04:00:00.000000Z"
LATER = "2026-04-20T05:00:00.000000Z"


def epoch(text: str) -> float:
    moment = parse_timestamp(text)
    assert moment is not None
    return moment.timestamp()


def connection(
    *,
    succeeded_at: str | None = None,
    failed_at: str | None = None,
    paused: Any = False,
    status: Any = None,
    schedule_type: Any = "auto",
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": CONN,
        "succeeded_at": succeeded_at,
        "failed_at": failed_at,
        "paused": paused,
        "schedule_type": schedule_type,
        "status": {"setup_state": "connected", "sync_state": "scheduled", "is_historical_sync": False, "tasks": []}
        if status is None
        else status,
    }
    data.update(extra)
    return data


def state(**status: Any) -> dict[str, Any]:
    return {"setup_state": "connected", "sync_state": "scheduled", "is_historical_sync": False, "tasks": [], **status}


def waiter(**kwargs: Any) -> SyncWaiter:
    options: dict[str, Any] = {"baseline": BASE, "poll_interval": 10.0, "deadline": 1000.0, "started_at": 0.0}
    options.update(kwargs)
    return SyncWaiter(CONN, **options)


# ------------------------------------------------------------------ timestamps a user may give


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-20T05:00:00+02:00", "2026-04-20T03:00:00.000000Z"),
        ("2026-04-20T05:00:00+0200", "2026-04-20T03:00:00.000000Z"),
        ("2026-04-20T05:00:00+02", "2026-04-20T03:00:00.000000Z"),
        ("2026-04-20T00:30:00-02:30", "2026-04-20T03:00:00.000000Z"),
        ("2026-04-20 03:00:00z", "2026-04-20T03:00:00.000000Z"),
        ("2026-04-20T03:00", "2026-04-20T03:00:00.000000Z"),
        ("2026-04-20", "2026-04-20T00:00:00.000000Z"),
        ("2026-04-20T03:00:00.1234567891Z", "2026-04-20T03:00:00.123456Z"),
        ("2026-04-20T03:00:00,5Z", "2026-04-20T03:00:00.500000Z"),
        ("  2026-04-20T03:00:00Z  ", "2026-04-20T03:00:00.000000Z"),
    ],
)
def test_user_given_times_become_the_utc_baseline(text: str, expected: str) -> None:
    assert to_iso(text) == expected


def test_datetimes_naive_and_aware_become_utc() -> None:
    assert to_iso(datetime(2026, 4, 20, 3)) == "2026-04-20T03:00:00.000000Z"
    plus_two = timezone(timedelta(hours=2))
    assert to_iso(datetime(2026, 4, 20, 5, tzinfo=plus_two)) == "2026-04-20T03:00:00.000000Z"
    assert format_timestamp(datetime(2026, 4, 20, 3)) == "2026-04-20T03:00:00.000000Z"
    assert epoch_to_iso(0) == "1970-01-01T00:00:00.000000Z"
    assert to_iso(None) is None
    assert to_iso("   ") is None


@pytest.mark.parametrize("bad", ["2026-13-01T00:00:00Z", "2026-04-31", "yesterday", 1713582475, ["2026-04-20"]])
def test_a_bad_time_is_refused_naming_the_argument_and_the_format(bad: Any) -> None:
    with pytest.raises(FivetranValidationError) as caught:
        to_iso(bad, "completed_after")
    assert caught.value.field == "completed_after"
    assert "ISO-8601" in str(caught.value)


def test_baseline_takes_the_later_time_and_ignores_unreadable_ones() -> None:
    assert capture_baseline({"succeeded_at": LATER, "failed_at": AFTER}) == LATER
    assert capture_baseline({"succeeded_at": BEFORE, "failed_at": AFTER}) == AFTER
    assert capture_baseline({"succeeded_at": "garbage", "failed_at": AFTER}) == AFTER
    assert capture_baseline({"succeeded_at": "garbage", "failed_at": None}) is None


# ------------------------------------------------------------------ one look at a connection


def test_a_paused_connection_is_paused_whatever_its_sync_state_says() -> None:
    check = evaluate_sync(connection(paused=True, status=state(sync_state="scheduled")), BASE)
    assert check.state == PAUSED and check.done
    assert check.message == (
        f"Fivetran connection {CONN} is paused, so the sync will not run until it is resumed "
        f"(no sync finished after {BASE}). Resume the connection and try again; see {URL}"
    )


def test_a_paused_sync_state_is_paused_even_when_the_flag_lags() -> None:
    check = evaluate_sync(connection(paused=False, status=state(sync_state="paused")), None, historical=True)
    assert check.state == PAUSED
    assert "the historical sync will not run" in check.message
    assert "the start (the connection had never synced)" in check.message


def test_a_paused_flag_that_is_not_true_does_not_pause() -> None:
    assert evaluate_sync(connection(paused="true"), BASE).state == PENDING


def test_a_failure_names_each_problem_once_and_a_broken_setup() -> None:
    tasks = [
        {"code": "source_auth", "message": "Authentication failed"},
        {"code": "x", "message": "Authentication failed"},
        {"code": "quota_code_only"},
        "not a task",
        {"message": ""},
    ]
    check = evaluate_sync(
        connection(failed_at=AFTER, status=state(setup_state="broken", tasks=tasks)), BASE, connection_id=CONN
    )
    assert check.state == FAILED
    assert check.message == (
        f"Fivetran sync of connection {CONN} failed at {AFTER}: Authentication failed; quota_code_only. "
        f"The connection's setup is broken. See {URL}"
    )


def test_a_failure_of_a_working_connection_says_nothing_about_setup() -> None:
    check = evaluate_sync(connection(failed_at=AFTER, status=state(setup_state="incomplete")), BASE)
    assert check.message == f"Fivetran sync of connection {CONN} failed at {AFTER}. See {URL}"


def test_a_failure_after_a_success_while_the_historical_sync_runs_is_a_failure() -> None:
    status = state(is_historical_sync=True)
    failed = evaluate_sync(connection(succeeded_at=AFTER, failed_at=LATER, status=status), BASE, historical=True)
    assert failed.state == FAILED and "historical sync" in failed.message
    earlier = evaluate_sync(connection(succeeded_at=LATER, failed_at=AFTER, status=status), BASE, historical=True)
    assert earlier.state == PENDING
    same = evaluate_sync(connection(succeeded_at=AFTER, failed_at=AFTER, status=status), BASE, historical=True)
    assert same.state == PENDING


def test_the_historical_flag_only_matters_for_a_historical_wait() -> None:
    status = state(is_historical_sync=True)
    check = evaluate_sync(connection(succeeded_at=AFTER, status=status), BASE)
    assert check.state == SUCCESS and not check.historical_pending
    assert check.message == f"Fivetran sync of connection {CONN} succeeded at {AFTER}."
    pending = evaluate_sync(connection(succeeded_at=AFTER, status=status), BASE, historical=True)
    assert pending.state == PENDING and pending.historical_pending
    assert pending.message == (
        f"A sync of connection {CONN} succeeded at {AFTER} but status.is_historical_sync is still true: "
        "the historical sync has not finished (sync_state 'scheduled')."
    )
    done = evaluate_sync(connection(succeeded_at=AFTER, status=state(is_historical_sync="yes")), BASE, historical=True)
    assert done.state == SUCCESS and "historical sync of connection" in done.message


def test_an_old_success_during_a_historical_sync_is_just_not_started() -> None:
    status = state(is_historical_sync=True)
    check = evaluate_sync(connection(succeeded_at=BEFORE, status=status), BASE, historical=True)
    assert check.message.startswith(f"No historical sync of connection {CONN} has finished since {BASE}")
    never = evaluate_sync(connection(succeeded_at=AFTER, status=status), None, historical=True)
    assert "is still true" in never.message


def test_a_success_exactly_at_the_baseline_is_not_new() -> None:
    assert evaluate_sync(connection(succeeded_at=BASE), BASE).state == PENDING
    assert evaluate_sync(connection(failed_at=BASE), BASE).state == PENDING


def test_the_id_in_messages_falls_back_to_the_connection_id_field() -> None:
    check = evaluate_sync(connection(succeeded_at=AFTER), BASE)
    assert check.connection_id == CONN and CONN in check.message
    other = evaluate_sync(connection(succeeded_at=AFTER), BASE, connection_id="given")
    assert other.connection_id == "given"
    unnamed = evaluate_sync({"succeeded_at": AFTER}, BASE)
    assert unnamed.connection_id == "?" and unnamed.state == SUCCESS


def test_odd_shapes_of_the_status_object_are_read_as_absent() -> None:
    check = evaluate_sync(connection(status="broken", schedule_type=5), BASE)
    assert check.state == PENDING
    assert (check.sync_state, check.schedule_type, check.setup_state) == (None, None, None)
    numbers = evaluate_sync(connection(status={"sync_state": 3, "setup_state": 4}), BASE)
    assert (numbers.sync_state, numbers.setup_state) == (None, None)
    assert numbers.message == (
        f"No sync of connection {CONN} has finished since {BASE} (sync_state None); it has not started yet."
    )


def test_pending_messages_say_what_the_connection_is_doing() -> None:
    running = evaluate_sync(connection(status=state(sync_state="syncing")), BASE)
    assert running.message == f"The sync of connection {CONN} is running (sync_state 'syncing')."
    broken = evaluate_sync(connection(status=state(setup_state="broken")), BASE)
    assert broken.message == (
        f"No sync of connection {CONN} has finished since {BASE} "
        "(sync_state 'scheduled', setup_state 'broken'); it has not started yet."
    )
    connected = evaluate_sync(connection(), BASE)
    assert "setup_state" not in connected.message


def test_rescheduled_messages_say_when_and_who_starts_it() -> None:
    when = "2026-04-20T06:00:00.000000Z"
    manual = evaluate_sync(
        connection(schedule_type="manual", status=state(sync_state="rescheduled", rescheduled_for=when)), BASE
    )
    assert manual.rescheduled and not manual.done
    assert manual.message == (
        f"Fivetran rescheduled the sync of connection {CONN} (source API quota) for {when}; "
        "it will be started again at that time."
    )
    auto = evaluate_sync(connection(status=state(sync_state="rescheduled")), BASE)
    assert auto.message.endswith("for an unknown time; Fivetran resumes it.")


def test_a_manual_rescheduled_sync_is_due_at_its_time_or_when_no_time_is_known() -> None:
    when = "2026-04-20T06:00:00.000000Z"
    due = evaluate_sync(
        connection(schedule_type="manual", status=state(sync_state="rescheduled", rescheduled_for=when)), BASE
    )
    assert not due.resume_due(epoch(when) - 1)
    assert due.resume_due(epoch(when))
    unknown = evaluate_sync(connection(schedule_type="manual", status=state(sync_state="rescheduled")), BASE)
    assert unknown.resume_due(0.0)
    auto = evaluate_sync(connection(status=state(sync_state="rescheduled", rescheduled_for=when)), BASE)
    assert not auto.resume_due(epoch(when) + 1)
    running = evaluate_sync(connection(schedule_type="manual", status=state(sync_state="syncing")), BASE)
    assert not running.rescheduled and not running.resume_due(epoch(when) + 1)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (FivetranTransportError("GET", "/v1/connections/c", "ConnectError"), True),
        (FivetranServerError(503, None, "down"), True),
        (FivetranRateLimitError(429, None, "slow down"), True),
        (FivetranUnexpectedResponseError(200, None, "not JSON"), True),
        (FivetranNotFoundError(404, None, "gone"), False),
        (FivetranAuthError(401, None, "nope"), False),
        (FivetranPermissionError(403, None, "no"), False),
        (FivetranBadRequestError(400, None, "bad"), False),
        (FivetranConfigurationError("no connection"), False),
        (RuntimeError("boom"), False),
    ],
)
def test_which_errors_a_wait_outlasts(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


# ------------------------------------------------------------------ the waiter's steps


def test_a_rescheduled_wait_wakes_just_after_the_new_time_but_polls_at_least_every_15_minutes() -> None:
    w = waiter(deadline=None, poll_interval=10.0)
    soon = epoch(BASE) + 60
    step = w.observe(
        connection(status=state(sync_state="rescheduled", rescheduled_for=epoch_to_iso(soon))), polled_at=epoch(BASE)
    )
    assert step.action == SLEEP and step.until == pytest.approx(soon + 0.1)
    far = epoch(BASE) + 7200
    step = w.observe(
        connection(status=state(sync_state="rescheduled", rescheduled_for=epoch_to_iso(far))), polled_at=epoch(BASE)
    )
    assert step.until == epoch(BASE) + 900
    past = epoch(BASE) - 60
    step = w.observe(
        connection(status=state(sync_state="rescheduled", rescheduled_for=epoch_to_iso(past))), polled_at=epoch(BASE)
    )
    assert step.until == epoch(BASE) + 10
    slow = waiter(deadline=None, poll_interval=1800.0)
    step = slow.observe(
        connection(status=state(sync_state="rescheduled", rescheduled_for=epoch_to_iso(far))), polled_at=epoch(BASE)
    )
    assert step.until == epoch(BASE) + 1800


def test_a_due_manual_resync_is_asked_for_only_when_resuming_is_on() -> None:
    rescheduled = connection(
        schedule_type="manual", status=state(sync_state="rescheduled", rescheduled_for="2026-04-20T03:30:00Z")
    )
    at = epoch("2026-04-20T03:31:00Z")
    w = waiter(deadline=at + 100)
    step = w.observe(rescheduled, polled_at=at)
    assert step.action == RESUME and step.note is not None and CONN in step.note and "POST /sync" in step.note
    after = w.after_resume(at + 1)
    assert after.action == SLEEP and after.until == at + 11 and w.resumes == 1
    off = waiter(deadline=at + 100, resume_rescheduled=False)
    assert off.observe(rescheduled, polled_at=at).action == SLEEP


def test_a_resume_at_or_after_the_deadline_ends_the_wait() -> None:
    w = waiter(deadline=500.0)
    step = w.after_resume(500.0)
    assert step.action == DONE and step.event is not None and step.event["status"] == TIMEOUT
    near = waiter(deadline=505.0).after_resume(499.0)
    assert near.action == SLEEP and near.until == 505.0


def test_a_poll_at_the_deadline_times_out_with_what_was_last_seen() -> None:
    w = waiter(deadline=100.0, started_at=40.0)
    first = w.observe(connection(status=state(sync_state="syncing")), polled_at=60.0)
    assert first.action == SLEEP and first.until == 70.0
    step = w.observe(connection(status=state(sync_state="syncing")), polled_at=100.0)
    assert step.action == DONE and step.warning
    assert step.event is not None and step.event["status"] == TIMEOUT
    assert step.note == step.event["message"]
    assert step.event["message"] == (
        f"Timed out after 60 s waiting for a Fivetran sync of connection {CONN} to finish after {BASE}. "
        f"Last seen: The sync of connection {CONN} is running (sync_state 'syncing'). See {URL}"
    )
    assert step.event["waited_seconds"] == 60.0 and step.event["polls"] == 2


def test_a_timeout_without_any_answer_says_so_and_shows_the_last_errors() -> None:
    w = waiter(deadline=100.0, started_at=0.0, historical=True, baseline=None)
    w.observe_error(FivetranServerError(503, None, "down", method="GET", path="/v1/x"), polled_at=10.0)
    step = w.observe_error(FivetranTransportError("GET", "/v1/x", "ReadTimeout"), polled_at=120.0)
    assert step.action == DONE and step.event is not None
    assert step.event["message"] == (
        f"Timed out after 120 s waiting for a Fivetran historical sync of connection {CONN} to finish after "
        "the start (the connection had never synced). The connection could not be read at all. "
        "The last 2 poll(s) failed: No answer from Fivetran for GET /v1/x: ReadTimeout "
        f"See {URL}"
    )


def test_a_transient_error_waits_one_interval_or_longer_when_fivetran_asks() -> None:
    w = waiter(poll_interval=10.0, deadline=1000.0)
    step = w.observe_error(FivetranServerError(500, None, "oops"), polled_at=100.0)
    assert (step.action, step.until, step.warning) == (SLEEP, 110.0, True)
    assert step.note == (
        f"Could not read Fivetran connection {CONN} (Fivetran API error 500 -: oops); "
        "still waiting, next try in 10.0 s."
    )
    slow = w.observe_error(FivetranRateLimitError(429, None, "slow", retry_after=30.0), polled_at=200.0)
    assert slow.until == 230.0
    quick = w.observe_error(FivetranRateLimitError(429, None, "slow", retry_after=2.0), polled_at=300.0)
    assert quick.until == 310.0
    capped = w.observe_error(FivetranRateLimitError(429, None, "slow", retry_after=5000.0), polled_at=400.0)
    assert capped.until == 1000.0 and capped.note is not None and "next try in 600.0 s" in capped.note
    assert (w.failed_polls, w.consecutive_errors) == (4, 4)


def test_an_api_error_that_ends_a_wait_is_rebuilt_with_its_message_method_and_path() -> None:
    error = FivetranPermissionError(
        403, "Forbidden", "No permission for this connection", method="GET", path=f"/v1/connections/{CONN}"
    )
    step = waiter(started_at=90.0).observe_error(error, polled_at=100.0)
    assert step.action == DONE and step.warning and step.event is not None
    event = json.loads(json.dumps(step.event))
    assert event["message"] == f"Stopped waiting for Fivetran connection {CONN}: {error}"
    assert event["error_type"] == "FivetranPermissionError"
    assert event["waited_seconds"] == 10.0
    with pytest.raises(FivetranPermissionError) as caught:
        outcome_from_event(event)
    rebuilt = caught.value
    assert (rebuilt.status, rebuilt.code, rebuilt.message) == (403, "Forbidden", "No permission for this connection")
    assert (rebuilt.method, rebuilt.path) == ("GET", f"/v1/connections/{CONN}")
    assert str(rebuilt) == str(error)


def test_an_error_without_an_http_status_ends_as_a_sync_error_with_its_sentence() -> None:
    step = waiter().observe_error(FivetranConfigurationError("no API secret"), polled_at=5.0)
    assert step.event is not None
    assert "http_status" not in step.event and step.event["error_type"] == "FivetranConfigurationError"
    with pytest.raises(FivetranSyncError) as caught:
        outcome_from_event(step.event)
    assert not isinstance(caught.value, FivetranAPIError)
    assert str(caught.value) == f"Stopped waiting for Fivetran connection {CONN}: no API secret"
    assert caught.value.connection_id == CONN and caught.value.dashboard_url == URL


def test_the_event_of_a_success_carries_every_documented_field() -> None:
    w = waiter(started_at=1000.0, deadline=None)
    w.observe(connection(succeeded_at=BEFORE, failed_at=BEFORE), polled_at=1010.0)
    step = w.observe(connection(succeeded_at=LATER, failed_at=AFTER), polled_at=1020.5)
    assert step.action == DONE and step.event is not None
    assert step.event == {
        "status": SUCCESS,
        "connection_id": CONN,
        "message": f"Fivetran sync of connection {CONN} succeeded at {LATER}.",
        "baseline": BASE,
        "historical": False,
        "succeeded_at": LATER,
        "failed_at": AFTER,
        "sync_state": "scheduled",
        "dashboard_url": URL,
        "polls": 2,
        "waited_seconds": 20.5,
    }
    assert outcome_from_event(step.event) == {
        "connection_id": CONN,
        "status": SUCCESS,
        "succeeded_at": LATER,
        "failed_at": AFTER,
        "baseline": BASE,
        "dashboard_url": URL,
        "polls": 2,
        "waited_seconds": 20.5,
    }


def test_waited_seconds_is_never_negative_and_empty_fields_are_null() -> None:
    w = waiter(started_at=100.0)
    event = w.event(TIMEOUT, "x", now=90.0)
    assert event["waited_seconds"] == 0.0
    assert (event["succeeded_at"], event["failed_at"], event["sync_state"], event["polls"]) == (None, None, None, 0)
    w.observe(connection(), polled_at=101.0)
    assert w.event(PENDING, "x", now=101.2345)["waited_seconds"] == 1.234
    assert w.event(PENDING, "x", now=101.0)["succeeded_at"] is None


def test_a_failed_wait_raises_with_the_time_and_link_a_restore_or_author_needs() -> None:
    w = waiter()
    step = w.observe(connection(failed_at=AFTER), polled_at=50.0)
    assert step.event is not None and step.event["status"] == FAILED
    with pytest.raises(FivetranSyncFailedError) as caught:
        outcome_from_event(step.event)
    assert caught.value.failed_at == AFTER and caught.value.connection_id == CONN and caught.value.dashboard_url == URL
    assert str(caught.value) == step.event["message"]


def test_a_paused_wait_raises_the_paused_error_with_its_message() -> None:
    step = waiter().observe(connection(paused=True), polled_at=50.0)
    assert step.event is not None
    with pytest.raises(FivetranConnectionPausedError, match="is paused") as caught:
        outcome_from_event(step.event)
    assert caught.value.dashboard_url == URL


def test_an_event_missing_details_still_gives_a_clear_error() -> None:
    with pytest.raises(FivetranSyncError) as caught:
        outcome_from_event({"status": "weird", "connection_id": CONN})
    assert str(caught.value) == "Fivetran sync wait ended with status 'weird'"
    assert caught.value.dashboard_url == URL and caught.value.connection_id == CONN
    with pytest.raises(FivetranSyncError) as anonymous:
        outcome_from_event({"status": "weird"})
    assert anonymous.value.dashboard_url == "" and anonymous.value.connection_id == ""
    with pytest.raises(FivetranSyncError, match="no usable outcome"):
        outcome_from_event({"connection_id": CONN})
    with pytest.raises(FivetranSyncError, match="no usable outcome"):
        outcome_from_event("success")  # type: ignore[arg-type]
    with pytest.raises(FivetranSyncError, match="went wrong") as odd:
        outcome_from_event({"status": ERROR, "http_status": "500", "message": "went wrong"})
    assert not isinstance(odd.value, FivetranAPIError)


def test_an_error_event_without_details_keeps_its_own_message() -> None:
    with pytest.raises(FivetranServerError) as caught:
        outcome_from_event({"status": ERROR, "http_status": 502, "message": "Stopped waiting"})
    assert caught.value.message == "Stopped waiting"
    assert (caught.value.method, caught.value.path, caught.value.code) == ("", "", None)


def test_an_unchanged_state_is_logged_once_and_a_change_again() -> None:
    w = waiter()
    first = w.observe(connection(), polled_at=10.0)
    assert first.note is not None and first.note.startswith("No sync")
    assert w.observe(connection(), polled_at=20.0).note is None
    running = w.observe(connection(status=state(sync_state="syncing")), polled_at=30.0)
    assert running.note is not None and "running" in running.note
    broken = w.observe(connection(status=state(sync_state="syncing", setup_state="broken")), polled_at=40.0)
    assert broken.note is None  # same sync_state and the same sentence
    back = w.observe(connection(), polled_at=50.0)  # from syncing back to scheduled: said again
    assert back.note is not None and back.note.startswith("No sync")


def test_a_poll_interval_must_be_above_zero() -> None:
    for bad in (0, -1.0):
        with pytest.raises(FivetranValidationError, match="poll_interval") as caught:
            waiter(poll_interval=bad)
        assert "above 0" in str(caught.value)
    assert waiter(poll_interval=0.5).poll_interval == 0.5


# ------------------------------------------------------------------ answers as they come off the wire


def from_api(data: dict[str, Any]) -> dict[str, Any]:
    """The connection as a client gets it: decoded from JSON text (fresh string objects)."""
    return json.loads(json.dumps(data))


def test_states_read_from_a_json_answer_are_recognised() -> None:
    assert evaluate_sync(from_api(connection(status=state(sync_state="paused"))), BASE).state == PAUSED
    running = evaluate_sync(from_api(connection(status=state(sync_state="syncing"))), BASE)
    assert "is running" in running.message
    broken = evaluate_sync(from_api(connection(failed_at=AFTER, status=state(setup_state="broken"))), BASE)
    assert "The connection's setup is broken." in broken.message
    manual = evaluate_sync(from_api(connection(schedule_type="manual", status=state(sync_state="rescheduled"))), BASE)
    assert manual.message.endswith("it will be started again at that time.")


@pytest.mark.parametrize("status", [FAILED, PAUSED, TIMEOUT])
def test_outcomes_read_from_a_json_event_raise_their_own_error(status: str) -> None:
    event = json.loads(json.dumps({"status": status, "connection_id": CONN, "message": "m", "failed_at": AFTER}))
    expected = {FAILED: FivetranSyncFailedError, PAUSED: FivetranConnectionPausedError}.get(status)
    with pytest.raises(FivetranSyncError) as caught:
        outcome_from_event(event)
    if expected is not None:
        assert type(caught.value) is expected
    else:
        assert type(caught.value).__name__ == "FivetranSyncTimeoutError"


@pytest.mark.parametrize("status", ["weird", "done", "zzz"])
def test_an_unknown_status_is_a_plain_sync_error_even_with_an_http_status(status: str) -> None:
    with pytest.raises(FivetranSyncError) as caught:
        outcome_from_event({"status": status, "http_status": 500, "connection_id": CONN})
    assert type(caught.value) is FivetranSyncError


def test_a_json_error_event_is_rebuilt_as_the_api_error() -> None:
    event = json.loads(json.dumps({"status": ERROR, "http_status": 404, "message": "gone", "connection_id": CONN}))
    with pytest.raises(FivetranNotFoundError):
        outcome_from_event(event)


def test_the_rescheduled_wake_up_is_exactly_a_tenth_of_a_second_late() -> None:
    w = waiter(deadline=None)
    soon = epoch(BASE) + 60
    step = w.observe(
        connection(status=state(sync_state="rescheduled", rescheduled_for=epoch_to_iso(soon))), polled_at=epoch(BASE)
    )
    assert step.until - soon == pytest.approx(0.1, abs=1e-3)


def test_a_stale_rescheduled_for_does_not_shorten_a_running_sync_poll() -> None:
    w = waiter(deadline=None, poll_interval=10.0)
    soon = epoch(BASE) + 2
    step = w.observe(
        connection(status=state(sync_state="syncing", rescheduled_for=epoch_to_iso(soon))), polled_at=epoch(BASE)
    )
    assert step.until == epoch(BASE) + 10


def test_format_timestamp_converts_other_zones_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_timestamp(datetime(2026, 4, 20, 5, tzinfo=plus_two)) == "2026-04-20T03:00:00.000000Z"


def test_checks_and_steps_are_fixed_values_with_documented_defaults() -> None:
    check = evaluate_sync(connection(), BASE)
    with pytest.raises(AttributeError):
        check.state = SUCCESS  # type: ignore[misc]
    assert hash(check) == hash(evaluate_sync(connection(), BASE))
    from fivetran_provider.sync_status import SyncCheck, WaitStep

    bare = SyncCheck(PENDING, CONN, "m")
    assert bare.historical_pending is False and bare.sync_state is None
    step = WaitStep(DONE)
    assert (step.until, step.event, step.note, step.warning) == (0.0, None, None, False)


def test_only_a_pending_check_can_be_rescheduled() -> None:
    failed = evaluate_sync(connection(failed_at=AFTER, status=state(sync_state="rescheduled")), BASE)
    assert failed.state == FAILED and not failed.rescheduled
    queued = evaluate_sync(connection(status=state(sync_state="queued")), BASE)
    assert queued.state == PENDING and not queued.rescheduled


def test_an_ordinary_poll_is_logged_as_information() -> None:
    step = waiter().observe(connection(status=state(sync_state="syncing")), polled_at=10.0)
    assert step.action == SLEEP and step.warning is False
    resume = waiter(deadline=None).after_resume(10.0)
    assert resume.warning is False and resume.note is None


def test_the_wait_note_near_the_deadline_says_the_real_time_left() -> None:
    w = waiter(poll_interval=10.0, deadline=100.5)
    step = w.observe_error(FivetranServerError(500, None, "oops"), polled_at=100.0)
    assert step.until == 100.5
    assert step.note is not None and step.note.endswith("next try in 0.5 s.")


def test_failed_polls_before_a_success_or_a_resume_are_not_reported_at_the_timeout() -> None:
    w = waiter(deadline=100.0)
    w.observe_error(FivetranServerError(503, None, "down"), polled_at=10.0)
    w.after_resume(20.0)
    assert "poll(s) failed" not in w.timeout_message(100.0)
    v = waiter(deadline=100.0)
    v.observe_error(FivetranServerError(503, None, "down"), polled_at=10.0)
    v.observe(connection(), polled_at=20.0)
    assert "poll(s) failed" not in v.timeout_message(100.0)


def test_the_timeout_message_rounds_the_time_waited_and_never_goes_negative() -> None:
    w = waiter(started_at=10.0)
    assert w.timeout_message(10.4).startswith("Timed out after 0 s ")
    assert w.timeout_message(9.5).startswith("Timed out after 0 s ")
    assert w.timeout_message(12.6).startswith("Timed out after 3 s ")


def test_arguments_may_be_given_by_name() -> None:
    assert evaluate_sync(connection=connection(succeeded_at=AFTER), baseline=BASE).state == SUCCESS
    assert outcome_from_event(event={"status": SUCCESS, "connection_id": CONN})["status"] == SUCCESS


def test_a_finished_check_is_never_rescheduled() -> None:
    success = evaluate_sync(connection(succeeded_at=AFTER, status=state(sync_state="rescheduled")), BASE)
    assert success.state == SUCCESS and not success.rescheduled


def test_a_rescheduled_sync_without_a_schedule_type_is_left_to_fivetran() -> None:
    check = evaluate_sync(connection(schedule_type=None, status=state(sync_state="rescheduled")), BASE)
    assert check.rescheduled and not check.resume_due(0.0)
    assert check.message.endswith("for an unknown time; Fivetran resumes it.")


def test_flags_that_are_not_json_true_do_not_count() -> None:
    assert evaluate_sync(connection(paused=1), BASE).state == PENDING
    status = state(is_historical_sync=1)
    assert evaluate_sync(connection(succeeded_at=AFTER, status=status), BASE, historical=True).state == SUCCESS


def test_a_historical_success_exactly_at_the_baseline_is_not_reported_as_unfinished() -> None:
    status = state(is_historical_sync=True)
    check = evaluate_sync(connection(succeeded_at=BASE, status=status), BASE, historical=True)
    assert check.message.startswith(f"No historical sync of connection {CONN} has finished since {BASE}")


def test_wait_steps_are_fixed_values() -> None:
    from fivetran_provider.sync_status import WaitStep

    step = WaitStep(SLEEP, until=5.0)
    with pytest.raises(AttributeError):
        step.until = 6.0  # type: ignore[misc]


def test_a_rescheduled_time_that_is_due_right_now_polls_at_the_normal_interval() -> None:
    from fivetran_provider.sync_status import RESUME_MARGIN

    when = "2026-04-20T06:00:00.000000Z"
    polled_at = epoch(when) + RESUME_MARGIN
    w = waiter(deadline=None, poll_interval=10.0)
    step = w.observe(connection(status=state(sync_state="rescheduled", rescheduled_for=when)), polled_at=polled_at)
    assert step.until == polled_at + 10.0

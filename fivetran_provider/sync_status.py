"""When is a Fivetran sync finished? One answer, shared by the trigger, the sensor and blocking waits.

Everything here is pure: no HTTP, no sleeping, no Airflow. Callers read the connection
(``GET /v1/connections/{id}``) however suits them and ask this module what it means and what
to do next.

Completion is judged against a **baseline** captured *before* the sync was requested, never
when a trigger happens to start (a sync that finishes in between would otherwise be missed):

* the baseline is ``max(succeeded_at, failed_at)`` of the connection as read before the request,
  written as an ISO-8601 UTC string, or ``None`` when both were null (a connection that never
  synced; then any non-null timestamp counts as "after");
* **success**: ``succeeded_at`` is after the baseline and, when waiting for a historical sync,
  ``status.is_historical_sync`` is false again. Success wins over a later failure: a sync did
  complete after the baseline;
* **failure**: ``failed_at`` is after the baseline and after ``succeeded_at`` (a null
  ``succeeded_at`` counts as minus infinity);
* **paused**: the connection is paused, so nothing will run until someone resumes it. This is
  reported at once instead of waiting for the timeout;
* **rescheduled** (Fivetran ran out of source API quota): wait until ``status.rescheduled_for``.
  Connections with ``schedule_type`` ``auto`` resume by themselves; for ``manual`` ones the
  waiter asks its caller to ``POST /sync`` again once that time has come (at most once per poll);
* anything else is still pending, until the deadline ends the wait with a message that says
  what the connection was last seen doing.

:class:`SyncWaiter` is the state machine that turns each poll (or failed poll) into the next
step. Transient API errors that survive the hook's own retries (network errors, 5xx, 429, a
malformed answer) do **not** end a wait before its deadline: the waiter logs them and polls again
(after ``Retry-After`` when Fivetran gave one). Other errors (401, 403, 404, 400) end it at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from fivetran_provider.exceptions import (
    FivetranAPIError,
    FivetranConnectionPausedError,
    FivetranOutcomeUnknownError,
    FivetranRateLimitError,
    FivetranServerError,
    FivetranSyncError,
    FivetranSyncFailedError,
    FivetranSyncTimeoutError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
    FivetranValidationError,
    error_class_for_status,
    short_error,
)
from fivetran_provider.links import connection_dashboard_url

# Outcomes of one look at a connection (SyncCheck.state) and of a whole wait (event["status"]).
SUCCESS = "success"
FAILED = "failed"
PAUSED = "paused"
PENDING = "pending"
TIMEOUT = "timeout"
ERROR = "error"

# Steps a SyncWaiter asks its driver to take.
SLEEP = "sleep"
RESUME = "resume"
DONE = "done"

#: Longest single sleep while a connection is ``rescheduled`` (seconds); it is polled at least this often.
RESCHEDULED_MAX_SLEEP = 900.0
#: Wake this long after ``rescheduled_for`` so the ``POST /sync`` is not early.
RESUME_MARGIN = 0.1

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
_TIMESTAMP_HELP = "an ISO-8601 date-time such as '2026-04-20T03:07:55Z', or a datetime"


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------


def parse_timestamp(value: Any, name: str = "timestamp") -> datetime | None:
    """Read a timestamp as an aware UTC datetime; ``None`` and ``""`` give ``None``.

    Accepts datetimes (naive ones are taken as UTC) and ISO-8601 text with any number of
    fractional digits, a ``Z`` or a numeric offset (none means UTC), or a bare date (midnight UTC).

    :param value: the value to read.
    :param name: the argument name for the error message.
    :raises FivetranValidationError: if the value is not a timestamp.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    if not isinstance(value, str):
        raise FivetranValidationError(name, value, _TIMESTAMP_HELP)
    moment = _parse_iso(value.strip())
    if moment is None:
        raise FivetranValidationError(name, value, _TIMESTAMP_HELP)
    return moment


@lru_cache(maxsize=4096)
def _parse_iso(text: str) -> datetime | None:
    """ISO-8601 text as an aware UTC datetime, or ``None`` if it is not one.

    Cached: a wait reads the same few timestamps (its baseline, the connection's last
    ``succeeded_at``) at every poll, and a thousand waits poll every minute.
    """
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if offset and offset not in ("Z", "z"):
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = timezone(delta if offset[0] == "+" else -delta)
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micros, tzinfo=tz
        )
    except ValueError:
        return None
    return moment.astimezone(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """Write a datetime as ISO-8601 UTC with microseconds and ``Z`` (Fivetran's own format).

    :param moment: the time; a naive datetime is taken as UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_to_iso(seconds: float) -> str:
    """Write POSIX seconds as ISO-8601 UTC.

    :param seconds: seconds since the epoch.
    """
    return format_timestamp(datetime.fromtimestamp(seconds, tz=timezone.utc))


def _api_time(value: Any) -> datetime | None:
    """A timestamp read from Fivetran; an unreadable one counts as absent."""
    try:
        return parse_timestamp(value)
    except FivetranValidationError:
        return None


def to_iso(value: Any, name: str = "completed_after") -> str | None:
    """Normalise a user-given point in time (datetime or ISO text) to the baseline form.

    :param value: a datetime, ISO-8601 text or ``None``.
    :param name: the argument name for the error message.
    """
    moment = parse_timestamp(value, name)
    return None if moment is None else format_timestamp(moment)


def capture_baseline(connection: Mapping[str, Any]) -> str | None:
    """The baseline of a connection read *before* a sync is requested.

    ``max(succeeded_at, failed_at)`` as ISO-8601 UTC, or ``None`` when both are null.

    :param connection: the connection object (``data`` of ``GET /v1/connections/{id}``).
    """
    times = [t for t in (_api_time(connection.get("succeeded_at")), _api_time(connection.get("failed_at"))) if t]
    return format_timestamp(max(times)) if times else None


# --------------------------------------------------------------------------------------------
# One look at a connection
# --------------------------------------------------------------------------------------------


def _text(value: datetime | None) -> str:
    return "never" if value is None else format_timestamp(value)


@dataclass(frozen=True)
class SyncCheck:
    """What one read of a connection says about the sync being waited for.

    :param state: ``success``, ``failed``, ``paused`` or ``pending``.
    :param connection_id: the Fivetran connection id.
    :param message: a sentence for logs and errors.
    :param sync_state: ``status.sync_state`` as read.
    :param succeeded_at: the connection's ``succeeded_at``.
    :param failed_at: the connection's ``failed_at``.
    :param rescheduled_for: ``status.rescheduled_for`` while rescheduled.
    :param schedule_type: ``auto`` or ``manual``.
    :param historical_pending: ``status.is_historical_sync`` is still true.
    :param setup_state: ``status.setup_state``.
    """

    state: str
    connection_id: str
    message: str
    sync_state: str | None = None
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None
    rescheduled_for: datetime | None = None
    schedule_type: str | None = None
    historical_pending: bool = False
    setup_state: str | None = None

    @property
    def done(self) -> bool:
        """Whether the wait is over (anything but ``pending``)."""
        return self.state != PENDING

    @property
    def rescheduled(self) -> bool:
        """Whether Fivetran put the sync off until ``rescheduled_for``."""
        return self.state == PENDING and self.sync_state == "rescheduled"

    def resume_due(self, now: float) -> bool:
        """Whether a ``manual`` connection's rescheduled sync should be started again now.

        :param now: current POSIX time.
        """
        if not self.rescheduled or self.schedule_type != "manual":
            return False
        return self.rescheduled_for is None or now >= self.rescheduled_for.timestamp()


def _problems(status: Mapping[str, Any]) -> list[str]:
    notes: list[str] = []
    for item in status.get("tasks") or []:
        if isinstance(item, Mapping):
            text = item.get("message") or item.get("code")
            if isinstance(text, str) and text and text not in notes:
                notes.append(text)
    return notes


def evaluate_sync(
    connection: Mapping[str, Any],
    baseline: str | datetime | None,
    *,
    historical: bool = False,
    connection_id: str | None = None,
) -> SyncCheck:
    """Decide what a freshly read connection says about the sync requested after ``baseline``.

    :param connection: the connection object (``data`` of ``GET /v1/connections/{id}``).
    :param baseline: from :func:`capture_baseline` (or a user's "completed after" time);
        ``None`` means the connection had never synced, so any sync end counts.
    :param historical: also require ``status.is_historical_sync`` to be false again.
    :param connection_id: the id for messages (defaults to the connection's ``id``).
    """
    conn_id = connection_id or str(connection.get("id") or "?")
    base = parse_timestamp(baseline, "baseline")
    raw_status = connection.get("status")
    status: Mapping[str, Any] = raw_status if isinstance(raw_status, Mapping) else {}
    succeeded = _api_time(connection.get("succeeded_at"))
    failed = _api_time(connection.get("failed_at"))
    sync_state = status.get("sync_state") if isinstance(status.get("sync_state"), str) else None
    schedule_type = connection.get("schedule_type") if isinstance(connection.get("schedule_type"), str) else None
    setup_state = status.get("setup_state") if isinstance(status.get("setup_state"), str) else None
    historical_flag = status.get("is_historical_sync") is True
    rescheduled_for = _api_time(status.get("rescheduled_for"))
    common: dict[str, Any] = {
        "connection_id": conn_id,
        "sync_state": sync_state,
        "succeeded_at": succeeded,
        "failed_at": failed,
        "rescheduled_for": rescheduled_for,
        "schedule_type": schedule_type,
        "historical_pending": historical and historical_flag,
        "setup_state": setup_state,
    }

    def after(moment: datetime | None) -> bool:
        return moment is not None and (base is None or moment > base)

    kind = "historical sync" if historical else "sync"
    if after(succeeded) and not (historical and historical_flag):
        return SyncCheck(
            SUCCESS, message=f"Fivetran {kind} of connection {conn_id} succeeded at {_text(succeeded)}.", **common
        )
    if after(failed) and (succeeded is None or (failed is not None and failed > succeeded)):
        problems = _problems(status)
        detail = f": {'; '.join(problems)}" if problems else ""
        broken = " The connection's setup is broken." if setup_state == "broken" else ""
        return SyncCheck(
            FAILED,
            message=(
                f"Fivetran {kind} of connection {conn_id} failed at {_text(failed)}{detail}.{broken} "
                f"See {connection_dashboard_url(conn_id)}"
            ),
            **common,
        )
    if connection.get("paused") is True or sync_state == "paused":
        return SyncCheck(
            PAUSED,
            message=(
                f"Fivetran connection {conn_id} is paused, so the {kind} will not run until it is resumed "
                f"(no sync finished after {base_text(base)}). Resume the connection and try again; "
                f"see {connection_dashboard_url(conn_id)}"
            ),
            **common,
        )
    return SyncCheck(PENDING, message=_pending_text(conn_id, kind, sync_state, succeeded, base, common), **common)


def base_text(base: datetime | None) -> str:
    """Describe a baseline for messages.

    :param base: the parsed baseline.
    """
    return "the start (the connection had never synced)" if base is None else format_timestamp(base)


def _pending_text(
    conn_id: str, kind: str, sync_state: str | None, succeeded: datetime | None, base: datetime | None, info: dict
) -> str:
    if sync_state == "rescheduled":
        when = info["rescheduled_for"]
        owner = "it will be started again at that time" if info["schedule_type"] == "manual" else "Fivetran resumes it"
        return (
            f"Fivetran rescheduled the {kind} of connection {conn_id} (source API quota) "
            f"for {_text(when) if when else 'an unknown time'}; {owner}."
        )
    if info["historical_pending"] and succeeded is not None and (base is None or succeeded > base):
        return (
            f"A sync of connection {conn_id} succeeded at {_text(succeeded)} but status.is_historical_sync "
            f"is still true: the historical sync has not finished (sync_state {sync_state!r})."
        )
    if sync_state == "syncing":
        return f"The {kind} of connection {conn_id} is running (sync_state 'syncing')."
    setup = f", setup_state {info['setup_state']!r}" if info["setup_state"] not in (None, "connected") else ""
    return (
        f"No {kind} of connection {conn_id} has finished since {base_text(base)} "
        f"(sync_state {sync_state!r}{setup}); it has not started yet."
    )


# --------------------------------------------------------------------------------------------
# Errors during a wait
# --------------------------------------------------------------------------------------------


def is_transient(error: BaseException) -> bool:
    """Whether an error that survived the hook's retries may still go away by itself.

    Network errors, 5xx, 429 and malformed answers are transient; 400/401/403/404, bad
    configuration and anything else are not.

    :param error: the exception raised while polling.
    """
    return isinstance(
        error,
        (
            FivetranTransportError,
            FivetranServerError,
            FivetranRateLimitError,
            FivetranUnexpectedResponseError,
            FivetranOutcomeUnknownError,
        ),
    )


# --------------------------------------------------------------------------------------------
# The wait as a state machine
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitStep:
    """What a driver should do next.

    :param action: ``sleep`` (then poll again), ``resume`` (``POST /sync`` now, then report
        back with :meth:`SyncWaiter.after_resume` or :meth:`SyncWaiter.observe_error`) or
        ``done``.
    :param until: POSIX time to sleep until (``sleep``).
    :param event: the outcome (``done``): see :meth:`SyncWaiter.event`.
    :param note: something worth logging, if anything.
    :param warning: log ``note`` as a warning rather than info.
    """

    action: str
    until: float = 0.0
    event: dict[str, Any] | None = None
    note: str | None = None
    warning: bool = False


class SyncWaiter:
    """Sans-I/O state machine of one wait for a Fivetran sync.

    A driver loop (blocking in a worker, ``async`` in the triggerer) reads the connection and
    feeds each answer to :meth:`observe` (or each failure to :meth:`observe_error`); the returned
    :class:`WaitStep` says whether to sleep, resume a rescheduled manual sync, or stop. Polls
    are scheduled at a fixed rate from the time each poll *started*, so slow answers do not
    stretch the interval.

    :param connection_id: the Fivetran connection id.
    :param baseline: see :func:`capture_baseline`.
    :param historical: also wait for ``status.is_historical_sync`` to turn false.
    :param poll_interval: seconds between polls.
    :param deadline: POSIX time at which the wait ends with a timeout (``None``: never).
    :param started_at: POSIX time the wait began (for messages).
    :param resume_rescheduled: ``POST /sync`` again when a ``manual`` connection's rescheduled
        sync is due.
    """

    def __init__(
        self,
        connection_id: str,
        *,
        baseline: str | None,
        historical: bool = False,
        poll_interval: float,
        deadline: float | None,
        started_at: float,
        resume_rescheduled: bool = True,
    ) -> None:
        if not poll_interval > 0:
            raise FivetranValidationError("poll_interval", poll_interval, "a number of seconds above 0")
        self.connection_id = connection_id
        self.baseline = to_iso(baseline, "baseline")
        self.historical = historical
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.started_at = started_at
        self.resume_rescheduled = resume_rescheduled
        self.polls = 0
        self.failed_polls = 0
        self.consecutive_errors = 0
        self.resumes = 0
        self.last_check: SyncCheck | None = None
        self.last_error: str | None = None

    # -------------------------------------------------------------- feeding results

    def observe(self, connection: Mapping[str, Any], polled_at: float) -> WaitStep:
        """Take in a successful read of the connection.

        :param connection: the connection object.
        :param polled_at: POSIX time the read was started.
        """
        self.polls += 1
        self.consecutive_errors = 0
        previous = self.last_check
        check = evaluate_sync(connection, self.baseline, historical=self.historical, connection_id=self.connection_id)
        self.last_check = check
        note = None
        if previous is None or (previous.sync_state, previous.message) != (check.sync_state, check.message):
            note = check.message
        if check.done:
            return WaitStep(DONE, event=self.event(check.state, check.message, polled_at), note=note)
        if self.resume_rescheduled and check.resume_due(polled_at):
            return WaitStep(
                RESUME,
                note=f"Starting the rescheduled sync of manual connection {self.connection_id} again (POST /sync).",
            )
        if self._expired(polled_at):
            return self._timeout(polled_at)
        return WaitStep(SLEEP, until=self._next_poll(check, polled_at), note=note)

    def observe_error(self, error: BaseException, polled_at: float) -> WaitStep:
        """Take in a poll (or ``POST /sync``) that failed after the hook's own retries.

        :param error: the exception.
        :param polled_at: POSIX time the request was started.
        """
        self.failed_polls += 1
        self.consecutive_errors += 1
        self.last_error = short_error(error)
        if not is_transient(error):
            return WaitStep(DONE, event=self._error_event(error, polled_at), note=self.last_error, warning=True)
        if self._expired(polled_at):
            return self._timeout(polled_at)
        wait = self.poll_interval
        if isinstance(error, FivetranRateLimitError) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        until = self._clamp(polled_at + wait)
        return WaitStep(
            SLEEP,
            until=until,
            note=(
                f"Could not read Fivetran connection {self.connection_id} ({self.last_error}); "
                f"still waiting, next try in {max(0.0, until - polled_at):.1f} s."
            ),
            warning=True,
        )

    def after_resume(self, polled_at: float) -> WaitStep:
        """Take in a successful ``POST /sync`` of a rescheduled manual connection.

        :param polled_at: POSIX time of the poll that asked for it.
        """
        self.resumes += 1
        self.consecutive_errors = 0
        if self._expired(polled_at):
            return self._timeout(polled_at)
        return WaitStep(SLEEP, until=self._clamp(polled_at + self.poll_interval))

    def expire(self, now: float) -> WaitStep:
        """End the wait at its deadline because no reading came before it (a driver's own bound).

        :param now: current POSIX time.
        """
        return self._timeout(now)

    # -------------------------------------------------------------- outcomes

    def event(self, status: str, message: str, now: float, **extra: Any) -> dict[str, Any]:
        """The JSON-serialisable outcome of the wait (a trigger's event payload).

        Keys: ``status`` (``success``, ``failed``, ``paused``, ``timeout`` or ``error``),
        ``connection_id``, ``message``, ``baseline``, ``succeeded_at``, ``failed_at``,
        ``sync_state``, ``dashboard_url``, ``polls``, ``waited_seconds``, plus error details
        for ``error``. Never credentials.

        :param status: the outcome.
        :param message: a human sentence.
        :param now: current POSIX time.
        :param extra: more keys.
        """
        check = self.last_check
        payload: dict[str, Any] = {
            "status": status,
            "connection_id": self.connection_id,
            "message": message,
            "baseline": self.baseline,
            "historical": self.historical,
            "succeeded_at": format_timestamp(check.succeeded_at) if check and check.succeeded_at else None,
            "failed_at": format_timestamp(check.failed_at) if check and check.failed_at else None,
            "sync_state": check.sync_state if check else None,
            "dashboard_url": connection_dashboard_url(self.connection_id),
            "polls": self.polls,
            "waited_seconds": round(max(0.0, now - self.started_at), 3),
        }
        payload.update(extra)
        return payload

    def timeout_message(self, now: float) -> str:
        """Explain why the wait timed out, with what the connection was last seen doing.

        :param now: current POSIX time.
        """
        waited = max(0.0, now - self.started_at)
        kind = "historical sync" if self.historical else "sync"
        text = (
            f"Timed out after {waited:.0f} s waiting for a Fivetran {kind} of connection {self.connection_id} "
            f"to finish after {base_text(parse_timestamp(self.baseline))}."
        )
        if self.last_check is not None:
            text += f" Last seen: {self.last_check.message}"
        else:
            text += " The connection could not be read at all."
        if self.consecutive_errors and self.last_error:
            text += f" The last {self.consecutive_errors} poll(s) failed: {self.last_error}"
        return f"{text} See {connection_dashboard_url(self.connection_id)}"

    # -------------------------------------------------------------- internals

    def _expired(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def _clamp(self, until: float) -> float:
        return until if self.deadline is None else min(until, self.deadline)

    def _next_poll(self, check: SyncCheck, polled_at: float) -> float:
        until = polled_at + self.poll_interval
        if check.rescheduled and check.rescheduled_for is not None:
            due = check.rescheduled_for.timestamp() + RESUME_MARGIN
            if due > polled_at:
                until = min(due, polled_at + max(self.poll_interval, RESCHEDULED_MAX_SLEEP))
        return self._clamp(until)

    def _timeout(self, now: float) -> WaitStep:
        message = self.timeout_message(now)
        return WaitStep(DONE, event=self.event(TIMEOUT, message, now), note=message, warning=True)

    def _error_event(self, error: BaseException, now: float) -> dict[str, Any]:
        message = f"Stopped waiting for Fivetran connection {self.connection_id}: {self.last_error}"
        extra: dict[str, Any] = {"error_type": type(error).__name__}
        if isinstance(error, FivetranAPIError):
            extra.update(
                http_status=error.status,
                code=error.code,
                api_message=error.message,
                method=error.method,
                path=error.path,
            )
        return self.event(ERROR, message, now, **extra)


# --------------------------------------------------------------------------------------------
# From an outcome to a return value or an exception
# --------------------------------------------------------------------------------------------


def outcome_from_event(
    event: Mapping[str, Any] | None,
    *,
    timeout_error: type[FivetranSyncTimeoutError] = FivetranSyncTimeoutError,
) -> dict[str, Any]:
    """Turn a wait's outcome into the value a task returns, or raise a typed error.

    :param event: a payload from :meth:`SyncWaiter.event` (or a trigger event).
    :param timeout_error: the class raised on timeout (sensors use an ``AirflowSensorTimeout`` one).
    :return: ``{"connection_id", "status": "success", "succeeded_at", "failed_at", "baseline",
        "dashboard_url", "polls", "waited_seconds"}``.
    :raises FivetranSyncFailedError: the sync failed.
    :raises FivetranConnectionPausedError: the connection is paused.
    :raises FivetranSyncTimeoutError: the deadline passed first.
    :raises FivetranAPIError: a non-transient API error (e.g. 404) ended the wait.
    """
    if not isinstance(event, Mapping) or "status" not in event:
        raise FivetranSyncError(f"Got no usable outcome from the wait for a Fivetran sync: {event!r}")
    status = event["status"]
    connection_id = str(event.get("connection_id") or "")
    url = str(event.get("dashboard_url") or (connection_dashboard_url(connection_id) if connection_id else ""))
    message = str(event.get("message") or f"Fivetran sync wait ended with status {status!r}")
    if status == SUCCESS:
        return {
            "connection_id": connection_id,
            "status": SUCCESS,
            "succeeded_at": event.get("succeeded_at"),
            "failed_at": event.get("failed_at"),
            "baseline": event.get("baseline"),
            "dashboard_url": url,
            "polls": event.get("polls"),
            "waited_seconds": event.get("waited_seconds"),
        }
    if status == FAILED:
        raise FivetranSyncFailedError(
            message, connection_id=connection_id, dashboard_url=url, failed_at=event.get("failed_at")
        )
    if status == PAUSED:
        raise FivetranConnectionPausedError(message, connection_id=connection_id, dashboard_url=url)
    if status == TIMEOUT:
        raise timeout_error(message, connection_id=connection_id, dashboard_url=url)
    http_status = event.get("http_status")
    if status == ERROR and isinstance(http_status, int):
        raise error_class_for_status(http_status)(
            http_status,
            event.get("code"),
            str(event.get("api_message") or message),
            method=str(event.get("method") or ""),
            path=str(event.get("path") or ""),
        )
    raise FivetranSyncError(message, connection_id=connection_id, dashboard_url=url)


__all__ = [
    "DONE",
    "ERROR",
    "FAILED",
    "PAUSED",
    "PENDING",
    "RESUME",
    "SLEEP",
    "SUCCESS",
    "TIMEOUT",
    "SyncCheck",
    "SyncWaiter",
    "WaitStep",
    "capture_baseline",
    "evaluate_sync",
    "format_timestamp",
    "is_transient",
    "outcome_from_event",
    "parse_timestamp",
    "to_iso",
]

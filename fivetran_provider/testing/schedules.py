"""When a connection syncs by itself, and when its data counts as late (``update_state``)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

from fivetran_provider.testing.model import Connection

#: Seven days, in the order ``datetime.weekday()`` numbers them.
WEEK_DAYS: tuple[str, ...] = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

#: How many sync intervals may pass since the last success before ``update_state`` is ``delayed``,
#: by ``data_delay_sensitivity`` (``CUSTOM`` uses one interval plus ``data_delay_threshold`` minutes).
DELAY_FACTORS: dict[str, float] = {"HIGH": 1.5, "NORMAL": 2.0, "SYNC_FREQUENCY": 2.0, "LOW": 3.0}


def next_scheduled_start(conn: Connection) -> float | None:
    """When the scheduler starts the connection's next sync by itself, or ``None`` if it will not.

    Fivetran counts the sync frequency from the start of the last sync (``schedule_anchor``); a
    run still going at that moment delays the next one until it ends (``not_before``).

    :param conn: the connection.
    """
    if conn.paused or conn.schedule_type != "auto" or conn.rescheduled_for is not None:
        return None
    slot = next_slot(conn, conn.schedule_anchor)
    if slot is None:
        return None
    return max(slot, conn.not_before) if conn.not_before is not None else slot


def next_slot(conn: Connection, after: float) -> float | None:
    """The first moment strictly after ``after`` the connection's schedule names, or ``None``.

    :param conn: the connection.
    :param after: epoch seconds; for an interval it is the start the interval counts from.
    """
    schedule = conn.schedule or {}
    kind = schedule.get("schedule_type")
    if kind == "MANUAL":
        return None
    if kind == "CRON":
        return cron_next(schedule["cron"], after)
    if kind == "TIME_OF_DAY":
        return next_time_of_day(after, schedule["time_of_day"], schedule.get("days_of_week"))
    if conn.sync_frequency == 1440 and conn.daily_sync_time is not None:
        return next_time_of_day(after, conn.daily_sync_time, None)
    if not conn.sync_frequency:
        return None
    return after + conn.sync_frequency * 60.0


def last_slot(conn: Connection, first: float, until: float, period_floor: float) -> float | None:
    """The latest slot of the schedule that is at or after ``first`` and at or before ``until``.

    Computed in closed form, however far apart the two moments are.

    :param conn: the connection.
    :param first: the first due slot (epoch seconds).
    :param until: the current time.
    :param period_floor: shortest time between two starts (a run's length, when longer than the interval).
    """
    if until < first:
        return None
    schedule = conn.schedule or {}
    kind = schedule.get("schedule_type")
    if kind == "CRON":
        found = cron_previous(schedule["cron"], until)
    elif kind == "TIME_OF_DAY":
        found = previous_time_of_day(until, schedule["time_of_day"], schedule.get("days_of_week"))
    elif conn.sync_frequency == 1440 and conn.daily_sync_time is not None:
        found = previous_time_of_day(until, conn.daily_sync_time, None)
    elif conn.sync_frequency:
        period = max(conn.sync_frequency * 60.0, period_floor)
        found = first + ((until - first) // period) * period
    else:
        return None
    return found if found is not None and found >= first else None


def cron_next(expression: str, after: float) -> float | None:
    """The first moment a five-field cron expression (UTC) names strictly after ``after``.

    :param expression: e.g. ``"0 9 * * 1-5"``.
    :param after: epoch seconds.
    """
    croniter = _croniter()
    if croniter is None:
        return None
    return float(croniter(expression, after).get_next(float))


def cron_previous(expression: str, until: float) -> float | None:
    """The last moment a five-field cron expression (UTC) names at or before ``until``.

    :param expression: e.g. ``"0 9 * * 1-5"``.
    :param until: epoch seconds.
    """
    croniter = _croniter()
    if croniter is None:
        return None
    # Cron slots fall on whole minutes, so one second later than ``until`` keeps a slot at ``until``.
    return float(croniter(expression, until + 1.0).get_prev(float))


def cron_is_valid(expression: str) -> bool:
    """Tell whether a string is a five-field cron expression the scheduler understands.

    Without the cron library installed every five-field expression is taken (and never runs).

    :param expression: the expression.
    """
    if len(expression.split()) != 5:
        return False
    croniter = _croniter()
    return True if croniter is None else bool(croniter.is_valid(expression))


def _croniter() -> Any:
    """The ``croniter`` class, imported on first use (it comes with Airflow), or ``None``."""
    try:
        from croniter import croniter
    except ImportError:  # pragma: no cover - Airflow always brings it
        return None
    return croniter


def is_overdue(conn: Connection, now: float) -> bool:
    """``update_state`` is ``delayed``: the last success (or the creation) is older than allowed.

    :param conn: the connection.
    :param now: the simulator's current time.
    """
    if conn.paused or conn.schedule_type != "auto":
        return False
    fresh = conn.succeeded_at if conn.succeeded_at is not None else conn.created_at
    kind = (conn.schedule or {}).get("schedule_type")
    if kind == "MANUAL":
        return False
    if kind in ("CRON", "TIME_OF_DAY"):
        # No single cadence: the interval is the time from the last success to the next slot after it.
        following = next_slot(conn, fresh)
        if following is None:
            return False
        interval = max(60.0, following - fresh)
    else:
        interval = (conn.sync_frequency or 1440) * 60.0
    if conn.data_delay_sensitivity == "CUSTOM":
        allowed = interval + max(0, conn.data_delay_threshold) * 60.0
    else:
        allowed = interval * DELAY_FACTORS.get(conn.data_delay_sensitivity, 2.0)
    return now - fresh > allowed


def apply_schedule(conn: Connection, schedule: dict[str, Any] | None) -> None:
    """Store a validated ``schedule`` object and the older fields it implies.

    :param conn: the connection.
    :param schedule: the ``schedule`` of a PATCH body, or ``None`` to remove it.
    """
    if schedule is None:
        conn.schedule = None
        return
    stored = copy.deepcopy(schedule)
    kind = stored["schedule_type"]
    if kind == "INTERVAL":
        conn.sync_frequency = stored["interval"]
    elif kind == "TIME_OF_DAY":
        stored.setdefault("days_of_week", list(WEEK_DAYS))
        conn.sync_frequency = 1440
        conn.daily_sync_time = stored["time_of_day"]
    elif kind == "CRON":
        conn.sync_frequency = None
    conn.schedule = stored


def next_time_of_day(after: float, hour: str, days: list[str] | None) -> float:
    """The first ``HH:MM`` (UTC) on one of ``days`` strictly after ``after``.

    :param after: epoch seconds.
    :param hour: ``HH:MM`` (seconds, if echoed as ``HH:MM:SS``, are ignored).
    :param days: allowed week days (``MONDAY``...); every day when ``None`` or empty.
    """
    hours, minutes = (int(part) for part in hour.split(":")[:2])
    allowed = set(days or WEEK_DAYS)
    moment = datetime.fromtimestamp(after, tz=timezone.utc)
    candidate = moment.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    for _ in range(9):
        if candidate.timestamp() > after and WEEK_DAYS[candidate.weekday()] in allowed:
            return candidate.timestamp()
        candidate += timedelta(days=1)
    return candidate.timestamp()


def previous_time_of_day(until: float, hour: str, days: list[str] | None) -> float | None:
    """The last ``HH:MM`` (UTC) on one of ``days`` at or before ``until``.

    :param until: epoch seconds.
    :param hour: ``HH:MM`` (seconds, if echoed as ``HH:MM:SS``, are ignored).
    :param days: allowed week days (``MONDAY``...); every day when ``None`` or empty.
    """
    hours, minutes = (int(part) for part in hour.split(":")[:2])
    allowed = set(days or WEEK_DAYS)
    moment = datetime.fromtimestamp(until, tz=timezone.utc)
    candidate = moment.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    for _ in range(9):
        if candidate.timestamp() <= until and WEEK_DAYS[candidate.weekday()] in allowed:
            return candidate.timestamp()
        candidate -= timedelta(days=1)
    return None

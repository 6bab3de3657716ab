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

    :param conn: the connection; its ``schedule_anchor`` is the moment the schedule counts from.
    """
    if conn.paused or conn.schedule_type != "auto" or conn.rescheduled_for is not None:
        return None
    schedule = conn.schedule or {}
    kind = schedule.get("schedule_type")
    if kind in ("CRON", "MANUAL"):
        return None  # cron expressions are not interpreted; MANUAL never syncs by itself
    if kind == "TIME_OF_DAY":
        return next_time_of_day(conn.schedule_anchor, schedule["time_of_day"], schedule.get("days_of_week"))
    if conn.sync_frequency == 1440 and conn.daily_sync_time is not None:
        return next_time_of_day(conn.schedule_anchor, conn.daily_sync_time, None)
    if not conn.sync_frequency:
        return None
    return conn.schedule_anchor + conn.sync_frequency * 60.0


def is_overdue(conn: Connection, now: float) -> bool:
    """``update_state`` is ``delayed``: the last success (or the creation) is older than allowed.

    :param conn: the connection.
    :param now: the simulator's current time.
    """
    if conn.paused or conn.schedule_type != "auto":
        return False
    interval = (conn.sync_frequency or 1440) * 60.0
    if conn.data_delay_sensitivity == "CUSTOM":
        allowed = interval + max(0, conn.data_delay_threshold) * 60.0
    else:
        allowed = interval * DELAY_FACTORS.get(conn.data_delay_sensitivity, 2.0)
    fresh = conn.succeeded_at if conn.succeeded_at is not None else conn.created_at
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

"""Timestamps as the Fivetran API writes them, and the values seeding accepts for them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def format_timestamp(value: float) -> str:
    """Format an epoch time as Fivetran does: ISO-8601 UTC with microseconds and a ``Z``.

    :param value: seconds since the epoch.
    :return: e.g. ``"2025-11-03T09:14:27.512331Z"``.
    """
    return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def optional_timestamp(value: float | None) -> str | None:
    """Format an epoch time, or keep ``None``.

    :param value: seconds since the epoch, or ``None``.
    """
    return None if value is None else format_timestamp(value)


def to_epoch(value: Any) -> float | None:
    """Convert a seeding value (``None``, epoch number, aware/naive datetime or ISO string) to epoch.

    Naive datetimes and ISO strings without an offset are taken as UTC.

    :param value: the value to convert.
    :return: seconds since the epoch, or ``None``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a timestamp cannot be a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    moment: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    if moment is not None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    raise TypeError(f"cannot interpret {value!r} as a timestamp")

"""Cursor pagination of list answers (``limit`` and ``cursor`` query parameters)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fivetran_provider.testing.body_checks import is_int
from fivetran_provider.testing.http_messages import invalid

_DEFAULT_LIMIT = 100
_MAX_LIMIT = 1000


def page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """One page of a list answer: ``{"items": [...], "next_cursor": ...}``.

    :param items: every item, in order.
    :param query: the request's query (``limit``, ``cursor``).
    :raises ApiError: 400 for a ``limit`` outside 1..1000.
    """
    raw_limit = query.get("limit")
    limit = _DEFAULT_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise invalid(f"Invalid value for parameter 'limit': {raw_limit!r}") from None
        if not 1 <= limit <= _MAX_LIMIT:
            raise invalid(f"Invalid value for parameter 'limit': {limit}. Allowed range is 1..{_MAX_LIMIT}")
    skip = 0
    cursor = query.get("cursor")
    if cursor:
        skip = _decode_cursor(cursor)
    page: dict[str, Any] = {"items": items[skip : skip + limit]}
    if skip + limit < len(items):
        page["next_cursor"] = _encode_cursor(skip + limit)
    return page


def _encode_cursor(skip: int) -> str:
    raw = json.dumps({"skip": skip}, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> int:
    """Where a cursor points; one the simulator did not hand out starts at the first item.

    Nothing documents a refusal of an unknown cursor, so none is refused.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        skip = decoded["skip"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        return 0
    return int(skip) if is_int(skip) and skip >= 0 else 0

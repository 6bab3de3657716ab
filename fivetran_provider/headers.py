"""Reading the numbers in Fivetran's answer headers, strictly.

Every numeric header (``Retry-After``, ``X-Rate-Limit``, ``X-Rate-Limit-Remaining``) is read as
ASCII digits only and bounded: ``²``, ``٣`` or five thousand digits are no number here (Python's
``str.isdigit`` accepts the first two and ``int`` chokes on the last). Anything else is ignored
with one debug line, so a hostile or broken proxy cannot crash a client or hold it for ever.

Pure functions over the standard library; no HTTP, no Airflow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

log = logging.getLogger("fivetran_provider.hooks")

#: The most digits a whole-number header may have (a trillion is far above any request budget).
MAX_DIGITS = 12
#: The longest wait a ``Retry-After`` is ever read as (seconds): one hour, Fivetran's rate window.
#: Longer delays, ``inf``-like text and HTTP dates further out are read as this; the clients cap
#: it further with their ``max_retry_after``.
RETRY_AFTER_CEILING = 3600.0
#: Statuses whose ``Retry-After`` is honoured; on any other answer the header is ignored.
RETRY_AFTER_STATUSES: frozenset[int] = frozenset({429, 503})

_WHOLE = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")
_DELTA_SECONDS = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}(?:\.[0-9]{{1,6}})?")
#: An HTTP date is short printable ASCII (``Sun, 06 Nov 1994 08:49:37 GMT``).
_HTTP_DATE = re.compile(r"[A-Za-z0-9 ,:+\-]{10,40}")


def _shown(value: str) -> str:
    return repr(value[:40] + ("…" if len(value) > 40 else ""))


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """A whole-number header as ``int``: 1 to :data:`MAX_DIGITS` ASCII digits, else ``None`` (logged at debug).

    :param headers: the response headers (a case-insensitive mapping).
    :param name: the header's name.
    """
    value = headers.get(name)
    if value is None:
        return None
    text = str(value).strip(" \t")
    if _WHOLE.fullmatch(text):
        return int(text)
    log.debug(
        "Ignoring the %s header %s: not a whole number of at most %d ASCII digits", name, _shown(text), MAX_DIGITS
    )
    return None


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """A ``Retry-After`` value in seconds, from 0 to :data:`RETRY_AFTER_CEILING`; ``None`` if absent or unreadable.

    Delta seconds are ASCII digits (a decimal fraction is tolerated, a negative value means 0); an HTTP date counts from
    ``now``. Anything else (``inf``, ``1e308``, ``NaN``, non-ASCII digits) is ignored with one
    debug line.

    :param value: the header value.
    :param now: the current POSIX time, for HTTP-date values.
    """
    if value is None:
        return None
    text = str(value).strip(" \t")
    if _DELTA_SECONDS.fullmatch(text):
        return min(max(0.0, float(text)), RETRY_AFTER_CEILING)  # a negative delay means "now"
    if _HTTP_DATE.fullmatch(text):
        try:
            moment = parsedate_to_datetime(text).timestamp()
        except (TypeError, ValueError, OverflowError, IndexError):
            moment = None
        if moment is not None:
            return min(max(0.0, moment - now), RETRY_AFTER_CEILING)
    log.debug("Ignoring the Retry-After header %s: neither delta seconds nor an HTTP date", _shown(text))
    return None


def retry_after_for(status: int, headers: Mapping[str, str], *, now: float) -> float | None:
    """The ``Retry-After`` of an answer that may carry one (429, 503); ``None`` for every other status.

    :param status: the HTTP status.
    :param headers: the response headers.
    :param now: the current POSIX time.
    """
    if status not in RETRY_AFTER_STATUSES:
        return None
    return parse_retry_after(headers.get("Retry-After"), now=now)

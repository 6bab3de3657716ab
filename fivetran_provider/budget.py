"""What is left of the account's hourly Fivetran API budget, as the last answers said.

Fivetran counts every request of an account against one rolling hourly budget (20,000 on paid
plans, 500 on trial) and reports it on every answer: ``X-Rate-Limit`` (the limit) and
``X-Rate-Limit-Remaining``. Both clients (the synchronous hook and the async one) record these
headers here, in one :class:`RateBudget` per API URL and API key, and the shared status poller
of the triggerer asks it how much to stretch its polling intervals: once fewer than the reserve
(10 % of the limit unless the connection's ``rate_limit_reserve`` extra says otherwise) are
left, intervals grow in proportion (``reserve / remaining``, at most :data:`MAX_STRETCH`), so the
last requests of the hour are not spent on polls. A 429 with ``Retry-After`` also holds every
poll back until that time.

Pure bookkeeping: no HTTP, no Airflow, nothing imported beyond the standard library and
:mod:`fivetran_provider.headers` (which reads every numeric header strictly).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping

from fivetran_provider.headers import RETRY_AFTER_STATUSES, header_int, parse_retry_after

log = logging.getLogger(__name__)

#: Default share of the hourly limit kept in reserve: below it, polling slows down.
DEFAULT_RESERVE = 0.10
#: Longest stretch of a polling interval (a 60 s interval becomes at most an hour: the window).
MAX_STRETCH = 60.0


class RateBudget:
    """The hourly request budget of one Fivetran account, as last reported by the API.

    :param reserve: share of the limit (0 to 1) below which polling is stretched.
    """

    def __init__(self, reserve: float = DEFAULT_RESERVE) -> None:
        self.reserve = validate_reserve(reserve)
        self.limit: int | None = None
        self.remaining: int | None = None
        self.blocked_until = 0.0  # a 429's Retry-After: no polls before this POSIX time
        self.stretched = False  # whether the last stretch_factor() call stretched (to log once per stretch)
        self.low = False  # whether the last answer left less than the reserve

    def observe(
        self,
        headers: Mapping[str, str],
        now: float | None = None,
        *,
        status: int | None = None,
        max_hold: float | None = None,
    ) -> bool:
        """Record the budget headers of one answer (answers without them change nothing).

        A 429 or 503 with ``Retry-After`` holds polls back until then (at most ``max_hold``
        seconds) and says nothing about the budget left afterwards, so its
        ``X-Rate-Limit-Remaining`` is not recorded: otherwise a spent budget would stretch the
        polls that could see it refill. On any other answer ``Retry-After`` is ignored.

        :param headers: the response headers (a case-insensitive mapping).
        :param now: POSIX time of the answer (default: now).
        :param status: the answer's HTTP status (``None``: one that may carry ``Retry-After``).
        :param max_hold: the longest hold one answer may cause, in seconds (``None``: no cap
            beyond :data:`~fivetran_provider.headers.RETRY_AFTER_CEILING`).
        :return: whether this answer took the budget below the reserve (the one before did not).
        """
        moment = time.time() if now is None else now
        retry_after = headers.get("Retry-After")
        if retry_after is not None and (status is None or status in RETRY_AFTER_STATUSES):
            wait = parse_retry_after(retry_after, now=moment)
            if wait is not None:
                self.hold_off(wait if max_hold is None else min(wait, max_hold), moment)
            return False
        remaining = header_int(headers, "X-Rate-Limit-Remaining")
        if remaining is None:
            return False
        limit = header_int(headers, "X-Rate-Limit")
        if limit is not None and limit > 0:
            self.limit = limit
        self.remaining = remaining
        threshold = self.threshold
        was_low, self.low = self.low, threshold is not None and remaining < threshold
        return self.low and not was_low

    def hold_off(self, seconds: float, now: float | None = None) -> None:
        """Note a 429's ``Retry-After``: no poll should be sent for ``seconds``.

        :param seconds: the ``Retry-After`` wait.
        :param now: current POSIX time (default: now).
        """
        current = time.time() if now is None else now
        moment = current + max(0.0, seconds)
        if moment <= self.blocked_until:
            return
        if self.blocked_until <= current:  # a new hold, not the extension of one: say so once
            log.warning(
                "Fivetran asked this account to wait %.1f s (Retry-After); polls are held until then, "
                "and every wait still ends at its own deadline",
                seconds,
            )
        self.blocked_until = moment

    @property
    def threshold(self) -> float | None:
        """Requests left below which polling is stretched (``None`` until the limit is known)."""
        return None if self.limit is None else self.limit * self.reserve

    def stretch_factor(self) -> float:
        """How much longer polling intervals should be now: 1.0 while the budget is healthy.

        Below the threshold the factor is ``threshold / remaining`` (so half the reserve left
        doubles the intervals), at most :data:`MAX_STRETCH`. Logs a warning once when a stretch
        begins and a line when it ends.
        """
        threshold, remaining = self.threshold, self.remaining
        if threshold is None or remaining is None or remaining >= threshold:
            if self.stretched:
                self.stretched = False
                log.info(
                    "Fivetran API budget recovered (%s of %s requests left); polling at normal pace",
                    remaining,
                    self.limit,
                )
            return 1.0
        factor = min(MAX_STRETCH, threshold / max(remaining, 1))
        if not self.stretched:
            self.stretched = True
            log.warning(
                "Fivetran API budget is low: %d of %d requests left this hour (reserve %d); "
                "stretching polling intervals about %.1fx until it recovers",
                remaining,
                self.limit or 0,
                int(threshold),
                factor,
            )
        return factor

    def __repr__(self) -> str:
        return f"RateBudget(limit={self.limit}, remaining={self.remaining}, reserve={self.reserve})"


def validate_reserve(value: object) -> float:
    """Check a reserve share: a number from 0 to 1 (``0.1`` keeps 10 % of the limit in reserve).

    :param value: the configured value (number or numeric text).
    :raises ValueError: if it is not a number from 0 to 1.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"rate_limit_reserve must be a number from 0 to 1, got {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"rate_limit_reserve must be a number from 0 to 1, got {value!r}")
    return number


#: One budget per (API base URL, digest of the API key): the account the key belongs to.
_budgets: dict[tuple[str, str], RateBudget] = {}


def budget_for(base_url: str, api_key: str, reserve: float | None = None) -> RateBudget:
    """The shared budget of the account behind ``api_key`` at ``base_url`` (created on first use).

    The key enters the registry only as a SHA-256 digest.

    :param base_url: the API base URL.
    :param api_key: the API key.
    :param reserve: set the reserve share (``None``: leave it as it is).
    """
    key = (base_url, hashlib.sha256(api_key.encode()).hexdigest())
    budget = _budgets.get(key)
    if budget is None:
        budget = _budgets[key] = RateBudget()
    if reserve is not None:
        budget.reserve = validate_reserve(reserve)
    return budget


def forget_budgets() -> None:
    """Drop every recorded budget (tests start from a clean slate)."""
    _budgets.clear()

"""The rolling one-hour request budget of the simulated account (``X-Rate-Limit`` headers, 429)."""

from __future__ import annotations

import threading
from collections import deque


class RateLimiter:
    """Rolling one-hour request budget reported in ``X-Rate-Limit``/``X-Rate-Limit-Remaining``.

    :param limit_per_hour: the budget (Fivetran's paid plans allow 20,000 requests per hour).
    :param enforce: answer 429 once the budget is spent (off by default so benchmarks are not throttled).
    """

    def __init__(self, limit_per_hour: int = 20000, enforce: bool = False) -> None:
        self.limit_per_hour = limit_per_hour
        self.enforce = enforce
        self._lock = threading.Lock()
        self._hits: deque[float] = deque()

    def hit(self, now: float) -> tuple[int, int, int | None]:
        """Count one request.

        :param now: current epoch time.
        :return: ``(limit, remaining, retry_after)``; ``retry_after`` is set when the request must
            be refused with 429.
        """
        with self._lock:
            horizon = now - 3600.0
            while self._hits and self._hits[0] <= horizon:
                self._hits.popleft()
            limit = self.limit_per_hour
            if self.enforce and len(self._hits) >= limit:
                wait = int(self._hits[0] - horizon) + 1 if self._hits else 1
                return limit, 0, max(1, wait)
            self._hits.append(now)
            return limit, max(0, limit - len(self._hits)), None

    def reset(self) -> None:
        """Give back the whole budget."""
        with self._lock:
            self._hits.clear()

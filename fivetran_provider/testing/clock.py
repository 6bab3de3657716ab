"""Clocks of the Fivetran API simulator: the wall clock, or simulated time the test controls.

:class:`WallClock` is the default and reads ``time.time()``. :class:`SimulatedClock` starts at a
chosen moment and moves only when told to (:meth:`SimulatedClock.advance`), or runs a given number
of times faster than the wall clock (``speed``), which is what the command line's ``--speed`` uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class WallClock:
    """Real time: :meth:`now` is ``time.time()``."""

    simulated = False

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def real_seconds(self, seconds: float) -> float:
        """How many real seconds it takes this clock to move ``seconds`` (the same, on the wall clock).

        :param seconds: a span of this clock's time.
        """
        return seconds


class SimulatedClock:
    """Simulated time that moves only by :meth:`advance`, or ``speed`` times as fast as real time.

    :param start: the simulated epoch time to start at; the current wall-clock time when ``None``.
    :param speed: simulated seconds per real second; ``0`` (default) freezes time between
        :meth:`advance` calls.
    :param real_time: the real clock ``speed`` applies to (``time.monotonic`` by default).
    """

    simulated = True

    def __init__(
        self, start: float | None = None, speed: float = 0.0, real_time: Callable[[], float] = time.monotonic
    ) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._lock = threading.Lock()
        self._real_time = real_time
        self._base = time.time() if start is None else float(start)
        self._real_base = real_time()
        self.speed = float(speed)

    def now(self) -> float:
        """The simulated time, seconds since the epoch."""
        with self._lock:
            return self._base + (self._real_time() - self._real_base) * self.speed

    def real_seconds(self, seconds: float) -> float:
        """How many real seconds it takes simulated time to move ``seconds``.

        At ``speed`` 0 simulated time only moves by :meth:`advance`, so the span is given unchanged.

        :param seconds: a span of simulated time.
        """
        return seconds / self.speed if self.speed > 0 else seconds

    def advance(self, seconds: float) -> float:
        """Move simulated time forward.

        :param seconds: how far; must not be negative.
        :return: the new simulated time.
        """
        if seconds < 0:
            raise ValueError("simulated time only moves forward")
        with self._lock:
            self._base += float(seconds)
            return self._base + (self._real_time() - self._real_base) * self.speed

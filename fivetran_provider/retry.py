"""One retry policy for every way this provider talks to Fivetran (hook and trigger alike).

Pure data and arithmetic: callers decide how to wait (``time.sleep`` in a worker,
``asyncio.sleep`` in the triggerer) and ask the policy what to do and for how long.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields
from typing import Any

from fivetran_provider import headers

RETRY = "retry"
FAIL = "fail"
VERIFY = "verify"  # the outcome of a write is unknown: read before sending it again

#: Methods whose requests have side effects (PATCH a connection, POST a sync or re-sync): when
#: their outcome is unknown they are verified by a read, never re-sent blindly.
SIDE_EFFECT_METHODS: frozenset[str] = frozenset({"PATCH", "POST", "PUT", "DELETE"})


#: The most retries a policy may have, and the longest of its waits (seconds).
MAX_RETRIES = 100
MAX_POLICY_SECONDS = 86_400.0


def _policy_seconds(name: str, raw: Any) -> float:
    """A policy duration from a number or its text: finite, from 0 to :data:`MAX_POLICY_SECONDS`.

    :param name: the setting's name (an extra of the Airflow connection) for the error.
    :param raw: the value as given.
    """
    from fivetran_provider.exceptions import FivetranValidationError

    allowed = f"a number of seconds from 0 to {MAX_POLICY_SECONDS:g}"
    if isinstance(raw, bool):
        raise FivetranValidationError(name, raw, allowed)
    try:
        number = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise FivetranValidationError(name, raw, allowed) from None
    if not 0.0 <= number <= MAX_POLICY_SECONDS:  # also refuses nan
        raise FivetranValidationError(name, raw, allowed)
    return number


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request to Fivetran.

    * HTTP 429 (and a 503 that says how long) waits for ``Retry-After`` seconds, up to
      ``max_retry_after``; a longer requested wait fails at once with the requested time.
      ``Retry-After`` on any other answer is ignored (:mod:`fivetran_provider.headers`).
    * HTTP 5xx, connection errors and timeouts retry with exponential backoff and full jitter.
    * Any other 4xx never retries.

    :param max_retries: retries after the first attempt (0 disables retrying).
    :param backoff_base: seconds of the first backoff step; doubles each retry.
    :param backoff_max: upper bound of one backoff wait, in seconds.
    :param max_retry_after: the longest ``Retry-After`` (seconds) the client agrees to wait.
    :param jitter: spread waits randomly over ``[0, step]`` so many clients do not retry in step.
    """

    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_retry_after: float = 300.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.max_retry_after < 0:
            raise ValueError("backoff_base, backoff_max and max_retry_after must be >= 0")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RetryPolicy:
        """Build a policy from a mapping (connection extras, trigger kwargs); unknown keys are ignored.

        Values may be strings, as extras given in a connection URI are.

        :param values: any mapping holding some of the policy's field names.
        """
        from fivetran_provider import fields as catalogue
        from fivetran_provider.exceptions import FivetranValidationError

        kwargs: dict[str, Any] = {}
        for item in fields(cls):
            if values.get(item.name) in (None, ""):
                continue
            raw = values[item.name]
            if item.name == "jitter":
                kwargs["jitter"] = catalogue.coerce_bool("jitter", raw)
            elif item.name == "max_retries":
                number = catalogue.coerce_int("max_retries", raw)
                if not 0 <= number <= MAX_RETRIES:
                    raise FivetranValidationError("max_retries", raw, f"an integer from 0 to {MAX_RETRIES}")
                kwargs["max_retries"] = number
            else:
                kwargs[item.name] = _policy_seconds(item.name, raw)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The policy as JSON-serialisable kwargs (for trigger serialisation)."""
        return asdict(self)

    def classify_status(self, status: int, *, method: str) -> str:
        """Decide what to do after an HTTP error status.

        :param status: the HTTP status (>= 400).
        :param method: the request method; a failed request with a side effect must be verified
            before it is re-sent.
        :return: ``retry``, ``verify`` or ``fail``.
        """
        if status == 429:
            return RETRY
        if status >= 500:
            return VERIFY if method.upper() in SIDE_EFFECT_METHODS else RETRY
        return FAIL

    def classify_transport_error(self, *, method: str) -> str:
        """Decide what to do after a connection error, timeout or undecodable answer.

        :param method: the request method.
        """
        return VERIFY if method.upper() in SIDE_EFFECT_METHODS else RETRY

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), exponential with jitter.

        :param attempt: which retry this is, starting at 1.
        :param rng: random source (for reproducible tests).
        """
        step = min(self.backoff_max, self.backoff_base * (2 ** max(0, attempt - 1)))
        if not self.jitter:
            return step
        return (rng or random).uniform(step / 2, step)

    def rate_limit_wait(self, retry_after: float | None, attempt: int) -> float | None:
        """Seconds to wait after a 429, or ``None`` when the requested wait is above the cap.

        :param retry_after: seconds from the ``Retry-After`` header, if present.
        :param attempt: which retry this would be, starting at 1.
        """
        if retry_after is None:
            return self.backoff(attempt)
        if retry_after > self.max_retry_after:
            return None
        return max(0.0, retry_after)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Read a ``Retry-After`` header: delta seconds or an HTTP date; ``None`` if absent or unreadable.

    Strict and bounded (see :func:`fivetran_provider.headers.parse_retry_after`): never more than
    :data:`~fivetran_provider.headers.RETRY_AFTER_CEILING` seconds.

    :param value: the header value.
    :param now: the current POSIX time, for HTTP-date values.
    """
    current = now if now is not None else time.time()
    return headers.parse_retry_after(value, now=current)


# --------------------------------------------------------------------------------------------
# The deadline of the wait a request serves
# --------------------------------------------------------------------------------------------

#: The last reading of a wait, taken at its deadline, may take this long (seconds, within the call
#: deadline): a sync that finished just before the deadline is still seen. Nothing else of a
#: wait passes its deadline: no retry, no ``Retry-After`` hold, no backoff.
FINAL_READ_SECONDS = 2.0

_give_up_at: ContextVar[float | None] = ContextVar("fivetran_give_up_at", default=None)


@contextmanager
def deadline_scope(at: float | None, *, replace: bool = False) -> Iterator[None]:
    """Bound every request sent inside the block, retries and ``Retry-After`` holds included, by ``at``.

    A wait (operator, sensor, trigger, shared poller) sets its deadline here; the clients then
    shorten each call to the time left, and give up instead of sleeping past it. Scopes nest:
    the earlier deadline wins, unless ``replace`` is set (the shared poller reads on behalf of
    several waits at once).

    :param at: POSIX time after which no request of the block may still run (``None``: none).
    :param replace: take ``at`` as it is rather than the earlier of it and the enclosing scope's.
    """
    outer = _give_up_at.get()
    if not replace and outer is not None and (at is None or outer < at):
        at = outer
    token = _give_up_at.set(at)
    try:
        yield
    finally:
        _give_up_at.reset(token)


def give_up_at() -> float | None:
    """The POSIX time the current :func:`deadline_scope` ends (``None`` outside any)."""
    return _give_up_at.get()


def passes_deadline(wait: float, now: float | None = None) -> bool:
    """Whether sleeping ``wait`` seconds from ``now`` would end after the current :func:`deadline_scope`.

    :param wait: the planned sleep in seconds.
    :param now: the current POSIX time.
    """
    at = _give_up_at.get()
    return at is not None and (time.time() if now is None else now) + wait >= at

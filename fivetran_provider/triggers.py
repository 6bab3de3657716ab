"""``FivetranSyncTrigger``: wait for a Fivetran sync in the triggerer, without blocking its event loop."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from fivetran_provider import fields
from fivetran_provider._compat import BaseTrigger, TriggerEvent
from fivetran_provider.awaiting import wait_at_most
from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook
from fivetran_provider.retry import FINAL_READ_SECONDS, RetryPolicy, deadline_scope
from fivetran_provider.sync_status import (
    DONE,
    RESUME,
    SyncWaiter,
    WaitStep,
    epoch_to_iso,
    parse_timestamp,
    to_iso,
)

#: The first poll of a trigger comes after a random delay of up to this many seconds (at most
#: one poll interval).
FIRST_POLL_SPREAD = 5.0


#: What a trigger's ``poll_interval`` may be (also the event trigger's).
POLL_INTERVAL_ALLOWED = "a number of seconds above 0"


class FivetranSyncTrigger(BaseTrigger):
    """Poll a Fivetran connection until the sync requested after ``baseline`` has finished.

    Fires exactly one event, whose payload is the outcome described in
    :meth:`fivetran_provider.sync_status.SyncWaiter.event`: ``status`` is ``success``,
    ``failed``, ``paused``, ``timeout`` or ``error``, with the connection id, a message, the
    timestamps seen and the dashboard link. :func:`fivetran_provider.sync_status.outcome_from_event`
    turns it into a return value or a typed exception.

    Nothing blocks the event loop: the Airflow connection is read through Airflow's async API,
    HTTP goes through :class:`~fivetran_provider.hooks.FivetranAsyncHook` (whose small pool of
    ``httpx.AsyncClient`` per API URL and credentials is shared by the triggers of the event
    loop) and every wait is an ``asyncio.sleep``. Polls run at a fixed rate from the start of
    each poll; the first comes after a random delay of up to ``min(poll_interval, 5 s)`` so that
    triggers started together (a triggerer restart) do not poll in lockstep. Requests are retried
    with the same :class:`~fivetran_provider.retry.RetryPolicy` as the synchronous hook; a poll
    that still fails with a transient error (network, 5xx, 429, a malformed answer) is logged
    and tried again at the next interval (or after ``Retry-After``) until the deadline, so a
    Fivetran hiccup does not fail a wait of many hours. Errors that will not go away by
    themselves (401, 403, 404, a missing Airflow connection) end the wait at once.

    :param connection_id: the Fivetran connection id.
    :param fivetran_conn_id: the Airflow connection id (never credentials: the connection is
        read inside the triggerer).
    :param baseline: ISO-8601 UTC ``max(succeeded_at, failed_at)`` captured before the sync was
        requested (see :func:`~fivetran_provider.sync_status.capture_baseline`), or ``None``
        if the connection had never synced.
    :param historical: also wait for ``status.is_historical_sync`` to turn false.
    :param poll_interval: seconds between polls.
    :param deadline: when to give up (datetime or ISO-8601; ``None``: never).
    :param waiting_since: when the wait began (for messages; defaults to now).
    :param retry_policy: the hook's retry policy as :meth:`~fivetran_provider.retry.RetryPolicy.to_dict` (``None``: the
        Airflow connection's extras decide).
    :param connect_timeout: seconds to wait for a TCP connection (``None``: connection extras).
    :param read_timeout: seconds to wait for an answer (``None``: connection extras).
    :param resume_rescheduled: when a ``manual`` connection's sync was rescheduled, ``POST /sync``
        again once ``rescheduled_for`` has come.
    :param group_id: the connection's group (destination) id, when known (the operators pass the
        one they read before deferring); otherwise the first read tells it.
    :param shared_polling: hand the reads to the event loop's
        :class:`~fivetran_provider.hooks.polling.SharedPoller`, which reads all the connections of a
        group that are due with one list request (default). With False the trigger polls
        ``GET /v1/connections/{id}`` on its own.
    """

    def __init__(
        self,
        connection_id: str,
        fivetran_conn_id: str = FivetranHook.default_conn_name,
        baseline: str | datetime | None = None,
        historical: bool = False,
        poll_interval: float = 60.0,
        deadline: str | datetime | None = None,
        waiting_since: str | datetime | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        resume_rescheduled: bool = True,
        group_id: str | None = None,
        shared_polling: bool = True,
    ) -> None:
        super().__init__()
        self.connection_id = fields.validate_connection_id(connection_id)
        self.fivetran_conn_id = fivetran_conn_id
        self.baseline = to_iso(baseline, "baseline")
        self.historical = fields.coerce_bool("historical", historical)
        self.poll_interval = fields.coerce_seconds("poll_interval", poll_interval, allowed=POLL_INTERVAL_ALLOWED)
        self.deadline = to_iso(deadline, "deadline")
        self.waiting_since = to_iso(waiting_since, "waiting_since") or epoch_to_iso(time.time())
        self.retry_policy = None if retry_policy is None else RetryPolicy.from_mapping(retry_policy).to_dict()
        self.connect_timeout = None if connect_timeout is None else float(connect_timeout)
        self.read_timeout = None if read_timeout is None else float(read_timeout)
        self.resume_rescheduled = fields.coerce_bool("resume_rescheduled", resume_rescheduled)
        self.group_id = None if group_id in (None, "") else fields.validate_connection_id(group_id, "group_id")
        self.shared_polling = fields.coerce_bool("shared_polling", shared_polling)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and JSON-serialisable keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "connection_id": self.connection_id,
                "fivetran_conn_id": self.fivetran_conn_id,
                "baseline": self.baseline,
                "historical": self.historical,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "waiting_since": self.waiting_since,
                "retry_policy": self.retry_policy,
                "connect_timeout": self.connect_timeout,
                "read_timeout": self.read_timeout,
                "resume_rescheduled": self.resume_rescheduled,
                "group_id": self.group_id,
                "shared_polling": self.shared_polling,
            },
        )

    def _hook(self) -> FivetranAsyncHook:
        return FivetranAsyncHook(
            self.fivetran_conn_id,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retry_policy=self.retry_policy,
        )

    def _waiter(self) -> SyncWaiter:
        deadline = parse_timestamp(self.deadline)
        started = parse_timestamp(self.waiting_since)
        return SyncWaiter(
            self.connection_id,
            baseline=self.baseline,
            historical=self.historical,
            poll_interval=self.poll_interval,
            deadline=None if deadline is None else deadline.timestamp(),
            started_at=time.time() if started is None else started.timestamp(),
            resume_rescheduled=self.resume_rescheduled,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the sync has finished, failed, been paused or the deadline passed; yield one event."""
        event = await self.wait()
        yield TriggerEvent(event)

    async def wait(self) -> dict[str, Any]:
        """The polling loop; returns the event payload. The HTTP client is always released."""
        if self.shared_polling:
            return await self._wait_shared()
        waiter = self._waiter()
        await self._spread_first_poll()
        hook = self._hook()
        try:
            while True:
                polled_at = time.time()
                polled = await _before_deadline(self._poll(hook, waiter, polled_at), waiter)
                step = waiter.expire(time.time()) if polled is None else polled
                step = await self._resume_if_asked(hook, waiter, step, polled_at)
                event = self._finished(step)
                if event is not None:
                    return event
                await asyncio.sleep(max(0.0, step.until - time.time()))
        finally:
            await hook.aclose()

    async def _spread_first_poll(self) -> None:
        """Wait a random moment, up to ``min(poll_interval, FIRST_POLL_SPREAD)``, before the first poll.

        Many triggers start at once after a triggerer restart or a mass deferral; the offset
        spreads their Airflow connection lookups and keeps their polls from landing on the event
        loop in lockstep for the rest of the wait. Nothing can be missed meanwhile: completion is
        judged against the baseline, not against this moment.
        """
        await asyncio.sleep(random.uniform(0.0, min(self.poll_interval, FIRST_POLL_SPREAD)))

    async def _wait_shared(self) -> dict[str, Any]:
        """Wait with the event loop's shared poller: same judgement, reads shared with the other triggers."""
        from fivetran_provider.hooks.polling import shared_poller

        # The first reads of triggers started together still come together: a newcomer joins its
        # group's next planned read.
        await self._spread_first_poll()
        waiter = self._waiter()
        hook = self._hook()
        sub = None
        try:
            try:
                poller = await shared_poller(hook)
            except Exception as error:  # e.g. a missing Airflow connection: judged like a failed poll
                event = self._finished(waiter.observe_error(error, time.time()))
                if event is not None:
                    return event
                raise
            sub = poller.join(
                hook, self.connection_id, group_id=self.group_id, interval=self.poll_interval, deadline=waiter.deadline
            )
            until: float | None = None
            while True:
                reading = await _before_deadline(sub.next_reading(until), waiter)
                if reading is None:  # the deadline came first (e.g. polls held by a Retry-After)
                    event = self._finished(waiter.expire(time.time()))
                    assert event is not None
                    return event
                polled_at = reading.polled_at
                if reading.connection is not None:
                    step = waiter.observe(reading.connection, polled_at)
                else:
                    assert reading.error is not None
                    step = waiter.observe_error(reading.error, polled_at)
                step = await self._resume_if_asked(hook, waiter, step, polled_at)
                event = self._finished(step)
                if event is not None:
                    return event
                until = step.until
        finally:
            if sub is not None:
                sub.poller.leave(sub)
            await hook.aclose()

    async def _resume_if_asked(
        self, hook: FivetranAsyncHook, waiter: SyncWaiter, step: WaitStep, polled_at: float
    ) -> WaitStep:
        """Start the sync again when the waiter asks (a manual connection whose reschedule came), then judge that.

        :param hook: the trigger's async hook.
        :param waiter: the trigger's judge of completion.
        :param step: what the waiter made of the last reading.
        :param polled_at: when that reading was taken (epoch seconds).
        """
        if step.action != RESUME:
            return step
        self._note(step)
        try:
            with deadline_scope(waiter.deadline):
                await hook.astart_sync(self.connection_id, force=False)
        except Exception as error:  # judged by the waiter: transient ones keep the wait going
            return waiter.observe_error(error, polled_at)
        return waiter.after_resume(polled_at)

    async def _poll(self, hook: FivetranAsyncHook, waiter: SyncWaiter, polled_at: float) -> WaitStep:
        try:
            with deadline_scope(waiter.deadline):
                connection = await hook.aget_connection_details(self.connection_id)
        except Exception as error:  # judged by the waiter: transient ones keep the wait going
            return waiter.observe_error(error, polled_at)
        return waiter.observe(connection, polled_at)

    def _finished(self, step: WaitStep) -> dict[str, Any] | None:
        """Log what the waiter made of a reading; return the event payload if the wait is over.

        :param step: the waiter's judgement.
        """
        self._note(step)
        if step.action != DONE:
            return None
        assert step.event is not None
        return step.event

    def _note(self, step: WaitStep) -> None:
        if step.note:
            if step.warning:
                self.log.warning("%s", step.note)
            else:
                self.log.info("%s", step.note)


_T = TypeVar("_T")


async def _before_deadline(work: Awaitable[_T], waiter: SyncWaiter) -> _T | None:
    """Await ``work``, but no longer than the wait's deadline: ``None`` when the deadline came first.

    Whatever holds a reading back (a ``Retry-After``, a slow answer, a read shared with waits of
    later deadlines), the wait itself ends on time; a reading started at the deadline gets
    :data:`~fivetran_provider.retry.FINAL_READ_SECONDS` to come back.

    :param work: the reading (or poll) to wait for.
    :param waiter: the wait's judge, whose deadline counts.
    """
    if waiter.deadline is None:
        return await work
    try:
        return await wait_at_most(work, max(0.0, waiter.deadline - time.time()) + FINAL_READ_SECONDS)
    except asyncio.TimeoutError:
        return None


def __getattr__(name: str) -> Any:
    # The event trigger lives in its own module; imported only when asked for.
    if name == "FivetranSyncEventTrigger":
        from fivetran_provider.event_triggers import FivetranSyncEventTrigger

        return FivetranSyncEventTrigger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

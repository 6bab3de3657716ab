"""One status poller per event loop, shared by every ``FivetranSyncTrigger`` waiting in it.

The account's API budget (20,000 requests an hour on paid plans) is the real limit of a
triggerer with many waits: a thousand triggers polling their own connection every minute would
spend 60,000 requests an hour. The list endpoint answers, per connection, everything a wait
needs (``status``, ``succeeded_at``, ``failed_at``, ``paused``, ``schedule_type``) for up to
1,000 connections a page, so the triggers of one event loop hand their reads to a
:class:`SharedPoller`:

* each trigger *subscribes* with its connection id, its group (destination) id when known, its
  poll interval and deadline, then asks for one reading at a time, saying when it wants it
  (:meth:`Subscription.next_reading`). It judges each reading itself, with its own
  :class:`~fivetran_provider.sync_status.SyncWaiter`, exactly as a trigger polling alone would;
* when a subscription is due, the poller reads every subscription of the same group that is due
  within :data:`EARLY_SHARE` of its own interval with **one** request:
  ``GET /v1/connections?group_id=…&limit=1000`` (all pages) when several are due, or
  ``GET /v1/connections/{id}`` when only one is (or when the group is so large that single reads
  cost fewer requests than its pages). A subscription with a shorter interval is simply due
  more often; one that is rescheduled wakes when Fivetran said;
* a new subscription's first reading joins the group's next planned read when that comes within
  ``min(interval, 5 s)``; waits of a group with the same interval that are out of step (joined
  later, back from an error) are brought onto one schedule once, the smaller side moving by at
  most :data:`ALIGN_SHARE` of the interval. So the waits of one group settle on one schedule and
  one request serves them all;
* a subscription whose group is unknown is read alone once, which tells its group;
* a connection missing from its group's list is read alone: deleted (404) or moved to another
  group, its wait ends with an error that says so;
* subscriptions are of two kinds: :data:`SYNC_WAIT` (a trigger waiting for one sync, the default)
  and :data:`COMPLETIONS` (an asset watcher reporting every completed sync, for as long as a DAG
  is scheduled on the asset). Both are read the same way, with the same requests; a watched
  connection that moved to another group is simply followed there, since a watcher has no one
  sync to lose track of;
* when the account's remaining budget falls below the reserve, intervals are stretched in
  proportion (:mod:`fivetran_provider.budget`), and after a 429 (or 503) no read is sent before
  its ``Retry-After`` (at most the retry policy's ``max_retry_after``; the account's budget logs
  the hold once). A hold never keeps a wait past its deadline: a subscription whose deadline
  comes during the hold gets a reading that says so, without a request, and its wait ends;
* a group whose listing does not end (a repeating cursor) is read connection by connection
  from then on;
* a cancelled trigger leaves (:meth:`SharedPoller.leave`); when the last one leaves, the poller
  stops and its in-flight reads are cancelled.

Requests go through the :class:`~fivetran_provider.hooks.FivetranAsyncHook` of one of the
subscribed triggers: pollers are keyed by everything that makes hooks interchangeable (event
loop, API URL, a digest of the credentials, timeouts and retry policy), and all of them share the
loop's pool of HTTP clients, so the same retry rules apply. Nothing here holds credentials.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from fivetran_provider.exceptions import (
    FivetranNotFoundError,
    FivetranPagingError,
    FivetranRateLimitError,
    FivetranSyncError,
)
from fivetran_provider.hooks.async_pool import pool_key
from fivetran_provider.links import connection_dashboard_url
from fivetran_provider.retry import deadline_scope

log = logging.getLogger("fivetran_provider.hooks")

if TYPE_CHECKING:
    from fivetran_provider.budget import RateBudget
    from fivetran_provider.hooks import ClientSettings, FivetranAsyncHook

#: A due read also serves the subscriptions of its group that would be due within this share of
#: their own interval (their gap is then at most this much shorter).
EARLY_SHARE = 0.05
#: A new subscription waits at most this long (and half its interval) for others starting at the
#: same time to join its first read; later ones join the group's next read.
JOIN_WINDOW = 0.05
#: A new subscription joins its group's next planned read when that comes within ``min(interval, this)``.
FIRST_READ_SPREAD = 5.0
#: Waits of a group out of step with each other are merged onto one schedule when their reads are
#: at most this share of their interval apart (the smaller side moves, once).
ALIGN_SHARE = 0.5
#: Items per page of the list endpoint (its maximum).
PAGE_SIZE = 1000
#: Subscription kind of a trigger waiting for one sync (ended by a move to another group).
SYNC_WAIT = "sync_wait"
#: Subscription kind of an asset watcher reporting every completed sync (follows a move).
COMPLETIONS = "completions"
KINDS = (SYNC_WAIT, COMPLETIONS)
#: A list read hands its readings out this many at a time, letting the event loop run in between:
#: each reading wakes a trigger that judges it, and a thousand at once would stall the loop.
DELIVERY_SLICE = 32


class Reading(NamedTuple):
    """What one read of a connection gave.

    :param polled_at: POSIX time the request was started.
    :param connection: the connection object, or ``None`` if the read failed.
    :param error: why the read failed, or ``None``.
    """

    polled_at: float
    connection: dict[str, Any] | None
    error: BaseException | None


class Subscription:
    """One trigger's place in a :class:`SharedPoller`.

    :param poller: the poller.
    :param hook: the trigger's async hook (requests may go through it).
    :param connection_id: the Fivetran connection id.
    :param group_id: its group id, or ``None`` until a read tells it.
    :param interval: the trigger's poll interval (seconds).
    :param deadline: POSIX time after which nothing is stretched past (``None``: none).
    :param kind: :data:`SYNC_WAIT` or :data:`COMPLETIONS`.
    """

    __slots__ = (
        "connection_id",
        "deadline",
        "due",
        "group_id",
        "hook",
        "in_flight",
        "interval",
        "kind",
        "last_polled_at",
        "poller",
        "reads",
        "waiting",
    )

    def __init__(
        self,
        poller: SharedPoller,
        hook: FivetranAsyncHook,
        connection_id: str,
        group_id: str | None,
        interval: float,
        deadline: float | None,
        kind: str = SYNC_WAIT,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"subscription kind must be one of {KINDS}, not {kind!r}")
        self.kind = kind
        self.poller = poller
        self.hook = hook
        self.connection_id = connection_id
        self.group_id = group_id
        self.interval = interval
        self.deadline = deadline
        self.due = 0.0
        self.last_polled_at: float | None = None
        self.in_flight = False
        self.waiting: asyncio.Future[Reading] | None = None
        self.reads = 0

    async def next_reading(self, until: float | None = None) -> Reading:
        """Wait for the next reading of the connection.

        :param until: POSIX time the trigger wants it (``None``: the first reading, as the
            poller plans it). Stretched when the API budget is low, never past the deadline.
        """
        poller = self.poller
        if until is not None:
            self.due = poller.plan(self, until)
        future: asyncio.Future[Reading] = poller.loop.create_future()
        self.waiting = future
        poller.wake()
        try:
            return await future
        finally:
            self.waiting = None

    def __repr__(self) -> str:
        return f"<Subscription {self.kind} {self.connection_id} group={self.group_id} every {self.interval:g} s>"


_PollerKey = tuple[Any, ...]


class SharedPoller:
    """Reads the connections that the triggers of one event loop wait for, with as few requests as possible.

    Build it with :func:`shared_poller`; see the module docstring for the rules.

    :param key: its registry key.
    :param budget: the account's API budget.
    """

    def __init__(self, key: _PollerKey, budget: RateBudget | None) -> None:
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.budget = budget
        self.members: dict[Subscription, None] = {}  # insertion-ordered set
        self.groups: dict[str, dict[Subscription, None]] = {}
        self.group_pages: dict[str, float] = {}  # pages the group's list took last time
        self.requests = 0  # requests started (for benchmarks and tests)
        self.list_requests = 0
        self.single_requests = 0
        self._reads: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._alarm: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ membership

    def join(
        self,
        hook: FivetranAsyncHook,
        connection_id: str,
        *,
        group_id: str | None,
        interval: float,
        deadline: float | None,
        kind: str = SYNC_WAIT,
    ) -> Subscription:
        """Subscribe a trigger; its first reading comes with the group's next read, or shortly.

        :param hook: the trigger's async hook (its shared HTTP clients must be borrowed).
        :param connection_id: the Fivetran connection id.
        :param group_id: the connection's group id, if known.
        :param interval: the trigger's poll interval in seconds.
        :param deadline: the trigger's deadline as POSIX time (``None``: none).
        :param kind: :data:`SYNC_WAIT` (a wait for one sync) or :data:`COMPLETIONS` (an asset watcher).
        """
        sub = Subscription(self, hook, connection_id, group_id, interval, deadline, kind)
        now = time.time()
        first = now + min(interval / 2, JOIN_WINDOW)
        if group_id is not None:
            planned = self._next_group_read(group_id, exclude=sub)
            if planned is not None and planned <= now + min(interval, FIRST_READ_SPREAD):
                first = planned
            self.groups.setdefault(group_id, {})[sub] = None
        sub.due = first if deadline is None else min(first, deadline)
        self.members[sub] = None
        if self._task is None:
            self._task = self.loop.create_task(self._run(), name="fivetran-shared-poller")
        return sub

    def leave(self, sub: Subscription) -> None:
        """Unsubscribe a trigger (finished or cancelled); the last one out stops the poller.

        :param sub: the subscription from :meth:`join`.
        """
        self.members.pop(sub, None)
        if sub.group_id is not None:
            group = self.groups.get(sub.group_id)
            if group is not None:
                group.pop(sub, None)
                if not group:
                    del self.groups[sub.group_id]
        if sub.waiting is not None and not sub.waiting.done():
            sub.waiting.cancel()
        if not self.members:
            if _pollers.get(self.key) is self:
                del _pollers[self.key]
            for task in list(self._reads):
                task.cancel()
            self.wake()

    @property
    def running(self) -> bool:
        """Whether the poller's task is alive."""
        return self._task is not None and not self._task.done()

    # ------------------------------------------------------------------ scheduling

    def plan(self, sub: Subscription, until: float) -> float:
        """When to read for ``sub`` next, given the time its waiter asked for.

        Stretches the wait in proportion when the API budget is low, never past the deadline.

        :param sub: the subscription.
        :param until: POSIX time its waiter asked for.
        """
        base = sub.last_polled_at
        if self.budget is not None and base is not None and until > base:
            factor = self.budget.stretch_factor()
            if factor > 1.0:
                until = base + (until - base) * factor
        if sub.deadline is not None:
            until = min(until, sub.deadline)
        return until

    def _group_dues(self, group_id: str, exclude: Subscription) -> Iterable[float]:
        """When the group's subscriptions expect their next read (a read in flight or being judged
        counts as its next one, one interval on), so a newcomer can join the group's schedule."""
        for other in self.groups.get(group_id, ()):
            if other is exclude:
                continue
            if other.in_flight:
                yield other.due + other.interval
            elif other.waiting is not None:
                yield other.due
            elif other.last_polled_at is not None:
                yield other.last_polled_at + other.interval

    def _next_group_read(self, group_id: str, exclude: Subscription) -> float | None:
        return min(self._group_dues(group_id, exclude), default=None)

    def wake(self) -> None:
        """Make the poller look at its subscriptions again now."""
        alarm = self._alarm
        if alarm is not None and not alarm.done():
            alarm.set_result(None)

    async def _sleep_until(self, moment: float) -> None:
        alarm: asyncio.Future[None] = self.loop.create_future()
        self._alarm = alarm
        delay = moment - time.time()
        handle = self.loop.call_later(delay, _ring, alarm) if delay < math.inf else None
        try:
            await alarm
        finally:
            self._alarm = None
            if handle is not None:
                handle.cancel()

    async def _run(self) -> None:
        try:
            while self.members:
                now = time.time()
                hold = self.budget.blocked_until if self.budget is not None else 0.0
                next_due = math.inf
                due_now = False
                ready: list[Subscription] = []
                for sub in self.members:
                    if sub.in_flight or sub.waiting is None:
                        continue
                    ready.append(sub)
                    if sub.due <= now:
                        due_now = True
                    elif sub.due < next_due:
                        next_due = sub.due
                if due_now and now >= hold:
                    self._dispatch(ready, now)
                    continue
                if due_now:
                    next_due = self._hold_back(ready, now, hold)
                    if next_due <= now:
                        continue
                await self._sleep_until(next_due)
        finally:
            self._task = None
            if not self.members and _pollers.get(self.key) is self:
                del _pollers[self.key]

    def _hold_back(self, ready: list[Subscription], now: float, hold: float) -> float:
        """While a ``Retry-After`` holds polls back: end the waits whose deadline came, say when to look again.

        A due subscription whose deadline has passed gets a reading that carries the hold as its
        error (no request is sent), so its waiter ends the wait at its deadline.

        :param ready: the subscriptions waiting for a reading.
        :param now: current POSIX time.
        :param hold: when the hold ends.
        :return: when to look again: the hold's end or the next deadline of a due subscription.
        """
        expired = [sub for sub in ready if sub.due <= now and sub.deadline is not None and sub.deadline <= now]
        if expired:
            held = FivetranRateLimitError(
                429,
                "TooManyRequests",
                f"polls held back by Fivetran's Retry-After for {hold - now:.1f} s more; not read before the deadline",
                method="GET",
                path="/v1/connections",
                retry_after=hold - now,
            )
            self._deliver(expired, Reading(now, None, held))
            return now
        deadlines = [sub.deadline for sub in ready if sub.due <= now and sub.deadline is not None]
        return min([hold, *deadlines])

    def _dispatch(self, ready: list[Subscription], now: float) -> None:
        """Start the reads of every group with a due subscription."""
        by_group: dict[str | None, list[Subscription]] = {}
        for sub in ready:
            by_group.setdefault(sub.group_id, []).append(sub)
        for group, members in by_group.items():
            if not any(sub.due <= now for sub in members):
                continue
            if group is None:  # group unknown: each read alone, when due
                self._start_reads(None, [sub for sub in members if sub.due <= now])
            else:
                due = [sub for sub in members if sub.due <= now + EARLY_SHARE * sub.interval]
                self._start_reads(group, self._merge_phases(due, members, now))

    @staticmethod
    def _merge_phases(due: list[Subscription], members: list[Subscription], now: float) -> list[Subscription]:
        """Bring the waits of a group that poll at the same interval onto one schedule.

        Waits that joined at different times, came back from an error or were read alone may be
        out of step with the rest of their group (same interval, another phase), which would cost
        a request per phase for ever. When the group's next read of the same interval comes within
        :data:`ALIGN_SHARE` of it, the smaller side moves once: the others are read now (early),
        or the due ones wait for them (late).

        :param due: the group's subscriptions due now.
        :param members: all its subscriptions waiting for a reading.
        :param now: current POSIX time.
        :return: the subscriptions to read now.
        """
        intervals = {sub.interval for sub in due}
        chosen = set(due)
        others = [
            sub
            for sub in members
            if sub not in chosen and sub.interval in intervals and sub.due <= now + ALIGN_SHARE * sub.interval
        ]
        if not others:
            return due
        if len(others) <= len(due):
            return due + others
        later = min(sub.due for sub in others)
        moved = {sub.interval for sub in others}
        keep = []
        for sub in due:
            if sub.interval in moved and (sub.deadline is None or later <= sub.deadline):
                sub.due = later  # the minority waits for the majority's read
            else:
                keep.append(sub)
        return keep

    def _start_reads(self, group: str | None, subs: list[Subscription]) -> None:
        if not subs:
            return
        for sub in subs:
            sub.in_flight = True
        by_connection = _by_connection(subs)
        if group is not None and len(by_connection) > self.group_pages.get(group, 1):
            self._start(self._read_group(group, subs))
        else:
            for same in by_connection.values():
                self._start(self._read_one(same, expected_group=group))

    def _start(self, work: Any) -> None:
        task = self.loop.create_task(work)
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)

    # ------------------------------------------------------------------ reads

    @staticmethod
    def _deliver(subs: Iterable[Subscription], reading: Reading) -> None:
        for sub in subs:
            sub.in_flight = False
            sub.last_polled_at = reading.polled_at
            sub.reads += 1
            future = sub.waiting
            sub.waiting = None  # no longer waiting: the trigger judges the reading, then asks again
            if future is not None and not future.done():
                future.set_result(reading)

    def _hook_for(self, subs: list[Subscription]) -> FivetranAsyncHook | None:
        """The hook of a subscription still present (a departed trigger may have closed its hook)."""
        for sub in subs:
            if sub in self.members:
                return sub.hook
        return None

    async def _read_group(self, group_id: str, subs: list[Subscription]) -> None:
        hook = self._hook_for(subs)
        if hook is None:
            return
        polled_at = time.time()
        self.requests += 1
        self.list_requests += 1
        try:
            with deadline_scope(_latest_deadline(subs), replace=True):
                items = await hook.alist_group_connections(group_id, page_size=PAGE_SIZE)
        except FivetranPagingError as error:  # the listing is broken; single reads still work
            log.warning("%s; reading the connections of group %s one by one from now on", error, group_id)
            self.group_pages[group_id] = math.inf
            await asyncio.gather(
                *(self._read_one(same, expected_group=group_id) for same in _by_connection(subs).values())
            )
            return
        except Exception as error:  # judged by each waiter: transient ones keep the waits going
            self._deliver(subs, Reading(polled_at, None, error))
            return
        pages = max(1, math.ceil(len(items) / PAGE_SIZE))
        self.group_pages[group_id] = pages
        self.requests += pages - 1
        self.list_requests += pages - 1
        by_id = {item.get("id"): item for item in items}
        missing: list[Subscription] = []
        handed = 0
        for sub in subs:
            connection = by_id.get(sub.connection_id)
            if connection is None:
                missing.append(sub)
                continue
            self._deliver((sub,), Reading(polled_at, connection, None))
            handed += 1
            if handed % DELIVERY_SLICE == 0:
                await asyncio.sleep(0)  # let the woken triggers (and everything else) run
        if missing:  # deleted, or moved to another group: a read of its own says which
            await asyncio.gather(
                *(
                    self._read_one(same, expected_group=group_id, missing_from=group_id)
                    for same in _by_connection(missing).values()
                )
            )

    async def _read_one(
        self, subs: list[Subscription], *, expected_group: str | None, missing_from: str | None = None
    ) -> None:
        sub = subs[0]
        hook = self._hook_for(subs)
        if hook is None:
            return
        polled_at = time.time()
        self.requests += 1
        self.single_requests += 1
        try:
            with deadline_scope(_latest_deadline(subs), replace=True):
                connection = await hook.aget_connection_details(sub.connection_id)
        except FivetranNotFoundError as error:
            if missing_from is not None:
                error = FivetranNotFoundError(
                    error.status,
                    error.code,
                    f"connection {sub.connection_id} is no longer in group {missing_from} and does not exist "
                    f"any more (deleted?): {error.message}",
                    method=error.method,
                    path=error.path,
                )
            self._deliver(subs, Reading(polled_at, None, error))
            return
        except Exception as error:  # judged by each waiter
            self._deliver(subs, Reading(polled_at, None, error))
            return
        group = connection.get("group_id")
        if expected_group is not None and isinstance(group, str) and group != expected_group:
            subs = self._follow_move(
                subs, group, Reading(polled_at, None, _left_group(sub.connection_id, expected_group, group))
            )
        for member in subs:
            if member.group_id is None and isinstance(group, str):
                self._learn_group(member, group)
        self._deliver(subs, Reading(polled_at, connection, None))

    def _follow_move(self, subs: list[Subscription], group_id: str, moved: Reading) -> list[Subscription]:
        """A connection left its group: end the waits for a sync with ``moved``; watchers follow it.

        :param subs: the subscriptions of the connection that was read.
        :param group_id: the group the connection is in now.
        :param moved: the reading that ends a wait (its error says what happened).
        :return: the watchers, now in the new group, to hand the reading to.
        """
        waits = [sub for sub in subs if sub.kind != COMPLETIONS]
        if waits:
            self._deliver(waits, moved)
        watchers = [sub for sub in subs if sub.kind == COMPLETIONS]
        for sub in watchers:
            if sub.group_id is not None:
                group = self.groups.get(sub.group_id)
                if group is not None:
                    group.pop(sub, None)
                    if not group:
                        del self.groups[sub.group_id]
                sub.group_id = None
            self._learn_group(sub, group_id)
        return watchers

    def _learn_group(self, sub: Subscription, group_id: str) -> None:
        sub.group_id = group_id
        if sub in self.members:
            self.groups.setdefault(group_id, {})[sub] = None


def _latest_deadline(subs: list[Subscription]) -> float | None:
    """The deadline a read serving ``subs`` must keep: the latest of theirs (``None`` if one has none).

    Each wait also bounds its own share (the trigger stops waiting at its deadline).
    """
    deadlines = [sub.deadline for sub in subs]
    if not deadlines or any(deadline is None for deadline in deadlines):
        return None
    return max(d for d in deadlines if d is not None)


def _by_connection(subs: list[Subscription]) -> dict[str, list[Subscription]]:
    grouped: dict[str, list[Subscription]] = {}
    for sub in subs:
        grouped.setdefault(sub.connection_id, []).append(sub)
    return grouped


def _ring(alarm: asyncio.Future[None]) -> None:
    if not alarm.done():
        alarm.set_result(None)


def _left_group(connection_id: str, old: str, new: str) -> BaseException:
    url = connection_dashboard_url(connection_id)
    return FivetranSyncError(
        f"Fivetran connection {connection_id} left group {old} while a sync was awaited (it is now in group "
        f"{new}); the wait cannot tell which sync to follow. See {url}",
        connection_id=connection_id,
        dashboard_url=url,
    )


#: The pollers of every event loop, by the settings that make hooks interchangeable.
_pollers: dict[_PollerKey, SharedPoller] = {}


async def shared_poller(hook: FivetranAsyncHook) -> SharedPoller:
    """The running event loop's poller for hooks like ``hook`` (created on first use).

    Borrows the hook's shared HTTP clients, so the poller can send requests through it until the
    hook is closed. Join right after this returns (no ``await`` in between), so the poller
    cannot stop in between.

    :param hook: a trigger's async hook.
    """
    settings = await _shared_settings(hook)
    pool = await hook.aclients()  # borrow the loop's shared clients for as long as the trigger waits
    await pool.aprepare()  # loads the CA bundle in a worker thread, not on the event loop
    key = (*pool_key(settings), tuple(sorted(settings.retry_policy.to_dict().items())))
    poller = _pollers.get(key)
    if poller is None:
        for stale in [other for other in _pollers if other[0].is_closed()]:
            del _pollers[stale]
        poller = _pollers[key] = SharedPoller(key, settings.budget)
    return poller


#: How long the Airflow connection read for one trigger serves the others of its event loop (seconds).
SETTINGS_TTL = 300.0

_settings: dict[tuple[Any, ...], tuple[float, asyncio.Future[ClientSettings]]] = {}


async def _shared_settings(hook: FivetranAsyncHook) -> ClientSettings:
    """The hook's settings, read from Airflow once for all the triggers of the loop that use the same connection.

    In Airflow 3 each connection lookup of a trigger is a round trip through the supervisor to the
    API server: a thousand triggers started together would make a thousand. The first one's read
    (in flight or done, for :data:`SETTINGS_TTL` seconds) serves the rest; a failed read is not kept.

    :param hook: a trigger's async hook.
    """
    loop = asyncio.get_running_loop()
    key = (loop, *hook.settings_key)
    now = time.monotonic()
    entry = _settings.get(key)
    if entry is None or now - entry[0] > SETTINGS_TTL or (entry[1].done() and entry[1].exception() is not None):
        for stale in [other for other in _settings if other[0].is_closed()]:
            del _settings[stale]
        entry = (now, loop.create_task(hook.asettings()))
        _settings[key] = entry
    settings = await asyncio.shield(entry[1])
    hook.use_settings(settings)
    return settings


def active_pollers() -> list[SharedPoller]:
    """The pollers currently registered (for tests and benchmarks)."""
    return list(_pollers.values())

"""``FivetranSyncEventTrigger``: fire each time a Fivetran connection finishes a sync (event-driven DAGs).

Used through :func:`fivetran_provider.assets.fivetran_connection_asset`, whose ``AssetWatcher``
runs it in the triggerer for as long as a DAG is scheduled on the asset.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fivetran_provider import fields
from fivetran_provider._compat import TriggerEvent, event_trigger_base, require_airflow_3
from fivetran_provider.links import connection_dashboard_url
from fivetran_provider.sync_status import format_timestamp, is_transient, parse_timestamp

if TYPE_CHECKING:
    from airflow.triggers.base import BaseEventTrigger as _EventTriggerBase

    from fivetran_provider.hooks import FivetranAsyncHook
else:
    _EventTriggerBase = event_trigger_base()

SUCCESS = "success"
FAILURE = "failure"
OUTCOMES: tuple[str, ...] = (SUCCESS, FAILURE)

#: The first poll comes after a random delay of up to this many seconds (at most one poll
#: interval), so watchers started together do not poll in lockstep.
FIRST_POLL_SPREAD = 5.0


def coerce_outcomes(value: Any) -> tuple[str, ...]:
    """Check which outcomes fire: a non-empty selection of ``"success"`` and ``"failure"``.

    :param value: one outcome name or an iterable of them.
    :raises FivetranValidationError: naming the value and what is allowed.
    """
    allowed = 'a non-empty list of "success" and/or "failure"'
    items: Iterable[Any] = (value,) if isinstance(value, str) else value if isinstance(value, Iterable) else ()
    result = []
    for item in items:
        if item not in OUTCOMES:
            raise fields.FivetranValidationError("outcomes", value, allowed)
        if item not in result:
            result.append(item)
    if not result:
        raise fields.FivetranValidationError("outcomes", value, allowed)
    return tuple(outcome for outcome in OUTCOMES if outcome in result)


def sync_event(
    connection_id: str,
    outcome: str,
    succeeded_at: str | None,
    failed_at: str | None,
    historical: bool,
) -> dict[str, Any]:
    """The payload of a completed sync, shared by the event trigger and the operators' asset events.

    :param connection_id: the Fivetran connection id.
    :param outcome: ``"success"`` or ``"failure"``.
    :param succeeded_at: the connection's ``succeeded_at`` after the sync (ISO-8601 UTC).
    :param failed_at: the connection's ``failed_at`` after the sync (ISO-8601 UTC).
    :param historical: whether the sync was a historical (full) sync, as far as was seen.
    """
    return {
        "connection_id": connection_id,
        "outcome": outcome,
        "succeeded_at": succeeded_at,
        "failed_at": failed_at,
        "historical": bool(historical),
        "dashboard_url": connection_dashboard_url(connection_id),
    }


def _moment(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value)
    except fields.FivetranValidationError:
        return None


#: How many completion times per outcome a tracker remembers (a value seen before never fires again).
SEEN_MEMORY = 64


class CompletionTracker:
    """Decide, reading by reading, which sync completions of one connection are new.

    Only Fivetran's own timestamps are compared, never the triggerer's clock: the first reading
    is the baseline (the connection's ``succeeded_at`` and ``failed_at`` when watching started,
    which fire nothing), and after it a completion is a ``succeeded_at`` or ``failed_at`` whose
    value was not seen before, the baseline included. So

    * nothing from before the start fires, and nothing fires twice (a value seen before, even
      one read again from a stale answer, is remembered);
    * a clock skew between Fivetran and the triggerer changes nothing: no timestamp is compared
      with the triggerer's time;
    * a completion stamped in the future fires once and does not silence the ones after it,
      even when their stamps are earlier (Fivetran's clock was corrected): a new value is new
      whether it is later or earlier than the last.

    Two completions between readings (a failure, then a success) both fire, oldest first. Several
    syncs of the same outcome between two readings fire once (the latest). A completion that lands
    between the trigger's start and its first reading becomes part of the baseline.

    ``historical`` is true when the completed sync was seen running as a historical sync, or the
    connection still reports ``is_historical_sync`` (a failed historical sync).

    :param connection_id: the Fivetran connection id.
    :param outcomes: which outcomes to report.
    """

    def __init__(self, connection_id: str, outcomes: Iterable[str] = (SUCCESS,)) -> None:
        self.connection_id = connection_id
        self.outcomes = coerce_outcomes(tuple(outcomes))
        self._seen: dict[str, deque[datetime]] | None = None  # None until the baseline reading
        self._saw_historical = False

    @property
    def has_baseline(self) -> bool:
        """Whether the baseline reading has been taken."""
        return self._seen is not None

    def observe(self, connection: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Look at one read of the connection; return the events it reveals (possibly none).

        The first read is the baseline and reveals nothing.

        :param connection: the connection object, as ``GET /v1/connections/{id}`` or the
            group's list returns it.
        """
        status = connection.get("status")
        historical_now = isinstance(status, Mapping) and bool(status.get("is_historical_sync"))
        seen = {SUCCESS: _moment(connection.get("succeeded_at")), FAILURE: _moment(connection.get("failed_at"))}
        if self._seen is None:
            self._seen = {
                outcome: deque(() if moment is None else (moment,), maxlen=SEEN_MEMORY)
                for outcome, moment in seen.items()
            }
            self._saw_historical = historical_now
            return []
        known = self._seen
        new = [
            (moment, outcome) for outcome, moment in seen.items() if moment is not None and moment not in known[outcome]
        ]
        events = []
        for moment, outcome in sorted(new):
            known[outcome].append(moment)
            historical = self._saw_historical or historical_now
            self._saw_historical = False
            if outcome in self.outcomes:
                events.append(
                    sync_event(
                        self.connection_id,
                        outcome,
                        _iso(seen[SUCCESS]),
                        _iso(seen[FAILURE]),
                        historical,
                    )
                )
        if historical_now and not new:
            self._saw_historical = True
        return events


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


class FivetranSyncEventTrigger(_EventTriggerBase):  # type: ignore[misc,valid-type,unused-ignore]
    """Fire an event each time a sync of one Fivetran connection completes (Airflow 3 asset watchers).

    Reads the connection every ``poll_interval`` seconds through the event loop's
    :class:`~fivetran_provider.hooks.polling.SharedPoller`, the same one that serves
    :class:`~fivetran_provider.triggers.FivetranSyncTrigger`: the watchers and waits of one group
    (destination) that are due together are served by one ``GET /v1/connections?group_id=…``,
    so a thousand watched connections cost one list request per group and interval, not a
    thousand reads. Without ``group_id`` the first reading of a watcher is read alone, which
    tells its group; with it, the first reading joins the group's next read too.

    Yields one ``TriggerEvent`` per new completion (see :class:`CompletionTracker`) whose
    payload is :func:`sync_event`: ``connection_id``, ``outcome`` (``success`` or ``failure``),
    ``succeeded_at``, ``failed_at``, ``historical`` and ``dashboard_url``. Each completion is
    one event, identified by the connection id and its ``succeeded_at`` (or ``failed_at``), so
    the connection's asset gets exactly one event per landed sync
    (:func:`fivetran_provider.assets.sync_identity`).

    Only completions after the trigger's first reading count, judged by Fivetran's timestamps
    alone (never the triggerer's clock). When the triggerer restarts, the trigger takes a new
    first reading: nothing already reported is reported again, and a sync that completed while
    no triggerer ran is not reported (it is part of the new baseline). The keyword arguments hold
    no timestamp, so the trigger stays the same one across DAG parses.

    Transient API errors (network, 5xx, 429, malformed answers) are logged and the next reading
    tries again; errors that will not go away (401, 403, 404, a missing Airflow connection) end
    the trigger with that error. A connection moved to another group is followed there.

    :param connection_id: the Fivetran connection id.
    :param fivetran_conn_id: the Airflow connection id (never credentials).
    :param poll_interval: seconds between polls (default 60).
    :param outcomes: which completions fire: ``("success",)`` (default), ``("failure",)`` or both.
    :param group_id: the connection's group (destination) id, when known; spares the first
        reading of its own. A wrong one costs one extra read (the connection is followed to its
        real group).
    :raises fivetran_provider._compat.AirflowFeatureUnavailableError: on Airflow 2.
    """

    def __init__(
        self,
        connection_id: str,
        fivetran_conn_id: str = "fivetran_default",
        poll_interval: float = 60.0,
        outcomes: Iterable[str] | str = (SUCCESS,),
        group_id: str | None = None,
    ) -> None:
        require_airflow_3("FivetranSyncEventTrigger")
        super().__init__()
        self.connection_id = fields.validate_connection_id(connection_id)
        self.fivetran_conn_id = fivetran_conn_id
        self.poll_interval = fields.coerce_seconds(
            "poll_interval", poll_interval, allowed="a number of seconds above 0"
        )
        self.outcomes = list(coerce_outcomes(outcomes))
        self.group_id = None if group_id in (None, "") else fields.validate_connection_id(group_id, "group_id")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and JSON-serialisable keyword arguments that rebuild this trigger.

        ``group_id`` is included only when given, so a watcher declared without it stays the
        same trigger as before it existed.
        """
        kwargs: dict[str, Any] = {
            "connection_id": self.connection_id,
            "fivetran_conn_id": self.fivetran_conn_id,
            "poll_interval": self.poll_interval,
            "outcomes": list(self.outcomes),
        }
        if self.group_id is not None:
            kwargs["group_id"] = self.group_id
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    def _hook(self) -> FivetranAsyncHook:
        from fivetran_provider.hooks import FivetranAsyncHook

        return FivetranAsyncHook(self.fivetran_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Read forever through the shared poller; yield one event per new completion of a selected outcome."""
        from fivetran_provider.hooks.polling import COMPLETIONS, shared_poller

        tracker = CompletionTracker(self.connection_id, self.outcomes)
        self.log.info(
            "Watching Fivetran connection %s for completed syncs (%s), polling every %g s",
            self.connection_id,
            " or ".join(self.outcomes),
            self.poll_interval,
        )
        # Watchers started together (a triggerer restart) still share their first reads: a
        # newcomer joins its group's next planned read.
        await asyncio.sleep(random.uniform(0.0, min(self.poll_interval, FIRST_POLL_SPREAD)))
        hook = self._hook()
        sub = None
        try:
            poller = await shared_poller(hook)
            sub = poller.join(
                hook,
                self.connection_id,
                group_id=self.group_id,
                interval=self.poll_interval,
                deadline=None,
                kind=COMPLETIONS,
            )
            until: float | None = None
            while True:
                reading = await sub.next_reading(until)
                until = reading.polled_at + self.poll_interval
                if reading.error is not None:
                    if not is_transient(reading.error):
                        raise reading.error
                    self.log.warning(
                        "Reading Fivetran connection %s failed (%s); trying again", self.connection_id, reading.error
                    )
                    continue
                assert reading.connection is not None
                first = not tracker.has_baseline
                for event in tracker.observe(reading.connection):
                    self.log.info(
                        "Fivetran connection %s finished a sync: %s at %s",
                        self.connection_id,
                        event["outcome"],
                        event["succeeded_at"] if event["outcome"] == SUCCESS else event["failed_at"],
                    )
                    yield TriggerEvent(event)
                if first:
                    self.log.info(
                        "Fivetran connection %s: baseline succeeded_at=%s, failed_at=%s (Fivetran's clock)",
                        self.connection_id,
                        reading.connection.get("succeeded_at"),
                        reading.connection.get("failed_at"),
                    )
        finally:
            if sub is not None:
                sub.poller.leave(sub)
            await hook.aclose()

"""``FivetranSyncEventTrigger``: fire each time a Fivetran connection finishes a sync (event-driven DAGs).

Used through :func:`fivetran_provider.assets.fivetran_connection_asset`, whose ``AssetWatcher``
runs it in the triggerer for as long as a DAG is scheduled on the asset.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime, timezone
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


class CompletionTracker:
    """Decide, poll by poll, which sync completions of one connection are new.

    A completion is a ``succeeded_at`` or ``failed_at`` later than both the moment watching
    started and the last completion already reported; so nothing from before the start fires,
    and nothing fires twice. Two completions between polls (a failure, then a success) both fire,
    oldest first. Several syncs of the same outcome between two polls fire once (the latest).

    ``historical`` is true when the completed sync was seen running as a historical sync, or the
    connection still reports ``is_historical_sync`` (a failed historical sync).

    :param connection_id: the Fivetran connection id.
    :param started_at: when watching started (POSIX seconds).
    :param outcomes: which outcomes to report.
    """

    def __init__(self, connection_id: str, started_at: float, outcomes: Iterable[str] = (SUCCESS,)) -> None:
        self.connection_id = connection_id
        self.outcomes = coerce_outcomes(tuple(outcomes))
        start = datetime.fromtimestamp(started_at, tz=timezone.utc)
        self._last: dict[str, datetime] = {SUCCESS: start, FAILURE: start}
        self._saw_historical = False

    def observe(self, connection: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Look at one read of the connection; return the events it reveals (possibly none).

        :param connection: ``data`` of ``GET /v1/connections/{id}``.
        """
        status = connection.get("status")
        historical_now = isinstance(status, Mapping) and bool(status.get("is_historical_sync"))
        seen = {SUCCESS: _moment(connection.get("succeeded_at")), FAILURE: _moment(connection.get("failed_at"))}
        new = [
            (moment, outcome) for outcome, moment in seen.items() if moment is not None and moment > self._last[outcome]
        ]
        events = []
        for moment, outcome in sorted(new):
            self._last[outcome] = moment
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

    Polls ``GET /v1/connections/{id}`` every ``poll_interval`` seconds through
    :class:`~fivetran_provider.hooks.FivetranAsyncHook` and yields one ``TriggerEvent`` per new
    completion (see :class:`CompletionTracker`) whose payload is :func:`sync_event`:
    ``connection_id``, ``outcome`` (``success`` or ``failure``), ``succeeded_at``,
    ``failed_at``, ``historical`` and ``dashboard_url``.

    Only completions after the trigger started count. When the triggerer restarts, the trigger
    starts again from that moment: nothing already reported is reported again, and a sync that
    completed while no triggerer ran is not reported (it would be from before the start). The
    keyword arguments hold no timestamp, so the trigger stays the same one across DAG parses.

    Transient API errors (network, 5xx, 429, malformed answers) are logged and the next poll tries
    again; errors that will not go away (401, 403, 404, a missing Airflow connection) end the
    trigger with that error.

    :param connection_id: the Fivetran connection id.
    :param fivetran_conn_id: the Airflow connection id (never credentials).
    :param poll_interval: seconds between polls (default 60).
    :param outcomes: which completions fire: ``("success",)`` (default), ``("failure",)`` or both.
    :raises AirflowFeatureUnavailableError: on Airflow 2.
    """

    def __init__(
        self,
        connection_id: str,
        fivetran_conn_id: str = "fivetran_default",
        poll_interval: float = 60.0,
        outcomes: Iterable[str] | str = (SUCCESS,),
    ) -> None:
        require_airflow_3("FivetranSyncEventTrigger")
        super().__init__()
        self.connection_id = fields.validate_connection_id(connection_id)
        self.fivetran_conn_id = fivetran_conn_id
        self.poll_interval = fields.coerce_seconds(
            "poll_interval", poll_interval, allowed="a number of seconds above 0"
        )
        self.outcomes = list(coerce_outcomes(outcomes))

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and JSON-serialisable keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "connection_id": self.connection_id,
                "fivetran_conn_id": self.fivetran_conn_id,
                "poll_interval": self.poll_interval,
                "outcomes": list(self.outcomes),
            },
        )

    def _hook(self) -> FivetranAsyncHook:
        from fivetran_provider.hooks import FivetranAsyncHook

        return FivetranAsyncHook(self.fivetran_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll forever; yield one event per new completion of a selected outcome."""
        tracker = CompletionTracker(self.connection_id, time.time(), self.outcomes)
        self.log.info(
            "Watching Fivetran connection %s for completed syncs (%s), polling every %g s",
            self.connection_id,
            " or ".join(self.outcomes),
            self.poll_interval,
        )
        await asyncio.sleep(random.uniform(0.0, min(self.poll_interval, FIRST_POLL_SPREAD)))
        hook = self._hook()
        try:
            while True:
                polled_at = time.time()
                try:
                    connection = await hook.aget_connection_details(self.connection_id)
                except Exception as error:
                    if not is_transient(error):
                        raise
                    self.log.warning(
                        "Reading Fivetran connection %s failed (%s); trying again", self.connection_id, error
                    )
                else:
                    for event in tracker.observe(connection):
                        self.log.info(
                            "Fivetran connection %s finished a sync: %s", self.connection_id, event["outcome"]
                        )
                        yield TriggerEvent(event)
                await asyncio.sleep(max(0.0, polled_at + self.poll_interval - time.time()))
        finally:
            await hook.aclose()

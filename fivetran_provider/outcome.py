"""What to do after a request with a side effect ended without a clear answer.

A PATCH, ``POST /sync`` or ``POST /resync`` whose answer is a 5xx, a dropped connection, a
timeout, a malformed or undecodable body or a redirect may or may not have been applied by
Fivetran. It is never sent again blindly: the connection is read, and the read is compared with
the **baseline**, the connection as read before the request. Only the part not yet applied is
sent again. Pure functions, no I/O; the hook calls them.

Fivetran documents no "sync started at" field, so *this* request's effect is judged from what
the baseline allows to tell apart:

* A historical sync counts as started when ``status.is_historical_sync`` is true. A completion
  (``succeeded_at`` or ``failed_at`` moved past the baseline, the flag false again) counts only
  when no sync was running at the baseline; with one running, the completion may be that sync's,
  and the read cannot tell (:class:`Inconclusive`): a second historical sync is never risked.
* A sync counts as started when ``status.sync_state`` is ``syncing``, or when ``succeeded_at``
  or ``failed_at`` moved past the baseline. A **forced** sync against a sync already running at
  the baseline cannot be seen in a read (the running sync looks the same before and after a
  restart), so it is sent again: forcing again only restarts the sync.
* A table-level re-sync against a sync already running at the baseline cannot be told apart
  from that sync either (:class:`Inconclusive`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from fivetran_provider import fields
from fivetran_provider.exceptions import (
    FivetranRedirectError,
    FivetranServerError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
)

FINISH_TIMESTAMPS: tuple[str, ...] = ("succeeded_at", "failed_at")


class Inconclusive(Exception):
    """A read after an unknown outcome cannot tell whether the request took effect.

    The hook turns it into :class:`~fivetran_provider.exceptions.FivetranOutcomeUnknownError`:
    the request is neither reported as applied nor sent again.

    :param seen: what the read showed, in words.
    :param check: what the user should look at to find out.
    """

    def __init__(self, seen: str, check: str) -> None:
        self.seen = seen
        self.check = check
        super().__init__(f"{seen}; {check}")


def outcome_unknown(error: BaseException) -> bool:
    """Whether a failed request may nevertheless have been applied by Fivetran.

    True for network errors, timeouts and missed deadlines, 5xx answers, malformed or
    undecodable success answers and redirects; false for 4xx answers (Fivetran refused).

    :param error: what the request raised.
    """
    return isinstance(
        error, (FivetranTransportError, FivetranServerError, FivetranUnexpectedResponseError, FivetranRedirectError)
    )


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def timestamp_moved(before: Any, after: Any) -> bool:
    """Whether a ``succeeded_at``/``failed_at`` value moved past its baseline value.

    A value that appeared where there was none counts as moved; so does any change that
    cannot be read as a time (erring on "something happened" never starts a second sync).

    :param before: the baseline value (ISO-8601 text or ``None``).
    :param after: the value read now.
    """
    if after is None or after == before:
        return False
    if before is None:
        return True
    earlier, later = _epoch(before), _epoch(after)
    if earlier is None or later is None:
        return True
    return later > earlier


def _status(connection: Mapping[str, Any] | None) -> Mapping[str, Any]:
    status = connection.get("status") if isinstance(connection, Mapping) else None
    return status if isinstance(status, Mapping) else {}


def finished_since(baseline: Mapping[str, Any] | None, current: Mapping[str, Any]) -> bool:
    """Whether a sync finished (succeeded or failed) after the baseline was read.

    :param baseline: the connection as read before the request (``None``: nothing known).
    :param current: the connection as read now.
    """
    before = baseline if isinstance(baseline, Mapping) else {}
    return any(timestamp_moved(before.get(name), current.get(name)) for name in FINISH_TIMESTAMPS)


def was_syncing(baseline: Mapping[str, Any] | None) -> bool:
    """Whether a sync was running when the baseline was read.

    :param baseline: the connection as read before the request (``None``: nothing known, which
        counts as "may have been running").
    """
    return baseline is None or _status(baseline).get("sync_state") == "syncing"


def _finish_seen(baseline: Mapping[str, Any] | None, current: Mapping[str, Any]) -> str:
    before = baseline if isinstance(baseline, Mapping) else {}
    moved = [
        f"{name} {before.get(name)!r} -> {current.get(name)!r}"
        for name in FINISH_TIMESTAMPS
        if timestamp_moved(before.get(name), current.get(name))
    ]
    return ", ".join(moved)


def historical_sync_started(baseline: Mapping[str, Any] | None, current: Mapping[str, Any]) -> bool:
    """Whether a historical sync is pending, running or finished since the baseline.

    :param baseline: the connection as read before the request.
    :param current: the connection as read now.
    :raises Inconclusive: a sync finished, the flag reads false, and a sync was already running at
        the baseline: the completion may be that sync's or the historical sync's.
    """
    if _status(current).get("is_historical_sync") is True:
        return True
    if not finished_since(baseline, current):
        return False
    if not was_syncing(baseline):
        return True  # nothing was running: the sync that finished started after the request
    raise Inconclusive(
        "a sync was already running before the request, then a sync finished "
        f"({_finish_seen(baseline, current)}) and status.is_historical_sync reads false, so the "
        "completion may be of that earlier sync and no read can show whether the historical sync was applied",
        "check the connection's sync history in the Fivetran dashboard (or its logs) for a historical "
        "sync after the request before running the task again: sending it again would start a second one",
    )


def sync_started(baseline: Mapping[str, Any] | None, current: Mapping[str, Any]) -> bool:
    """Whether a sync is running or finished since the baseline.

    :param baseline: the connection as read before the request.
    :param current: the connection as read now.
    """
    return _status(current).get("sync_state") == "syncing" or finished_since(baseline, current)


def remaining_update(
    baseline: Mapping[str, Any] | None, current: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    """The part of a PATCH body not yet applied, judged from a read after an unknown outcome.

    Settings are compared with their current values (:func:`fivetran_provider.fields.diff_update`);
    ``is_historical_sync: true`` is dropped once a historical sync has started since the baseline
    (even if it has already finished and the flag reads false again). An empty result means the
    whole update is applied.

    :param baseline: the connection as read before the PATCH (needed for ``is_historical_sync``).
    :param current: the connection as read after the unknown outcome.
    :param body: the validated body that was sent.
    """
    missing = fields.diff_update(current, body)
    if "is_historical_sync" in missing and historical_sync_started(baseline, current):
        del missing["is_historical_sync"]
    return fields.body_for_changes(missing, body)


def sync_needs_resend(baseline: Mapping[str, Any] | None, current: Mapping[str, Any], force: bool = False) -> bool:
    """Whether a ``POST /sync`` with an unknown outcome must be sent again.

    A forced sync sent while a sync was running is always sent again: a restart leaves no trace
    a read can tell from the sync that was running, and forcing again only restarts it.

    :param baseline: the connection as read before the request.
    :param current: the connection as read after the unknown outcome.
    :param force: whether the request was a forced sync (``{"force": true}``).
    """
    if force and was_syncing(baseline):
        return True
    return not sync_started(baseline, current)


def resync_needs_resend(
    baseline: Mapping[str, Any] | None, current: Mapping[str, Any], scope: Mapping[str, Any] | None
) -> bool:
    """Whether a ``POST /resync`` with an unknown outcome must be sent again.

    A whole-connection re-sync is a historical sync; a table-level one is judged as a sync,
    unless a sync was already running at the baseline: then nothing in a read tells the re-sync
    from that sync.

    :param baseline: the connection as read before the request.
    :param current: the connection as read after the unknown outcome.
    :param scope: the re-sync's scope (``None``: the whole connection).
    :raises Inconclusive: when the read cannot tell (see :func:`historical_sync_started`).
    """
    if scope is None:
        return not historical_sync_started(baseline, current)
    if not was_syncing(baseline):
        return not sync_started(baseline, current)
    if _status(current).get("is_historical_sync") is True:
        return False
    raise Inconclusive(
        "a sync was already running before the table-level re-sync, and a read cannot tell the re-sync "
        f"from that sync (sync_state {_status(current).get('sync_state')!r}"
        + (f", {_finish_seen(baseline, current)})" if finished_since(baseline, current) else ")"),
        "check the connection's sync history in the Fivetran dashboard for a re-sync of those tables "
        "after the request before running the task again",
    )

"""Fivetran connections as Airflow assets: ``fivetran://<connection_id>`` and ``fivetran://<connection_id>/task-syncs``.

One landed sync is one asset event, hence one run of a DAG scheduled on the asset. Each asset
has one source of events:

* ``fivetran://<connection_id>``, the connection's asset (:func:`fivetran_connection_asset`),
  is fed only by its ``AssetWatcher``
  (:class:`~fivetran_provider.event_triggers.FivetranSyncEventTrigger` in the triggerer), which
  reports every completed sync once, whoever started it (Fivetran's schedule, the UI, a task of
  this provider). Schedule a DAG on it to run once per landed sync.
* ``fivetran://<connection_id>/task-syncs`` (:func:`task_sync_asset`) is the outlet of the tasks
  that start or wait for a sync (:func:`sync_outlets`, :func:`emit_sync_event`): its events are
  the syncs a task of this provider saw succeed. It records which task produced the data, and is
  a schedule for DAGs that follow only the syncs run from Airflow, with no watcher polling.

If a task emitted its event for the connection's asset as well, one sync started by a task would
start a DAG scheduled on that asset twice: once from the task's event, and once more when the
watcher saw the same ``succeeded_at``. Neither side can tell the other's event apart (a task does
not know whether any DAG watches the connection; the watcher runs in the triggerer and reads no
asset events), so the two are kept apart by the assets' identity. Within one asset, an event is
identified by :func:`sync_identity` (connection id, outcome and the completion's timestamp);
:func:`landed_syncs` reads each landed sync of a run's ``triggering_asset_events`` once, even
when Airflow files an event under both an asset and an alias.

Building an asset touches neither the network nor the metadata DB, so it is safe at DAG-parse time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from fivetran_provider import fields
from fivetran_provider._compat import asset_classes

SCHEME = "fivetran"

SYNC_ALIAS = "fivetran_syncs"
"""Alias outlet of tasks whose connection is only known at run time (templated or looked up by name);
its events are for the connection's :func:`task_sync_asset`."""

TASK_SYNCS = "task-syncs"
"""The path of a connection's task-sync asset: ``fivetran://<connection_id>/task-syncs``."""


def connection_asset_uri(connection_id: str) -> str:
    """The asset URI of a Fivetran connection: ``fivetran://<connection_id>``.

    :param connection_id: the Fivetran connection id.
    """
    return f"{SCHEME}://{fields.validate_connection_id(connection_id)}"


def task_sync_asset_uri(connection_id: str) -> str:
    """The URI of the syncs of a connection that tasks of this provider ran or waited for:
    ``fivetran://<connection_id>/task-syncs``.

    :param connection_id: the Fivetran connection id.
    """
    return f"{connection_asset_uri(connection_id)}/{TASK_SYNCS}"


def normalize_fivetran_uri(parts: SplitResult) -> SplitResult:
    """Normalise a ``fivetran://`` asset URI (the provider's registered ``asset-uris`` handler).

    The connection id is the whole authority part, optionally followed by ``/task-syncs``; a
    trailing slash is dropped. Anything else (another path, a query, user info, a port) is refused.

    :param parts: the URI as split by ``urllib.parse.urlsplit``.
    :raises ValueError: when the URI does not name one connection (or its task syncs).
    """
    path = parts.path.strip("/")
    if path not in ("", TASK_SYNCS) or parts.query or "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(
            "A Fivetran asset URI is fivetran://<connection_id> or fivetran://<connection_id>/task-syncs, "
            f"not {parts.geturl()!r}"
        )
    connection_id = fields.validate_connection_id(parts.netloc)
    return SplitResult(SCHEME, connection_id, f"/{path}" if path else "", "", "")


def fivetran_connection_asset(
    connection_id: str,
    *,
    fivetran_conn_id: str = "fivetran_default",
    poll_interval: float = 60.0,
    outcomes: Iterable[str] | str = ("success",),
    watch: bool = True,
    extra: Mapping[str, Any] | None = None,
    group_id: str | None = None,
) -> Any:
    """An ``Asset`` for a Fivetran connection that fires when one of its syncs completes.

    ``DAG(schedule=[fivetran_connection_asset("mellow_quartz")])`` runs the DAG once each time a
    sync of ``mellow_quartz`` succeeds, whoever started it (Fivetran's schedule, another DAG, the
    UI): the watcher is the asset's only source of events (tasks of this provider emit theirs for
    :func:`task_sync_asset`). Declare the asset with the same arguments wherever it is used:
    Airflow keeps the watchers of the DAG file it parsed last, and a changed watcher starts over
    from a new baseline.
    The asset's watcher is a :class:`~fivetran_provider.event_triggers.FivetranSyncEventTrigger`
    in the triggerer; the asset event's ``extra`` carries its payload (``connection_id``,
    ``outcome``, ``succeeded_at``, ``failed_at``, ``historical``, ``dashboard_url``) under
    ``"payload"``, as Airflow stores trigger events; tasks of the triggered run read it from
    ``triggering_asset_events`` with :func:`landed_syncs` (each sync once) or, one event at a
    time, :func:`sync_payload`.

    :param connection_id: the Fivetran connection id (a literal: the asset is defined when the
        DAG is parsed).
    :param fivetran_conn_id: the Airflow connection the watcher reads Fivetran with.
    :param poll_interval: seconds between the watcher's polls (default 60).
    :param outcomes: which completions fire: ``"success"`` (default) and/or ``"failure"``.
    :param watch: attach the watcher (``False``: the plain asset, e.g. for ``inlets``).
    :param extra: the asset's own ``extra``.
    :param group_id: the connection's group (destination) id, if known: the watcher's first
        reading then joins its group's shared list read instead of being read alone.
    :raises fivetran_provider._compat.AirflowFeatureUnavailableError: on Airflow 2.
    """
    asset_cls, _alias_cls, watcher_cls = asset_classes()
    uri = connection_asset_uri(connection_id)
    watchers = []
    if watch:
        from fivetran_provider.event_triggers import FivetranSyncEventTrigger

        trigger = FivetranSyncEventTrigger(
            connection_id=connection_id,
            fivetran_conn_id=fivetran_conn_id,
            poll_interval=poll_interval,
            outcomes=outcomes,
            group_id=group_id,
        )
        watchers.append(watcher_cls(name=f"fivetran_sync_{connection_id}", trigger=trigger))
    return asset_cls(name=uri, uri=uri, extra=dict(extra or {}), watchers=watchers)


def task_sync_asset(connection_id: str) -> Any:
    """The ``Asset`` ``fivetran://<connection_id>/task-syncs``: syncs that tasks of this provider saw succeed.

    The operators and the sensor emit their events for it (never for the connection's own asset,
    whose watcher already reports every landed sync once). A DAG scheduled on it runs once per
    sync a task ran or waited for, with no watcher polling Fivetran.

    :param connection_id: the Fivetran connection id.
    :raises fivetran_provider._compat.AirflowFeatureUnavailableError: on Airflow 2.
    """
    asset_cls, _alias_cls, _watcher = asset_classes()
    uri = task_sync_asset_uri(connection_id)
    return asset_cls(name=uri, uri=uri)


def sync_outlets(connection_id: Any, *, known_to_emit: bool) -> list[Any]:
    """The outlets an operator that starts or waits for a sync declares.

    With a literal connection id and a task that only succeeds once the sync succeeded
    (``known_to_emit``), the connection's :func:`task_sync_asset`; otherwise (templated id,
    lookup by name, or a wait decided at run time) the :data:`SYNC_ALIAS` alias, through which
    :func:`emit_sync_event` adds the task-sync asset's event only after a successful sync.
    Never the connection's own asset: its watcher reports the same sync.
    On Airflow 3.0 always the alias (its ``dag.test()`` refuses an outlet asset that no DAG
    processor has registered yet); on Airflow 2 nothing is declared.

    :param connection_id: the operator's ``connection_id`` argument (may be a template or ``None``).
    :param known_to_emit: whether every success of the task means a successful sync.
    """
    from fivetran_provider._compat import AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_PLUS
    from fivetran_provider.operators._common import is_templated

    if not AIRFLOW_V_3_PLUS:
        return []
    _asset_cls, alias_cls, _watcher = asset_classes()
    if AIRFLOW_V_3_1_PLUS and known_to_emit and isinstance(connection_id, str) and not is_templated(connection_id):
        return [task_sync_asset(connection_id)]
    return [alias_cls(name=SYNC_ALIAS)]


def emit_sync_event(context: Any, task: Any, event: Mapping[str, Any]) -> bool:
    """Attach a successful sync's payload to the task's asset event (Airflow 3).

    Sets the ``extra`` of the connection's :func:`task_sync_asset` when the task declares it as an
    outlet, or adds an event for it through the :data:`SYNC_ALIAS` alias. Does nothing without either (Airflow 2,
    or outlets removed by the DAG author).

    :param context: the task context.
    :param task: the running operator.
    :param event: the :func:`~fivetran_provider.event_triggers.sync_event` payload.
    :return: whether an event was attached.
    """
    outlet_events = context.get("outlet_events") if isinstance(context, Mapping) else None
    if outlet_events is None:
        return False
    asset_cls, alias_cls, _watcher = asset_classes()
    uri = task_sync_asset_uri(event["connection_id"])
    # The same shape as the event Airflow stores for an asset watcher's trigger event.
    payload = {"from_trigger": False, "payload": dict(event)}
    for outlet in getattr(task, "outlets", None) or []:
        if isinstance(outlet, asset_cls) and urlsplit(outlet.uri).scheme == SCHEME and outlet.uri == uri:
            outlet_events[outlet].extra.update(payload)
            return True
    for outlet in getattr(task, "outlets", None) or []:
        if isinstance(outlet, alias_cls) and outlet.name == SYNC_ALIAS:
            outlet_events[outlet].add(asset_cls(name=uri, uri=uri), extra=payload)
            return True
    return False


def sync_identity(payload: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """What makes one landed sync one: its connection id, outcome and completion timestamp.

    The completion timestamp is ``succeeded_at`` for a success and ``failed_at`` for a failure,
    as Fivetran stamped it. Two events with the same identity are the same sync.

    :param payload: a :func:`~fivetran_provider.event_triggers.sync_event` payload.
    """
    outcome = str(payload.get("outcome"))
    stamp = payload.get("failed_at") if outcome == "failure" else payload.get("succeeded_at")
    return (str(payload.get("connection_id")), outcome, None if stamp is None else str(stamp))


def landed_syncs(triggering_asset_events: Any) -> list[dict[str, Any]]:
    """Each sync behind a run's ``triggering_asset_events``, once, oldest first.

    Airflow files an event added through an alias under both the asset and the alias, and a run
    may be triggered by several assets; events of the same sync (same :func:`sync_identity`) are
    read once. Events of other assets are skipped.

    :param triggering_asset_events: the task context's ``triggering_asset_events`` (a mapping of
        asset or alias to events), or ``None`` for a run with none.
    """
    unique: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for events in (triggering_asset_events or {}).values():
        for event in events:
            payload = sync_payload(event)
            if payload is not None:
                unique.setdefault(sync_identity(payload), payload)
    return sorted(unique.values(), key=lambda payload: (sync_identity(payload)[2] or "", sync_identity(payload)))


def sync_payload(asset_event: Any) -> dict[str, Any] | None:
    """The sync behind an asset event of a ``fivetran://`` asset, or ``None`` for another event.

    Events from the watcher and from the operators both store the payload of
    :func:`~fivetran_provider.event_triggers.sync_event` under ``extra["payload"]``.

    :param asset_event: an asset event (e.g. from ``triggering_asset_events``) or its ``extra``.
    """
    extra = asset_event if isinstance(asset_event, Mapping) else getattr(asset_event, "extra", None)
    payload = extra.get("payload") if isinstance(extra, Mapping) else None
    if isinstance(payload, Mapping) and "connection_id" in payload and "outcome" in payload:
        return dict(payload)
    return None

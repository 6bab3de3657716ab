"""Fivetran connections as Airflow assets: ``fivetran://<connection_id>``.

* :func:`fivetran_connection_asset` gives a DAG a schedule that runs when a connection's sync
  has landed (Airflow 3 ``AssetWatcher`` running :class:`FivetranSyncEventTrigger`).
* The operators that start or wait for a sync emit an event for the same asset when the sync
  succeeded (:func:`sync_outlets`, :func:`emit_sync_event`).

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
"""Alias outlet of tasks whose connection is only known at run time (templated or looked up by name)."""


def connection_asset_uri(connection_id: str) -> str:
    """The asset URI of a Fivetran connection: ``fivetran://<connection_id>``.

    :param connection_id: the Fivetran connection id.
    """
    return f"{SCHEME}://{fields.validate_connection_id(connection_id)}"


def normalize_fivetran_uri(parts: SplitResult) -> SplitResult:
    """Normalise a ``fivetran://`` asset URI (the provider's registered ``asset-uris`` handler).

    The connection id is the whole authority part; a trailing slash is dropped. Anything else
    (a path, a query, user info, a port) is refused.

    :param parts: the URI as split by ``urllib.parse.urlsplit``.
    :raises ValueError: when the URI does not name one connection.
    """
    path = parts.path.strip("/")
    if path or parts.query or "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(
            f"A Fivetran asset URI is fivetran://<connection_id> (nothing after the id), not {parts.geturl()!r}"
        )
    connection_id = fields.validate_connection_id(parts.netloc)
    return SplitResult(SCHEME, connection_id, "", "", "")


def fivetran_connection_asset(
    connection_id: str,
    *,
    fivetran_conn_id: str = "fivetran_default",
    poll_interval: float = 60.0,
    outcomes: Iterable[str] | str = ("success",),
    watch: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> Any:
    """An ``Asset`` for a Fivetran connection that fires when one of its syncs completes.

    ``DAG(schedule=[fivetran_connection_asset("mellow_quartz")])`` runs the DAG each time a sync of
    ``mellow_quartz`` succeeds, whoever started it (Fivetran's schedule, another DAG, the UI).
    The asset's watcher is a :class:`~fivetran_provider.event_triggers.FivetranSyncEventTrigger`
    in the triggerer; the asset event's ``extra`` carries its payload (``connection_id``,
    ``outcome``, ``succeeded_at``, ``failed_at``, ``historical``, ``dashboard_url``) under
    ``"payload"``, as Airflow stores trigger events; tasks of the triggered run read it from
    ``triggering_asset_events`` with :func:`sync_payload`.

    :param connection_id: the Fivetran connection id (a literal: the asset is defined when the
        DAG is parsed).
    :param fivetran_conn_id: the Airflow connection the watcher reads Fivetran with.
    :param poll_interval: seconds between the watcher's polls (default 60).
    :param outcomes: which completions fire: ``"success"`` (default) and/or ``"failure"``.
    :param watch: attach the watcher (``False``: the plain asset, e.g. for ``inlets``).
    :param extra: the asset's own ``extra``.
    :raises AirflowFeatureUnavailableError: on Airflow 2.
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
        )
        watchers.append(watcher_cls(name=f"fivetran_sync_{connection_id}", trigger=trigger))
    return asset_cls(name=uri, uri=uri, extra=dict(extra or {}), watchers=watchers)


def sync_outlets(connection_id: Any, *, known_to_emit: bool) -> list[Any]:
    """The outlets an operator that starts or waits for a sync declares.

    With a literal connection id and a task that only succeeds once the sync succeeded
    (``known_to_emit``), the connection's asset itself; otherwise (templated id, lookup by
    name, or a wait decided at run time) the :data:`SYNC_ALIAS` alias, through which
    :func:`emit_sync_event` adds the concrete asset's event only after a successful sync.
    On Airflow 3.0 always the alias (its ``dag.test()`` refuses an outlet asset that no DAG
    processor has registered yet); on Airflow 2 nothing is declared.

    :param connection_id: the operator's ``connection_id`` argument (may be a template or ``None``).
    :param known_to_emit: whether every success of the task means a successful sync.
    """
    from fivetran_provider._compat import AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_PLUS
    from fivetran_provider.operators._common import is_templated

    if not AIRFLOW_V_3_PLUS:
        return []
    asset_cls, alias_cls, _watcher = asset_classes()
    if AIRFLOW_V_3_1_PLUS and known_to_emit and isinstance(connection_id, str) and not is_templated(connection_id):
        uri = connection_asset_uri(connection_id)
        return [asset_cls(name=uri, uri=uri)]
    return [alias_cls(name=SYNC_ALIAS)]


def emit_sync_event(context: Any, task: Any, event: Mapping[str, Any]) -> bool:
    """Attach a successful sync's payload to the task's asset event (Airflow 3).

    Sets the ``extra`` of the connection's asset when the task declares it as an outlet, or adds
    an event for it through the :data:`SYNC_ALIAS` alias. Does nothing without either (Airflow 2,
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
    uri = connection_asset_uri(event["connection_id"])
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

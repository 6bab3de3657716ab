"""What operators that start or wait for a sync do once it succeeded: asset event and lineage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fivetran_provider._compat import AIRFLOW_V_3_PLUS

if TYPE_CHECKING:
    from fivetran_provider.hooks import FivetranHook


def merge_outlets(given: Any, connection_id: Any, *, known_to_emit: bool) -> list[Any]:
    """The user's ``outlets`` plus the connection's ``fivetran://`` asset (or the alias).

    :param given: the ``outlets`` argument as passed (``None``, one outlet or a list).
    :param connection_id: the ``connection_id`` argument (a literal, a template or ``None``).
    :param known_to_emit: whether every success of the task means a successful sync.
    """
    from fivetran_provider.assets import sync_outlets

    existing = [] if given is None else list(given) if isinstance(given, (list, tuple)) else [given]
    return [*existing, *sync_outlets(connection_id, known_to_emit=known_to_emit)]


def sync_outcome(result: Any) -> Mapping[str, Any] | None:
    """The outcome of the waited-for sync inside an operator's result, if it succeeded.

    :param result: what the operator returns (a result with ``sync``, or the outcome itself).
    """
    if not isinstance(result, Mapping):
        return None
    outcome = result.get("sync", result)
    if isinstance(outcome, Mapping) and outcome.get("status") == "success" and outcome.get("connection_id"):
        return outcome
    return None


def after_sync(
    operator: Any, context: Any, hook: FivetranHook, result: Any, *, historical: bool, lineage: bool = True
) -> None:
    """Emit the connection's asset event and read lineage, when ``result`` shows a successful sync.

    :param operator: the running operator.
    :param context: the task context.
    :param hook: the operator's hook.
    :param result: the operator's return value.
    :param historical: whether the sync was a historical one.
    :param lineage: read the connection's tables for OpenLineage (operators that run the sync).
    """
    outcome = sync_outcome(result)
    if outcome is None:
        return
    connection_id = str(outcome["connection_id"])
    if AIRFLOW_V_3_PLUS:
        from fivetran_provider.assets import emit_sync_event
        from fivetran_provider.event_triggers import sync_event

        event = sync_event(connection_id, "success", outcome.get("succeeded_at"), outcome.get("failed_at"), historical)
        if emit_sync_event(context, operator, event):
            operator.log.info("Asset event for fivetran://%s: %s", connection_id, event)
    if not lineage:
        return
    from fivetran_provider.lineage import read_sync_lineage

    operator._sync_lineage = read_sync_lineage(hook, connection_id, operator.log)

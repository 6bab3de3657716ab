"""The same settings on many connections: plan per connection, apply all or nothing, or report drift.

Used by ``UpdateFivetranConnectionOperator`` when it is given ``connection_ids`` or a
``group_id``. Three phases, over one HTTP session and at most ``max_parallel`` connections at a
time:

1. **Plan**: read every connection and work out, per connection, only the fields that differ.
   A connection that cannot be read, or for which the request is invalid, stops the task here,
   before anything is sent.
2. **Dry run** (``dry_run=True``): the plan is the result, a drift report, as XCom value and as a
   table in the log.
3. **Apply**: one PATCH per connection that differs. If one fails, no further connection is
   started, and every connection this task changed (or may have changed: any answer but a refusal) is put
   back from its recorded earlier values. What cannot be put back is named in the error and left
   in the record stored under :data:`~fivetran_provider.changes.RECORD_XCOM_KEY`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fivetran_provider import changes, fields
from fivetran_provider.exceptions import (
    FivetranPartialFailureError,
    short_error,
)
from fivetran_provider.operators._common import (
    apply_change,
    describe_failures,
    quote_ids,
    refused,
    run_each,
    short_errors,
)

if TYPE_CHECKING:
    from fivetran_provider.hooks import FivetranHook


@dataclass
class ConnectionPlan:
    """What one connection needs.

    :param connection_id: the Fivetran connection id.
    :param current: the connection as read.
    :param body: the validated request for it.
    :param diff: ``{field: (current, requested)}`` of the fields that differ.
    """

    connection_id: str
    current: dict[str, Any]
    body: dict[str, Any]
    diff: dict[str, tuple[Any, Any]]

    def entry(self, *, patched: bool, after_state: dict[str, Any] | None = None) -> dict[str, Any]:
        """This plan as a change-record entry (values masked).

        :param patched: whether the PATCH was sent.
        :param after_state: the connection as Fivetran returned it after the PATCH, if sent.
        """
        return changes.build_entry(
            self.connection_id, self.diff, patched=patched, current=self.current, after_state=after_state
        )


def plan_all(
    hook: FivetranHook, ids: Sequence[str], requested: Mapping[str, Any], *, max_parallel: int, log: Any
) -> dict[str, ConnectionPlan]:
    """Read every connection and plan its change; fail before sending anything if any cannot be planned.

    :param hook: the hook (shared by the worker threads).
    :param ids: the connections.
    :param requested: the PATCH fields and their wanted values.
    :param max_parallel: connections read at the same time.
    :param log: the task's logger.
    :raises FivetranPartialFailureError: naming every connection that could not be planned, and why.
    """

    def plan(connection_id: str) -> ConnectionPlan:
        current = hook.get_connection_details(connection_id)
        body = fields.validate_update(requested, current=current)
        return ConnectionPlan(connection_id, current, body, fields.diff_update(current, body))

    plans, failures, _ = run_each(ids, plan, max_parallel=max_parallel, stop_on_error=False)
    if failures:
        raise FivetranPartialFailureError(
            f"Nothing was changed: {len(failures)} of {len(ids)} connection(s) could not be planned: "
            + describe_failures(failures),
            short_errors(failures),
            [],
        )
    log.info(
        "Planned %d connection(s): %d differ, %d already as requested",
        len(ids),
        sum(1 for plan in plans.values() if plan.diff),
        sum(1 for plan in plans.values() if not plan.diff),
    )
    return {cid: plans[cid] for cid in ids}


def drift_report(plans: Mapping[str, ConnectionPlan]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per connection, each requested setting that differs: ``{"current": ..., "requested": ...}`` (masked).

    Connections already as requested map to ``{}``.

    :param plans: the plans from :func:`plan_all`.
    """
    report: dict[str, dict[str, dict[str, Any]]] = {}
    for connection_id, plan in plans.items():
        entry = plan.entry(patched=False)
        report[connection_id] = {
            name: {"current": change["before"], "requested": change["after"]}
            for name, change in entry["changes"].items()
        }
    return report


def drift_table(report: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The drift report as a fixed-width text table for the task log.

    :param report: from :func:`drift_report`.
    """
    rows = [("connection", "setting", "current", "requested")]
    for connection_id, drift in report.items():
        if not drift:
            rows.append((connection_id, "-", "(as requested)", ""))
        for name, values in drift.items():
            current, wanted = values["current"], values["requested"]
            if isinstance(current, Mapping) and isinstance(wanted, Mapping):
                for key in wanted:
                    rows.append((connection_id, f"{name}.{key}", _cell(current.get(key)), _cell(wanted[key])))
            else:
                rows.append((connection_id, name, _cell(current), _cell(wanted)))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def apply_all(
    hook: FivetranHook,
    plans: Mapping[str, ConnectionPlan],
    record: dict[str, Any],
    *,
    max_parallel: int,
    log: Any,
    context: Any,
) -> None:
    """Send each connection's differing fields; on any failure, put back what this task changed.

    :param hook: the hook (shared by the worker threads).
    :param plans: the plans from :func:`plan_all`, in order.
    :param record: the change record to fill (a new ``update`` record).
    :param max_parallel: connections changed at the same time.
    :param log: the task's logger.
    :param context: the task context; a record of what stays changed after a failed rollback is
        pushed under :data:`~fivetran_provider.changes.RECORD_XCOM_KEY`.
    :raises FivetranPartialFailureError: after the rollback, naming what failed and what (if
        anything) could not be put back.
    """
    todo = [cid for cid, plan in plans.items() if plan.diff]
    for cid, plan in plans.items():
        if not plan.diff:
            changes.add_unchanged(record, cid)
    if not todo:
        log.info("Every connection already has the requested settings; no PATCH sent.")
        return

    def send(connection_id: str) -> dict[str, Any]:
        plan = plans[connection_id]
        after_state = hook.update_connection(
            connection_id, current_state=plan.current, **fields.body_for_changes(plan.diff, plan.body)
        )
        entry = plan.entry(patched=True, after_state=after_state)
        log.info("Connection %s changed: %s", connection_id, changes.describe(entry))
        return entry

    results, failures, not_started = run_each(todo, send, max_parallel=max_parallel, stop_on_error=True)
    if not failures:
        changes.add_results(record, todo, results)
        return
    failed = describe_failures(failures)
    uncertain = [cid for cid in todo if cid in failures and not refused(failures[cid])]
    to_undo = [cid for cid in todo if cid in results] + uncertain
    log.error("Updating failed (%s); putting back the %d connection(s) this task changed", failed, len(to_undo))

    undo_entries = {cid: results.get(cid) or plans[cid].entry(patched=True) for cid in to_undo}

    def undo(connection_id: str) -> dict[str, str]:
        desired, skipped = changes.restore_plan(undo_entries[connection_id])
        if desired:
            # Read again: an uncertain PATCH may not have landed, and then nothing is sent.
            apply_change(hook, connection_id, desired, log=log)
        return skipped

    undone, undo_failures, _ = run_each(to_undo, undo, max_parallel=max_parallel, stop_on_error=False)
    left: list[str] = []
    problems: list[str] = []
    for cid in to_undo:
        if cid in undo_failures:
            left.append(cid)
            problems.append(f"{cid} (rollback failed: {short_error(undo_failures[cid])})")
        elif undone.get(cid):
            left.append(cid)
            problems.append(f"{cid} (cannot put back: {', '.join(sorted(undone[cid]))})")
    message = f"Could not update {len(failures)} of {len(todo)} connection(s): {failed}. " + (
        f"Not attempted: {quote_ids(not_started)}. " if not_started else ""
    )
    if problems:
        message += "Rollback INCOMPLETE; still changed by this task: " + "; ".join(problems) + "."
        remaining = changes.new_record("update")
        for cid in left:
            changes.add_entry(remaining, undo_entries[cid])
        if context.get("ti") is not None:
            context["ti"].xcom_push(key=changes.RECORD_XCOM_KEY, value=remaining)
    else:
        message += f"Rolled back: {quote_ids(to_undo)} are as they were; nothing is left changed by this task."
    raise FivetranPartialFailureError(message, short_errors(failures), left)

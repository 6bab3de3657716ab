"""``RestoreFivetranConnectionOperator``: undo what an earlier task of this provider changed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from fivetran_provider import changes, fields
from fivetran_provider._compat import BaseOperator
from fivetran_provider.exceptions import (
    FivetranError,
    FivetranPartialFailureError,
    FivetranValidationError,
    short_error,
)
from fivetran_provider.hooks.core import DEFAULT_CONN_ID
from fivetran_provider.links import FivetranConnectionLink
from fivetran_provider.operators._common import (
    DEFAULT_MAX_PARALLEL,
    CheckedArgumentsMixin,
    apply_change,
    check_max_parallel,
    describe_failures,
    pull_record,
    reject_unknown_arguments,
    run_each,
    short_errors,
)

if TYPE_CHECKING:
    from fivetran_provider._compat import Context
    from fivetran_provider.hooks import FivetranHook


class RestoreFivetranConnectionOperator(CheckedArgumentsMixin, BaseOperator):
    """Put connections back as they were before an Update, Pause, Resume or Restore task changed them.

    Reads the change record that the ``restore_from`` task returned (a list of records for a
    mapped task) and re-applies each recorded ``before`` value, reading every connection first
    and sending only what differs now. Made to be a teardown, e.g. after a temporary schedule
    change::

        switch = UpdateFivetranConnectionOperator(task_id="switch", connection_id=..., schedule_type="manual")
        restore = RestoreFivetranConnectionOperator(task_id="restore", restore_from="switch")
        switch >> work >> restore.as_teardown(setups=switch)

    Some changes cannot be undone, and the task says so in its log instead of guessing: a
    ``config`` secret (Fivetran reads it back as ``"******"``, so its earlier value is unknown and
    ``"******"`` is never written back), write-only fields such as ``auth``, a historical sync
    that has started, and values that were not set before. Restoring is best effort: every
    connection is tried, then the task fails naming those it could not restore.

    Returns a change record (:mod:`fivetran_provider.changes`) of what the restore changed.

    :param restore_from: the task id whose change record to undo (templated).
    :param fivetran_conn_id: the Airflow connection holding the Fivetran API key and secret (templated).
    :param max_parallel: how many connections are restored at the same time (1 to 64, default 16;
        templated).
    :param dry_run: log what would be restored and send nothing (templated). The attribute shadows
        ``BaseOperator.dry_run()``, which only renders templates.
    """

    template_fields: Sequence[str] = ("restore_from", "fivetran_conn_id", "max_parallel", "dry_run")
    argument_checks: ClassVar[Mapping[str, Callable[[Any], Any]]] = {
        "max_parallel": check_max_parallel,
        "dry_run": lambda value: fields.coerce_bool("dry_run", value),
    }
    operator_extra_links = (FivetranConnectionLink(),)
    ui_color = "#e8e0f8"

    def __init__(
        self,
        *,
        restore_from: str,
        fivetran_conn_id: str = DEFAULT_CONN_ID,
        max_parallel: int | str = DEFAULT_MAX_PARALLEL,
        dry_run: bool | str = False,
        **kwargs: Any,
    ) -> None:
        reject_unknown_arguments(type(self), kwargs)
        super().__init__(**kwargs)
        if not isinstance(restore_from, str) or not restore_from.strip():
            raise FivetranValidationError("restore_from", restore_from, "the task id of the task to undo")
        self.restore_from = restore_from
        self.fivetran_conn_id = fivetran_conn_id
        self.max_parallel = max_parallel
        self.dry_run = dry_run  # type: ignore[method-assign,assignment]  # see the dry_run parameter
        # Literal values are checked when the DAG is parsed; templated ones after rendering.
        self.check_arguments(rendered=False)

    @property
    def dry_run_enabled(self) -> bool:
        """Whether this run only plans (``dry_run``, rendered and coerced)."""
        return fields.coerce_bool("dry_run", self.dry_run)

    def plan(self, value: Any) -> tuple[list[str], dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
        """Work out what to send from a change record (or a list of them).

        When a connection appears in several entries, the earliest recorded ``before`` of each
        field wins, so undoing a chain of changes returns to the state before the first one.

        :param value: the XCom value of the ``restore_from`` task.
        :return: ``(connection ids, fields to send per connection, not restorable per connection)``.
        """
        ids: list[str] = []
        desired: dict[str, dict[str, Any]] = {}
        skipped: dict[str, dict[str, str]] = {}
        for entry in changes.entries(value):
            connection_id = fields.validate_connection_id(entry["connection_id"])
            wanted, not_restorable = changes.restore_plan(entry)
            if connection_id not in ids:
                ids.append(connection_id)
                desired[connection_id] = {}
                skipped[connection_id] = {}
            for name, before in wanted.items():
                if name == "config" and isinstance(before, dict):
                    merged = desired[connection_id].setdefault("config", {})
                    for key, item in before.items():
                        merged.setdefault(key, item)
                else:
                    desired[connection_id].setdefault(name, before)
            for name, reason in not_restorable.items():
                skipped[connection_id].setdefault(name, reason)
        return ids, desired, skipped

    def execute(self, context: Context) -> dict[str, Any]:
        """Re-apply the recorded earlier values where they differ now, and return the change record.

        :param context: the task context.
        """
        self.check_arguments(rendered=True)
        record = changes.new_record("restore", dry_run=self.dry_run_enabled)
        value = pull_record(context, self.restore_from)
        if value is None:
            FivetranConnectionLink.persist_first(context, [], self.log)
            self.log.warning(
                "Task %s left no change record in this run (it did not run or changed nothing); nothing to restore.",
                self.restore_from,
            )
            return record
        ids, desired, skipped = self.plan(value)
        FivetranConnectionLink.persist_first(context, ids, self.log)
        for connection_id in ids:
            for name, reason in skipped[connection_id].items():
                # A field that had no value before is expected, not a problem worth a warning.
                say = self.log.info if reason.startswith("was not set before") else self.log.warning
                say("Connection %s: not restoring %s: %s.", connection_id, name, reason)
        todo = [cid for cid in ids if desired[cid]]
        for connection_id in ids:
            if not desired[connection_id]:
                self.log.warning(
                    "Connection %s: nothing recorded by %s can be restored.", connection_id, self.restore_from
                )
                changes.add_unchanged(record, connection_id)
        if not todo:
            self.log.info("Nothing to restore from task %s.", self.restore_from)
            return record
        self.log.info(
            "Restoring %d connection(s) changed by task %s: %s", len(todo), self.restore_from, ", ".join(todo)
        )
        from fivetran_provider.hooks import FivetranHook

        hook = FivetranHook(fivetran_conn_id=self.fivetran_conn_id)
        try:
            hook.session  # noqa: B018 - read the Airflow connection once, before worker threads share the hook

            def work(connection_id: str) -> dict[str, Any] | None:
                return apply_change(
                    hook, connection_id, desired[connection_id], log=self.log, dry_run=self.dry_run_enabled
                )

            results, failures, _ = run_each(
                todo, work, max_parallel=check_max_parallel(self.max_parallel), stop_on_error=False
            )
            if failures and not self.dry_run_enabled:
                # A second chance for each failed connection (apply_change reads it first, so
                # nothing already applied is sent again), then a read to say what is left.
                failed = [cid for cid in todo if cid in failures]
                retried, still_failing, _ = run_each(
                    failed, work, max_parallel=check_max_parallel(self.max_parallel), stop_on_error=False
                )
                results.update(retried)
                left = {cid: failures[cid] for cid in failed if cid in still_failing}
                not_restored, unverified = self._read_back(hook, left, desired)
                failures = left
            else:
                not_restored, unverified = {}, {}
        finally:
            hook.close()
        changes.add_results(record, todo, results)
        if failures:
            paused = [cid for cid, names in not_restored.items() if "paused" in names]
            raise FivetranPartialFailureError(
                f"Could not restore {len(failures)} of {len(todo)} connection(s): "
                + describe_failures(failures)
                + ". Not restored: "
                + (", ".join(f"{cid} ({', '.join(names)})" for cid, names in not_restored.items()) or "none")
                + (f"; still PAUSED: {', '.join(paused)}" if paused else "")
                + "; could not verify: "
                + (", ".join(f"{cid} ({reason})" for cid, reason in unverified.items()) or "none")
                + f". Restored: {', '.join(record['connection_ids']) or 'none'}.",
                short_errors(failures),
                list(record["connection_ids"]),
                unverified=list(unverified),
            )
        return record

    def _read_back(
        self, hook: FivetranHook, failed: Mapping[str, BaseException], desired: Mapping[str, dict[str, Any]]
    ) -> tuple[dict[str, list[str]], dict[str, str]]:
        """Read each failed connection (two chances): which fields are still not restored, which reads failed."""
        not_restored: dict[str, list[str]] = {}
        unverified: dict[str, str] = {}
        for connection_id in failed:
            reason = ""
            for _chance in range(2):
                try:
                    current = hook.get_connection_details(connection_id)
                except Exception as error:
                    reason = short_error(error)
                    continue
                try:
                    body = fields.validate_update(desired[connection_id], current=current)
                    missing = sorted(fields.diff_update(current, body))
                except FivetranError as error:
                    missing = [short_error(error)]
                if missing:
                    not_restored[connection_id] = missing
                break
            else:
                unverified[connection_id] = reason or "no answer"
        return not_restored, unverified

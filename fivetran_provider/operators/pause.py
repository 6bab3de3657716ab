"""``PauseConnectionOperator`` and ``ResumeConnectionOperator``: pause connections around your own tasks.

Use them as a setup/teardown pair so the connections come back even when the work in between
fails::

    pause = PauseConnectionOperator(task_id="pause", group_id="{{ params.group_id }}")
    resume = ResumeConnectionOperator(task_id="resume", restore_from="pause")
    pause >> migrate >> resume.as_teardown(setups=pause)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from fivetran_provider import changes, fields
from fivetran_provider._compat import BaseOperator
from fivetran_provider.exceptions import (
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
    boolean,
    check_max_parallel,
    coerce_id_list,
    describe_failures,
    list_group,
    optional_id,
    pull_record,
    quote_ids,
    refused,
    reject_unknown_arguments,
    run_each,
    short_errors,
)
from fivetran_provider.operators._converge import SentTracker, describe_left, settle_paused

if TYPE_CHECKING:
    from fivetran_provider._compat import Context
    from fivetran_provider.hooks import FivetranHook


class _PauseStateOperator(CheckedArgumentsMixin, BaseOperator):
    """Set ``paused`` on one connection, a list of them, or every connection of a group.

    :param connection_id: one Fivetran connection id (templated).
    :param connection_ids: a list of connection ids, or its JSON text (templated).
    :param group_id: a Fivetran group (destination) id: every connection of it (templated).
    :param fivetran_conn_id: the Airflow connection holding the Fivetran API key and secret (templated).
    :param max_parallel: how many connections are changed at the same time (1 to 64; templated).
    :param dry_run: log the planned changes and send nothing (templated). The attribute shadows
        ``BaseOperator.dry_run()``, which only renders templates.
    :param connection_name: with ``group_id``: only the connection of that group with this name
        (its ``schema``), looked up when the task runs (templated).
    """

    template_fields: Sequence[str] = (
        "connection_id",
        "connection_ids",
        "group_id",
        "fivetran_conn_id",
        "connection_name",
        "max_parallel",
        "dry_run",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"connection_ids": "json"}
    argument_checks: ClassVar[Mapping[str, Callable[[Any], Any]]] = {
        "connection_id": optional_id("connection_id"),
        "connection_ids": lambda value: None if value is None else coerce_id_list("connection_ids", value),
        "group_id": optional_id("group_id"),
        "max_parallel": check_max_parallel,
        "dry_run": boolean("dry_run"),
    }
    operator_extra_links = (FivetranConnectionLink(),)

    target_paused: ClassVar[bool]
    operation: ClassVar[str]
    verb: ClassVar[str]

    def __init__(
        self,
        *,
        connection_id: str | None = None,
        connection_ids: list[str] | str | None = None,
        group_id: str | None = None,
        fivetran_conn_id: str = DEFAULT_CONN_ID,
        max_parallel: int | str = DEFAULT_MAX_PARALLEL,
        dry_run: bool | str = False,
        connection_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        reject_unknown_arguments(type(self), kwargs)
        super().__init__(**kwargs)
        self.connection_name = connection_name
        if connection_name is not None:
            from fivetran_provider.lookup import check_target

            check_target(type(self).__name__, connection_id or connection_ids, connection_name, group_id)
        self.connection_id = connection_id
        self.connection_ids = connection_ids
        self.group_id = group_id
        self.fivetran_conn_id = fivetran_conn_id
        self.max_parallel = max_parallel
        self.dry_run = dry_run  # type: ignore[method-assign,assignment]  # see the dry_run parameter
        self._check_targets(self._target_arguments())
        # Literal values are checked when the DAG is parsed; templated ones after rendering.
        self.check_arguments(rendered=False)

    @property
    def dry_run_enabled(self) -> bool:
        """Whether this run only plans (``dry_run``, rendered and coerced)."""
        return fields.coerce_bool("dry_run", self.dry_run)

    # ------------------------------------------------------------------ targets

    def _target_arguments(self) -> dict[str, Any]:
        return {"connection_id": self.connection_id, "connection_ids": self.connection_ids, "group_id": self.group_id}

    def _check_targets(self, targets: Mapping[str, Any]) -> None:
        given = [name for name, value in targets.items() if value is not None]
        if len(given) != 1:
            names = ", ".join(targets)
            raise FivetranValidationError(
                "targets",
                ", ".join(given) or "none",
                f"exactly one of {names}",
                reason=f"{type(self).__name__} needs to know which connections to {self.verb}.",
            )

    def resolve_targets(self, hook: FivetranHook, context: Context) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """The connections to work on, and what is already known about them (from a group listing).

        :param hook: the hook.
        :param context: the task context.
        """
        if self.connection_id is not None:
            return [fields.validate_connection_id(self.connection_id)], {}
        if self.connection_ids is not None:
            return coerce_id_list("connection_ids", self.connection_ids), {}
        if self.connection_name is not None:
            from fivetran_provider.lookup import resolve_connection_id

            found = resolve_connection_id(
                hook, connection_name=self.connection_name, group_id=self.group_id, log=self.log
            )
            return [found], {}
        known = list_group(hook, self.group_id, self.log)
        return list(known), known

    # ------------------------------------------------------------------ execution

    def execute(self, context: Context) -> dict[str, Any]:
        """Change ``paused`` where it differs, then return the change record.

        :param context: the task context.
        """
        self.check_arguments(rendered=True)
        record = changes.new_record(self.operation, dry_run=self.dry_run_enabled)
        from fivetran_provider.hooks import FivetranHook

        hook = FivetranHook(fivetran_conn_id=self.fivetran_conn_id)
        try:
            if self.connection_id is not None:
                FivetranConnectionLink.persist(context, fields.validate_connection_id(self.connection_id))
            elif self.group_id is not None:
                FivetranConnectionLink.persist_group(context, fields.validate_connection_id(self.group_id, "group_id"))
            elif self.connection_ids is not None:
                FivetranConnectionLink.persist_first(
                    context, coerce_id_list("connection_ids", self.connection_ids), self.log
                )
            hook.session  # noqa: B018 - read the Airflow connection once, before worker threads share the hook
            ids, known = self.resolve_targets(hook, context)
            if all(value is None for value in (self.connection_id, self.connection_ids, self.group_id)):
                FivetranConnectionLink.persist_first(context, ids, self.log)  # the ids of an earlier record
            if not ids:
                self.log.warning("No connections to %s.", self.verb)
                return record
            self._run(hook, ids, known, record)
        finally:
            hook.close()
        self._log_summary(record)
        return record

    def _work(
        self, hook: FivetranHook, known: Mapping[str, dict[str, Any]], sent: SentTracker
    ) -> Callable[[str], dict[str, Any] | None]:
        def work(connection_id: str) -> dict[str, Any] | None:
            return apply_change(
                hook,
                connection_id,
                {"paused": self.target_paused},
                log=self.log,
                current=known.get(connection_id),
                dry_run=self.dry_run_enabled,
                before_send=sent.note,
            )

        return work

    def _run(
        self,
        hook: FivetranHook,
        ids: list[str],
        known: Mapping[str, dict[str, Any]],
        record: dict[str, Any],
    ) -> None:
        """Set every connection; after failures, try the failed ones again and read them back.

        A failed connection is settled (:func:`~fivetran_provider.operators._converge.settle_paused`):
        read, set again if still wrong, read back. One read back in the wanted state counts as
        done; the error lists exactly those still in the other state and those that could not be
        read.
        """
        sent = SentTracker()
        results, failures, _ = run_each(
            ids, self._work(hook, known, sent), max_parallel=check_max_parallel(self.max_parallel), stop_on_error=False
        )
        changes.add_results(record, ids, results)
        if not failures or self.dry_run_enabled:
            if failures:
                raise FivetranPartialFailureError(
                    "Dry run: could not plan " + describe_failures(failures),
                    short_errors(failures),
                )
            return
        failed = [cid for cid in ids if cid in failures]
        settled = settle_paused(hook, failed, self.target_paused, max_parallel=check_max_parallel(self.max_parallel))
        for connection_id in settled.done:
            if connection_id in sent or connection_id in settled.set_here:
                before = not self.target_paused
                changes.add_entry(
                    record,
                    changes.build_entry(connection_id, {"paused": (before, self.target_paused)}, patched=True),
                )
            else:
                changes.add_unchanged(record, connection_id)
        if not settled.wrong and not settled.unverified:
            self.log.warning(
                "%s %s after a second try (first errors: %s).",
                f"{self.operation.capitalize()}d",
                quote_ids(failed),
                "; ".join(f"{cid}: {short_error(failures[cid])}" for cid in failed),
            )
            return
        state = "RUNNING" if self.target_paused else "PAUSED"
        changed = list(record["connection_ids"])
        raise FivetranPartialFailureError(
            f"Could not {self.verb} {len(settled.wrong) + len(settled.unverified)} of {len(ids)} connection(s): "
            + "; ".join(f"{cid}: {short_error(failures[cid])}" for cid in failed)
            + f". Left: {describe_left(settled, state)}."
            + f" {self.operation.capitalize()}d: {quote_ids(changed)}.",
            {cid: short_error(failures[cid]) for cid in failed if cid not in settled.done},
            changed,
            unverified=list(settled.unverified),
        )

    def _log_summary(self, record: Mapping[str, Any]) -> None:
        if record["dry_run"]:
            planned = [entry["connection_id"] for entry in record["connections"]]
            self.log.info("Dry run: would %s %s; nothing sent.", self.verb, quote_ids(planned))
        else:
            self.log.info("%s: %s.", f"{self.operation.capitalize()}d", quote_ids(record["connection_ids"]))
        if record["unchanged"]:
            self.log.info(
                "Left alone (already %s): %s.",
                "paused" if self.target_paused else "running",
                quote_ids(record["unchanged"]),
            )


class PauseConnectionOperator(_PauseStateOperator):
    """Pause Fivetran connections, all or nothing, and record which ones this task paused.

    Give exactly one of ``connection_id``, ``connection_ids`` or ``group_id`` (every connection
    of that destination group). Connections that are already paused are left alone and not
    listed, so a later ``ResumeConnectionOperator(restore_from=<this task>)`` does not resume a
    connection someone paused on purpose. Connections are changed in parallel
    (``max_parallel``) over one HTTP session, with at most one GET and one PATCH each (none
    when a group listing already shows them paused).

    If pausing fails for any connection, every connection this attempt sent a pause to (whatever
    its answer) is read back and resumed before the task fails, so a failed attempt leaves
    nothing paused and a retry starts clean. If that rollback fails too, the error names exactly
    the connections still paused by this task, and separately those whose state could not be
    read ("could not verify"); it says nothing is left paused only when every one was read back
    running.

    Returns a change record (:mod:`fivetran_provider.changes`); ``connection_ids`` lists the
    connections this task paused.

    :param connection_id: one Fivetran connection id (templated).
    :param connection_ids: a list of connection ids, or its JSON text (templated).
    :param group_id: a Fivetran group (destination) id: every connection of it (templated).
    :param fivetran_conn_id: the Airflow connection holding the Fivetran API key and secret (templated).
    :param max_parallel: how many connections are changed at the same time (1 to 64, default 16).
    :param dry_run: log which connections would be paused and send nothing.
    """

    target_paused = True
    operation = "pause"
    verb = "pause"
    ui_color = "#ffe2c6"

    def _run(
        self,
        hook: FivetranHook,
        ids: list[str],
        known: Mapping[str, dict[str, Any]],
        record: dict[str, Any],
    ) -> None:
        sent = SentTracker()
        results, failures, not_started = run_each(
            ids, self._work(hook, known, sent), max_parallel=check_max_parallel(self.max_parallel), stop_on_error=True
        )
        if not failures:
            changes.add_results(record, ids, results)
            return
        # Every connection a pause was sent to may be paused, whatever the error said: read each
        # back and resume it. Only those read back running count as rolled back.
        touched = [cid for cid in ids if cid in sent and (cid not in failures or not refused(failures[cid]))]
        failed = describe_failures(failures)
        self.log.error(
            "Pausing failed for %d connection(s) (%s); resuming the %d this attempt sent a pause to: %s",
            len(failures),
            failed,
            len(touched),
            quote_ids(touched),
        )
        settled = settle_paused(hook, touched, False, max_parallel=check_max_parallel(self.max_parallel))
        message = f"Could not pause {len(failures)} of {len(ids)} connection(s): {failed}. " + (
            f"{len(not_started)} connection(s) were not attempted. " if not_started else ""
        )
        if settled.wrong or settled.unverified:
            message += (
                "Rolling back FAILED: "
                + describe_left(settled, "PAUSED", " by this task")
                + ". Resume them, e.g. with ResumeConnectionOperator(connection_ids=[...])."
            )
        else:
            message += (
                f"Rolled back: resumed {quote_ids(settled.done)}; nothing is left paused by this task "
                "(every connection it sent a pause to was read back running)."
            )
        raise FivetranPartialFailureError(
            message,
            short_errors(failures),
            settled.wrong,
            unverified=list(settled.unverified),
        )


class ResumeConnectionOperator(_PauseStateOperator):
    """Resume Fivetran connections; with ``restore_from``, exactly those a pause task paused.

    Give exactly one of ``restore_from`` (the task id of a ``PauseConnectionOperator``, or of any
    task of this provider whose change record paused connections), ``connection_id``,
    ``connection_ids`` or ``group_id``. With ``restore_from`` a connection that was already
    paused before that task ran stays paused. Connections that are already running are left
    alone. Made to be a teardown::

        pause >> work >> ResumeConnectionOperator(task_id="resume", restore_from="pause").as_teardown(setups=pause)

    Resuming is best effort: every connection is tried, and the task fails afterwards naming
    the connections that remain paused (an Airflow retry resumes only those, since the others
    are running again).

    Returns a change record (:mod:`fivetran_provider.changes`); ``connection_ids`` lists the
    connections this task resumed.

    :param restore_from: task id whose change record says which connections to resume (templated).
    :param connection_id: one Fivetran connection id (templated).
    :param connection_ids: a list of connection ids, or its JSON text (templated).
    :param group_id: a Fivetran group (destination) id: every connection of it (templated).
    :param fivetran_conn_id: the Airflow connection holding the Fivetran API key and secret (templated).
    :param max_parallel: how many connections are changed at the same time (1 to 64, default 16).
    :param dry_run: log which connections would be resumed and send nothing.
    """

    template_fields: Sequence[str] = ("restore_from", *_PauseStateOperator.template_fields)
    target_paused = False
    operation = "resume"
    verb = "resume"
    ui_color = "#d6f5d6"

    def __init__(self, *, restore_from: str | None = None, **kwargs: Any) -> None:
        self.restore_from = restore_from
        super().__init__(**kwargs)

    def _target_arguments(self) -> dict[str, Any]:
        return {"restore_from": self.restore_from, **super()._target_arguments()}

    def resolve_targets(self, hook: FivetranHook, context: Context) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """The connections to resume: those the ``restore_from`` task paused, or the ones given.

        :param hook: the hook.
        :param context: the task context.
        """
        if self.restore_from is None:
            return super().resolve_targets(hook, context)
        value = pull_record(context, self.restore_from)
        if value is None:
            self.log.warning(
                "Task %s left no change record in this run (it did not run, or paused nothing); nothing to resume.",
                self.restore_from,
            )
            return [], {}
        ids = changes.paused_ids(value)
        self.log.info("Task %s paused %d connection(s): %s", self.restore_from, len(ids), quote_ids(ids))
        return ids, {}

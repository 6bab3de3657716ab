"""``UpdateFivetranConnectionOperator``: change any setting of one Fivetran connection, diff-only and undoable."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from fivetran_provider import changes, fields, secrets
from fivetran_provider._compat import BaseOperator, default_deferrable
from fivetran_provider.exceptions import FivetranValidationError
from fivetran_provider.hooks.core import DEFAULT_CONN_ID
from fivetran_provider.lineage import SyncLineageMixin
from fivetran_provider.links import FivetranConnectionLink
from fivetran_provider.lookup import resolve_connection_id
from fivetran_provider.operators._common import (
    ASSUME_NEEDS_MET,
    DEFAULT_MAX_PARALLEL,
    CheckedArgumentsMixin,
    apply_change,
    boolean,
    check_literal_fields,
    check_max_parallel,
    coerce_id_list,
    is_templated,
    list_group,
    optional_id,
    quote_ids,
    reject_unknown_arguments,
)
from fivetran_provider.operators.sync import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT, SyncWaitMixin

if TYPE_CHECKING:
    from fivetran_provider._compat import Context

F = TypeVar("F", bound=Callable[..., Any])

FIELD_DEFAULTS: Mapping[str, Any] = {"run_setup_tests": False}
"""Defaults of PATCH-field arguments that are not ``None`` (not given)."""

SECRET_FIELDS: tuple[str, ...] = tuple(name for name in fields.PATCH_FIELDS if fields.FIELDS[name].sensitive)
"""PATCH fields that may carry credentials."""

_ANNOTATIONS: Mapping[str, str] = {
    "bool": "bool | str | None",
    "int": "int | str | None",
    "object": "dict[str, Any] | str | None",
}


def with_field_keywords(init: F) -> F:
    """Declare every PATCH field of the catalogue as a keyword argument of an operator's ``__init__``.

    The function itself takes them through ``**kwargs``; the declared signature is what Airflow
    reads to accept them in ``partial()``/``expand()`` and what ``help()`` and IDEs show.

    :param init: the ``__init__`` to decorate.
    """
    signature = inspect.signature(init)
    own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    rest = [p for p in signature.parameters.values() if p.kind is inspect.Parameter.VAR_KEYWORD]
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=FIELD_DEFAULTS.get(name),
            annotation=_ANNOTATIONS.get(fields.FIELDS[name].kind, "str | None"),
        )
        for name in fields.PATCH_FIELDS
        if name not in signature.parameters
    ]
    init.__signature__ = signature.replace(parameters=[*own, *added, *rest])  # type: ignore[attr-defined]
    return init


class SecretFieldsMixin:
    """Keep credential-bearing fields out of logs, rendered fields and reprs.

    Right after the templates are rendered (and at the start of ``execute``), the secrets among
    ``config``, ``auth`` and ``external_secrets_keys_config`` are registered with Airflow's secret
    masker (:mod:`fivetran_provider.secrets`: every string of the write-only fields, config values
    under keys the definition marks ``format: password`` or whose names mark a credential; values
    Fivetran reads back masked are registered once the connection is read, before the PATCH). The
    real values move to a private attribute, and the public attributes (which the "Rendered
    Template" view stores before the connection is read) are replaced by masked copies: every
    ``config`` value reads ``"******"``, since which keys Fivetran masks is not known yet, and
    write-only fields read ``"******"`` as a whole.
    """

    _secret_values: dict[str, Any]
    _secret_field_names: ClassVar[tuple[str, ...]] = SECRET_FIELDS

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Any,
        jinja_env: Any,
        seen_oids: set[int],
    ) -> None:
        super()._do_render_template_fields(  # type: ignore[misc]
            parent, template_fields, context, jinja_env, seen_oids
        )
        if parent is self:
            self._protect_secrets()

    def _protect_secrets(self) -> None:
        if getattr(self, "_secret_values", None) is None:
            object.__setattr__(self, "_secret_values", {})
        for name in self._secret_field_names:
            if name in self._secret_values:
                continue
            value = getattr(self, name, None)
            if value is None:
                continue
            parsed: Any = value
            if isinstance(value, str):
                try:
                    parsed = fields.coerce_object(name, value, show_value=False)
                except fields.FivetranValidationError:
                    secrets.register([value])  # unreadable text: which part is secret cannot be told
                    parsed = fields.MASKED_VALUE
            if isinstance(parsed, Mapping):
                secrets.register_body({name: parsed})
            self._secret_values[name] = value
            shown = fields.mask_config(parsed) if isinstance(parsed, Mapping) else changes.mask_field(name, parsed)
            if fields.FIELDS[name].role == fields.WRITE_ONLY:
                shown = fields.MASKED_VALUE
            object.__setattr__(self, name, shown)

    def _field_value(self, name: str) -> Any:
        stored = getattr(self, "_secret_values", None) or {}
        return stored[name] if name in stored else getattr(self, name, None)


class UpdateFivetranConnectionOperator(
    CheckedArgumentsMixin, SecretFieldsMixin, SyncLineageMixin, SyncWaitMixin, BaseOperator
):
    """Change settings of one Fivetran connection, sending only what differs, and record how to undo it.

    The connection is read first; only the fields whose value differs are sent in one
    ``PATCH /v1/connections/{id}``. When nothing differs, nothing is sent. The XCom return value
    is a change record (:mod:`fivetran_provider.changes`) with the before and after values of
    each changed field (secrets masked); ``RestoreFivetranConnectionOperator(restore_from=...)``
    undoes the change from it.

    Every PATCH body field of the Fivetran API is a keyword argument (see
    :mod:`fivetran_provider.fields`), and every argument is templated. Values may be rendered
    text: ``"true"``, ``"1440"`` and JSON text for objects are coerced to the right type, so
    ``is_historical_sync="{{ params.full_refresh }}"`` works without native rendering. Literal
    values are validated when the DAG is parsed; templated ones after rendering, before anything
    is sent.

    With ``is_historical_sync=True`` the task also waits, by default, until the historical sync
    it started has finished (``wait_for_completion``): polling in the worker, or deferring to
    :class:`~fivetran_provider.triggers.FivetranSyncTrigger` with ``deferrable=True``. Success
    and failure are judged against the connection as read *before* the update, so a sync that
    ends before the first poll is not missed; a failed sync fails the task with Fivetran's
    failure time and the dashboard link. A historical sync on a connection that stays paused
    would never start, so that combination is refused before anything is sent.

    Setup tests are not run unless ``run_setup_tests=True``. ``config`` and ``auth`` values are
    registered with the secret masker, never logged, and never stored in XCom in clear (``auth``
    not at all).

    :param connection_id: the Fivetran connection id (templated; can be mapped with ``expand``).
    :param fivetran_conn_id: the Airflow connection holding the Fivetran API key and secret (templated).
    :param dry_run: log the planned change and send nothing (templated; ``"{{ params.dry_run }}"``
        works). The attribute shadows ``BaseOperator.dry_run()``, which only renders templates.
    :param wait_for_completion: with ``is_historical_sync=True``, wait until that sync has
        finished (templated).
    :param deferrable: wait in the triggerer instead of a worker slot; defaults to Airflow's
        ``[operators] default_deferrable`` (templated).
    :param poll_interval: seconds (or a timedelta) between two looks at the connection, from 1 s
        to 366 days (templated).
    :param timeout: how long to wait at most (seconds or timedelta up to 366 days; ``None`` for no
        limit; templated).
    :param resume_rescheduled: for ``schedule_type="manual"`` connections, start the sync again
        when Fivetran reschedules it (otherwise nothing would ever resume it; templated).
    :param connection_ids: instead of ``connection_id``: several connections, or the JSON text of
        their list (templated). See "Many connections" below.
    :param group_id: alone, every connection of this group (destination); with
        ``connection_name``, the group to look the name up in (templated).
    :param connection_name: instead of ``connection_id``: the connection's name (its ``schema``),
        looked up in ``group_id`` when the task runs (templated).
    :param max_parallel: with several connections, how many are read and changed at a time (1 to 64;
        templated).

    **Many connections** (``connection_ids``, or ``group_id`` without ``connection_name``): every
    connection is read first and, per connection, only the fields that differ are sent, over one
    HTTP session. All or nothing: if any connection cannot be planned nothing is sent; if a PATCH
    fails, the connections this task changed are put back before the task fails, and the error
    names any that could not be. With ``dry_run=True`` the result is a drift report: the change
    record (``dry_run: true``) with ``drift`` = ``{connection_id: {setting: {"current", "requested"}}}``,
    also logged as a table. ``RestoreFivetranConnectionOperator(restore_from=...)`` undoes it.
    A historical sync cannot be requested for many connections at once (map the operator instead).

    With ``is_historical_sync=True`` and a successful wait, the task emits an asset event for
    ``fivetran://<connection_id>/task-syncs`` (Airflow 3) and reports lineage (OpenLineage provider).
    """

    template_fields: Sequence[str] = (
        "connection_id",
        "connection_ids",
        "group_id",
        "connection_name",
        "fivetran_conn_id",
        "dry_run",
        "wait_for_completion",
        "deferrable",
        "poll_interval",
        "timeout",
        "resume_rescheduled",
        "max_parallel",
        *fields.PATCH_FIELDS,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        name: "json" for name in fields.PATCH_FIELDS if fields.FIELDS[name].kind == "object"
    }
    operator_extra_links = (FivetranConnectionLink(),)
    ui_color = "#d9ecff"
    argument_checks: ClassVar[Mapping[str, Callable[[Any], Any]]] = {
        "connection_id": optional_id("connection_id"),
        "connection_ids": lambda value: None if value is None else coerce_id_list("connection_ids", value),
        "group_id": optional_id("group_id"),
        "dry_run": boolean("dry_run"),
        "wait_for_completion": boolean("wait_for_completion"),
        "deferrable": boolean("deferrable"),
        "poll_interval": lambda value: fields.poll_seconds("poll_interval", value),
        "timeout": lambda value: fields.timeout_seconds("timeout", value),
        "resume_rescheduled": boolean("resume_rescheduled"),
        "max_parallel": check_max_parallel,
    }

    @with_field_keywords
    def __init__(
        self,
        *,
        connection_id: str | None = None,
        fivetran_conn_id: str = DEFAULT_CONN_ID,
        dry_run: bool | str = False,
        wait_for_completion: bool | str = True,
        deferrable: bool | str | None = None,
        poll_interval: float | timedelta | str = DEFAULT_POLL_INTERVAL,
        timeout: float | timedelta | str | None = DEFAULT_TIMEOUT,
        resume_rescheduled: bool | str = True,
        connection_ids: list[str] | str | None = None,
        group_id: str | None = None,
        connection_name: str | None = None,
        max_parallel: int | str = DEFAULT_MAX_PARALLEL,
        **kwargs: Any,
    ) -> None:
        from fivetran_provider.operators._completion import merge_outlets

        given = {name: kwargs.pop(name, FIELD_DEFAULTS.get(name)) for name in fields.PATCH_FIELDS}
        reject_unknown_arguments(type(self), kwargs)
        _check_update_targets(connection_id, connection_ids, group_id, connection_name)
        many = connection_ids is not None or (group_id is not None and connection_name is None)
        historical = given.get("is_historical_sync")
        if (
            many
            and historical is not None
            and (is_templated(historical) or fields.coerce_bool("is_historical_sync", historical))
        ):
            raise FivetranValidationError(
                "is_historical_sync",
                historical,
                "not set when updating several connections",
                reason="Request historical syncs one connection at a time, e.g. with .expand(connection_id=...).",
            )
        starts_sync = (
            not many
            and (is_templated(dry_run) or not fields.coerce_bool("dry_run", dry_run))
            and historical is not None
        )
        if starts_sync and not is_templated(historical):
            starts_sync = fields.coerce_bool("is_historical_sync", historical)
        if starts_sync:
            kwargs["outlets"] = merge_outlets(
                kwargs.get("outlets"),
                connection_id,
                known_to_emit=historical is True
                and wait_for_completion is True
                and dry_run is False
                and not is_templated(connection_id),
            )
        super().__init__(**kwargs)
        self.connection_id = connection_id
        self.connection_ids = connection_ids
        self.group_id = group_id
        self.connection_name = connection_name
        self.max_parallel = max_parallel
        self.fivetran_conn_id = fivetran_conn_id
        self.dry_run = dry_run  # type: ignore[method-assign,assignment]  # see the dry_run parameter
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.resume_rescheduled = resume_rescheduled
        for name, value in given.items():
            setattr(self, name, value)
        # Literal values are checked when the DAG is parsed; templated ones after rendering.
        self.check_arguments(rendered=False)
        check_literal_fields(given)

    @property
    def dry_run_enabled(self) -> bool:
        """Whether this run only plans (``dry_run``, rendered and coerced)."""
        return fields.coerce_bool("dry_run", self.dry_run)

    def _many(self) -> bool:
        return self.connection_ids is not None or (self.group_id is not None and self.connection_name is None)

    def requested_fields(self) -> dict[str, Any]:
        """The PATCH fields this task was given (rendered values), ``None`` ones left out."""
        result = {name: self._field_value(name) for name in fields.PATCH_FIELDS}
        return {name: value for name, value in result.items() if value is not None}

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the connection, send the differing fields, and return the change record.

        :param context: the task context.
        """
        from fivetran_provider.sync_status import capture_baseline

        self.check_arguments(rendered=True)
        self._protect_secrets()
        requested = self.requested_fields()
        fields.validate_update(requested, current=ASSUME_NEEDS_MET)
        if self._many():
            return self._execute_many(context, requested)
        record = changes.new_record("update", dry_run=self.dry_run_enabled)
        from fivetran_provider.hooks import FivetranHook

        hook = FivetranHook(fivetran_conn_id=self.fivetran_conn_id)
        try:
            connection_id = resolve_connection_id(
                hook,
                connection_id=self.connection_id,
                connection_name=self.connection_name,
                group_id=self.group_id,
                log=self.log,
            )
            FivetranConnectionLink.persist(context, connection_id)
            current = hook.get_connection_details(connection_id)
            waits = self._waits_for_historical_sync(requested, current)
            entry = apply_change(
                hook, connection_id, requested, log=self.log, current=current, dry_run=self.dry_run_enabled
            )
            if entry is None:
                changes.add_unchanged(record, connection_id)
            else:
                changes.add_entry(record, entry)
            if not waits:
                return record
            if record["patched"]:
                context["ti"].xcom_push(key=changes.RECORD_XCOM_KEY, value=record)
            result = self.wait_for_sync(
                context,
                connection_id=connection_id,
                baseline=capture_baseline(current),
                historical=True,
                result=record,
                hook=hook,
            )
            from fivetran_provider.operators._completion import after_sync

            after_sync(self, context, hook, result, historical=True)
            return result
        finally:
            hook.close()

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, result: Any = None) -> Any:
        """Resume after the trigger fired: the joined result, then the asset event and lineage.

        :param context: the task context.
        :param event: the trigger's event payload.
        :param result: the change record passed through the deferral.
        """
        from fivetran_provider.operators._completion import after_sync

        joined = super().execute_complete(context, event, result)
        from fivetran_provider.hooks import FivetranHook

        hook = FivetranHook(fivetran_conn_id=self.fivetran_conn_id)
        try:
            after_sync(self, context, hook, joined, historical=True)
        finally:
            hook.close()
        return joined

    def _execute_many(self, context: Context, requested: Mapping[str, Any]) -> dict[str, Any]:
        from fivetran_provider.operators import bulk

        record = changes.new_record("update", dry_run=self.dry_run_enabled)
        from fivetran_provider.hooks import FivetranHook

        hook = FivetranHook(fivetran_conn_id=self.fivetran_conn_id)
        try:
            hook.session  # noqa: B018 - read the Airflow connection once, before worker threads share the hook
            if self.connection_ids is not None:
                ids = coerce_id_list("connection_ids", self.connection_ids)
                FivetranConnectionLink.persist_first(context, ids, self.log)
            else:
                group_id = fields.validate_connection_id(self.group_id, "group_id")
                FivetranConnectionLink.persist_group(context, group_id)
                ids = list(list_group(hook, group_id, self.log))
            if not ids:
                self.log.warning("No connections to update.")
                return record
            plans = bulk.plan_all(
                hook, ids, requested, max_parallel=check_max_parallel(self.max_parallel), log=self.log
            )
            if self.dry_run_enabled:
                report = bulk.drift_report(plans)
                for cid, plan in plans.items():
                    if plan.diff:
                        changes.add_entry(record, plan.entry(patched=False))
                    else:
                        changes.add_unchanged(record, cid)
                record["drift"] = report
                self.log.info("Dry run, nothing sent. Drift from the requested settings:\n%s", bulk.drift_table(report))
                return record
            bulk.apply_all(
                hook, plans, record, max_parallel=check_max_parallel(self.max_parallel), log=self.log, context=context
            )
        finally:
            hook.close()
        self.log.info(
            "Updated: %s. Already as requested: %s.",
            quote_ids(record["connection_ids"]),
            quote_ids(record["unchanged"]),
        )
        return record

    def _waits_for_historical_sync(self, requested: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
        """Whether this task starts a historical sync; refuse to wait for one that could never start."""
        historical = requested.get("is_historical_sync")
        if historical is None or not fields.coerce_bool("is_historical_sync", historical) or self.dry_run_enabled:
            return False
        paused = requested.get("paused")
        stays_paused = fields.coerce_bool("paused", paused) if paused is not None else bool(current.get("paused"))
        if stays_paused and fields.coerce_bool("wait_for_completion", self.wait_for_completion):
            raise FivetranValidationError(
                "is_historical_sync",
                True,
                "a connection that is not paused when waiting for the sync",
                reason="The connection stays paused, so the historical sync would not start until it is "
                "resumed. Add paused=False, or set wait_for_completion=False to only request it.",
            )
        return True


def _check_update_targets(connection_id: Any, connection_ids: Any, group_id: Any, connection_name: Any) -> None:
    """Exactly one way of naming the connections: id, ids, group, or name within a group."""
    if connection_name is not None:
        from fivetran_provider.lookup import check_target

        if connection_ids is not None:
            raise FivetranValidationError(
                "connection_name", connection_name, "either connection_ids or connection_name, not both"
            )
        check_target("UpdateFivetranConnectionOperator", connection_id, connection_name, group_id)
        return
    given = [
        name
        for name, value in (
            ("connection_id", connection_id),
            ("connection_ids", connection_ids),
            ("group_id", group_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise FivetranValidationError(
            "targets",
            ", ".join(given) or "none",
            "exactly one of connection_id, connection_ids, group_id (or connection_name with group_id)",
            reason="UpdateFivetranConnectionOperator needs to know which connections to update.",
        )


def _field_docs() -> str:
    lines = []
    for spec in fields.FIELD_SPECS:
        default = FIELD_DEFAULTS.get(spec.name)
        suffix = f" Default {default!r}." if default is not None else ""
        lines.append(f"    :param {spec.name}: {spec.description} Allowed: {spec.allowed}.{suffix}")
    return "\n".join(lines)


UpdateFivetranConnectionOperator.__doc__ = (UpdateFivetranConnectionOperator.__doc__ or "").rstrip() + (
    "\n" + _field_docs() + "\n"
)

"""Start a Fivetran sync or historical re-sync and wait for it: ``FivetranSyncOperator`` and ``SyncWaitMixin``.

``SyncWaitMixin`` is the waiting half on its own, for any operator that starts a sync (the
update operator's ``is_historical_sync=True`` uses it). Its contract:

1. The operator has the attributes ``fivetran_conn_id`` (str), ``wait_for_completion``
   (bool, or its text after templating), ``deferrable`` (bool), ``poll_interval`` (seconds
   or timedelta) and ``timeout`` (seconds, timedelta or ``None`` for no limit); optionally
   ``resume_rescheduled`` (bool, default True).
2. **Before** its request it reads the connection and keeps
   ``baseline = sync_status.capture_baseline(connection)``.
3. After the request it returns
   ``self.wait_for_sync(context, connection_id=..., baseline=baseline, historical=..., result=...)``.
   Without ``wait_for_completion`` that returns at once; otherwise it polls in the worker or
   defers to :class:`~fivetran_provider.triggers.FivetranSyncTrigger` (resuming in
   :meth:`SyncWaitMixin.execute_complete`). A failed, paused or timed-out sync raises a
   :class:`~fivetran_provider.exceptions.FivetranSyncError` subclass.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn, cast

from fivetran_provider import fields
from fivetran_provider._compat import BaseOperator, default_deferrable
from fivetran_provider.exceptions import (
    FivetranConflictError,
    FivetranConnectionPausedError,
    FivetranError,
)
from fivetran_provider.lineage import SyncLineageMixin
from fivetran_provider.links import FivetranConnectionLink, connection_dashboard_url
from fivetran_provider.lookup import check_target, resolve_connection_id
from fivetran_provider.operators._common import CheckedArgumentsMixin, boolean, is_templated, optional_id
from fivetran_provider.retry import deadline_scope

if TYPE_CHECKING:
    from fivetran_provider._compat import Context
    from fivetran_provider.hooks import FivetranHook
    from fivetran_provider.sync_status import SyncWaiter, WaitStep

DEFAULT_POLL_INTERVAL = 60.0
DEFAULT_TIMEOUT = timedelta(hours=24)
#: XCom key that keeps an operator's own result while it is deferred (see ``execute_complete``).
RESULT_BEFORE_WAIT_KEY = "fivetran_result_before_wait"
_RESYNC_CONFLICT_ATTEMPTS = 3


def _none_if_blank(value: Any) -> Any:
    """A rendered null (``""``, ``"None"``, ``"null"``) means "not given"."""
    if isinstance(value, str) and value.strip() in ("", "None", "null"):
        return None
    return value


def combine_sync_result(result: Any, outcome: dict[str, Any]) -> Any:
    """Join an operator's own result with the outcome of the wait.

    ``None`` gives the outcome itself; a mapping gets it under the key ``"sync"``; anything
    else is returned unchanged.

    :param result: what the operator would return without waiting.
    :param outcome: the wait's outcome (see :func:`~fivetran_provider.sync_status.outcome_from_event`).
    """
    if result is None:
        return outcome
    if isinstance(result, Mapping):
        return {**result, "sync": outcome}
    return result


def poll_once(hook: FivetranHook, waiter: SyncWaiter, log: Any) -> tuple[WaitStep, dict[str, Any] | None]:
    """Read the connection once and let the waiter judge it; restart a rescheduled sync when due.

    Only :class:`~fivetran_provider.exceptions.FivetranError` is judged by the waiter; anything
    else propagates. The step's notes are logged.

    :param hook: the synchronous hook.
    :param waiter: the wait's state machine.
    :param log: where to log progress.
    :return: the waiter's step, and the connection as read (``None`` when the read failed).
    """
    from fivetran_provider.sync_status import RESUME

    polled_at = time.time()
    step: WaitStep
    connection: dict[str, Any] | None = None
    try:
        with deadline_scope(waiter.deadline):
            connection = hook.get_connection_details(waiter.connection_id)
    except FivetranError as error:
        step = waiter.observe_error(error, polled_at)
    else:
        step = waiter.observe(connection, polled_at)
    if step.action == RESUME:
        _note(log, step)
        try:
            with deadline_scope(waiter.deadline):
                hook.start_sync(waiter.connection_id, force=False)
        except FivetranError as error:
            step = waiter.observe_error(error, polled_at)
        else:
            step = waiter.after_resume(polled_at)
    _note(log, step)
    return step, connection


def wait_blocking(hook: FivetranHook, waiter: SyncWaiter, log: Any) -> dict[str, Any]:
    """Drive a :class:`~fivetran_provider.sync_status.SyncWaiter` with the synchronous hook, sleeping in the worker.

    Only :class:`~fivetran_provider.exceptions.FivetranError` is judged by the waiter; anything
    else (including Airflow's own task timeout) propagates.

    :param hook: the synchronous hook.
    :param waiter: the wait's state machine.
    :param log: where to log progress.
    :return: the outcome event.
    """
    from fivetran_provider.sync_status import DONE

    while True:
        step, _connection = poll_once(hook, waiter, log)
        if step.action == DONE:
            assert step.event is not None
            return step.event
        time.sleep(max(0.0, step.until - time.time()))


def _note(log: Any, step: WaitStep) -> None:
    if step.note:
        (log.warning if step.warning else log.info)("%s", step.note)


class SyncWaitMixin:
    """Wait for a Fivetran sync an operator has just requested, polling or deferring.

    Mix into a ``BaseOperator`` subclass (before it in the bases). See the module docstring for
    the contract. The outcome is judged by :mod:`fivetran_provider.sync_status` against the
    baseline the operator captured before its request, so a sync that finishes before the
    first poll is not missed.
    """

    fivetran_conn_id: str
    wait_for_completion: bool | str
    deferrable: bool | str
    poll_interval: float | timedelta | str
    timeout: float | timedelta | str | None

    def wait_for_sync(
        self,
        context: Context,
        *,
        connection_id: str,
        baseline: str | None,
        historical: bool = False,
        result: Any = None,
        hook: FivetranHook | None = None,
    ) -> Any:
        """Wait (or not, per ``wait_for_completion``) for the sync requested after ``baseline``.

        :param context: the task context.
        :param connection_id: the Fivetran connection id.
        :param baseline: :func:`~fivetran_provider.sync_status.capture_baseline` of the
            connection read before the request.
        :param historical: also wait for ``status.is_historical_sync`` to turn false.
        :param result: the operator's own JSON-serialisable result, joined with the outcome
            (see :func:`combine_sync_result`); kept in XCom while deferred, so never put
            secrets in it.
        :param hook: the operator's :class:`~fivetran_provider.hooks.FivetranHook`, if it has one.
        :return: the joined result; without waiting the outcome's ``status`` is ``started``.
        """
        from fivetran_provider.sync_status import DONE, SyncWaiter, outcome_from_event

        operator = cast(Any, self)
        if not fields.coerce_bool("wait_for_completion", self.wait_for_completion):
            started = {
                "connection_id": connection_id,
                "status": "started",
                "baseline": baseline,
                "dashboard_url": connection_dashboard_url(connection_id),
            }
            return combine_sync_result(result, started)
        poll_interval = fields.poll_seconds("poll_interval", self.poll_interval)
        timeout = fields.timeout_seconds("timeout", self.timeout)
        resume = fields.coerce_bool("resume_rescheduled", getattr(self, "resume_rescheduled", True))
        hook = hook or self._sync_wait_hook()
        started_at = time.time()
        waiter = SyncWaiter(
            connection_id,
            baseline=baseline,
            historical=historical,
            poll_interval=poll_interval,
            deadline=None if timeout is None else started_at + timeout,
            started_at=started_at,
            resume_rescheduled=resume,
        )
        kind = "historical sync" if historical else "sync"
        operator.log.info(
            "Waiting for the Fivetran %s of connection %s (finished after %s; polling every %g s, timeout %s)",
            kind,
            connection_id,
            baseline or "the start: it never synced before",
            poll_interval,
            "none" if timeout is None else f"{timeout:g} s",
        )
        if not fields.coerce_bool("deferrable", self.deferrable):
            return combine_sync_result(result, outcome_from_event(wait_blocking(hook, waiter, operator.log)))

        # Look once before deferring: a sync that is already over needs no triggerer round trip.
        polled_at = time.time()
        group_id = None
        try:
            connection = hook.get_connection_details(connection_id)
            group_id = connection.get("group_id") if isinstance(connection.get("group_id"), str) else None
            step = waiter.observe(connection, polled_at)
        except FivetranError as error:  # a transient one is left to the trigger
            step = waiter.observe_error(error, polled_at)
        if step.action == DONE:
            _note(operator.log, step)
            return combine_sync_result(result, outcome_from_event(step.event))
        self._defer_to_trigger(context, hook, waiter, result, timeout, group_id)

    def _defer_to_trigger(
        self,
        context: Context,
        hook: FivetranHook,
        waiter: SyncWaiter,
        result: Any,
        timeout: float | None,
        group_id: str | None = None,
    ) -> NoReturn:
        from fivetran_provider.sync_status import epoch_to_iso
        from fivetran_provider.triggers import FivetranSyncTrigger

        operator = cast(Any, self)
        settings = hook.settings
        trigger = FivetranSyncTrigger(
            connection_id=waiter.connection_id,
            fivetran_conn_id=hook.fivetran_conn_id,
            baseline=waiter.baseline,
            historical=waiter.historical,
            poll_interval=waiter.poll_interval,
            deadline=None if waiter.deadline is None else epoch_to_iso(waiter.deadline),
            waiting_since=epoch_to_iso(waiter.started_at),
            retry_policy=settings.retry_policy.to_dict(),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            resume_rescheduled=waiter.resume_rescheduled,
            group_id=group_id,
        )
        if result is not None:
            ti = context.get("ti") if isinstance(context, Mapping) else None
            if ti is not None:
                ti.xcom_push(key=RESULT_BEFORE_WAIT_KEY, value=result)
        # The trigger ends the wait itself at the deadline; Airflow's own deferral timeout is
        # only a safety net for a lost triggerer, so it comes a little later.
        safety = None if timeout is None else timedelta(seconds=timeout + max(300.0, 2 * waiter.poll_interval))
        operator.defer(
            trigger=trigger,
            method_name="execute_complete",
            kwargs=None if result is None else {"result": result},
            timeout=safety,
        )
        raise AssertionError("defer() returned")  # pragma: no cover - defer always raises

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, result: Any = None) -> Any:
        """Resume after the trigger fired: return the joined result or raise a typed error.

        :param context: the task context.
        :param event: the trigger's event payload.
        :param result: the operator's own result passed through the deferral (when Airflow keeps
            ``next_kwargs``; otherwise it is read back from XCom).
        :raises FivetranSyncFailedError: the sync failed.
        :raises FivetranConnectionPausedError: the connection is paused.
        :raises FivetranSyncTimeoutError: the timeout passed first.
        """
        from fivetran_provider.sync_status import outcome_from_event

        operator = cast(Any, self)
        if result is None:
            ti = context.get("ti") if isinstance(context, Mapping) else None
            if ti is not None:
                result = ti.xcom_pull(task_ids=ti.task_id, key=RESULT_BEFORE_WAIT_KEY, map_indexes=ti.map_index)
        outcome = outcome_from_event(event)
        operator.log.info("%s", (event or {}).get("message", "Fivetran sync finished."))
        return combine_sync_result(result, outcome)

    def _sync_wait_hook(self) -> FivetranHook:
        hook = getattr(self, "hook", None)
        from fivetran_provider.hooks import FivetranHook

        if isinstance(hook, FivetranHook):
            return hook
        return FivetranHook(self.fivetran_conn_id)


class FivetranSyncOperator(CheckedArgumentsMixin, SyncLineageMixin, SyncWaitMixin, BaseOperator):
    """Start a sync (``POST /v1/connections/{id}/sync``) or historical re-sync (``.../resync``) and wait for it.

    The connection is read first: its ``max(succeeded_at, failed_at)`` is the baseline the
    outcome is judged against, and a **paused** connection fails the task at once (Fivetran
    would accept the request and do nothing) unless ``unpause_if_paused=True``, which resumes
    the connection first, says so in the log and in the result, and leaves it resumed.

    A re-sync is requested when ``scope`` is given or ``resync=True``; without a scope it
    covers the whole connection and the wait also requires ``status.is_historical_sync`` to be
    false again. If Fivetran answers 409 (a running sync could not be completed first), the
    operator waits for that sync to end and asks again, up to three times.

    Returns (XCom) ``{"connection_id", "operation": "sync"|"resync", "force", "scope",
    "unpaused", "baseline", "dashboard_url", "sync": {...}}`` where ``sync`` holds ``status``
    (``success``, or ``started`` without waiting), ``succeeded_at``, ``failed_at``, ``polls``
    and ``waited_seconds``. With ``wait_for_completion=False`` a
    :class:`~fivetran_provider.sensors.FivetranSyncSensor` can wait later, with
    ``completed_after`` set to the returned ``baseline``.

    :param connection_id: the Fivetran connection id (templated).
    :param force: restart a sync that is already running (templated; ``"true"``/``"false"`` accepted).
        Without it a running sync is left alone and its end counts as the sync's end.
    :param scope: re-sync only these tables: a non-empty map of schema name to a non-empty list
        of table names, or its JSON text (templated). Empty text, ``"None"`` or ``"null"`` (a
        rendered null) mean no scope.
    :param resync: request a historical re-sync of the whole connection (templated).
    :param wait_for_completion: wait until the sync has finished (templated).
    :param deferrable: wait in the triggerer instead of the worker; defaults to Airflow's
        ``[operators] default_deferrable`` (templated; ``"true"``/``"false"`` accepted).
    :param poll_interval: seconds (or timedelta) between status reads, from 1 s to 366 days (templated).
    :param timeout: how long to wait for the sync to finish after requesting it (seconds or
        timedelta up to 366 days; ``None`` waits without limit). Default 24 hours (templated).
    :param unpause_if_paused: resume a paused connection instead of failing (templated).
    :param resume_rescheduled: when Fivetran reschedules the sync of a ``manual`` connection,
        start it again once ``rescheduled_for`` has come (auto connections resume by themselves;
        templated).
    :param fivetran_conn_id: the Airflow connection id (templated).
    :param connection_name: instead of ``connection_id``: the connection's name (its ``schema``
        in Fivetran), looked up in ``group_id`` when the task runs (templated).
    :param group_id: the group (destination) of ``connection_name`` (templated).
    :param test_if_broken: when the connection's ``setup_state`` is not ``connected``, run its
        setup tests (``POST /v1/connections/{id}/test``) first and fail with their messages if it
        is still not connected. Off by default: setup tests have their own rate limit (templated).

    Every argument is templated. Literal values are checked when the DAG is parsed; rendered
    ones when the task starts, before anything is sent to Fivetran.

    When the sync succeeded, the task emits an asset event for
    ``fivetran://<connection_id>/task-syncs`` (Airflow 3; the connection's own asset is left to
    its watcher, see :mod:`fivetran_provider.assets`) and, with the OpenLineage provider
    installed, reports the synced tables as lineage (:mod:`fivetran_provider.lineage`).
    """

    template_fields = (
        "connection_id",
        "force",
        "scope",
        "resync",
        "wait_for_completion",
        "deferrable",
        "poll_interval",
        "timeout",
        "unpause_if_paused",
        "resume_rescheduled",
        "fivetran_conn_id",
        "connection_name",
        "group_id",
        "test_if_broken",
    )
    template_fields_renderers = {"scope": "json"}
    operator_extra_links = (FivetranConnectionLink(),)
    ui_color = "#d6e4ff"
    argument_checks = {
        "connection_id": optional_id("connection_id"),
        "group_id": optional_id("group_id"),
        "force": boolean("force"),
        "scope": lambda value: value if fields.validate_resync_scope(_none_if_blank(value)) else None,
        "resync": boolean("resync"),
        "wait_for_completion": boolean("wait_for_completion"),
        "deferrable": boolean("deferrable"),
        "poll_interval": lambda value: fields.poll_seconds("poll_interval", value),
        "timeout": lambda value: fields.timeout_seconds("timeout", value),
        "unpause_if_paused": boolean("unpause_if_paused"),
        "resume_rescheduled": boolean("resume_rescheduled"),
        "test_if_broken": boolean("test_if_broken"),
    }

    def __init__(
        self,
        *,
        connection_id: str | None = None,
        force: bool | str = False,
        scope: Mapping[str, Any] | str | None = None,
        resync: bool | str = False,
        wait_for_completion: bool | str = True,
        deferrable: bool | str | None = None,
        poll_interval: float | timedelta | str = DEFAULT_POLL_INTERVAL,
        timeout: float | timedelta | str | None = DEFAULT_TIMEOUT,
        unpause_if_paused: bool | str = False,
        resume_rescheduled: bool | str = True,
        fivetran_conn_id: str = "fivetran_default",
        connection_name: str | None = None,
        group_id: str | None = None,
        test_if_broken: bool | str = False,
        **kwargs: Any,
    ) -> None:
        from fivetran_provider.operators._completion import merge_outlets

        check_target(type(self).__name__, connection_id, connection_name, group_id)
        kwargs["outlets"] = merge_outlets(
            kwargs.get("outlets"),
            connection_id,
            known_to_emit=wait_for_completion is True and not is_templated(connection_id),
        )
        super().__init__(**kwargs)
        self.connection_id = connection_id
        self.connection_name = connection_name
        self.group_id = group_id
        self.test_if_broken = test_if_broken
        self.force = force
        self.scope = scope
        self.resync = resync
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.unpause_if_paused = unpause_if_paused
        self.resume_rescheduled = resume_rescheduled
        self.fivetran_conn_id = fivetran_conn_id
        # Literal values are checked when the DAG is parsed; templated ones after rendering.
        self.check_arguments(rendered=False)

    @cached_property
    def hook(self) -> FivetranHook:
        """The hook for the (rendered) ``fivetran_conn_id``."""
        from fivetran_provider.hooks import FivetranHook

        return FivetranHook(self.fivetran_conn_id)

    def execute(self, context: Context) -> Any:
        """Check the connection, request the sync or re-sync, and wait for it if asked to.

        :param context: the task context.
        """
        from fivetran_provider.operators._completion import after_sync

        self.check_arguments(rendered=True)
        try:
            result = self._start_and_wait(context)
            after_sync(self, context, self.hook, result, historical=self._historical(result))
            return result
        finally:
            self.hook.close()

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, result: Any = None) -> Any:
        """Resume after the trigger fired: as :meth:`SyncWaitMixin.execute_complete`, then the asset event.

        :param context: the task context.
        :param event: the trigger's event payload.
        :param result: the operator's own result passed through the deferral.
        """
        from fivetran_provider.operators._completion import after_sync

        joined = super().execute_complete(context, event, result)
        try:
            after_sync(self, context, self.hook, joined, historical=self._historical(joined))
        finally:
            self.hook.close()
        return joined

    @staticmethod
    def _historical(result: Any) -> bool:
        return isinstance(result, Mapping) and result.get("operation") == "resync" and result.get("scope") is None

    def _start_and_wait(self, context: Context) -> Any:
        from fivetran_provider.sync_status import capture_baseline

        connection_id = resolve_connection_id(
            self.hook,
            connection_id=self.connection_id,
            connection_name=self.connection_name,
            group_id=self.group_id,
            log=self.log,
        )
        if isinstance(context, Mapping) and context.get("ti") is not None:
            FivetranConnectionLink.persist(context, connection_id)
        force = fields.coerce_bool("force", self.force)
        scope = fields.validate_resync_scope(_none_if_blank(self.scope))
        resync = fields.coerce_bool("resync", self.resync) or scope is not None
        if resync and force:
            self.log.warning("force applies to syncs, not re-syncs; it is ignored for this re-sync")
        hook = self.hook
        connection = hook.get_connection_details(connection_id)
        if self.test_if_broken:
            from fivetran_provider.setup_tests import ensure_connected

            connection = ensure_connected(hook, connection, log=self.log)
        unpaused = False
        if connection.get("paused") is True:
            if not self.unpause_if_paused:
                raise FivetranConnectionPausedError(
                    f"Fivetran connection {connection_id} is paused: a "
                    f"{'re-sync' if resync else 'sync'} would not run. Resume the connection first, or set "
                    f"unpause_if_paused=True to resume it here. See {connection_dashboard_url(connection_id)}",
                    connection_id=connection_id,
                    dashboard_url=connection_dashboard_url(connection_id),
                )
            connection = hook.update_connection(connection_id, paused=False, current_state=connection)
            unpaused = True
            self.log.warning(
                "Fivetran connection %s was paused; resumed it because unpause_if_paused=True. "
                "It stays resumed after this task.",
                connection_id,
            )
        if resync:
            baseline = self._request_resync(hook, connection_id, scope, connection)
        else:
            baseline = capture_baseline(connection)
            hook.start_sync(connection_id, force=force, baseline=connection)
            self.log.info("Requested a %ssync of Fivetran connection %s", "forced " if force else "", connection_id)
        result = {
            "connection_id": connection_id,
            "operation": "resync" if resync else "sync",
            "force": False if resync else force,
            "scope": scope,
            "unpaused": unpaused,
            "baseline": baseline,
            "dashboard_url": connection_dashboard_url(connection_id),
        }
        return self.wait_for_sync(
            context,
            connection_id=connection_id,
            baseline=baseline,
            historical=resync and scope is None,
            result=result,
            hook=hook,
        )

    def _request_resync(
        self, hook: FivetranHook, connection_id: str, scope: dict[str, list[str]] | None, connection: dict[str, Any]
    ) -> str | None:
        """POST /resync, waiting out a 409 (a running sync) up to three times; return the baseline."""
        from fivetran_provider.sync_status import capture_baseline

        poll_interval = fields.seconds_or_none("poll_interval", self.poll_interval) or DEFAULT_POLL_INTERVAL
        timeout = fields.seconds_or_none("timeout", self.timeout)
        give_up = None if timeout is None else time.time() + timeout
        for attempt in range(1, _RESYNC_CONFLICT_ATTEMPTS + 1):
            baseline = capture_baseline(connection)
            try:
                hook.resync(connection_id, scope, baseline=connection)
            except FivetranConflictError as error:
                if attempt == _RESYNC_CONFLICT_ATTEMPTS or (give_up is not None and time.time() >= give_up):
                    raise
                self.log.warning(
                    "Fivetran refused the re-sync of %s (%s); waiting for the running sync to end, then asking again",
                    connection_id,
                    error.message,
                )
                connection = hook.get_connection_details(connection_id)
                while (connection.get("status") or {}).get("sync_state") == "syncing":
                    if give_up is not None and time.time() >= give_up:
                        raise
                    time.sleep(poll_interval)
                    connection = hook.get_connection_details(connection_id)
                continue
            self.log.info(
                "Requested a historical re-sync of Fivetran connection %s (%s)",
                connection_id,
                "tables " + ", ".join(f"{schema}.{table}" for schema, tables in scope.items() for table in tables)
                if scope
                else "whole connection",
            )
            return baseline
        raise AssertionError("unreachable")  # pragma: no cover

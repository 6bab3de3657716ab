"""``FivetranSyncSensor``: wait for a Fivetran sync that someone else started (Fivetran's scheduler, another DAG)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from fivetran_provider import fields
from fivetran_provider._compat import BaseSensorOperator, PokeReturnValue, default_deferrable
from fivetran_provider.exceptions import FivetranSensorTimeoutError
from fivetran_provider.links import FivetranConnectionLink
from fivetran_provider.lookup import check_target, resolve_connection_id

if TYPE_CHECKING:
    from fivetran_provider._compat import Context
    from fivetran_provider.hooks import FivetranHook
    from fivetran_provider.sync_status import SyncWaiter


def default_completed_after(context: Context) -> datetime:
    """The point in time a sensor without ``completed_after`` waits past.

    The end of the DAG run's data interval (for Airflow 3's default timetables that is the
    logical date, the time the run is for), else its logical date, else the time the run was
    created for (``run_after``, e.g. a manual trigger), else its start.

    :param context: the task context.
    """
    for key in ("data_interval_end", "logical_date"):
        value = context.get(key)
        if isinstance(value, datetime):
            return value
    dag_run = context.get("dag_run")
    for attribute in ("run_after", "start_date"):
        value = getattr(dag_run, attribute, None)
        if isinstance(value, datetime):
            return value
    return datetime.fromtimestamp(time.time()).astimezone()


class FivetranSyncSensor(BaseSensorOperator):
    """Wait until a sync of a Fivetran connection has completed after a point in time.

    For syncs this DAG did not start itself: Fivetran's own schedule, another DAG, or a
    :class:`~fivetran_provider.operators.sync.FivetranSyncOperator` with
    ``wait_for_completion=False``. The decision is the same as everywhere in this provider
    (:func:`fivetran_provider.sync_status.evaluate_sync`):

    * succeeds when ``succeeded_at`` is after ``completed_after`` (and, with ``historical``,
      ``status.is_historical_sync`` is false), returning ``{"connection_id", "status",
      "succeeded_at", "failed_at", "baseline", "dashboard_url", ...}`` as XCom;
    * fails with :class:`~fivetran_provider.exceptions.FivetranSyncFailedError` when a sync
      failed after that point (and after the last success);
    * fails with :class:`~fivetran_provider.exceptions.FivetranConnectionPausedError` when the
      connection is paused, since no sync will come;
    * a ``manual`` connection whose sync Fivetran rescheduled is started again once
      ``rescheduled_for`` has come (``resume_rescheduled``);
    * transient API errors (network, 5xx, 429) are logged and the next poke tries again.

    Works in ``poke`` and ``reschedule`` mode and, with ``deferrable=True``, hands the wait to
    :class:`~fivetran_provider.triggers.FivetranSyncTrigger` after one poke. The sensor's
    ``timeout`` ends the wait with :class:`~fivetran_provider.exceptions.FivetranSensorTimeoutError`
    (an ``AirflowSensorTimeout``, so ``soft_fail`` applies).

    :param connection_id: the Fivetran connection id (templated).
    :param completed_after: the sync must have completed after this time: a datetime or ISO-8601
        text, naive values being UTC (templated). Empty, ``None`` or the text ``"None"`` (a
        rendered null) mean the default: the end of the DAG run's data interval (the logical
        date for Airflow 3's default timetables; the trigger time for manual runs).
    :param historical: also require ``status.is_historical_sync`` to be false (templated).
    :param resume_rescheduled: restart a rescheduled sync of a ``manual`` connection when due (templated).
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable`` (templated).
    :param fivetran_conn_id: the Airflow connection id (templated).
    :param poke_interval: seconds (or timedelta) between checks, from 1 s to 366 days (also the
        trigger's poll interval). Not templated: Airflow checks it, like ``timeout`` and ``mode``,
        when the sensor is built, so it must be a number then.
    :param connection_name: instead of ``connection_id``: the connection's name (its ``schema``
        in Fivetran), looked up in ``group_id`` when the task runs (templated).
    :param group_id: the group (destination) of ``connection_name`` (templated).

    On success the task emits an asset event for ``fivetran://<connection_id>/task-syncs`` (Airflow 3),
    whose ``extra`` is the same payload as :class:`~fivetran_provider.event_triggers.FivetranSyncEventTrigger`'s.
    """

    template_fields = (
        "connection_id",
        "completed_after",
        "fivetran_conn_id",
        "connection_name",
        "group_id",
        "historical",
        "resume_rescheduled",
        "deferrable",
    )
    operator_extra_links = (FivetranConnectionLink(),)
    ui_color = "#d6e4ff"

    def __init__(
        self,
        *,
        connection_id: str | None = None,
        completed_after: datetime | str | None = None,
        historical: bool = False,
        resume_rescheduled: bool = True,
        deferrable: bool | None = None,
        fivetran_conn_id: str = "fivetran_default",
        poke_interval: float | timedelta = 60,
        connection_name: str | None = None,
        group_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        from fivetran_provider.operators._common import is_templated
        from fivetran_provider.operators._completion import merge_outlets

        check_target(type(self).__name__, connection_id, connection_name, group_id)
        kwargs["outlets"] = merge_outlets(
            kwargs.get("outlets"), connection_id, known_to_emit=not is_templated(connection_id)
        )
        # Airflow takes these as given and checks them itself when the sensor is built, so they
        # cannot be templates; numeric text is refused here rather than by Airflow.
        fields.poll_seconds("poke_interval", poke_interval, text=False)
        fields.timeout_seconds("timeout", kwargs.get("timeout", 1.0), text=False)
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.connection_id = connection_id
        self.connection_name = connection_name
        self.group_id = group_id
        self._resolved_id: str | None = None
        self._group_id: str | None = None  # read by a poke; saves the trigger a lookup
        self._poke_deadline: float | None = None  # POSIX time the poke's requests end by (set by execute)
        self.completed_after = completed_after
        self.historical = historical
        self.resume_rescheduled = resume_rescheduled
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.fivetran_conn_id = fivetran_conn_id
        self._check_arguments(rendered=False)
        if not (isinstance(completed_after, str) and "{{" in completed_after):
            self._given_completed_after()

    def _check_arguments(self, *, rendered: bool) -> None:
        """Check (and coerce in place) the arguments: literal ones at parse time, all once rendered.

        :param rendered: the templates have been rendered: check every value.
        """
        from fivetran_provider.operators._common import is_templated

        checks = {
            "connection_id": lambda value: None if value is None else fields.validate_connection_id(value),
            "group_id": lambda value: None if value is None else fields.validate_connection_id(value, "group_id"),
            "historical": lambda value: fields.coerce_bool("historical", value),
            "resume_rescheduled": lambda value: fields.coerce_bool("resume_rescheduled", value),
            "deferrable": lambda value: fields.coerce_bool("deferrable", value),
        }
        for name, check in checks.items():
            value = getattr(self, name)
            if rendered or not is_templated(value):
                setattr(self, name, check(value))

    @cached_property
    def hook(self) -> FivetranHook:
        """The hook for the (rendered) ``fivetran_conn_id``."""
        from fivetran_provider.hooks import FivetranHook

        return FivetranHook(self.fivetran_conn_id)

    def target_id(self) -> str:
        """The connection id: ``connection_id``, or ``connection_name`` looked up once per try."""
        if self._resolved_id is None:
            self._resolved_id = resolve_connection_id(
                self.hook,
                connection_id=self.connection_id,
                connection_name=self.connection_name,
                group_id=self.group_id,
                log=self.log,
            )
        return self._resolved_id

    def _given_completed_after(self) -> str | None:
        value = self.completed_after
        if value is None or (isinstance(value, str) and value.strip() in ("", "None", "none", "null")):
            return None
        from fivetran_provider.sync_status import to_iso

        return to_iso(value, "completed_after")

    def completed_after_for(self, context: Context) -> str:
        """The baseline this run waits past, as ISO-8601 UTC.

        :param context: the task context.
        """
        from fivetran_provider.sync_status import to_iso

        given = self._given_completed_after()
        if given is not None:
            return given
        iso = to_iso(default_completed_after(context))
        assert iso is not None
        return iso

    def _waiter(self, context: Context, deadline: float | None) -> SyncWaiter:
        from fivetran_provider.sync_status import SyncWaiter

        return SyncWaiter(
            self.target_id(),
            baseline=self.completed_after_for(context),
            historical=self.historical,
            poll_interval=float(self.poke_interval),
            deadline=deadline,
            started_at=time.time(),
            resume_rescheduled=self.resume_rescheduled,
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Check the connection once.

        :param context: the task context.
        :return: a true ``PokeReturnValue`` carrying the outcome once a sync completed, else False.
        """
        from fivetran_provider.operators.sync import poll_once
        from fivetran_provider.retry import deadline_scope
        from fivetran_provider.sync_status import DONE, outcome_from_event

        # Each poke's requests (retries and Retry-After holds included) end with the sensor's timeout.
        with deadline_scope(self._poke_deadline):
            step, connection = poll_once(self.hook, self._waiter(context, deadline=None), self.log)
        if connection is not None:
            group = connection.get("group_id")
            self._group_id = group if isinstance(group, str) else None
        if step.action != DONE:
            return False
        return PokeReturnValue(True, outcome_from_event(step.event, timeout_error=FivetranSensorTimeoutError))

    def execute(self, context: Context) -> Any:
        """Poke (or reschedule) as any sensor; with ``deferrable`` poke once, then defer.

        :param context: the task context.
        """
        from fivetran_provider.sync_status import epoch_to_iso

        self._check_arguments(rendered=True)
        if context.get("ti") is not None:
            FivetranConnectionLink.persist(context, self.target_id())
        self._poke_deadline = time.time() + float(self.timeout)
        if not self.deferrable:
            return self._after_sync(context, super().execute(context))
        first = self.poke(context)
        if isinstance(first, PokeReturnValue) and first:
            return self._after_sync(context, first.xcom_value)
        from fivetran_provider.triggers import FivetranSyncTrigger

        started = time.time()
        settings = self.hook.settings
        trigger = FivetranSyncTrigger(
            connection_id=self.target_id(),
            fivetran_conn_id=self.fivetran_conn_id,
            baseline=self.completed_after_for(context),
            historical=self.historical,
            poll_interval=float(self.poke_interval),
            deadline=epoch_to_iso(started + float(self.timeout)),
            waiting_since=epoch_to_iso(started),
            retry_policy=settings.retry_policy.to_dict(),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            resume_rescheduled=self.resume_rescheduled,
            group_id=self._group_id,
        )
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + max(300.0, 2 * float(self.poke_interval))),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: return the outcome or raise a typed error.

        :param context: the task context.
        :param event: the trigger's event payload.
        """
        from fivetran_provider.sync_status import outcome_from_event

        outcome = outcome_from_event(event, timeout_error=FivetranSensorTimeoutError)
        self.log.info("%s", (event or {}).get("message", "Fivetran sync completed."))
        return self._after_sync(context, outcome)

    def _after_sync(self, context: Context, outcome: Any) -> Any:
        from fivetran_provider.operators._completion import after_sync

        after_sync(self, context, self.hook, outcome, historical=self.historical, lineage=False)
        return outcome

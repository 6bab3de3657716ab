"""``LegacySyncOperator``: the sync (or re-sync) of the earlier providers' ``FivetranOperator``, on this provider.

Both earlier operators read the connection, set its ``schedule_type``, resumed it when paused,
started a sync and returned the previous completion time (``max(succeeded_at, failed_at)`` as
Fivetran wrote it). The asynchronous provider could then wait for the sync. This class does the
same steps with this provider's parts: validation when the DAG is parsed, the change recorded
for ``RestoreFivetranConnectionOperator``, ``POST /v1/connections/{id}/sync`` (or ``/resync``)
sent at most once (read back before any re-send), the wait of
:class:`~fivetran_provider.operators.sync.SyncWaitMixin`, which always ends at its deadline, the
connection's dashboard link and, after a successful wait, its task-sync asset event (``fivetran://<id>/task-syncs``).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from fivetran_provider import fields
from fivetran_provider._compat import BaseOperator
from fivetran_provider.compat._legacy import (
    check_schedule_type,
    find_connection_by_destination,
    legacy_retry_policy,
    prepare_connection,
    previous_completion,
    warn_once,
)
from fivetran_provider.exceptions import FivetranValidationError
from fivetran_provider.links import FivetranConnectionLink
from fivetran_provider.operators._common import is_templated
from fivetran_provider.operators.sync import DEFAULT_TIMEOUT, SyncWaitMixin

if TYPE_CHECKING:
    from fivetran_provider._compat import Context
    from fivetran_provider.hooks import FivetranHook


class LegacySyncOperator(SyncWaitMixin, BaseOperator):
    """Start a sync the way an earlier provider's ``FivetranOperator`` did (base of the compatibility operators).

    Subclasses set ``compat_name`` and ``instead`` (for the one-time deprecation warning),
    ``tests_broken_connection`` and ``waits`` (whether ``wait_for_completion`` applies).

    :param connector_id: the connection id (templated).
    :param connector_name: instead of ``connector_id``: the connection's schema name (templated).
    :param destination_name: with ``connector_name``: its destination's name (templated).
    :param run_name: a label written to the task log.
    :param fivetran_conn_id: the Airflow connection id.
    :param fivetran_retry_limit: attempts per API request (at least 1).
    :param fivetran_retry_delay: seconds before the first retry.
    :param poll_frequency: seconds between status reads while waiting.
    :param schedule_type: ``"manual"`` or ``"auto"``: set on the connection before the sync (recorded).
    :param reschedule_wait_time: accepted; a rescheduled sync of a manual connection is started
        again when Fivetran's ``rescheduled_for`` has come.
    :param deferrable: wait in the triggerer.
    :param wait_for_completion: wait until the sync has finished.
    :param scope: with ``resync``: the tables to re-sync (schema name to table names).
    :param resync: request a historical re-sync instead of a sync.
    """

    compat_name: ClassVar[str] = ""
    instead: ClassVar[str] = "fivetran_provider.operators.FivetranSyncOperator"
    tests_broken_connection: ClassVar[bool] = False
    waits: ClassVar[bool] = False
    template_fields: Any = ("connector_id", "connector_name", "destination_name")
    operator_extra_links = (FivetranConnectionLink(),)
    ui_color = "#d6e4ff"

    def __init__(
        self,
        *,
        connector_id: str | None,
        connector_name: str | None,
        destination_name: str | None,
        run_name: str | None,
        fivetran_conn_id: str,
        fivetran_retry_limit: int,
        fivetran_retry_delay: float,
        poll_frequency: float,
        schedule_type: str,
        reschedule_wait_time: float | None,
        deferrable: bool,
        wait_for_completion: bool,
        scope: dict[str, list[str]] | None = None,
        resync: bool = False,
        **kwargs: Any,
    ) -> None:
        from fivetran_provider.operators._completion import merge_outlets

        warn_once(self.compat_name, self.instead)
        kwargs["outlets"] = merge_outlets(
            kwargs.get("outlets"),
            connector_id,
            known_to_emit=self.waits and wait_for_completion is True and not is_templated(connector_id),
        )
        super().__init__(**kwargs)
        if not connector_id and not (connector_name and destination_name):
            raise FivetranValidationError(
                "connector_id",
                connector_id,
                "a Fivetran connection id, or connector_name together with destination_name",
            )
        if connector_id and not is_templated(connector_id):
            fields.validate_connection_id(connector_id, "connector_id")
        self.connector_id = connector_id
        self.connector_name = connector_name
        self.destination_name = destination_name
        self.run_name = run_name
        self.fivetran_conn_id = fivetran_conn_id
        self.fivetran_retry_limit = fivetran_retry_limit
        self.fivetran_retry_delay = fivetran_retry_delay
        self.fivetran_retry_policy = legacy_retry_policy(fivetran_retry_limit, fivetran_retry_delay)
        self.poll_frequency = poll_frequency
        self.poll_interval = fields.coerce_seconds("poll_frequency", poll_frequency)
        self.schedule_type = check_schedule_type(schedule_type)
        self.reschedule_wait_time = reschedule_wait_time
        self.resume_rescheduled = True
        self.deferrable = fields.coerce_bool("deferrable", deferrable)
        self.wait_for_completion = fields.coerce_bool("wait_for_completion", wait_for_completion)
        self.scope = fields.validate_resync_scope(scope) if scope else None
        self.resync = resync or self.scope is not None
        given = self.execution_timeout
        self.timeout: float | timedelta | None = given if isinstance(given, timedelta) else DEFAULT_TIMEOUT

    @cached_property
    def hook(self) -> FivetranHook:
        """The hook for ``fivetran_conn_id``, retrying as ``fivetran_retry_limit`` and ``fivetran_retry_delay`` say."""
        from fivetran_provider.hooks import FivetranHook

        return FivetranHook(self.fivetran_conn_id, retry_policy=self.fivetran_retry_policy)

    def connection_id_now(self) -> str:
        """The connection id: ``connector_id``, or the one named ``connector_name`` in ``destination_name``."""
        if self.connector_id:
            return fields.validate_connection_id(self.connector_id, "connector_id")
        return find_connection_by_destination(
            self.hook, str(self.connector_name), str(self.destination_name), log=self.log
        )

    def execute(self, context: Context) -> Any:
        """Prepare the connection, request the sync or re-sync, and return as the earlier operator did.

        :param context: the task context.
        """
        from fivetran_provider.operators._completion import after_sync
        from fivetran_provider.sync_status import capture_baseline, epoch_to_iso

        hook = self.hook
        try:
            connection_id = self.connection_id_now()
            if context.get("ti") is not None:
                FivetranConnectionLink.persist(context, connection_id)
            if self.run_name:
                self.log.info("Run %s: syncing Fivetran connection %s", self.run_name, connection_id)
            before, connection = prepare_connection(
                hook,
                connection_id,
                schedule_type=self.schedule_type,
                unpause=True,
                test_if_broken=self.tests_broken_connection,
                context=context,
                log=self.log,
                operator=type(self).__name__,
            )
            previous = previous_completion(connection)
            if (
                previous is None and before.get("paused") is True
            ):  # as before: "now" stands for a first sync after resuming
                import time

                previous = epoch_to_iso(time.time())
            baseline = capture_baseline(connection)
            if self.resync:
                hook.resync(connection_id, self.scope, baseline=connection)
                self.log.info(
                    "Requested a historical re-sync of Fivetran connection %s (scope %s)", connection_id, self.scope
                )
            else:
                hook.start_sync(connection_id, force=False, baseline=connection)
                self.log.info("Requested a sync of Fivetran connection %s", connection_id)
            if not (self.waits and self.wait_for_completion):
                return previous
            outcome = self.wait_for_sync(
                context,
                connection_id=connection_id,
                baseline=baseline,
                historical=self.resync and self.scope is None,
                hook=hook,
            )
            after_sync(self, context, hook, outcome, historical=self.resync and self.scope is None, lineage=False)
            return None  # finished without deferring: the earlier operator returned nothing then
        finally:
            hook.close()

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, result: Any = None) -> Any:
        """Resume after the trigger fired: return the sync's ``succeeded_at``, as the earlier operator did.

        :param context: the task context.
        :param event: the trigger's event payload.
        :param result: unused (kept by the wait's contract).
        """
        from fivetran_provider.operators._completion import after_sync

        outcome = super().execute_complete(context, event, result)
        try:
            after_sync(self, context, self.hook, outcome, historical=self.resync and self.scope is None, lineage=False)
        finally:
            self.hook.close()
        return outcome.get("succeeded_at") if isinstance(outcome, dict) else None

"""``LegacySyncSensor``: the earlier providers' ``FivetranSensor``, on this provider's sensor.

Both earlier sensors waited until the connection completed a sync after a point in time: the
value the operator returned (``xcom`` / ``completed_after_time``), or else the connection's last
completion as read at the first check. They returned nothing as XCom. This class keeps that,
and judges each read with :class:`~fivetran_provider.sensors.FivetranSyncSensor`'s logic
(failures fail the task, a paused connection fails it, a rescheduled manual sync is started
again, transient API errors are retried, the sensor's ``timeout`` always ends the wait).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from fivetran_provider import fields
from fivetran_provider._compat import PokeReturnValue
from fivetran_provider.compat._legacy import find_connection_by_destination, legacy_retry_policy, warn_once
from fivetran_provider.exceptions import FivetranSensorTimeoutError, FivetranSyncFailedError, FivetranValidationError
from fivetran_provider.links import connection_dashboard_url
from fivetran_provider.sensors import FivetranSyncSensor

if TYPE_CHECKING:
    from fivetran_provider._compat import Context
    from fivetran_provider.hooks import FivetranHook

_NOT_GIVEN: Any = object()
_NULL_TEXT = ("None", "none", "null")


class LegacySyncSensor(FivetranSyncSensor):
    """Wait for a completed sync the way an earlier provider's ``FivetranSensor`` did (base class).

    Subclasses set ``compat_name`` and ``baseline_field`` (the attribute holding the point in
    time to wait past: ``xcom`` or ``completed_after_time``).

    :param connector_id: the connection id (templated).
    :param connector_name: instead of ``connector_id``: the connection's schema name (templated).
    :param destination_name: with ``connector_name``: its destination's name (templated).
    :param fivetran_conn_id: the Airflow connection id.
    :param poke_interval: seconds between checks.
    :param fivetran_retry_limit: attempts per API request (at least 1).
    :param fivetran_retry_delay: seconds before the first retry.
    :param always_wait_when_syncing: a check that sees ``sync_state`` ``syncing`` keeps waiting.
    :param propagate_failures_forward: fail when the last thing the connection did, before the
        point waited past, was a failed sync.
    :param deferrable: wait in the triggerer.
    """

    compat_name: ClassVar[str] = ""
    instead: ClassVar[str] = "fivetran_provider.sensors.FivetranSyncSensor"
    baseline_field: ClassVar[str] = "xcom"

    def __init__(
        self,
        *,
        connector_id: str | None,
        connector_name: str | None,
        destination_name: str | None,
        fivetran_conn_id: str,
        poke_interval: float,
        fivetran_retry_limit: int,
        fivetran_retry_delay: float,
        always_wait_when_syncing: bool,
        propagate_failures_forward: bool,
        deferrable: bool,
        **kwargs: Any,
    ) -> None:
        warn_once(self.compat_name, self.instead)
        if not connector_id and not (connector_name and destination_name):
            raise FivetranValidationError(
                "connector_id",
                connector_id,
                "a Fivetran connection id, or connector_name together with destination_name",
            )
        # The base checks its target: a name needs a group, which is found from destination_name
        # when the task runs (target_id below), so the name stands in for it here.
        super().__init__(
            connection_id=connector_id or None,
            connection_name=None if connector_id else connector_name,
            group_id=None if connector_id else destination_name,
            fivetran_conn_id=fivetran_conn_id,
            poke_interval=poke_interval,
            deferrable=fields.coerce_bool("deferrable", deferrable),
            resume_rescheduled=True,
            **kwargs,
        )
        self.group_id = None
        self.destination_name = destination_name
        self.fivetran_retry_limit = fivetran_retry_limit
        self.fivetran_retry_delay = fivetran_retry_delay
        self.fivetran_retry_policy = legacy_retry_policy(fivetran_retry_limit, fivetran_retry_delay)
        self.always_wait_when_syncing = fields.coerce_bool("always_wait_when_syncing", always_wait_when_syncing)
        self.propagate_failures_forward = fields.coerce_bool("propagate_failures_forward", propagate_failures_forward)
        self._first_seen: Any = _NOT_GIVEN

    @property
    def connector_id(self) -> str | None:
        """The ``connector_id`` argument (rendered once the task runs)."""
        return self.connection_id

    @cached_property
    def hook(self) -> FivetranHook:
        """The hook for ``fivetran_conn_id``, retrying as ``fivetran_retry_limit`` and ``fivetran_retry_delay`` say."""
        from fivetran_provider.hooks import FivetranHook

        return FivetranHook(self.fivetran_conn_id, retry_policy=self.fivetran_retry_policy)

    def target_id(self) -> str:
        """The connection id: ``connector_id``, or ``connector_name`` found in ``destination_name``."""
        if self._resolved_id is None and not self.connection_id:
            self._resolved_id = find_connection_by_destination(
                self.hook, str(self.connection_name), str(self.destination_name), log=self.log
            )
        return super().target_id()

    def _given_baseline(self) -> Any:
        value = getattr(self, self.baseline_field, None)
        if value is None or (isinstance(value, str) and not value.strip()):
            return _NOT_GIVEN
        if isinstance(value, str) and value.strip() in _NULL_TEXT:
            return None  # the operator said the connection had never completed a sync
        from fivetran_provider.sync_status import to_iso

        return to_iso(value, self.baseline_field)

    def completed_after_for(self, context: Context) -> str | None:  # type: ignore[override]
        """The point in time a completed sync must be after: given, or the last completion at the first check.

        ``None`` means the connection had never completed a sync, so any completion counts.

        :param context: the task context.
        """
        given = self._given_baseline()
        if given is not _NOT_GIVEN:
            return given  # type: ignore[no-any-return]
        if self._first_seen is _NOT_GIVEN:
            from fivetran_provider.sync_status import capture_baseline

            self._first_seen = capture_baseline(self.hook.get_connection_details(self.target_id()))
            self.log.info("Waiting for a sync completed after %s", self._first_seen or "the start")
        return self._first_seen  # type: ignore[no-any-return]

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Check the connection once; see :meth:`FivetranSyncSensor.poke`, plus the two earlier options.

        :param context: the task context.
        """
        from fivetran_provider.operators.sync import poll_once
        from fivetran_provider.sync_status import DONE, outcome_from_event

        waiter = self._waiter(context, deadline=None)
        step, connection = poll_once(self.hook, waiter, self.log)
        if connection is not None:
            group = connection.get("group_id")
            self._group_id = group if isinstance(group, str) else None
            if self.propagate_failures_forward:
                self._fail_on_earlier_failure(connection, waiter.baseline)
            status = connection.get("status")
            syncing = isinstance(status, Mapping) and status.get("sync_state") == "syncing"
            if self.always_wait_when_syncing and syncing:
                return False
        if step.action != DONE:
            return False
        return PokeReturnValue(True, outcome_from_event(step.event, timeout_error=FivetranSensorTimeoutError))

    def _fail_on_earlier_failure(self, connection: Mapping[str, Any], baseline: str | None) -> None:
        from fivetran_provider.sync_status import parse_timestamp

        def moment(key: str) -> Any:
            try:
                return parse_timestamp(connection.get(key))
            except (ValueError, FivetranValidationError):
                return None

        failed, succeeded, base = moment("failed_at"), moment("succeeded_at"), parse_timestamp(baseline)
        if failed is None or (succeeded is not None and succeeded >= failed):
            return
        if base is None or failed <= base:
            connection_id = self.target_id()
            raise FivetranSyncFailedError(
                f"The last sync of Fivetran connection {connection_id} failed (at {connection.get('failed_at')}) "
                "and none succeeded since; propagate_failures_forward=True fails the task. "
                f"See {connection_dashboard_url(connection_id)}",
                connection_id=connection_id,
                dashboard_url=connection_dashboard_url(connection_id),
                failed_at=str(connection.get("failed_at")),
            )

    def _after_sync(self, context: Context, outcome: Any) -> Any:
        super()._after_sync(context, outcome)
        return None  # the earlier sensors returned nothing

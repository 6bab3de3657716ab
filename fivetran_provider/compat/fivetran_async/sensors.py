"""``FivetranSensor`` of ``airflow-provider-fivetran-async`` 2.4.0, on this provider.

As in 2.4.0 the sensor waits until the connection completes a sync after
``completed_after_time`` (templated; the operator's return value with
``wait_for_completion=False``, or e.g. ``{{ data_interval_end }}``), or, when that is empty, after
the last completion it sees at its first check; it waits in the triggerer by default and
returns nothing. It reads ``GET /v1/connections/{id}`` (the current API), retries transient API
errors and always ends at its ``timeout``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fivetran_provider.compat._legacy import FivetranCompatibilityWarning
from fivetran_provider.compat._sensor import LegacySyncSensor
from fivetran_provider.exceptions import FivetranValidationError

__all__ = ["FivetranSensor"]


class FivetranSensor(LegacySyncSensor):
    """Wait for a Fivetran sync completed after a point in time (``airflow-provider-fivetran-async`` 2.4.0 names).

    :param connector_id: the Fivetran connection id (templated).
    :param connector_name: instead of ``connector_id``: the connection's schema name.
    :param destination_name: with ``connector_name``: the destination's name.
    :param fivetran_conn_id: the Airflow connection id.
    :param poke_interval: seconds between checks.
    :param fivetran_retry_limit: attempts per API request (at least 1).
    :param fivetran_retry_delay: seconds before the first retry.
    :param completed_after_time: the sync must complete after this time (datetime or ISO-8601
        text, templated); empty: after the last completion seen at the first check.
    :param reschedule_wait_time: accepted; a rescheduled sync of a manual connection is started
        again when Fivetran's ``rescheduled_for`` has come.
    :param always_wait_when_syncing: keep waiting while ``sync_state`` is ``syncing`` (checks in
        the worker; in the triggerer the first completion after the time ends the wait).
    :param propagate_failures_forward: fail when the last sync before ``completed_after_time``
        failed and none succeeded since.
    :param deferrable: wait in the triggerer (default True, as in 2.4.0).

    The deprecated keywords of 2.4.0 still work: ``xcom`` (for ``completed_after_time``) and
    ``reschedule_time`` (for ``reschedule_wait_time``).
    """

    compat_name = "fivetran_provider.compat.fivetran_async.sensors.FivetranSensor"
    baseline_field = "completed_after_time"
    template_fields: Any = ("connection_id", "completed_after_time")

    def __init__(
        self,
        connector_id: str | None = None,
        connector_name: str | None = None,
        destination_name: str | None = None,
        fivetran_conn_id: str = "fivetran_default",
        poke_interval: int = 60,
        fivetran_retry_limit: int = 3,
        fivetran_retry_delay: int = 1,
        completed_after_time: str | datetime | None = None,
        reschedule_wait_time: int | None = None,
        always_wait_when_syncing: bool = False,
        propagate_failures_forward: bool = False,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        import warnings

        for old, new in (("xcom", "completed_after_time"), ("reschedule_time", "reschedule_wait_time")):
            if old in kwargs:
                warnings.warn(f"{old} is deprecated; use {new}", FivetranCompatibilityWarning, stacklevel=2)
        xcom = kwargs.pop("xcom", None)
        if completed_after_time is None:
            completed_after_time = xcom
        reschedule_time = kwargs.pop("reschedule_time", None)
        if reschedule_wait_time is None:
            reschedule_wait_time = reschedule_time
        if completed_after_time is not None and not isinstance(completed_after_time, (str, datetime)):
            raise FivetranValidationError(
                "completed_after_time", completed_after_time, "None, ISO-8601 text or a datetime"
            )
        super().__init__(
            connector_id=connector_id,
            connector_name=connector_name,
            destination_name=destination_name,
            fivetran_conn_id=fivetran_conn_id,
            poke_interval=poke_interval,
            fivetran_retry_limit=fivetran_retry_limit,
            fivetran_retry_delay=fivetran_retry_delay,
            always_wait_when_syncing=always_wait_when_syncing,
            propagate_failures_forward=propagate_failures_forward,
            deferrable=deferrable,
            **kwargs,
        )
        self.completed_after_time = (
            completed_after_time.isoformat()
            if isinstance(completed_after_time, datetime)
            else completed_after_time or ""
        )
        self.reschedule_wait_time = reschedule_wait_time
        if self.completed_after_time and "{{" not in self.completed_after_time:
            self._given_baseline()  # a literal time is checked when the DAG is parsed

"""``FivetranSensor`` of the archived ``airflow-provider-fivetran`` 1.x, at its import path.

DAGs that say ``from fivetran_provider.sensors.fivetran import FivetranSensor`` run unchanged.
As in 1.x the sensor waits until the connection completes a sync after ``xcom`` (the value a
:class:`~fivetran_provider.operators.fivetran.FivetranOperator` returned), or after the last
completion it sees at its first check, fails when that sync failed, and returns nothing. It
reads ``GET /v1/connections/{id}`` (the current API), starts a rescheduled sync of a manual
connection again when Fivetran's ``rescheduled_for`` has come, retries transient API errors and
ends at its ``timeout``. Prefer :class:`~fivetran_provider.sensors.FivetranSyncSensor` in new DAGs.
"""

from __future__ import annotations

from typing import Any

from fivetran_provider.compat._sensor import LegacySyncSensor

__all__ = ["FivetranSensor"]


class FivetranSensor(LegacySyncSensor):
    """Wait for a Fivetran sync completed after a point in time (archived provider 1.x names).

    :param connector_id: the Fivetran connection id (templated).
    :param fivetran_conn_id: the Airflow connection id; ``"fivetran"`` by default, as in 1.x.
    :param poke_interval: seconds between checks.
    :param fivetran_retry_limit: attempts per API request (at least 1).
    :param fivetran_retry_delay: seconds before the first retry.
    :param xcom: the sync must complete after this time (templated), usually the operator's
        return value; empty: after the last completion seen at the first check.
    :param reschedule_time: accepted for compatibility; a rescheduled sync of a manual
        connection is started again when Fivetran's ``rescheduled_for`` has come.
    """

    compat_name = "fivetran_provider.sensors.fivetran.FivetranSensor"
    baseline_field = "xcom"
    template_fields: Any = ("connection_id", "xcom")

    def __init__(
        self,
        connector_id: str,
        fivetran_conn_id: str = "fivetran",
        poke_interval: int = 60,
        fivetran_retry_limit: int = 3,
        fivetran_retry_delay: int = 1,
        xcom: str = "",
        reschedule_time: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            connector_id=connector_id,
            connector_name=None,
            destination_name=None,
            fivetran_conn_id=fivetran_conn_id,
            poke_interval=poke_interval,
            fivetran_retry_limit=fivetran_retry_limit,
            fivetran_retry_delay=fivetran_retry_delay,
            always_wait_when_syncing=False,
            propagate_failures_forward=False,
            deferrable=False,
            **kwargs,
        )
        self.xcom = xcom
        self.reschedule_time = reschedule_time

"""``FivetranOperator`` of the archived ``airflow-provider-fivetran`` 1.x, at its import path.

DAGs that say ``from fivetran_provider.operators.fivetran import FivetranOperator`` run unchanged.
The operator does what 1.x documented: it checks that the connection is set up, sets its
``schedule_type`` (``"manual"`` unless told otherwise) and resumes it when paused, starts a sync
and returns, without waiting, the previous completion time (``max(succeeded_at, failed_at)`` as
Fivetran wrote it), which a :class:`~fivetran_provider.sensors.fivetran.FivetranSensor` can wait
past. Unlike 1.x it calls ``/v1/connections/{id}`` and ``POST .../sync`` (the current API),
checks its arguments when the DAG is parsed, records the ``schedule_type``/``paused`` change for
``RestoreFivetranConnectionOperator`` and never sends the sync twice. Prefer
:class:`~fivetran_provider.operators.sync.FivetranSyncOperator` in new DAGs.
"""

from __future__ import annotations

from typing import Any

from fivetran_provider.compat._operator import LegacySyncOperator

__all__ = ["FivetranOperator"]


class FivetranOperator(LegacySyncOperator):
    """Start a Fivetran sync and return the previous completion time (archived provider 1.x names).

    :param connector_id: the Fivetran connection id (templated).
    :param run_name: a label written to the task log (1.x accepted it and did nothing with it).
    :param timeout_seconds: accepted for compatibility; 1.x did not use it either. Use
        ``execution_timeout`` to bound the task.
    :param fivetran_conn_id: the Airflow connection id; ``"fivetran"`` by default, as in 1.x.
    :param fivetran_retry_limit: attempts per API request (at least 1).
    :param fivetran_retry_delay: seconds before the first retry.
    :param poll_frequency: accepted for compatibility (this operator does not wait).
    :param schedule_type: ``"manual"`` (default: Airflow starts the syncs) or ``"auto"``
        (Fivetran's schedule); set on the connection before the sync, logged and recorded.
    """

    compat_name = "fivetran_provider.operators.fivetran.FivetranOperator"
    tests_broken_connection = False
    waits = False
    template_fields = ("connector_id",)

    def __init__(
        self,
        connector_id: str,
        run_name: str | None = None,
        timeout_seconds: int | None = None,
        fivetran_conn_id: str = "fivetran",
        fivetran_retry_limit: int = 3,
        fivetran_retry_delay: int = 1,
        poll_frequency: int = 15,
        schedule_type: str = "manual",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            connector_id=connector_id,
            connector_name=None,
            destination_name=None,
            run_name=run_name,
            fivetran_conn_id=fivetran_conn_id,
            fivetran_retry_limit=fivetran_retry_limit,
            fivetran_retry_delay=fivetran_retry_delay,
            poll_frequency=poll_frequency,
            schedule_type=schedule_type,
            reschedule_wait_time=None,
            deferrable=False,
            wait_for_completion=False,
            **kwargs,
        )
        self.timeout_seconds = timeout_seconds

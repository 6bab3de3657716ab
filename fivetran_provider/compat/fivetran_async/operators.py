"""``FivetranOperator`` and ``FivetranResyncOperator`` of ``airflow-provider-fivetran-async`` 2.4.0, on this provider.

As in 2.4.0 the operator runs the setup tests of a connection that is not connected, sets its
``schedule_type`` (``"manual"`` by default), resumes it when paused, starts a sync (or a
historical re-sync, optionally of some tables) and, with ``wait_for_completion``, waits for it,
in the triggerer by default. XCom as in 2.4.0: without waiting, the previous completion time;
after a wait in the triggerer, the new ``succeeded_at``; after a wait that ended before
deferring or in the worker, nothing. Unlike 2.4.0 it calls the current API
(``/v1/connections/{id}``, ``POST .../sync``, ``POST .../resync``), checks its arguments when the
DAG is parsed, records the ``schedule_type``/``paused`` change for
``RestoreFivetranConnectionOperator``, never sends a sync twice, and every wait ends at its
deadline (``execution_timeout``, else 24 hours).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fivetran_provider.compat._operator import LegacySyncOperator

__all__ = ["FivetranOperator", "FivetranResyncOperator"]


def _timeout_seconds_as_execution_timeout(kwargs: dict[str, Any]) -> None:
    """2.4.0 took the deprecated ``timeout_seconds`` as ``execution_timeout`` (unless that was given)."""
    seconds = kwargs.pop("timeout_seconds", None)
    if seconds is not None and kwargs.get("execution_timeout") is None:
        kwargs["execution_timeout"] = seconds if isinstance(seconds, timedelta) else timedelta(seconds=float(seconds))


class FivetranOperator(LegacySyncOperator):
    """Start a Fivetran sync and wait for it (``airflow-provider-fivetran-async`` 2.4.0 names).

    :param connector_id: the Fivetran connection id (templated).
    :param connector_name: instead of ``connector_id``: the connection's schema name (templated).
    :param destination_name: with ``connector_name``: the destination's name (templated); the
        connection is found in the destination's group when the task runs.
    :param run_name: a label written to the task log.
    :param fivetran_conn_id: the Airflow connection id.
    :param fivetran_retry_limit: attempts per API request (at least 1).
    :param fivetran_retry_delay: seconds before the first retry.
    :param poll_frequency: seconds between status reads while waiting.
    :param schedule_type: ``"manual"`` (default) or ``"auto"``: set on the connection before the
        sync, logged and recorded under the XCom key ``fivetran_change_record``.
    :param reschedule_wait_time: accepted; a rescheduled sync of a manual connection is started
        again when Fivetran's ``rescheduled_for`` has come.
    :param deferrable: wait in the triggerer (default True, as in 2.4.0).
    :param wait_for_completion: wait until the sync has finished.
    """

    compat_name = "fivetran_provider.compat.fivetran_async.operators.FivetranOperator"
    tests_broken_connection = True
    waits = True
    template_fields = ("connector_id", "connector_name", "destination_name")

    def __init__(
        self,
        connector_id: str | None = None,
        connector_name: str | None = None,
        destination_name: str | None = None,
        run_name: str | None = None,
        fivetran_conn_id: str = "fivetran_default",
        fivetran_retry_limit: int = 3,
        fivetran_retry_delay: int = 1,
        poll_frequency: int = 15,
        schedule_type: str = "manual",
        reschedule_wait_time: int = 0,
        deferrable: bool = True,
        wait_for_completion: bool = True,
        **kwargs: Any,
    ) -> None:
        _timeout_seconds_as_execution_timeout(kwargs)
        super().__init__(
            connector_id=connector_id,
            connector_name=connector_name,
            destination_name=destination_name,
            run_name=run_name,
            fivetran_conn_id=fivetran_conn_id,
            fivetran_retry_limit=fivetran_retry_limit,
            fivetran_retry_delay=fivetran_retry_delay,
            poll_frequency=poll_frequency,
            schedule_type=schedule_type,
            reschedule_wait_time=reschedule_wait_time,
            deferrable=deferrable,
            wait_for_completion=wait_for_completion,
            scope=kwargs.pop("scope", None),
            resync=kwargs.pop("resync", False),
            **kwargs,
        )


class FivetranResyncOperator(FivetranOperator):
    """Start a historical re-sync (``POST /v1/connections/{id}/resync``) and wait for it (2.4.0 names).

    Takes every argument of :class:`FivetranOperator`, plus:

    :param scope: re-sync only these tables: schema name to a non-empty list of table names;
        ``None`` re-syncs the whole connection (and the wait also waits for the historical sync
        flag to clear).
    """

    compat_name = "fivetran_provider.compat.fivetran_async.operators.FivetranResyncOperator"

    def __init__(self, scope: dict[str, list[str]] | None = None, **kwargs: Any) -> None:
        super().__init__(scope=scope, resync=True, **kwargs)

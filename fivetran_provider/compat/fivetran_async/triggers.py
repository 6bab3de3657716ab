"""``FivetranTrigger`` of ``airflow-provider-fivetran-async`` 2.4.0, on this provider's sync trigger.

Built with the 2.4.0 arguments, it polls as :class:`~fivetran_provider.triggers.FivetranSyncTrigger`
does and fires the 2.4.0 events: ``{"status": "success", "message", "return_value": <succeeded_at>}``
or ``{"status": "error", "message"}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fivetran_provider._compat import TriggerEvent
from fivetran_provider.compat._legacy import warn_once
from fivetran_provider.triggers import FivetranSyncTrigger

__all__ = ["FivetranTrigger"]


class FivetranTrigger(FivetranSyncTrigger):
    """Wait in the triggerer for a sync completed after ``previous_completed_at`` (2.4.0 names).

    :param task_id: the task's id (kept for compatibility and messages).
    :param connector_id: the Fivetran connection id.
    :param fivetran_conn_id: the Airflow connection id.
    :param previous_completed_at: the sync must complete after this time; ``None``: after ``xcom``,
        or else after the last completion read when the trigger starts.
    :param xcom: ISO-8601 text used when ``previous_completed_at`` is not given.
    :param poke_interval: seconds between polls.
    :param reschedule_wait_time: accepted; a rescheduled sync of a manual connection is started
        again when Fivetran's ``rescheduled_for`` has come.
    """

    def __init__(
        self,
        task_id: str,
        connector_id: str,
        fivetran_conn_id: str,
        previous_completed_at: datetime | str | None = None,
        xcom: str = "",
        poke_interval: float = 4.0,
        reschedule_wait_time: int | None = None,
    ) -> None:
        warn_once(
            "fivetran_provider.compat.fivetran_async.triggers.FivetranTrigger",
            "fivetran_provider.triggers.FivetranSyncTrigger",
        )
        given = previous_completed_at if previous_completed_at not in (None, "") else (xcom or None)
        super().__init__(
            connection_id=connector_id,
            fivetran_conn_id=fivetran_conn_id,
            baseline=given,
            poll_interval=poke_interval,
            shared_polling=False,
        )
        self.task_id = task_id
        self.previous_completed_at = given
        self.xcom = xcom
        self.poke_interval = poke_interval
        self.reschedule_wait_time = reschedule_wait_time

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the 2.4.0 keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "task_id": self.task_id,
                "connector_id": self.connection_id,
                "fivetran_conn_id": self.fivetran_conn_id,
                "previous_completed_at": self.baseline,
                "xcom": self.xcom,
                "poke_interval": self.poke_interval,
                "reschedule_wait_time": self.reschedule_wait_time,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the sync ends; yield one 2.4.0-shaped event."""
        try:
            if self.baseline is None:
                from fivetran_provider.sync_status import capture_baseline

                hook = self._hook()
                try:
                    self.baseline = capture_baseline(await hook.aget_connection_details(self.connection_id))
                finally:
                    await hook.aclose()
            event = await self.wait()
        except Exception as error:  # the 2.4.0 trigger reported every error as an event
            yield TriggerEvent({"status": "error", "message": str(error)})
            return
        if event.get("status") == "success":
            yield TriggerEvent(
                {"status": "success", "message": event.get("message", ""), "return_value": event.get("succeeded_at")}
            )
        else:
            yield TriggerEvent({"status": "error", "message": event.get("message", str(event.get("status")))})

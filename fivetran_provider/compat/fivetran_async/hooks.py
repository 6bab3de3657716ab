"""``FivetranHook`` and ``FivetranHookAsync`` of ``airflow-provider-fivetran-async`` 2.4.0, on this provider.

Their methods keep the 2.4.0 names and results and call the current API (``/v1/connections``,
``/v1/groups``, ``/v1/destinations``) through this provider's clients. Prefer
:class:`~fivetran_provider.hooks.FivetranHook` and :class:`~fivetran_provider.hooks.FivetranAsyncHook`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fivetran_provider.compat._hook import NEVER, LegacyHookMethods
from fivetran_provider.compat._legacy import legacy_retry_policy, previous_completion, warn_once
from fivetran_provider.exceptions import FivetranSyncFailedError
from fivetran_provider.hooks.async_hook import FivetranAsyncHook
from fivetran_provider.hooks.core import ClientSettings
from fivetran_provider.hooks.fivetran_hook import FivetranHook as _FivetranHook

__all__ = ["FivetranHook", "FivetranHookAsync"]


class FivetranHook(LegacyHookMethods, _FivetranHook):
    """The 2.4.0 hook (its method names) on this provider's client.

    :param fivetran_conn_id: the Airflow connection id.
    :param fivetran_conn: an Airflow ``Connection`` to use instead of looking ``fivetran_conn_id`` up.
    :param timeout_seconds: seconds to wait for each answer (2.4.0 stored it without using it).
    :param retry_limit: attempts per request (at least 1).
    :param retry_delay: seconds before the first retry.
    """

    compat_name = "fivetran_provider.compat.fivetran_async.hooks.FivetranHook"
    instead = "fivetran_provider.hooks.FivetranHook"
    tests_broken_connection = True

    def __init__(
        self,
        fivetran_conn_id: str = "fivetran_default",
        fivetran_conn: Any = None,
        timeout_seconds: int = 180,
        retry_limit: int = 3,
        retry_delay: float = 1.0,
        **kwargs: Any,
    ) -> None:
        warn_once(self.compat_name, self.instead)
        super().__init__(
            fivetran_conn_id,
            read_timeout=timeout_seconds,
            retry_policy=legacy_retry_policy(retry_limit, retry_delay),
            **kwargs,
        )
        self.fivetran_conn = fivetran_conn
        self.timeout_seconds = timeout_seconds
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay


class FivetranHookAsync(FivetranHook, FivetranAsyncHook):
    """The 2.4.0 asynchronous hook: the methods of :class:`FivetranHook` plus their ``*_async`` forms.

    :param fivetran_conn_id: the Airflow connection id.
    :param fivetran_conn: an Airflow ``Connection`` to use instead of looking ``fivetran_conn_id`` up.
    :param timeout_seconds: seconds to wait for each answer.
    :param retry_limit: attempts per request (at least 1).
    :param retry_delay: seconds before the first retry.
    """

    compat_name = "fivetran_provider.compat.fivetran_async.hooks.FivetranHookAsync"
    instead = "fivetran_provider.hooks.FivetranAsyncHook"

    async def asettings(self) -> ClientSettings:
        """The client settings: from ``fivetran_conn`` when one was given, else read without blocking."""
        if self.fivetran_conn is not None and self._async_settings is None:
            from fivetran_provider._compat import amask_secret

            await amask_secret(self._api_secret(self.fivetran_conn))
            self._async_settings = self._settings_from(self.fivetran_conn, self.fivetran_conn.extra_dejson or {})
        return await super().asettings()

    async def get_connector_async(self, connector_id: str) -> dict[str, Any]:
        """Read a connection without blocking the event loop (``GET /v1/connections/{id}``).

        :param connector_id: the connection id.
        """
        return await self.aget_connection_details(connector_id)

    async def get_last_sync_async(self, connector_id: str, xcom: str = "") -> datetime:
        """When the connection last completed a sync (or the time in ``xcom``, when given).

        :param connector_id: the connection id.
        :param xcom: a timestamp to use instead of reading the connection.
        """
        from fivetran_provider.sync_status import parse_timestamp

        if xcom:
            return parse_timestamp(xcom, "xcom") or NEVER
        return parse_timestamp(previous_completion(await self.get_connector_async(connector_id))) or NEVER

    async def get_sync_status_async(
        self, connector_id: str, previous_completed_at: datetime, reschedule_wait_time: int | None = None
    ) -> str:
        """``"success"`` once a sync completed after ``previous_completed_at``, else ``"pending"``; raise on failure.

        :param connector_id: the connection id.
        :param previous_completed_at: the point in time.
        :param reschedule_wait_time: accepted for compatibility (nothing is restarted here).
        """
        from fivetran_provider.sync_status import FAILED, SUCCESS, evaluate_sync

        check = evaluate_sync(await self.get_connector_async(connector_id), previous_completed_at)
        if check.state == FAILED:
            raise FivetranSyncFailedError(check.message, connection_id=connector_id)
        return "success" if check.state == SUCCESS else "pending"

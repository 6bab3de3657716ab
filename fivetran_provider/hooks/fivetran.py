"""``FivetranHook`` of the archived ``airflow-provider-fivetran`` 1.x, at its import path.

Its methods keep their 1.x names and results but call the current API
(``/v1/connections/...``) through :class:`~fivetran_provider.hooks.FivetranHook`, with its
retries, timeouts and verified re-sends. Prefer that hook in new code.
"""

from __future__ import annotations

from typing import Any

from fivetran_provider.compat._hook import LegacyHookMethods
from fivetran_provider.compat._legacy import legacy_retry_policy, warn_once
from fivetran_provider.hooks.fivetran_hook import FivetranHook as _FivetranHook

__all__ = ["FivetranHook"]


class FivetranHook(LegacyHookMethods, _FivetranHook):
    """The archived provider's hook (1.x names) on this provider's client.

    :param fivetran_conn_id: the Airflow connection id; ``"fivetran"`` by default, as in 1.x.
    :param fivetran_conn: an Airflow ``Connection`` to use instead of looking ``fivetran_conn_id`` up.
    :param timeout_seconds: seconds to wait for each answer (1.x stored it without using it).
    :param retry_limit: attempts per request (at least 1).
    :param retry_delay: seconds before the first retry.
    """

    compat_name = "fivetran_provider.hooks.fivetran.FivetranHook"
    tests_broken_connection = False

    def __init__(
        self,
        fivetran_conn_id: str = "fivetran",
        fivetran_conn: Any = None,
        timeout_seconds: int = 180,
        retry_limit: int = 3,
        retry_delay: float = 1.0,
    ) -> None:
        warn_once(self.compat_name, "fivetran_provider.hooks.FivetranHook")
        super().__init__(
            fivetran_conn_id,
            read_timeout=timeout_seconds,
            retry_policy=legacy_retry_policy(retry_limit, retry_delay),
        )
        self.fivetran_conn = fivetran_conn
        self.timeout_seconds = timeout_seconds
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay

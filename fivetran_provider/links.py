"""Operator extra link to a connection's page in the Fivetran dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fivetran_provider._compat import BaseOperatorLink, get_xcom

if TYPE_CHECKING:
    from fivetran_provider._compat import Context

DASHBOARD_URL = "https://fivetran.com/dashboard/connections/{connection_id}/status"

XCOM_KEY = "fivetran_connection_url"
"""XCom key under which an operator stores the dashboard URL of the connection it works on."""


def connection_dashboard_url(connection_id: str) -> str:
    """The Fivetran dashboard page of a connection.

    :param connection_id: the Fivetran connection id.
    """
    return DASHBOARD_URL.format(connection_id=quote(connection_id, safe=""))


class FivetranConnectionLink(BaseOperatorLink):
    """The "Fivetran connection" button of a task: the connection's status page in the dashboard.

    The operator stores the URL in XCom before its first API call, so the link also works when
    the task fails.
    """

    name = "Fivetran connection"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Read the URL the task stored (empty when it worked on several connections or none).

        :param operator: the task's operator.
        :param ti_key: the task instance key.
        """
        url = get_xcom().get_value(key=XCOM_KEY, ti_key=ti_key)
        return url if isinstance(url, str) else ""

    @staticmethod
    def persist(context: Context, connection_id: str) -> str:
        """Store the dashboard URL of a connection for the running task instance.

        :param context: the task's context.
        :param connection_id: the Fivetran connection id.
        :return: the URL stored.
        """
        url = connection_dashboard_url(connection_id)
        context["ti"].xcom_push(key=XCOM_KEY, value=url)
        return url

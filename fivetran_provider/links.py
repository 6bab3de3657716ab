"""Operator extra link to a connection's page in the Fivetran dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fivetran_provider._compat import BaseOperatorLink, get_xcom

if TYPE_CHECKING:
    from fivetran_provider._compat import Context

DASHBOARD_URL = "https://fivetran.com/dashboard/connections/{connection_id}/status"
# Fivetran documents no URL scheme for its dashboard; this is the destination (group) page.
GROUP_DASHBOARD_URL = "https://fivetran.com/dashboard/destinations/{group_id}"

XCOM_KEY = "fivetran_connection_url"
"""XCom key under which an operator stores the dashboard URL of the connection it works on."""


def connection_dashboard_url(connection_id: str) -> str:
    """The Fivetran dashboard page of a connection.

    :param connection_id: the Fivetran connection id.
    """
    return DASHBOARD_URL.format(connection_id=quote(connection_id, safe=""))


def group_dashboard_url(group_id: str) -> str:
    """The Fivetran dashboard page of a group (destination), which lists its connections.

    :param group_id: the Fivetran group id.
    """
    return GROUP_DASHBOARD_URL.format(group_id=quote(group_id, safe=""))


def _store(context: Context, url: str) -> str:
    """Push the link's URL for the running task instance and return it."""
    context["ti"].xcom_push(key=XCOM_KEY, value=url)
    return url


class FivetranConnectionLink(BaseOperatorLink):
    """The "Fivetran connection" button of a task: the connection's status page in the dashboard.

    The operator stores the URL in XCom before its first API call, so the link also works when
    the task fails. A task working on a group links to the group's page; one working on a list
    links to the first connection's page and logs the others'. Every task stores a value (empty
    when it has no connection), so Airflow 3, which reads the link when the task ends, never
    looks for a missing XCom.
    """

    name = "Fivetran connection"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Read the URL the task stored (empty when it worked on no connection).

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
        return _store(context, connection_dashboard_url(connection_id))

    @staticmethod
    def persist_group(context: Context, group_id: str) -> str:
        """Store the dashboard URL of a group (destination) for the running task instance.

        :param context: the task's context.
        :param group_id: the Fivetran group id.
        :return: the URL stored.
        """
        return _store(context, group_dashboard_url(group_id))

    @staticmethod
    def persist_first(context: Context, connection_ids: Sequence[str], log: Any) -> str:
        """Link the first of several connections; log the dashboard pages of the others.

        :param context: the task's context.
        :param connection_ids: the connections the task works on (none stores an empty link).
        :param log: the task's logger, for the other connections' pages.
        :return: the URL stored.
        """
        if not connection_ids:
            return _store(context, "")
        url = FivetranConnectionLink.persist(context, connection_ids[0])
        if len(connection_ids) > 1:
            log.info(
                "The Fivetran connection link shows %s; the other connections: %s",
                connection_ids[0],
                ", ".join(f"{cid} {connection_dashboard_url(cid)}" for cid in connection_ids[1:]),
            )
        return url

"""``LegacyHookMethods``: the method names of the earlier providers' ``FivetranHook``, on the current API.

Mixed into a subclass of :class:`~fivetran_provider.hooks.FivetranHook`. The methods keep their
old names, arguments and results; every call goes to ``/v1/connections/...``, ``/v1/groups``
or ``/v1/destinations/...`` through the hook's retrying client. Setting ``schedule_type`` here
is logged as a warning but not recorded (a hook has no task to record it in); the operators
record it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import quote

from fivetran_provider import fields
from fivetran_provider.compat._legacy import (
    check_schedule_type,
    find_connection_by_destination,
    previous_completion,
)
from fivetran_provider.exceptions import FivetranSyncFailedError
from fivetran_provider.hooks.core import envelope_data

#: What the earlier hooks used for "never": a moment before any sync.
NEVER = datetime(1969, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


class LegacyHookMethods:
    """Earlier providers' hook methods (mix in before :class:`~fivetran_provider.hooks.FivetranHook`)."""

    tests_broken_connection: ClassVar[bool] = False
    fivetran_conn: Any = None
    log: Any

    def get_connection(self, conn_id: str) -> Any:  # type: ignore[override]
        """The Airflow connection: ``fivetran_conn`` when one was given, else looked up by id.

        :param conn_id: the Airflow connection id.
        """
        if self.fivetran_conn is not None:
            return self.fivetran_conn
        return super().get_connection(conn_id)  # type: ignore[misc]

    # ------------------------------------------------------------------ reads

    def get_connector(self, connector_id: str) -> dict[str, Any]:
        """Read a connection (``GET /v1/connections/{id}``).

        :param connector_id: the connection id.
        """
        return self._hook.get_connection_details(fields.validate_connection_id(connector_id, "connector_id"))

    def get_connector_schemas(self, connector_id: str) -> dict[str, Any]:
        """Read a connection's schema configuration (``GET /v1/connections/{id}/schemas``).

        :param connector_id: the connection id.
        """
        return self._hook.get_schema_config(fields.validate_connection_id(connector_id, "connector_id"))

    def get_groups(self, group_id: str = "") -> Any:
        """Read one group (``GET /v1/groups/{id}``), or list every group when ``group_id`` is empty.

        :param group_id: the group id, or empty for all groups.
        """
        if not group_id:
            from fivetran_provider.hooks.core import list_page

            params: dict[str, Any] = {"limit": 1000}
            groups: list[dict[str, Any]] = []
            while True:
                page, cursor = list_page(self._hook.request("GET", "/v1/groups", params=params), "/v1/groups")
                groups.extend(page)
                if cursor is None:
                    return groups
                params["cursor"] = cursor
        path = "/v1/groups/" + quote(fields.validate_connection_id(group_id, "group_id"), safe="")
        return envelope_data(self._hook.request("GET", path), "GET", path)

    def get_destinations(self, group_id: str) -> dict[str, Any]:
        """Read a group's destination (``GET /v1/destinations/{id}``; a destination shares its group's id).

        :param group_id: the group id.
        """
        path = "/v1/destinations/" + quote(fields.validate_connection_id(group_id, "group_id"), safe="")
        return envelope_data(self._hook.request("GET", path), "GET", path)

    def get_connectors(self, group_id: str) -> list[dict[str, Any]]:
        """List a group's connections (``GET /v1/connections?group_id=...``).

        :param group_id: the group id.
        """
        return self._hook.list_connections(group_id=group_id)

    def get_connector_id(self, connector_name: str, destination_name: str) -> str:
        """The id of the connection named ``connector_name`` in the destination named ``destination_name``.

        :param connector_name: the connection's schema name.
        :param destination_name: the destination's (group's) name.
        """
        return find_connection_by_destination(self._hook, connector_name, destination_name, log=self.log)

    # ------------------------------------------------------------------ set-up and sync

    def test_connector(self, connector_id: str) -> dict[str, Any]:
        """Run a connection's setup tests (``POST /v1/connections/{id}/test``).

        :param connector_id: the connection id.
        """
        return self._hook.run_connection_setup_tests(fields.validate_connection_id(connector_id, "connector_id"))

    def check_connector(self, connector_id: str) -> dict[str, Any]:
        """Fail unless the connection is set up (running its setup tests first where the earlier hook did).

        :param connector_id: the connection id.
        :return: the connection.
        """
        from fivetran_provider.setup_tests import (
            CONNECTED,
            FivetranConnectionBrokenError,
            ensure_connected,
            setup_state,
        )

        connection = self.get_connector(connector_id)
        if self.tests_broken_connection:
            return ensure_connected(self._hook, connection, log=self.log)
        if setup_state(connection) != CONNECTED:
            raise FivetranConnectionBrokenError(
                f"Fivetran connection {connector_id} is not correctly set up (setup_state {setup_state(connection)!r})",
                connection_id=connector_id,
                setup_tests=[],
            )
        return connection

    def set_schedule_type(self, connector_id: str, schedule_type: str) -> dict[str, Any]:
        """Set a connection's ``schedule_type`` (``PATCH /v1/connections/{id}``), saying so in the log.

        :param connector_id: the connection id.
        :param schedule_type: ``"manual"`` or ``"auto"``.
        :return: the connection after the change.
        """
        wanted = check_schedule_type(schedule_type)
        self.log.warning("Setting schedule_type=%s on Fivetran connection %s", wanted, connector_id)
        return self._hook.update_connection(connector_id, schedule_type=wanted)

    def prep_connector(self, connector_id: str, schedule_type: str) -> bool:
        """Check the connection is set up and give it ``schedule_type`` if it has another.

        :param connector_id: the connection id.
        :param schedule_type: ``"manual"`` or ``"auto"``.
        """
        wanted = check_schedule_type(schedule_type)
        if self.check_connector(connector_id).get("schedule_type") != wanted:
            self.set_schedule_type(connector_id, wanted)
        return True

    def start_fivetran_sync(self, connector_id: str, mode: str = "sync", payload: dict[str, Any] | None = None) -> Any:
        """Resume the connection if paused, start a sync (or re-sync), return the previous completion time.

        :param connector_id: the connection id.
        :param mode: ``"sync"`` or ``"resync"``.
        :param payload: with ``resync``: ``{"scope": {...}}``.
        :return: ``max(succeeded_at, failed_at)`` as Fivetran wrote it (``None``: never synced).
        """
        from fivetran_provider.sync_status import epoch_to_iso

        if payload and mode != "resync":
            raise fields.FivetranValidationError("payload", payload, "nothing, unless mode is 'resync'")
        connection = self.get_connector(connector_id)
        previous = previous_completion(connection)
        if connection.get("paused") is True:
            self.log.warning("Fivetran connection %s is paused; resuming it to sync it", connector_id)
            connection = self._hook.update_connection(connector_id, paused=False, current_state=connection)
            if previous is None:
                import time

                previous = epoch_to_iso(time.time())
        if mode == "resync":
            self._hook.resync(connector_id, (payload or {}).get("scope"), baseline=connection)
        else:
            self._hook.start_sync(connector_id, force=False, baseline=connection)
        return previous

    def get_last_sync(self, connector_id: str, xcom: str = "") -> datetime:
        """When the connection last completed a sync (or the time in ``xcom``, when given).

        :param connector_id: the connection id.
        :param xcom: a timestamp to use instead of reading the connection.
        """
        from fivetran_provider.sync_status import parse_timestamp

        if xcom:
            return parse_timestamp(xcom, "xcom") or NEVER
        return parse_timestamp(previous_completion(self.get_connector(connector_id))) or NEVER

    def is_synced_after_target_time(
        self,
        connector_id: str,
        completed_after_time: datetime,
        reschedule_wait_time: int | None = None,
        always_wait_when_syncing: bool = False,
        propagate_failures_forward: bool = True,
    ) -> bool:
        """Whether the connection completed a sync after ``completed_after_time``; raise if it failed.

        :param connector_id: the connection id.
        :param completed_after_time: the point in time.
        :param reschedule_wait_time: accepted for compatibility (nothing is restarted here).
        :param always_wait_when_syncing: answer False while ``sync_state`` is ``syncing``.
        :param propagate_failures_forward: also fail when the last sync before that time failed.
        """
        from fivetran_provider.sync_status import FAILED, SUCCESS, evaluate_sync, parse_timestamp

        connection = self.get_connector(connector_id)
        raw_status = connection.get("status")
        status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
        if always_wait_when_syncing and status.get("sync_state") == "syncing":
            return False
        check = evaluate_sync(connection, completed_after_time, connection_id=connector_id)
        if check.state == FAILED:
            raise FivetranSyncFailedError(check.message, connection_id=connector_id)
        if propagate_failures_forward and check.state != SUCCESS:
            failed = parse_timestamp(connection.get("failed_at"))
            succeeded = parse_timestamp(connection.get("succeeded_at"))
            if failed is not None and (succeeded is None or failed > succeeded):
                raise FivetranSyncFailedError(
                    f"The last sync of Fivetran connection {connector_id} failed at {connection.get('failed_at')}",
                    connection_id=connector_id,
                )
        return bool(check.state == SUCCESS)

    def get_sync_status(self, connector_id: str, previous_completed_at: datetime, reschedule_time: int = 0) -> bool:
        """Whether the connection completed a sync after ``previous_completed_at``; raise if it failed.

        :param connector_id: the connection id.
        :param previous_completed_at: the point in time.
        :param reschedule_time: accepted for compatibility (nothing is restarted here).
        """
        return self.is_synced_after_target_time(
            connector_id, previous_completed_at, reschedule_time, propagate_failures_forward=False
        )

    @property
    def _hook(self) -> Any:
        return self

"""The cursor state of function and Connector SDK connections (``GET``/``PATCH .../state``)."""

from __future__ import annotations

import copy
from typing import Any

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.model import Connection
from fivetran_provider.testing.state_base import StateBase

#: Services whose connections keep a cursor state the API reads and writes (functions, Connector SDK).
STATEFUL_SERVICES: frozenset[str] = frozenset(
    {"connector_sdk", "aws_lambda", "azure_function", "google_cloud_function"}
)


class CursorsState(StateBase):
    """Cursor state of the connections that have one."""

    def connection_state(self, connection_id: str) -> dict[str, Any]:
        """``GET /v1/connections/{id}/state`` data: ``{"state": {...}}``.

        :param connection_id: connection id.
        :raises ApiError: 404 for an unknown connection; 405 for a connection that is not a function
            or Connector SDK one; 400 while no state was written.
        """
        with self.lock:
            conn = self._stateful(connection_id)
            if conn.cursor_state is None:
                raise ApiError(400, "InvalidInput", f"The state of connection '{connection_id}' doesn't exist")
            return {"state": copy.deepcopy(conn.cursor_state)}

    def set_connection_state(self, connection_id: str, state: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /v1/connections/{id}/state``: replace the cursor state.

        :param connection_id: connection id.
        :param state: the new state object.
        :return: ``{"state": {...}}`` afterwards.
        :raises ApiError: 404; 405 as for reads; 409 while a sync runs.
        """
        with self.lock:
            conn = self._stateful(connection_id)
            self._advance(conn, self.clock.now())
            if conn.run is not None:
                raise ApiError(
                    409, "Conflict", f"Connection '{connection_id}' cannot be updated because the sync is in progress"
                )
            conn.cursor_state = copy.deepcopy(state)
            return {"state": copy.deepcopy(state)}

    def _stateful(self, connection_id: str) -> Connection:
        conn = self._conn(connection_id)
        if conn.service not in STATEFUL_SERVICES:
            raise ApiError(
                405,
                "MethodNotAllowed",
                f"Connection '{connection_id}' ({conn.service}) is not a function or Connector SDK connection",
            )
        return conn

"""Schema configuration of connections (what ``GET .../schemas`` answers)."""

from __future__ import annotations

import copy
from typing import Any

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.state_base import StateBase


class SchemasState(StateBase):
    """Reads and writes of each connection's schema config."""

    def schema_config(self, connection_id: str) -> dict[str, Any]:
        """``GET /v1/connections/{id}/schemas`` data, as seeded (see :meth:`add_connection`).

        :param connection_id: connection id.
        :raises ApiError: 404 for an unknown connection, 404 ``NotFound_SchemaConfig`` when none was seeded.
        """
        with self.lock:
            conn = self._conn(connection_id)
            if conn.schema_config is None:
                raise ApiError(
                    404, "NotFound_SchemaConfig", f"Connection with id '{connection_id}' doesn't have schema config"
                )
            return copy.deepcopy(conn.schema_config)

    def set_schema_config(self, connection_id: str, schema_config: dict[str, Any] | None) -> None:
        """Seed the schema config a connection reports (``None`` removes it).

        :param connection_id: connection id.
        :param schema_config: ``{"schema_change_handling", "schemas": {...}}`` as the API returns it.
        """
        with self.lock:
            self._conn_py(connection_id).schema_config = copy.deepcopy(schema_config)


def schema_config_from_shorthand(schemas: dict[str, Any]) -> dict[str, Any]:
    """The ``GET /schemas`` data for ``add_connection(schemas=...)``: schema name to ``{"tables": {...}}``."""
    return {
        "enable_new_by_default": True,
        "schema_change_handling": "ALLOW_ALL",
        "schemas": {name: _schema_view(name, schema) for name, schema in schemas.items()},
    }


def _schema_view(name: str, seeded: dict[str, Any]) -> dict[str, Any]:
    """One schema of ``GET /schemas`` with the fields Fivetran always returns filled in."""
    tables = {}
    for table_name, table in (seeded.get("tables") or {}).items():
        tables[table_name] = {
            "name_in_destination": table_name,
            "enabled": True,
            "sync_mode": "SOFT_DELETE",
            "columns": {},
            "enabled_patch_settings": {"allowed": True},
            "supports_columns_config": True,
            "supports_history_mode": False,
            **copy.deepcopy(table),
        }
    return {"name_in_destination": name, "enabled": True, **copy.deepcopy(seeded), "tables": tables}

"""Schema configuration of connections: ``GET``/``PATCH .../schemas[...]``, reload and column reads.

Every write works on a copy of the connection's schema config and replaces it only when the whole
change is valid, so a refused request changes nothing. The same config decides which tables a
table-level re-sync may name (:func:`check_resync_scope`).
"""

from __future__ import annotations

import copy
from typing import Any

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.model import Connection
from fivetran_provider.testing.state_base import StateBase


class SchemasState(StateBase):
    """Reads and writes of each connection's schema config."""

    def schema_config(self, connection_id: str) -> dict[str, Any]:
        """``GET /v1/connections/{id}/schemas`` data, as seeded (see :meth:`add_connection`) and changed since.

        :param connection_id: connection id.
        :raises ApiError: 404 for an unknown connection, 404 ``NotFound_SchemaConfig`` when there is none.
        """
        with self.lock:
            return copy.deepcopy(self._config_of(self._conn(connection_id)))

    def set_schema_config(self, connection_id: str, schema_config: dict[str, Any] | None) -> None:
        """Seed the schema config a connection reports (``None`` removes it).

        :param connection_id: connection id.
        :param schema_config: ``{"schema_change_handling", "schemas": {...}}`` as the API returns it.
        """
        with self.lock:
            self._conn_py(connection_id).schema_config = copy.deepcopy(schema_config)

    def patch_schema_config(self, connection_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /v1/connections/{id}/schemas``: change handling and any schemas, tables and columns.

        :param connection_id: connection id.
        :param changes: a checked body: ``schema_change_handling`` and/or ``schemas`` (name to schema change).
        :return: the whole schema config afterwards.
        :raises ApiError: 404 for an unknown connection, schema, table or column; 400 for a change the
            config does not allow.
        """
        with self.lock:
            conn = self._conn(connection_id)
            config = copy.deepcopy(self._config_of(conn))
            if "schema_change_handling" in changes:
                config["schema_change_handling"] = changes["schema_change_handling"]
            for schema_name, schema_change in (changes.get("schemas") or {}).items():
                _apply_schema(connection_id, _schema(connection_id, config, schema_name), schema_name, schema_change)
            conn.schema_config = config
            return copy.deepcopy(config)

    def patch_schema(self, connection_id: str, schema_name: str, change: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /v1/connections/{id}/schemas/{schema}``.

        :param connection_id: connection id.
        :param schema_name: schema name, case-sensitive.
        :param change: a checked body (``enabled``, ``tables``).
        :return: the whole schema config afterwards.
        """
        return self.patch_schema_config(connection_id, {"schemas": {schema_name: change}})

    def patch_table(
        self, connection_id: str, schema_name: str, table_name: str, change: dict[str, Any]
    ) -> dict[str, Any]:
        """``PATCH /v1/connections/{id}/schemas/{schema}/tables/{table}``.

        :param connection_id: connection id.
        :param schema_name: schema name.
        :param table_name: table name.
        :param change: a checked body (``enabled``, ``sync_mode``, ``columns``).
        :return: the whole schema config afterwards.
        """
        with self.lock:
            conn = self._conn(connection_id)
            config = copy.deepcopy(self._config_of(conn))
            schema = _schema(connection_id, config, schema_name)
            _apply_table(
                connection_id, _table(connection_id, schema, schema_name, table_name), schema_name, table_name, change
            )
            conn.schema_config = config
            return copy.deepcopy(config)

    def patch_column(
        self, connection_id: str, schema_name: str, table_name: str, column_name: str, change: dict[str, Any]
    ) -> dict[str, Any]:
        """``PATCH .../schemas/{schema}/tables/{table}/columns/{column}``.

        :param connection_id: connection id.
        :param schema_name: schema name.
        :param table_name: table name.
        :param column_name: column name.
        :param change: a checked body (``enabled``, ``hashed``, ``is_primary_key``).
        :return: the whole schema config afterwards.
        """
        return self.patch_table(connection_id, schema_name, table_name, {"columns": {column_name: change}})

    def table_columns(self, connection_id: str, schema_name: str, table_name: str) -> dict[str, Any]:
        """``GET .../schemas/{schema}/tables/{table}/columns`` data: ``{"columns": {...}}``.

        :param connection_id: connection id.
        :param schema_name: schema name.
        :param table_name: table name.
        """
        with self.lock:
            config = self._config_of(self._conn(connection_id))
            table = _table(connection_id, _schema(connection_id, config, schema_name), schema_name, table_name)
            return {"columns": copy.deepcopy(table.get("columns") or {})}

    def reload_schema_config(self, connection_id: str, exclude_mode: str) -> dict[str, Any]:
        """``POST .../schemas/reload``: read the source's schema again.

        The simulated source has exactly the schemas, tables and columns the config already lists, so a
        reload keeps them; a connection without a config gets an empty one.

        :param connection_id: connection id.
        :param exclude_mode: what happens to new objects, e.g. ``PRESERVE`` or ``EXCLUDE`` (none appear here).
        :return: the schema config.
        """
        with self.lock:
            conn = self._conn(connection_id)
            if conn.schema_config is None:
                conn.schema_config = {
                    "enable_new_by_default": True,
                    "schema_change_handling": "ALLOW_ALL",
                    "schemas": {},
                }
            return copy.deepcopy(conn.schema_config)

    @staticmethod
    def _config_of(conn: Connection) -> dict[str, Any]:
        if conn.schema_config is None:
            raise ApiError(404, "NotFound_SchemaConfig", f"Connection with id '{conn.id}' doesn't have schema config")
        return conn.schema_config


def check_resync_scope(conn: Connection, scope: dict[str, list[str]]) -> None:
    """Refuse a re-sync scope naming tables the connection's schema config does not have, or has disabled.

    Without a schema config every table is taken as it is.

    :param conn: the connection.
    :param scope: schema name to table names.
    :raises ApiError: 404 ``NotFound_Table`` for an unknown schema or table; 400 for a disabled one.
    """
    config = conn.schema_config
    if config is None:
        return
    for schema_name, tables in scope.items():
        schema = _schema(conn.id, config, schema_name)
        for table_name in tables:
            table = _table(conn.id, schema, schema_name, table_name)
            if schema.get("enabled") is False or table.get("enabled") is False:
                raise ApiError(
                    400,
                    "InvalidInput",
                    f"Table '{schema_name}.{table_name}' is disabled in the schema config and cannot be re-synced",
                )


def _schema(connection_id: str, config: dict[str, Any], name: str) -> dict[str, Any]:
    schema = (config.get("schemas") or {}).get(name)
    if not isinstance(schema, dict):
        raise ApiError(
            404, "NotFound_Schema", f"Schema '{name}' not found in the schema config of connection '{connection_id}'"
        )
    return schema


def _table(connection_id: str, schema: dict[str, Any], schema_name: str, name: str) -> dict[str, Any]:
    table = (schema.get("tables") or {}).get(name)
    if not isinstance(table, dict):
        raise ApiError(
            404,
            "NotFound_Table",
            f"Table '{schema_name}.{name}' not found in the schema config of connection '{connection_id}'",
        )
    return table


def _check_enabled_change(target: dict[str, Any], enabled: Any, what: str) -> None:
    settings = target.get("enabled_patch_settings") or {}
    if enabled is not None and enabled != target.get("enabled") and settings.get("allowed") is False:
        reason = settings.get("reason") or settings.get("reason_code") or "not allowed"
        raise ApiError(400, "InvalidInput", f"The 'enabled' property of {what} cannot be changed: {reason}")


def _apply_schema(connection_id: str, schema: dict[str, Any], schema_name: str, change: dict[str, Any]) -> None:
    if "enabled" in change:
        schema["enabled"] = change["enabled"]
    for table_name, table_change in (change.get("tables") or {}).items():
        _apply_table(
            connection_id, _table(connection_id, schema, schema_name, table_name), schema_name, table_name, table_change
        )


def _apply_table(
    connection_id: str, table: dict[str, Any], schema_name: str, table_name: str, change: dict[str, Any]
) -> None:
    what = f"table '{schema_name}.{table_name}'"
    _check_enabled_change(table, change.get("enabled"), what)
    if "enabled" in change:
        table["enabled"] = change["enabled"]
    if "sync_mode" in change:
        if "sync_mode" not in table:
            raise ApiError(400, "InvalidInput", f"The {what} does not support switching sync modes")
        if change["sync_mode"] == "HISTORY" and not table.get("supports_history_mode", False):
            raise ApiError(400, "InvalidInput", f"The {what} does not support history mode")
        table["sync_mode"] = change["sync_mode"]
    columns_change = change.get("columns") or {}
    if columns_change and table.get("supports_columns_config") is False:
        raise ApiError(400, "InvalidInput", f"The {what} does not support column-level configuration")
    columns = table.setdefault("columns", {})
    for column_name, column_change in columns_change.items():
        column = columns.get(column_name)
        if not isinstance(column, dict):
            raise ApiError(
                404,
                "NotFound_Column",
                f"Column '{column_name}' not found in {what} of connection '{connection_id}'",
            )
        _check_enabled_change(
            column, column_change.get("enabled"), f"column '{schema_name}.{table_name}.{column_name}'"
        )
        for name in ("enabled", "hashed", "is_primary_key"):
            if name in column_change:
                column[name] = column_change[name]


def schema_config_from_shorthand(schemas: dict[str, Any]) -> dict[str, Any]:
    """The ``GET /schemas`` data for ``add_connection(schemas=...)``: schema name to ``{"tables": {...}}``.

    :param schemas: schema name to ``{"tables": {table: {..., "columns": {column: {...}}}}}``; the
        fields Fivetran always returns are filled in.
    """
    return {
        "enable_new_by_default": True,
        "schema_change_handling": "ALLOW_ALL",
        "schemas": {name: _schema_view(name, schema) for name, schema in schemas.items()},
    }


def _schema_view(name: str, seeded: dict[str, Any]) -> dict[str, Any]:
    """One schema of ``GET /schemas`` with the fields Fivetran always returns filled in."""
    tables = {}
    for table_name, table in (seeded.get("tables") or {}).items():
        columns = {
            column_name: {
                "name_in_destination": column_name,
                "enabled": True,
                "hashed": False,
                "enabled_patch_settings": {"allowed": True},
                **copy.deepcopy(column),
            }
            for column_name, column in (table.get("columns") or {}).items()
        }
        tables[table_name] = {
            "name_in_destination": table_name,
            "enabled": True,
            "sync_mode": "SOFT_DELETE",
            "enabled_patch_settings": {"allowed": True},
            "supports_columns_config": True,
            "supports_history_mode": False,
            **copy.deepcopy(table),
            "columns": columns,
        }
    return {"name_in_destination": name, "enabled": True, **copy.deepcopy(seeded), "tables": tables}

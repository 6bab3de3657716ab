"""Routes of connections' schema configuration, table-level re-sync and cursor state."""

from __future__ import annotations

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.http_messages import Response, success
from fivetran_provider.testing.routing import RouteContext, RouteEntry, RouteSet
from fivetran_provider.testing.schema_bodies import (
    validate_column_update,
    validate_reload,
    validate_schema_config_update,
    validate_schema_update,
    validate_state_update,
    validate_table_map,
    validate_table_update,
)

_SCHEMA = ("connections", "*", "schemas", "*")
_TABLE = (*_SCHEMA, "tables", "*")


class SchemaRoutes(RouteSet):
    """``/v1/connections/{id}/schemas...`` and ``/v1/connections/{id}/state``."""

    def routes(self) -> list[RouteEntry]:
        """The resource's routes."""
        return [
            (("connections", "*", "schemas"), {"GET": self._schema_config, "PATCH": self._patch_schema_config}),
            (("connections", "*", "schemas", "reload"), {"POST": self._reload}),
            (("connections", "*", "schemas", "tables", "resync"), {"POST": self._resync_tables}),
            (_SCHEMA, {"PATCH": self._patch_schema}),
            (_TABLE, {"PATCH": self._patch_table}),
            ((*_TABLE, "columns"), {"GET": self._columns}),
            ((*_TABLE, "columns", "*"), {"PATCH": self._patch_column}),
            (("connections", "*", "state"), {"GET": self._state, "PATCH": self._patch_state}),
        ]

    def _schema_config(self, ctx: RouteContext) -> Response:
        return success("Schema configuration retrieved successfully", self.state.schema_config(ctx.params[0]))

    def _written(self, ctx: RouteContext, message: str, data: object) -> Response:
        spoiled = self.after_apply(ctx.request.method.upper(), ctx.path, data)
        return spoiled or success(message, data)

    def _patch_schema_config(self, ctx: RouteContext) -> Response:
        self.require_connection(ctx.params[0])
        changes = validate_schema_config_update(ctx.body)
        data = self.state.patch_schema_config(ctx.params[0], changes)
        return self._written(ctx, "Schema configuration has been modified", data)

    def _patch_schema(self, ctx: RouteContext) -> Response:
        connection_id, schema = ctx.params
        self.require_connection(connection_id)
        data = self.state.patch_schema(connection_id, schema, validate_schema_update(ctx.body))
        return self._written(ctx, "Database schema configuration has been modified", data)

    def _patch_table(self, ctx: RouteContext) -> Response:
        connection_id, schema, table = ctx.params
        self.require_connection(connection_id)
        data = self.state.patch_table(connection_id, schema, table, validate_table_update(ctx.body))
        return self._written(ctx, "Table configuration has been modified", data)

    def _patch_column(self, ctx: RouteContext) -> Response:
        connection_id, schema, table, column = ctx.params
        self.require_connection(connection_id)
        data = self.state.patch_column(connection_id, schema, table, column, validate_column_update(ctx.body))
        return self._written(ctx, "Column configuration has been modified", data)

    def _columns(self, ctx: RouteContext) -> Response:
        connection_id, schema, table = ctx.params
        data = self.state.table_columns(connection_id, schema, table)
        return success("Column configuration retrieved successfully", data)

    def _reload(self, ctx: RouteContext) -> Response:
        self.require_connection(ctx.params[0])
        data = self.state.reload_schema_config(ctx.params[0], validate_reload(ctx.body))
        return self._written(ctx, "Schema configuration has been reloaded", data)

    def _resync_tables(self, ctx: RouteContext) -> Response:
        connection_id = ctx.params[0]
        self.require_connection(connection_id)
        scope = validate_table_map(ctx.body)
        fault = self.faults.take(("resync_conflict",), "POST", ctx.path)
        if fault is not None:
            raise ApiError(409, fault.error_code, fault.error_message)
        self.state.resync(connection_id, scope)
        spoiled = self.after_apply("POST", ctx.path, None)
        return spoiled or success("Re-sync has been triggered successfully")

    def _state(self, ctx: RouteContext) -> Response:
        return success("Connection state retrieved successfully", self.state.connection_state(ctx.params[0]))

    def _patch_state(self, ctx: RouteContext) -> Response:
        self.require_connection(ctx.params[0])
        data = self.state.set_connection_state(ctx.params[0], validate_state_update(ctx.body))
        return self._written(ctx, "Connection state has been updated", data)

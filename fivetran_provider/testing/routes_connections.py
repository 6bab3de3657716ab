"""Routes of connections: list, read, update, delete, sync, re-sync and setup tests."""

from __future__ import annotations

from fivetran_provider.testing.connection_bodies import validate_resync, validate_sync, validate_test, validate_update
from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.http_messages import Response, success
from fivetran_provider.testing.pagination import page
from fivetran_provider.testing.routing import RouteContext, RouteEntry, RouteSet


class ConnectionRoutes(RouteSet):
    """``/v1/connections`` and ``/v1/connections/{id}[/sync|/resync|/test]``."""

    def routes(self) -> list[RouteEntry]:
        """The resource's routes."""
        return [
            (("connections",), {"GET": self._list_connections}),
            (
                ("connections", "*"),
                {"GET": self._get_connection, "PATCH": self._patch_connection, "DELETE": self._delete_connection},
            ),
            (("connections", "*", "sync"), {"POST": self._sync}),
            (("connections", "*", "resync"), {"POST": self._resync}),
            (("connections", "*", "test"), {"POST": self._test}),
        ]

    def _list_connections(self, ctx: RouteContext) -> Response:
        items = self.state.list_connections(group_id=ctx.query.get("group_id"), schema=ctx.query.get("schema"))
        return success("Connections list retrieved successfully", page(items, ctx.query))

    def _get_connection(self, ctx: RouteContext) -> Response:
        return success("Connection details retrieved successfully", self.state.connection_view(ctx.params[0]))

    def _patch_connection(self, ctx: RouteContext) -> Response:
        connection_id = ctx.params[0]
        self.require_connection(connection_id)
        changes, run_tests = validate_update(ctx.body)
        data = self.state.update_connection(connection_id, changes, run_setup_tests=run_tests)
        spoiled = self.after_apply("PATCH", ctx.path, data)
        return spoiled or success("Connection has been updated", data)

    def _delete_connection(self, ctx: RouteContext) -> Response:
        self.state.delete_connection(ctx.params[0])
        return success(f"Connection with id '{ctx.params[0]}' has been deleted")

    def _sync(self, ctx: RouteContext) -> Response:
        connection_id = ctx.params[0]
        self.require_connection(connection_id)
        force = validate_sync(ctx.body)
        self.state.trigger_sync(connection_id, force=force)
        spoiled = self.after_apply("POST", ctx.path, None)
        return spoiled or success(f"Sync has been successfully triggered for connection with id '{connection_id}'")

    def _resync(self, ctx: RouteContext) -> Response:
        connection_id = ctx.params[0]
        self.require_connection(connection_id)
        scope = validate_resync(ctx.body)
        fault = self.faults.take(("resync_conflict",), "POST", ctx.path)
        if fault is not None:
            raise ApiError(409, fault.error_code, fault.error_message)
        self.state.resync(connection_id, scope)
        spoiled = self.after_apply("POST", ctx.path, None)
        return spoiled or success(f"Sync has been successfully triggered for connection with id '{connection_id}'")

    def _test(self, ctx: RouteContext) -> Response:
        connection_id = ctx.params[0]
        self.require_connection(connection_id)
        validate_test(ctx.body, ctx.body_present)
        return success("Setup tests have been completed", self.state.run_setup_tests(connection_id))

"""Routes of connections' schema configuration."""

from __future__ import annotations

from fivetran_provider.testing.http_messages import Response, success
from fivetran_provider.testing.routing import RouteContext, RouteEntry, RouteSet


class SchemaRoutes(RouteSet):
    """``/v1/connections/{id}/schemas...``."""

    def routes(self) -> list[RouteEntry]:
        """The resource's routes."""
        return [
            (("connections", "*", "schemas"), {"GET": self._schema_config}),
        ]

    def _schema_config(self, ctx: RouteContext) -> Response:
        return success("Schema configuration retrieved successfully", self.state.schema_config(ctx.params[0]))

"""Routes of the account, groups, destinations and users."""

from __future__ import annotations

from fivetran_provider.testing.http_messages import Response, invalid, success
from fivetran_provider.testing.pagination import page
from fivetran_provider.testing.routing import RouteContext, RouteEntry, RouteSet


class AccountRoutes(RouteSet):
    """``/v1/account/info``, ``/v1/groups...``, ``/v1/destinations/{id}`` and ``/v1/users``."""

    def routes(self) -> list[RouteEntry]:
        """The resource's routes."""
        return [
            (("account", "info"), {"GET": self._account_info}),
            (("groups",), {"GET": self._list_groups}),
            (("groups", "*"), {"GET": self._get_group}),
            (("groups", "*", "connections"), {"GET": self._list_group_connections}),
            (("destinations", "*"), {"GET": self._get_destination}),
            (("users",), {"GET": self._list_users}),
        ]

    def _account_info(self, ctx: RouteContext) -> Response:
        return success("Account information retrieved successfully", self.state.account_info())

    def _list_groups(self, ctx: RouteContext) -> Response:
        return success("Groups retrieved successfully", page(self.state.list_groups(), ctx.query))

    def _get_group(self, ctx: RouteContext) -> Response:
        return success("Group details retrieved successfully", self.state.get_group(ctx.params[0]))

    def _list_group_connections(self, ctx: RouteContext) -> Response:
        group_id = ctx.params[0]
        self.state.get_group(group_id)
        items = self.state.list_connections(group_id=group_id, schema=ctx.query.get("schema"))
        return success("Connections list retrieved successfully", page(items, ctx.query))

    def _get_destination(self, ctx: RouteContext) -> Response:
        return success("Destination details retrieved successfully", self.state.get_destination(ctx.params[0]))

    def _list_users(self, ctx: RouteContext) -> Response:
        users = self.state.list_users()
        active = ctx.query.get("active")
        if active is not None:
            wanted = active.strip().lower()
            if wanted not in ("true", "false"):
                raise invalid(f"Invalid value for parameter 'active': {active!r}. Allowed values: true, false")
            users = [user for user in users if user["active"] is (wanted == "true")]
        return success("Users list retrieved successfully", page(users, ctx.query))

"""Routes of webhooks: create (account or group), list, read, update, delete and test."""

from __future__ import annotations

from typing import Any

from fivetran_provider.testing.body_checks import require_object
from fivetran_provider.testing.http_messages import Response, invalid, success
from fivetran_provider.testing.pagination import page
from fivetran_provider.testing.routing import RouteContext, RouteEntry, RouteSet
from fivetran_provider.testing.webhook_delivery import send


class WebhookRoutes(RouteSet):
    """``/v1/webhooks...``."""

    def routes(self) -> list[RouteEntry]:
        """The resource's routes."""
        return [
            (("webhooks",), {"GET": self._list}),
            (("webhooks", "account"), {"POST": self._create_account}),
            (("webhooks", "group", "*"), {"POST": self._create_group}),
            (("webhooks", "*"), {"GET": self._get, "PATCH": self._update, "DELETE": self._delete}),
            (("webhooks", "*", "test"), {"POST": self._test}),
        ]

    def _list(self, ctx: RouteContext) -> Response:
        return success("Webhooks retrieved successfully", page(self.state.list_webhooks(), ctx.query))

    def _create_account(self, ctx: RouteContext) -> Response:
        data = self.state.create_webhook(validate_webhook(ctx.body, creating=True))
        return success("Account webhook has been created", data)

    def _create_group(self, ctx: RouteContext) -> Response:
        changes = validate_webhook(ctx.body, creating=True)
        return success("Group webhook has been created", self.state.create_webhook(changes, ctx.params[0]))

    def _get(self, ctx: RouteContext) -> Response:
        return success("Webhook retrieved successfully", self.state.get_webhook(ctx.params[0]))

    def _update(self, ctx: RouteContext) -> Response:
        self.state.get_webhook(ctx.params[0])
        data = self.state.update_webhook(ctx.params[0], validate_webhook(ctx.body, creating=False))
        return success("Webhook has been updated", data)

    def _delete(self, ctx: RouteContext) -> Response:
        self.state.delete_webhook(ctx.params[0])
        return success("Webhook has been deleted")

    def _test(self, ctx: RouteContext) -> Response:
        self.state.get_webhook(ctx.params[0])
        body = require_object({} if ctx.body is None else ctx.body, "webhook test")
        event = body.get("event")
        if not isinstance(event, str) or not event:
            raise invalid("Field 'event' is required and must be a string, e.g. sync_end")
        delivery = send(self.state.test_event(ctx.params[0], event))
        data: dict[str, Any] = {"succeed": 200 <= delivery.status < 300, "status": delivery.status}
        if delivery.error:
            data["message"] = delivery.error
        return success("Webhook has been tested", data)


def validate_webhook(body: Any, *, creating: bool) -> dict[str, Any]:
    """Check a webhook create or update body (fields the definition does not name are ignored).

    :param body: the parsed body.
    :param creating: ``url`` and ``events`` are required when creating.
    """
    body = require_object({} if body is None else body, "webhook")
    changes: dict[str, Any] = {}
    for name in ("url", "events") if creating else ():
        if name not in body:
            raise invalid(f"Field '{name}' is required")
    if "url" in body:
        url = body["url"]
        if not isinstance(url, str):
            raise invalid("Field 'url' must be a string (the endpoint events are posted to)")
        changes["url"] = url
    if "events" in body:
        events = body["events"]
        if not isinstance(events, list) or not all(isinstance(item, str) for item in events):
            raise invalid("Field 'events' must be a list of event names, e.g. [\"sync_end\"]")
        changes["events"] = list(events)
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise invalid("Field 'active' must be a boolean")
        changes["active"] = body["active"]
    if "secret" in body:
        if body["secret"] is not None and not isinstance(body["secret"], str):
            raise invalid("Field 'secret' must be a string")
        changes["secret"] = body["secret"] or None
    return changes

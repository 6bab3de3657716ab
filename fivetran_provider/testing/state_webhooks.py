"""Webhooks of the simulated account, and the ``sync_end`` events they are sent.

A webhook is kept like Fivetran keeps it (account- or group-wide, a list of events, active or not,
an optional signing secret that reads mask). When a sync run ends, every active webhook that
covers the connection and lists ``sync_end`` gets one event; the events go to :attr:`sink` (the
server's sender posts them), whatever makes the run end: a read, a write or :meth:`advance_all`.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.model import Connection, SyncRun
from fivetran_provider.testing.state_base import StateBase
from fivetran_provider.testing.timestamps import format_timestamp

#: ``data.status`` of a ``sync_end`` event by how the run ended.
SYNC_END_STATUS: dict[str, str] = {
    "success": "SUCCESSFUL",
    "failure": "FAILURE_WITH_TASK",
    "rescheduled": "RESCHEDULED",
}


@dataclass
class Webhook:
    """One webhook as stored (the secret in clear)."""

    id: str
    type: str
    url: str
    events: list[str]
    active: bool
    secret: str | None
    created_at: float
    created_by: str
    group_id: str | None = None

    def view(self) -> dict[str, Any]:
        """The webhook as the API returns it (the secret masked)."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.group_id is not None:
            data["group_id"] = self.group_id
        data.update(
            url=self.url,
            events=list(self.events),
            active=self.active,
            created_at=format_timestamp(self.created_at),
            created_by=self.created_by,
        )
        if self.secret is not None:
            data["secret"] = "******"
        return data


@dataclass
class WebhookEvent:
    """One event to send: where, what, and the secret to sign it with."""

    webhook_id: str
    url: str
    secret: str | None
    payload: dict[str, Any] = field(default_factory=dict)


class WebhooksState(StateBase):
    """Webhooks and the events sync runs send them."""

    _webhooks: dict[str, Webhook]
    #: Where events go; ``None`` keeps them in :attr:`undelivered`.
    sink: Callable[[WebhookEvent], None] | None
    undelivered: list[WebhookEvent]

    def _init_webhooks(self) -> None:
        self._webhooks = {}
        self.sink = None
        self.undelivered = []

    def create_webhook(self, changes: dict[str, Any], group_id: str | None = None) -> dict[str, Any]:
        """``POST /v1/webhooks/account`` (``group_id`` ``None``) or ``POST /v1/webhooks/group/{id}``.

        :param changes: a checked body: ``url``, ``events``, optional ``active`` and ``secret``.
        :param group_id: the group a group webhook covers.
        :raises ApiError: 404 ``NotFound_Group`` for an unknown group.
        """
        with self.lock:
            if group_id is not None and group_id not in self._groups:
                raise ApiError(404, "NotFound_Group", f"Cannot find entity 'Group' with id '{group_id}'.")
            webhook = Webhook(
                id=self._ids.new(),
                type="account" if group_id is None else "group",
                url=changes["url"],
                events=list(changes["events"]),
                active=bool(changes.get("active", False)),
                secret=changes.get("secret"),
                created_at=self.clock.now(),
                created_by=self.user_id,
                group_id=group_id,
            )
            self._webhooks[webhook.id] = webhook
            return webhook.view()

    def list_webhooks(self) -> list[dict[str, Any]]:
        """``GET /v1/webhooks`` items, in creation order."""
        with self.lock:
            return [webhook.view() for webhook in self._webhooks.values()]

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        """``GET /v1/webhooks/{id}`` data.

        :param webhook_id: webhook id.
        """
        with self.lock:
            return self._webhook(webhook_id).view()

    def update_webhook(self, webhook_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /v1/webhooks/{id}``: the fields sent replace the stored ones.

        :param webhook_id: webhook id.
        :param changes: a checked body.
        """
        with self.lock:
            webhook = self._webhook(webhook_id)
            for name in ("url", "events", "active", "secret"):
                if name in changes:
                    setattr(webhook, name, copy.deepcopy(changes[name]))
            return webhook.view()

    def delete_webhook(self, webhook_id: str) -> None:
        """``DELETE /v1/webhooks/{id}``.

        :param webhook_id: webhook id.
        """
        with self.lock:
            self._webhook(webhook_id)
            del self._webhooks[webhook_id]

    def test_event(self, webhook_id: str, event: str) -> WebhookEvent:
        """The event ``POST /v1/webhooks/{id}/test`` sends (the caller sends it and reports the answer).

        :param webhook_id: webhook id.
        :param event: the event name to simulate, e.g. ``sync_end``.
        """
        with self.lock:
            webhook = self._webhook(webhook_id)
            payload = {
                "event": event,
                "created": format_timestamp(self.clock.now()),
                "connector_type": "_test",
                "connector_id": "_test_connection",
                "connector_name": "_test",
                "sync_id": secrets.token_hex(16),
                "destination_group_id": webhook.group_id or "_test_group",
                "data": {"status": "SUCCESSFUL"},
            }
            return WebhookEvent(webhook.id, webhook.url, webhook.secret, payload)

    def advance_all(self) -> None:
        """Bring every connection up to date with the clock, so runs that are due end and send events."""
        with self.lock:
            now = self.clock.now()
            for conn in list(self._connections.values()):
                self._advance(conn, now)

    def _webhook(self, webhook_id: str) -> Webhook:
        webhook = self._webhooks.get(webhook_id)
        if webhook is None:
            raise ApiError(404, "NotFound_Webhook", f"Webhook with id '{webhook_id}' not found")
        return webhook

    def _on_sync_end(self, conn: Connection, run: SyncRun) -> None:
        for webhook in self._webhooks.values():
            if not webhook.active or "sync_end" not in webhook.events:
                continue
            if webhook.type == "group" and webhook.group_id != conn.group_id:
                continue
            data: dict[str, Any] = {"status": SYNC_END_STATUS.get(run.result or "", "FAILURE")}
            if run.result == "failure":
                data["reason"] = run.failure_message
            payload = {
                "event": "sync_end",
                "created": format_timestamp(run.ended_at if run.ended_at is not None else self.clock.now()),
                "connector_type": conn.service,
                "connector_id": conn.id,
                "connector_name": conn.schema,
                "sync_id": run.sync_id,
                "destination_group_id": conn.group_id,
                "data": data,
            }
            event = WebhookEvent(webhook.id, webhook.url, webhook.secret, payload)
            if self.sink is not None:
                self.sink(event)
            else:
                self.undelivered.append(event)

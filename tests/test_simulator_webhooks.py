"""Webhooks of the simulator: the API to keep them, and ``sync_end`` events posted to a real receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers.items()), body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator(simulated_time=True, start_time="2026-03-02T00:00:00Z") as simulator:
        simulator.add_group("warehouse", "Warehouse")
        simulator.add_group("sandbox", "Sandbox")
        simulator.add_connection("pg", group_id="warehouse", schema="pg_prod", sync_frequency=60)
        simulator.add_connection("other", group_id="sandbox", sync_frequency=60)
        yield simulator


def test_webhook_api_keeps_webhooks_and_masks_the_secret(
    sim: FivetranSimulator, http: requests.Session, receiver: HTTPServer
) -> None:
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    created = http.post(
        f"{sim.url}/v1/webhooks/group/warehouse",
        json={"url": url, "events": ["sync_end"], "active": True, "secret": "s"},
    )
    assert created.status_code == 200, created.text
    hook = created.json()["data"]
    assert hook["type"] == "group" and hook["group_id"] == "warehouse" and hook["secret"] == "******"
    assert http.get(f"{sim.url}/v1/webhooks/{hook['id']}").json()["data"] == hook
    assert [item["id"] for item in http.get(f"{sim.url}/v1/webhooks").json()["data"]["items"]] == [hook["id"]]
    patched = http.patch(f"{sim.url}/v1/webhooks/{hook['id']}", json={"active": False})
    assert patched.status_code == 200 and patched.json()["data"]["active"] is False
    tested = http.post(f"{sim.url}/v1/webhooks/{hook['id']}/test", json={"event": "sync_end"})
    assert tested.json()["data"] == {"succeed": True, "status": 200}
    assert (
        http.post(f"{sim.url}/v1/webhooks/group/nobody", json={"url": url, "events": ["sync_end"]}).status_code == 404
    )
    assert http.post(f"{sim.url}/v1/webhooks/account", json={"url": url}).status_code == 400
    assert http.delete(f"{sim.url}/v1/webhooks/{hook['id']}").status_code == 200
    assert http.get(f"{sim.url}/v1/webhooks/{hook['id']}").status_code == 404


def test_sync_end_events_are_posted_signed_for_the_groups_they_cover(
    sim: FivetranSimulator, http: requests.Session, receiver: HTTPServer
) -> None:
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    sim.add_webhook(url, group_id="warehouse", secret="topsecret")
    sim.plan_syncs("pg", "failure", failure_message="source unreachable")
    assert http.post(f"{sim.url}/v1/connections/pg/sync", json={}).status_code == 200

    sim.advance(hours=1)  # the failed run, then the hourly scheduled run (a success)
    deliveries = sim.flush_webhooks()

    assert [delivery.status for delivery in deliveries] == [200, 200]
    received: list[tuple[dict[str, str], bytes]] = receiver.received  # type: ignore[attr-defined]
    payloads = [json.loads(body) for _, body in received]
    assert [payload["data"] for payload in payloads] == [
        {"status": "FAILURE_WITH_TASK", "reason": "source unreachable"},
        {"status": "SUCCESSFUL"},
    ]
    first = payloads[0]
    assert (first["event"], first["connector_id"], first["connector_name"]) == ("sync_end", "pg", "pg_prod")
    assert first["destination_group_id"] == "warehouse" and first["created"] == "2026-03-02T00:00:00.000000Z"
    assert payloads[1]["created"] == "2026-03-02T01:00:00.000000Z"
    for headers, body in received:
        expected = hmac.new(b"topsecret", body, hashlib.sha256).hexdigest().upper()
        assert headers["X-Fivetran-Signature-256"] == expected
    # The sandbox connection synced too, but the webhook only covers the warehouse group.
    assert all(payload["connector_id"] == "pg" for payload in payloads)


def test_inactive_webhooks_and_other_events_get_nothing(sim: FivetranSimulator, receiver: HTTPServer) -> None:
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    hook = sim.add_webhook(url, events=("sync_start",))
    sim.advance(hours=1)
    assert sim.flush_webhooks() == []
    assert hook["events"] == ["sync_start"]

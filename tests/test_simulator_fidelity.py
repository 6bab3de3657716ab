"""The simulator against the facts about Fivetran's API: re-sync during a sync, simulated time and
the scheduler, setup-test flags, the live API's lenient typing, per-service secret masking,
robustness at the socket, and the endpoints real clients call."""

from __future__ import annotations

import base64
import http.client as httpclient
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator
from fivetran_provider.testing.handler import RecordedRequest, RequestRecorder

START = "2026-03-02T00:00:00Z"  # a Monday, midnight UTC


@pytest.fixture
def sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator(simulated_time=True, start_time=START) as simulator:
        yield simulator


def call(http: requests.Session, sim: FivetranSimulator, method: str, path: str, body: Any = None) -> Any:
    return http.request(method, f"{sim.url}{path}", json=body, timeout=10)


def data(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def runs(sim: FivetranSimulator, connection_id: str) -> list[tuple[str, str | None]]:
    return [(run["trigger"], run["outcome"]) for run in sim.sync_history(connection_id)]


# ---------------------------------------------------------------------------- 1. re-sync while a sync runs


def test_resync_lets_a_nearly_finished_sync_end_first(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection("conn", succeeded_at="2026-03-01T23:00:00Z")  # next scheduled sync at 05:00
    sim.plan_syncs("conn", "success", duration=30)
    call(http, sim, "POST", "/v1/connections/conn/sync")

    response = call(http, sim, "POST", "/v1/connections/conn/resync")

    assert response.status_code == 200, response.text
    assert runs(sim, "conn") == [("sync", None)]  # the running sync was not cancelled
    assert sim.connection("conn")["status"]["is_historical_sync"] is True
    sim.advance(seconds=30)
    assert runs(sim, "conn") == [("sync", "success"), ("resync", "success")]
    history = sim.sync_history("conn")
    assert history[1]["started_at"] == history[0]["ended_at"] == sim.now
    assert sim.connection("conn")["status"]["is_historical_sync"] is False
    assert conn["id"] == "conn"


def test_resync_during_a_long_sync_is_refused_with_409(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn")
    sim.plan_syncs("conn", "success", duration=3600)
    call(http, sim, "POST", "/v1/connections/conn/sync")

    response = call(http, sim, "POST", "/v1/connections/conn/resync", {"scope": {"public": ["orders"]}})

    assert response.status_code == 409
    assert response.json()["code"] == "Conflict"
    assert "in progress" in response.json()["message"]
    assert runs(sim, "conn") == [("sync", None)]
    sim.advance(hours=1)
    assert runs(sim, "conn") == [("sync", "success")]  # nothing was queued by the refused request


# ---------------------------------------------------------------------------- 2. simulated time


def test_overdue_connection_syncs_at_once_and_reads_delayed_until_that_sync_succeeds(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    sim.default_sync_duration = 600
    sim.add_connection("conn", sync_frequency=60, succeeded_at="2026-02-28T00:00:00Z")
    before = data(call(http, sim, "GET", "/v1/connections/conn"))
    assert before["status"]["update_state"] == "delayed"
    assert before["status"]["sync_state"] == "syncing"  # its hourly slot passed long ago
    assert sim.sync_history("conn")[0]["started_at"] == sim.now

    sim.advance(minutes=10)

    after = data(call(http, sim, "GET", "/v1/connections/conn"))
    assert runs(sim, "conn") == [("scheduled", "success")]
    assert after["succeeded_at"] == "2026-03-02T00:10:00.000000Z"
    assert after["status"]["update_state"] == "on_schedule"


def test_schedule_counts_from_the_last_sync_not_from_seeding(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=60, succeeded_at="2026-03-01T23:30:00Z")
    sim.advance(minutes=29)
    assert runs(sim, "conn") == []
    sim.advance(minutes=1)
    assert sim.connection("conn")["succeeded_at"] == "2026-03-02T00:30:00.000000Z"
    sim.advance(hours=1)
    assert [run["started_at"] - sim.now for run in sim.sync_history("conn")] == [-3600.0, 0.0]


def test_scheduled_syncs_repeat_at_the_frequency_and_paused_ones_do_not_run(sim: FivetranSimulator) -> None:
    sim.add_connection("hourly", sync_frequency=60)
    sim.add_connection("stopped", sync_frequency=60, paused=True, succeeded_at="2026-03-01T00:00:00Z")
    sim.add_connection("by_hand", sync_frequency=60, schedule_type="manual")
    sim.plan_syncs("hourly", "success", "failure", duration=600)

    sim.advance(hours=3)

    assert runs(sim, "hourly") == [("scheduled", "success"), ("scheduled", "failure"), ("scheduled", "success")]
    assert [run["started_at"] - sim.now for run in sim.sync_history("hourly")] == [-7200.0, -3600.0, 0.0]
    assert sim.sync_history("stopped") == [] and sim.sync_history("by_hand") == []
    stopped = sim.connection("stopped")["status"]
    assert stopped["sync_state"] == "paused" and stopped["update_state"] == "on_schedule"


def test_daily_sync_time_starts_the_sync_at_that_hour(sim: FivetranSimulator) -> None:
    sim.add_connection("daily", sync_frequency=1440, daily_sync_time="03:00")
    sim.advance(hours=2, minutes=59)
    assert runs(sim, "daily") == []
    sim.advance(minutes=1)
    assert sim.connection("daily")["succeeded_at"] == "2026-03-02T03:00:00.000000Z"
    sim.advance(days=1)
    assert sim.connection("daily")["succeeded_at"] == "2026-03-03T03:00:00.000000Z"


def test_rescheduled_for_arrives_with_simulated_time(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn", sync_frequency=1440)
    sim.plan_syncs("conn", "rescheduled", "success", duration=60, rescheduled_delay=1800)
    call(http, sim, "POST", "/v1/connections/conn/sync")
    sim.advance(minutes=1)
    status = data(call(http, sim, "GET", "/v1/connections/conn"))["status"]
    assert status["sync_state"] == "rescheduled"
    assert status["rescheduled_for"] == "2026-03-02T00:31:00.000000Z"

    sim.advance(minutes=30)
    assert data(call(http, sim, "GET", "/v1/connections/conn"))["status"]["sync_state"] == "syncing"
    sim.advance(minutes=1)
    assert runs(sim, "conn") == [("sync", "rescheduled"), ("resume", "success")]


def test_overdue_reads_delayed_on_the_wall_clock_too() -> None:
    with FivetranSimulator() as wall:
        stale = wall.add_connection(sync_frequency=60, succeeded_at=wall.now - 2 * 86400)
        fresh = wall.add_connection(sync_frequency=60, succeeded_at=wall.now - 600)
        custom = wall.add_connection(
            sync_frequency=60,
            succeeded_at=wall.now - 3 * 3600,
            data_delay_sensitivity="CUSTOM",
            data_delay_threshold=240,
        )
        assert stale["status"]["update_state"] == "delayed"
        assert fresh["status"]["update_state"] == "on_schedule"
        assert custom["status"]["update_state"] == "on_schedule"  # 3 h < 1 h interval + 240 min
        assert wall.sync_history(stale["id"]) == []  # no scheduler on the wall clock by default


def test_wall_clock_simulator_refuses_advance() -> None:
    with FivetranSimulator() as wall, pytest.raises(RuntimeError, match="simulated_time=True"):
        wall.advance(minutes=1)


# ---------------------------------------------------------------------------- 3. setup-test flags


def test_trust_flags_with_run_setup_tests_omitted_run_the_tests(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn")
    response = call(http, sim, "PATCH", "/v1/connections/conn", {"paused": True, "trust_certificates": True})
    assert [test["status"] for test in data(response)["setup_tests"]] == ["PASSED"] * 3
    both = {"paused": False, "trust_fingerprints": True, "trust_certificates": False}
    assert data(call(http, sim, "PATCH", "/v1/connections/conn", both))["paused"] is False
    refused = call(
        http,
        sim,
        "PATCH",
        "/v1/connections/conn",
        {"paused": True, "trust_fingerprints": True, "run_setup_tests": False},
    )
    assert refused.status_code == 400 and "trust_fingerprints" in refused.json()["message"]


# ---------------------------------------------------------------------------- 4. lenient typing


@pytest.mark.parametrize(
    ("body", "field", "stored"),
    [
        ({"sync_frequency": "720"}, "sync_frequency", 720),
        ({"paused": "false"}, "paused", False),
        ({"paused": "true"}, "paused", True),
    ],
)
def test_string_values_are_coerced_like_the_live_api(
    sim: FivetranSimulator, http: requests.Session, body: dict[str, Any], field: str, stored: Any
) -> None:
    sim.add_connection("conn", paused=not stored if field == "paused" else False)
    answered = data(call(http, sim, "PATCH", "/v1/connections/conn", {**body, "run_setup_tests": False}))
    assert answered[field] == stored and type(answered[field]) is type(stored)
    assert sim.connection("conn")[field] == stored


# ---------------------------------------------------------------------------- 5. secrets per service


def test_secrets_are_masked_per_service_as_the_definition_marks_them(sim: FivetranSimulator) -> None:
    stripe = sim.add_connection(service="stripe", config={"api_key": "sk_live", "token_url": "https://t", "x": 1})
    hubspot = sim.add_connection(service="hubspot", config={"client_secret": "cs", "api_key_id": "k-1"})
    postgres = sim.add_connection(
        service="postgres", config={"password": "pw", "user": "u", "client_private_key": "pk", "host": "h"}
    )
    salesforce = sim.add_connection(service="salesforce", config={"private_key": "-----", "domain": "d"})
    assert stripe["config"] == {"api_key": "******", "token_url": "https://t", "x": 1}
    assert hubspot["config"] == {"client_secret": "******", "api_key_id": "k-1"}
    assert postgres["config"] == {"password": "******", "user": "u", "client_private_key": "******", "host": "h"}
    assert salesforce["config"] == {"private_key": "******", "domain": "d"}
    # For a service the definition describes, only its own password fields are secret ...
    extra = sim.add_connection(service="postgres", config={"password": "pw", "client_id": "c", "hostname": "h"})
    assert extra["config"] == {"password": "******", "client_id": "c", "hostname": "h"}
    # ... and for one it does not describe, any name that is a password field of some service.
    unknown = sim.add_connection(service="some_new_service", config={"api_token": "t", "token_url": "u"})
    assert unknown["config"] == {"api_token": "******", "token_url": "u"}


# ---------------------------------------------------------------------------- 6. robustness


def _raw(sim: FivetranSimulator, payload: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection((sim.host, sim.port), timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


def _auth_header(sim: FivetranSimulator) -> bytes:
    token = base64.b64encode(f"{sim.api_key}:{sim.api_secret}".encode()).decode()
    return f"Authorization: Basic {token}\r\n".encode()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "PUT"])
def test_unknown_methods_get_json_405_with_allow(sim: FivetranSimulator, method: str) -> None:
    sim.add_connection("conn")
    client = httpclient.HTTPConnection(sim.host, sim.port, timeout=10)
    token = base64.b64encode(f"{sim.api_key}:{sim.api_secret}".encode()).decode()
    client.request(method, "/v1/connections/conn", headers={"Authorization": f"Basic {token}"})
    response = client.getresponse()
    body = json.loads(response.read())
    client.close()
    assert response.status == 405
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("Allow") == "DELETE, GET, PATCH"
    assert body["code"] == "MethodNotAllowed"


@pytest.mark.parametrize("size_line", [b"-1", b"+10", b"0x10", b"1000001", b""])
def test_bad_or_oversized_chunk_sizes_are_refused(sim: FivetranSimulator, size_line: bytes) -> None:
    sim.add_connection("conn")
    head = (
        b"POST /v1/connections/conn/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + _auth_header(sim)
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = _raw(sim, head + size_line + b"\r\n{}\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b'"Malformed request body"' in answer
    assert sim.sync_history("conn") == []


def test_deeply_nested_json_gets_a_json_400(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn")
    for depth in (65, 100_000):
        body = b"[" * depth + b"]" * depth
        response = http.post(
            f"{sim.url}/v1/connections/conn/sync", data=body, headers={"Content-Type": "application/json"}, timeout=10
        )
        assert response.status_code == 400
        assert response.json()["code"] == "InvalidInput"
        assert "nests deeper" in response.json()["message"]


def test_http_0_9_request_is_closed_not_left_hanging(sim: FivetranSimulator) -> None:
    assert _raw(sim, b"GET /v1/account/info\r\n", timeout=10) == b""


def test_idle_connections_are_closed_after_the_idle_timeout() -> None:
    with FivetranSimulator(idle_timeout=0.2) as quick:
        assert _raw(quick, b"", timeout=30) == b""  # the server closed the silent connection
        assert _raw(quick, b"GET /v1/account/info HTTP/1.1\r\nHost: x\r\n", timeout=30) == b""  # stalled headers


def test_request_log_is_bounded_and_keeps_no_unauthenticated_bodies(sim: FivetranSimulator) -> None:
    requests.post(f"{sim.url}/v1/connections/x/sync", json={"force": "x" * 1000}, timeout=10)
    unauthenticated = sim.requests[-1]
    assert unauthenticated.status == 401 and unauthenticated.raw_body == b"" and unauthenticated.body is None

    recorder = RequestRecorder(max_records=3, max_body_bytes=10)
    for index in range(5):
        body = b"x" * 6
        recorder.add(RecordedRequest("POST", f"/{index}", {}, {}, None, body, 200, 0.0))
    kept = recorder.snapshot()
    assert [record.path for record in kept] == ["/2", "/3", "/4"]
    assert [len(record.raw_body) for record in kept] == [0, 0, 6]


# ---------------------------------------------------------------------------- 7. endpoints and null config


def test_schema_config_endpoint(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn")
    missing = call(http, sim, "GET", "/v1/connections/conn/schemas")
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound_SchemaConfig"
    config = {
        "schema_change_handling": "ALLOW_ALL",
        "schemas": {"public": {"name_in_destination": "public", "enabled": True, "tables": {}}},
    }
    sim.set_schema_config("conn", config)
    assert data(call(http, sim, "GET", "/v1/connections/conn/schemas")) == config
    assert call(http, sim, "GET", "/v1/connections/ghost/schemas").json()["code"] == "NotFound_Connector"


def test_destination_and_users_endpoints(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_group("warehouse", "Warehouse")
    destination = data(call(http, sim, "GET", "/v1/destinations/warehouse"))
    assert destination["id"] == destination["group_id"] == "warehouse"
    assert destination["setup_status"] == "CONNECTED"
    assert call(http, sim, "GET", "/v1/destinations/nowhere").json()["code"] == "NotFound_Destination"
    users = data(call(http, sim, "GET", "/v1/users"))["items"]
    account = data(call(http, sim, "GET", "/v1/account/info"))
    assert [user["id"] for user in users] == [account["user_id"]]
    assert users[0]["active"] is True


def test_config_key_sent_as_null_reads_back_null(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn", config={"user": "loader", "host": "db"})
    answered = data(call(http, sim, "PATCH", "/v1/connections/conn", {"config": {"user": None}}))
    assert answered["config"] == {"user": None, "host": "db"}
    assert data(call(http, sim, "GET", "/v1/connections/conn"))["config"] == {"user": None, "host": "db"}


# ---------------------------------------------------------------------------- the clock itself


def test_simulated_clock_speed_and_advance() -> None:
    from fivetran_provider.testing.clock import SimulatedClock

    real = [100.0]
    clock = SimulatedClock(start=1_000_000.0, speed=60.0, real_time=lambda: real[0])
    assert clock.now() == 1_000_000.0
    real[0] += 2.0  # two real seconds are two simulated minutes
    assert clock.now() == 1_000_120.0
    assert clock.advance(30) == 1_000_150.0
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    frozen = SimulatedClock(start=5.0, real_time=lambda: real[0])
    real[0] += 1000.0
    assert frozen.now() == 5.0

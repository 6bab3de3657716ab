"""Behaviour of the local Fivetran API simulator, driven over real HTTP with plain ``requests``."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator, RecordedRequest

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- helpers and fixtures


@pytest.fixture
def sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator() as simulator:
        yield simulator


@pytest.fixture
def http(sim: FivetranSimulator) -> Iterator[requests.Session]:
    session = requests.Session()
    session.auth = (sim.api_key, sim.api_secret)
    session.headers["Accept"] = "application/json;version=2"
    yield session
    session.close()


def url(sim: FivetranSimulator, path: str) -> str:
    return f"{sim.url}{path}"


def get_conn(http: requests.Session, sim: FivetranSimulator, connection_id: str) -> dict[str, Any]:
    response = http.get(url(sim, f"/v1/connections/{connection_id}"))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def patch(http: requests.Session, sim: FivetranSimulator, connection_id: str, body: Any) -> requests.Response:
    return http.patch(url(sim, f"/v1/connections/{connection_id}"), json=body)


def post(http: requests.Session, sim: FivetranSimulator, connection_id: str, action: str, body: Any = None) -> Any:
    return http.post(url(sim, f"/v1/connections/{connection_id}/{action}"), json=body)


def parse_ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


# ---------------------------------------------------------------------------- auth, envelope, headers


def test_bad_credentials_get_401_and_change_nothing(sim: FivetranSimulator) -> None:
    conn = sim.add_connection()
    target = url(sim, f"/v1/connections/{conn['id']}")

    wrong = requests.patch(target, json={"paused": True}, auth=(sim.api_key, "not-the-secret"))
    missing = requests.get(target)
    garbage = requests.get(target, headers={"Authorization": "Basic !!!notbase64"})

    for response in (wrong, missing, garbage):
        assert response.status_code == 401
        assert response.json() == {"code": "AuthFailed", "message": "Invalid authorization credentials"}
    assert sim.connection(conn["id"])["paused"] is False


def test_envelope_and_rate_limit_headers(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()

    first = http.get(url(sim, f"/v1/connections/{conn['id']}"))
    second = http.get(url(sim, "/v1/connections/does_not_exist"))

    assert first.status_code == 200
    body = first.json()
    assert body["code"] == "Success"
    assert isinstance(body["message"], str)
    assert body["data"]["id"] == conn["id"]
    assert second.status_code == 404
    assert "data" not in second.json()
    for response in (first, second):
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["X-Rate-Limit"] == "20000"
        assert int(response.headers["Content-Length"]) == len(response.content)
    assert int(second.headers["X-Rate-Limit-Remaining"]) == int(first.headers["X-Rate-Limit-Remaining"]) - 1


def test_enforced_rate_limit_budget_answers_429(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.rate_limit_per_hour = 2
    sim.enforce_rate_limit = True

    answers = [http.get(url(sim, "/v1/account/info")) for _ in range(3)]

    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[1].headers["X-Rate-Limit-Remaining"] == "0"
    assert answers[2].json()["code"] == "TooManyRequests"
    assert int(answers[2].headers["Retry-After"]) >= 1


@pytest.mark.parametrize("accept", ["application/json", "application/json;version=2", "*/*", None])
def test_supported_accept_headers(sim: FivetranSimulator, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    session = requests.Session()
    if accept is None:
        del session.headers["Accept"]
    response = session.get(url(sim, "/v1/account/info"), auth=(sim.api_key, sim.api_secret), headers=headers)
    assert response.status_code == 200


def test_unsupported_accept_gets_406(sim: FivetranSimulator) -> None:
    response = requests.get(
        url(sim, "/v1/account/info"), auth=(sim.api_key, sim.api_secret), headers={"Accept": "text/html"}
    )
    assert response.status_code == 406
    assert response.json()["code"] == "NotAcceptable"


def test_non_json_body_415_and_invalid_json_400(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    target = url(sim, f"/v1/connections/{conn['id']}")

    wrong_type = http.patch(target, data=b'{"paused": true}', headers={"Content-Type": "text/plain"})
    broken = http.patch(target, data=b'{"paused": tru', headers={"Content-Type": "application/json"})
    odd_but_json = http.patch(target, data=b'{"paused": true}', headers={"Content-Type": "application/json;version=2"})

    assert wrong_type.status_code == 415
    assert wrong_type.json()["code"] == "UnsupportedMediaType"
    assert broken.status_code == 400
    assert broken.json()["code"] == "InvalidInput"
    assert odd_but_json.status_code == 200
    assert sim.connection(conn["id"])["paused"] is True


def test_legacy_connectors_paths_and_unknown_routes_404(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    expected = {"code": "NotFound", "message": "HTTP 404 Not Found"}
    for method, path in [
        ("GET", f"/v1/connectors/{conn['id']}"),
        ("PATCH", f"/v1/connectors/{conn['id']}"),
        ("POST", f"/v1/connectors/{conn['id']}/force"),
        ("GET", f"/v1/groups/{conn['group_id']}/connectors"),
        ("GET", "/v1/nothing/here"),
        ("GET", "/v2/connections"),
    ]:
        response = http.request(method, url(sim, path), json={"paused": True} if method != "GET" else None)
        assert (response.status_code, response.json()) == (404, expected), path
    assert sim.connection(conn["id"])["paused"] is False


def test_wrong_method_on_known_route_405(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    response = http.put(url(sim, f"/v1/connections/{conn['id']}"), json={"paused": True})
    sync_get = http.get(url(sim, f"/v1/connections/{conn['id']}/sync"))
    assert response.status_code == 405
    assert response.json()["code"] == "MethodNotAllowed"
    assert sync_get.status_code == 405
    assert sim.connection(conn["id"])["paused"] is False


# ---------------------------------------------------------------------------- reads


def test_account_info(sim: FivetranSimulator, http: requests.Session) -> None:
    data = http.get(url(sim, "/v1/account/info")).json()["data"]
    assert set(data) == {"account_id", "account_name", "user_id"}
    assert all(isinstance(value, str) and value for value in data.values())


def test_groups_endpoints(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_group("tidal_lantern", "Warehouse")
    sim.add_connection("a_conn", group_id="tidal_lantern")
    sim.add_connection("b_conn", group_id="other_group")

    groups = http.get(url(sim, "/v1/groups")).json()["data"]
    one = http.get(url(sim, "/v1/groups/tidal_lantern")).json()["data"]
    missing = http.get(url(sim, "/v1/groups/nope"))
    in_group = http.get(url(sim, "/v1/groups/tidal_lantern/connections")).json()["data"]

    assert [g["id"] for g in groups["items"]] == ["tidal_lantern", "other_group"]
    assert "next_cursor" not in groups
    assert one["name"] == "Warehouse"
    assert TIMESTAMP_RE.match(one["created_at"])
    assert missing.status_code == 404
    assert missing.json()["code"] == "NotFound_Group"
    assert [c["id"] for c in in_group["items"]] == ["a_conn"]


def test_unknown_connection_404(sim: FivetranSimulator, http: requests.Session) -> None:
    for response in (
        http.get(url(sim, "/v1/connections/ghost_id")),
        patch(http, sim, "ghost_id", {"paused": True}),
        post(http, sim, "ghost_id", "sync", {}),
        post(http, sim, "ghost_id", "resync"),
        post(http, sim, "ghost_id", "test", {}),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "code": "NotFound_Connector",
            "message": "Connector with id 'ghost_id' does not exist.",
        }


def test_connection_object_shape(sim: FivetranSimulator, http: requests.Session) -> None:
    created = sim.add_connection(
        service="postgres", schema="pg_prod", auth={"client_secret": "zzz"}, succeeded_at=time.time() - 60
    )
    data = get_conn(http, sim, created["id"])

    assert data == created
    assert re.fullmatch(r"[a-z]+_[a-z]+", data["id"])
    for key in ("created_at", "succeeded_at"):
        assert TIMESTAMP_RE.match(data[key]), key
    assert data["failed_at"] is None
    assert data["sync_frequency"] == 360 and isinstance(data["sync_frequency"], int)
    assert data["data_delay_sensitivity"] == "NORMAL"
    assert data["data_delay_threshold"] == 0
    assert data["networking_method"] == "Directly"
    assert "auth" not in data
    assert "daily_sync_time" not in data
    assert data["status"] == {
        "setup_state": "connected",
        "sync_state": "scheduled",
        "update_state": "on_schedule",
        "is_historical_sync": False,
        "tasks": [],
        "warnings": [],
    }
    assert isinstance(data["source_sync_details"], dict)


def test_pagination_across_pages(sim: FivetranSimulator, http: requests.Session) -> None:
    created = [c["id"] for c in sim.add_connections(5, group_id="g_one")]
    sim.add_connection(group_id="g_two")

    seen: list[str] = []
    pages = []
    params: dict[str, Any] = {"group_id": "g_one", "limit": 2}
    while True:
        data = http.get(url(sim, "/v1/connections"), params=params).json()["data"]
        pages.append(data)
        seen.extend(item["id"] for item in data["items"])
        if "next_cursor" not in data:
            break
        assert isinstance(data["next_cursor"], str) and data["next_cursor"]
        params["cursor"] = data["next_cursor"]

    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert seen == created
    assert "next_cursor" not in pages[-1]


def test_pagination_rejects_bad_limit_and_restarts_on_a_foreign_cursor(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    sim.add_connections(3)
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "ten"}):
        response = http.get(url(sim, "/v1/connections"), params=params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "InvalidInput"
    assert len(http.get(url(sim, "/v1/connections"), params={"limit": 1000}).json()["data"]["items"]) == 3
    # Nothing documents a refusal of a cursor the server did not hand out: the list starts again.
    forged = base64.urlsafe_b64encode(b'{"skip": -4}').decode().rstrip("=")
    for cursor in ("%%%not-a-cursor", forged, "eyJwYWdlIjoyfQ"):
        response = http.get(url(sim, "/v1/connections"), params={"cursor": cursor, "limit": 2})
        assert response.status_code == 200, cursor
        assert len(response.json()["data"]["items"]) == 2 and "next_cursor" in response.json()["data"]


def test_default_page_size_is_100(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connections(101, group_id="big")
    data = http.get(url(sim, "/v1/groups/big/connections")).json()["data"]
    assert len(data["items"]) == 100
    rest = http.get(url(sim, "/v1/groups/big/connections"), params={"cursor": data["next_cursor"]}).json()["data"]
    assert len(rest["items"]) == 1 and "next_cursor" not in rest


def test_list_filters_match_exactly(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("c1", group_id="g1", schema="sales")
    sim.add_connection("c2", group_id="g1", schema="sales_eu")
    sim.add_connection("c3", group_id="g2", schema="sales")

    def ids(**params: str) -> list[str]:
        return [c["id"] for c in http.get(url(sim, "/v1/connections"), params=params).json()["data"]["items"]]

    assert ids(schema="sales") == ["c1", "c3"]
    assert ids(schema="sale") == []
    assert ids(group_id="g1") == ["c1", "c2"]
    assert ids(group_id="g1", schema="sales") == ["c1"]


# ---------------------------------------------------------------------------- PATCH


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "No update parameters specified"),
        ({"run_setup_tests": True}, "No update parameters specified"),
        ({"trust_certificates": True, "trust_fingerprints": True, "run_setup_tests": True}, "No update parameters"),
        ({"sync_frequncy": 60}, "No update parameters specified"),  # unknown fields are ignored
        ({"paused": "yes"}, "paused"),
        ({"sync_frequency": "61"}, "sync_frequency"),
        ({"sync_frequency": 7}, "sync_frequency"),
        ({"schedule_type": "weekly"}, "schedule_type"),
        ({"daily_sync_time": "03:30"}, "daily_sync_time"),
        ({"daily_sync_time": "24:00"}, "daily_sync_time"),
        ({"data_delay_sensitivity": "normal"}, "data_delay_sensitivity"),
        ({"data_delay_threshold": -5}, "data_delay_threshold"),
        ({"networking_method": "Direct"}, "networking_method"),
        ({"config": "host=x"}, "config"),
        ({"paused": True, "trust_certificates": True, "run_setup_tests": False}, "trust_certificates"),
        ({"paused": True, "trust_fingerprints": True, "run_setup_tests": False}, "trust_fingerprints"),
        ({"paused": True, "config": {"password": "new"}, "sync_frequency": 7}, "sync_frequency"),
        ({"networking_method": "ProxyAgent"}, "proxy_agent_id"),
        ({"is_historical_sync": 1}, "is_historical_sync"),
    ],
)
def test_invalid_patch_is_rejected_and_changes_nothing(
    sim: FivetranSimulator, http: requests.Session, body: dict[str, Any], needle: str
) -> None:
    conn = sim.add_connection(config={"host": "db", "password": "old"})
    before = sim.connection(conn["id"])
    config_before = sim.stored_config(conn["id"])

    response = patch(http, sim, conn["id"], body)

    assert response.status_code == 400
    assert response.json()["code"] == "InvalidInput"
    assert needle in response.json()["message"]
    assert "data" not in response.json()
    assert sim.connection(conn["id"]) == before
    assert sim.stored_config(conn["id"]) == config_before
    assert sim.setup_tests_run == 0
    assert sim.sync_history(conn["id"]) == []


def test_patch_success_updates_and_persists(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()

    response = patch(
        http,
        sim,
        conn["id"],
        {
            "sync_frequency": 720,
            "schedule_type": "manual",
            "pause_after_trial": True,
            "data_delay_sensitivity": "CUSTOM",
            "data_delay_threshold": 90,
            "schema_status": "ready",
            "run_setup_tests": False,
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["message"]) == ("Success", "Connection has been updated")
    data = get_conn(http, sim, conn["id"])
    assert (data["sync_frequency"], data["schedule_type"], data["pause_after_trial"]) == (720, "manual", True)
    assert (data["data_delay_sensitivity"], data["data_delay_threshold"]) == ("CUSTOM", 90)
    assert data["status"]["schema_status"] == "ready"
    assert "run_setup_tests" not in body["data"] and "run_setup_tests" not in data
    assert {k: v for k, v in body["data"].items() if k != "setup_tests"} == data


def test_config_merge_and_secret_masking(sim: FivetranSimulator, http: requests.Session) -> None:
    # A service the definition does not describe: any key named like a secret of some service is masked.
    conn = sim.add_connection(
        service="in_house_database", config={"host": "db", "port": 5432, "user": "ft", "password": "hunter2"}
    )
    assert conn["config"]["password"] == "******"

    response = patch(
        http,
        sim,
        conn["id"],
        {"config": {"port": 6543, "host": None, "client_secret": "abc", "api_token": "t"}, "run_setup_tests": False},
    )

    expected = {
        "port": 6543,
        "host": None,
        "user": "ft",
        "password": "******",
        "client_secret": "******",
        "api_token": "******",
    }
    assert response.json()["data"]["config"] == expected
    assert get_conn(http, sim, conn["id"])["config"] == expected
    assert "hunter2" not in response.text
    assert sim.stored_config(conn["id"]) == {
        "host": None,
        "port": 6543,
        "user": "ft",
        "password": "hunter2",
        "client_secret": "abc",
        "api_token": "t",
    }


def test_auth_is_stored_but_never_read_back(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    secret_auth = {"client_access": {"client_id": "cid", "client_secret": "very-secret-value"}, "refresh_token": "rt"}

    response = patch(http, sim, conn["id"], {"auth": secret_auth, "run_setup_tests": False})
    listing = http.get(url(sim, "/v1/connections"))
    single = http.get(url(sim, f"/v1/connections/{conn['id']}"))

    assert response.status_code == 200
    for answer in (response, listing, single):
        assert "very-secret-value" not in answer.text
        assert '"auth"' not in answer.text
    assert sim.stored_auth(conn["id"]) == secret_auth


def test_daily_sync_time_is_echoed_only_with_1440(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(sync_frequency=360)

    ignored = patch(http, sim, conn["id"], {"daily_sync_time": "05:00", "run_setup_tests": False})
    daily = patch(http, sim, conn["id"], {"sync_frequency": 1440, "run_setup_tests": False})
    hourly = patch(http, sim, conn["id"], {"sync_frequency": 60, "run_setup_tests": False})
    both = patch(http, sim, conn["id"], {"sync_frequency": 1440, "daily_sync_time": "23:00", "run_setup_tests": False})

    assert ignored.status_code == 200
    assert "daily_sync_time" not in ignored.json()["data"]
    assert daily.json()["data"]["daily_sync_time"] == "05:00"
    assert "daily_sync_time" not in hourly.json()["data"]
    assert both.json()["data"]["daily_sync_time"] == "23:00"
    assert get_conn(http, sim, conn["id"])["daily_sync_time"] == "23:00"


def test_setup_tests_run_by_default_and_are_counted(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()

    default = patch(http, sim, conn["id"], {"sync_frequency": 60})
    assert sim.setup_tests_run == 1
    skipped = patch(http, sim, conn["id"], {"sync_frequency": 120, "run_setup_tests": False})
    assert sim.setup_tests_run == 1
    trusted = patch(http, sim, conn["id"], {"sync_frequency": 180, "run_setup_tests": True, "trust_certificates": True})
    assert sim.setup_tests_run == 2
    tested = post(http, sim, conn["id"], "test", {})
    assert sim.setup_tests_run == 3
    no_body = post(http, sim, conn["id"], "test")
    bad_body = post(http, sim, conn["id"], "test", {"trust_certificates": "yes"})
    assert sim.setup_tests_run == 3

    assert default.json()["data"]["setup_tests"]
    assert all(t["status"] == "PASSED" and t["title"] for t in default.json()["data"]["setup_tests"])
    assert skipped.json()["data"]["setup_tests"] == []
    assert trusted.json()["data"]["setup_tests"]
    assert tested.status_code == 200
    assert tested.json()["data"]["id"] == conn["id"]
    assert tested.json()["data"]["setup_tests"]
    assert (no_body.status_code, no_body.json()["code"]) == (400, "InvalidInput")
    assert bad_body.status_code == 400


# ---------------------------------------------------------------------------- faults


def test_rate_limit_fault(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.faults.rate_limit(count=2, retry_after=3)

    first = patch(http, sim, conn["id"], {"paused": True})
    second = http.get(url(sim, "/v1/account/info"))
    third = http.get(url(sim, "/v1/account/info"))

    for response in (first, second):
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["code"] == "TooManyRequests"
    assert third.status_code == 200
    assert sim.connection(conn["id"])["paused"] is False


def test_server_error_fault_json_and_html(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.faults.server_error(status=503)
    sim.faults.server_error(status=502, body="html")
    sim.faults.server_error(status=500, code="Oops", message="boom")

    unavailable = patch(http, sim, conn["id"], {"paused": True})
    gateway = http.get(url(sim, "/v1/account/info"))
    custom = http.get(url(sim, "/v1/account/info"))
    healthy = http.get(url(sim, "/v1/account/info"))

    assert unavailable.status_code == 503
    assert unavailable.json()["code"] == "ServiceUnavailable"
    assert gateway.status_code == 502
    assert gateway.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        json.loads(gateway.text)
    assert custom.status_code == 500
    assert custom.json() == {"code": "Oops", "message": "boom"}
    assert healthy.status_code == 200
    assert sim.connection(conn["id"])["paused"] is False


def test_faults_can_be_scoped_and_cleared(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.faults.only_for(method="PATCH").server_error(count=5)

    read = http.get(url(sim, f"/v1/connections/{conn['id']}"))
    write = patch(http, sim, conn["id"], {"paused": True})
    sim.faults.clear()
    retried = patch(http, sim, conn["id"], {"paused": True})

    assert read.status_code == 200
    assert write.status_code == 500
    assert retried.status_code == 200
    assert sim.faults.pending == []


def test_drop_connection_fault(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.faults.drop_connection(count=1)

    with pytest.raises(requests.ConnectionError):
        patch(http, sim, conn["id"], {"paused": True})
    after = http.get(url(sim, "/v1/account/info"))

    assert after.status_code == 200
    assert sim.connection(conn["id"])["paused"] is False
    dropped = sim.requests_for(method="PATCH")
    assert len(dropped) == 1 and dropped[0].status == 0


def test_apply_then_fail_really_applies(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.faults.apply_then_fail(status=500, delay=0.1)

    rejected = http.get(url(sim, "/v1/account/info"))
    started = time.monotonic()
    failed = patch(http, sim, conn["id"], {"paused": True, "run_setup_tests": False})
    elapsed = time.monotonic() - started
    again = patch(http, sim, conn["id"], {"paused": True, "run_setup_tests": False})

    assert rejected.status_code == 200
    assert failed.status_code == 500
    assert "data" not in failed.json()
    assert elapsed >= 0.1
    assert get_conn(http, sim, conn["id"])["paused"] is True
    assert get_conn(http, sim, conn["id"])["status"]["sync_state"] == "paused"
    assert again.status_code == 200


def test_invalid_patch_does_not_consume_apply_then_fail(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.faults.apply_then_fail()
    assert patch(http, sim, conn["id"], {"sync_frequency": 7}).status_code == 400
    assert patch(http, sim, conn["id"], {"sync_frequency": 60}).status_code == 500
    assert sim.connection(conn["id"])["sync_frequency"] == 60


def test_latency_fault_delays_only_its_request(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.faults.only_for(path_prefix="/v1/account").latency(0.5, count=1)
    started = time.monotonic()
    assert http.get(url(sim, "/v1/account/info")).status_code == 200
    assert time.monotonic() - started >= 0.5  # a lower bound only: delays never make a call faster
    assert sim.faults.pending == []  # consumed by the one request it matched
    assert http.get(url(sim, f"/v1/connections/{conn['id']}")).status_code == 200


def test_a_held_request_does_not_hold_up_others(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    held = sim.faults.only_for(path_prefix="/v1/account").hold(count=1, timeout=30)
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            requests.get(url(sim, "/v1/account/info"), auth=(sim.api_key, sim.api_secret)).status_code
        )
    )
    worker.start()
    wait_until(lambda: held.waiting == 1)
    # While that request is held, others are answered at once (no timing needed: it is still held).
    assert http.get(url(sim, f"/v1/connections/{conn['id']}")).status_code == 200
    assert held.waiting == 1 and answers == []
    held.release()
    worker.join()
    assert answers == [200] and held.gate.is_set()


def test_resync_conflict_fault(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.faults.resync_conflict()

    other = post(http, sim, conn["id"], "sync", {})
    conflict = post(http, sim, conn["id"], "resync")
    view = sim.connection(conn["id"])
    accepted = post(http, sim, conn["id"], "resync")

    assert other.status_code == 200
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "Conflict"
    assert view["status"]["is_historical_sync"] is False
    assert accepted.status_code == 200


# ---------------------------------------------------------------------------- sync lifecycle


def test_sync_with_zero_duration_is_finished_at_next_read(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(succeeded_at=time.time() - 3600)
    t0 = time.time()

    response = post(http, sim, conn["id"], "sync", {"force": False})
    data = get_conn(http, sim, conn["id"])

    assert response.status_code == 200
    assert response.json() == {
        "code": "Success",
        "message": f"Sync has been successfully triggered for connection with id '{conn['id']}'",
    }
    assert data["status"]["sync_state"] == "scheduled"
    assert parse_ts(data["succeeded_at"]) > t0


def test_sync_success_lifecycle(sim: FivetranSimulator, http: requests.Session) -> None:
    failed_at = time.time() - 7200
    conn = sim.add_connection(succeeded_at=time.time() - 3600, failed_at=failed_at)
    sim.plan_syncs(conn["id"], "success", duration=0.2)
    t0 = time.time()

    post(http, sim, conn["id"], "sync")
    running = get_conn(http, sim, conn["id"])
    time.sleep(0.25)
    done = get_conn(http, sim, conn["id"])

    assert running["status"]["sync_state"] == "syncing"
    assert parse_ts(running["succeeded_at"]) < t0
    assert done["status"]["sync_state"] == "scheduled"
    assert parse_ts(done["succeeded_at"]) >= t0 + 0.2
    assert done["failed_at"] == conn["failed_at"]


def test_sync_failure_lifecycle(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(succeeded_at=time.time() - 3600)
    sim.plan_syncs(conn["id"], "failure", duration=0.05, failure_message="Source password expired")
    t0 = time.time()

    post(http, sim, conn["id"], "sync")
    time.sleep(0.08)
    data = get_conn(http, sim, conn["id"])

    assert data["status"]["sync_state"] == "scheduled"
    assert parse_ts(data["failed_at"]) > t0
    assert data["succeeded_at"] == conn["succeeded_at"]
    assert parse_ts(data["failed_at"]) > parse_ts(data["succeeded_at"])
    assert {"code": "sync_failed", "message": "Source password expired"} in data["status"]["tasks"]

    post(http, sim, conn["id"], "sync")
    recovered = get_conn(http, sim, conn["id"])
    assert parse_ts(recovered["succeeded_at"]) > parse_ts(recovered["failed_at"])
    assert recovered["status"]["tasks"] == []


def test_historical_sync_flag_resets_on_success_only(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.plan_syncs(conn["id"], "failure", duration=0.0)
    sim.plan_syncs(conn["id"], "success", duration=0.15)

    first = patch(http, sim, conn["id"], {"is_historical_sync": True, "run_setup_tests": False}).json()["data"]
    after_failure = get_conn(http, sim, conn["id"])
    second = patch(http, sim, conn["id"], {"is_historical_sync": True, "run_setup_tests": False}).json()["data"]
    running = get_conn(http, sim, conn["id"])
    time.sleep(0.2)
    done = get_conn(http, sim, conn["id"])

    assert first["status"]["is_historical_sync"] is True
    assert first["status"]["sync_state"] == "syncing"
    assert after_failure["failed_at"] is not None
    assert after_failure["status"]["is_historical_sync"] is True
    assert second["status"]["is_historical_sync"] is True
    assert running["status"]["sync_state"] == "syncing"
    assert done["status"]["sync_state"] == "scheduled"
    assert done["status"]["is_historical_sync"] is False
    assert done["status"]["tasks"] == []
    assert done["succeeded_at"] is not None
    assert [run["historical"] for run in sim.sync_history(conn["id"])] == [True, True]


def test_historical_patch_restarts_a_running_sync(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.plan_syncs(conn["id"], "success", "success", duration=30)
    post(http, sim, conn["id"], "sync")

    patch(http, sim, conn["id"], {"is_historical_sync": False, "run_setup_tests": False})
    assert len(sim.sync_history(conn["id"])) == 1
    patch(http, sim, conn["id"], {"is_historical_sync": True, "run_setup_tests": False})
    history = sim.sync_history(conn["id"])

    assert [(run["outcome"], run["historical"]) for run in history] == [("cancelled", False), (None, True)]


def test_rescheduled_sync_resumes_by_itself_with_auto_schedule(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(schedule_type="auto")
    sim.plan_syncs(conn["id"], "rescheduled", duration=0.0, rescheduled_delay=0.2)
    t0 = time.time()

    post(http, sim, conn["id"], "sync")
    waiting = get_conn(http, sim, conn["id"])
    time.sleep(0.25)
    resumed = get_conn(http, sim, conn["id"])

    assert waiting["status"]["sync_state"] == "rescheduled"
    assert parse_ts(waiting["status"]["rescheduled_for"]) >= t0 + 0.2
    assert waiting["succeeded_at"] is None
    assert resumed["status"]["sync_state"] == "scheduled"
    assert "rescheduled_for" not in resumed["status"]
    assert parse_ts(resumed["succeeded_at"]) >= parse_ts(waiting["status"]["rescheduled_for"])


def test_rescheduled_sync_waits_for_trigger_with_manual_schedule() -> None:
    # Simulated time: the rescheduled-for moment passes only when the test moves the clock.
    with FivetranSimulator(simulated_time=True) as sim, requests.Session() as http:
        http.auth = (sim.api_key, sim.api_secret)
        http.headers["Accept"] = "application/json;version=2"
        conn = sim.add_connection(schedule_type="manual")
        sim.plan_syncs(conn["id"], "rescheduled", duration=0.0, rescheduled_delay=600)

        post(http, sim, conn["id"], "sync")
        early = post(http, sim, conn["id"], "sync", {"force": True})
        still_waiting = get_conn(http, sim, conn["id"])
        sim.advance(seconds=1200)
        past_due = get_conn(http, sim, conn["id"])
        post(http, sim, conn["id"], "sync")
        finished = get_conn(http, sim, conn["id"])
        history = sim.sync_history(conn["id"])

    assert early.status_code == 200
    assert still_waiting["status"]["sync_state"] == "rescheduled"
    assert past_due["status"]["sync_state"] == "rescheduled"
    assert past_due["succeeded_at"] is None
    assert finished["status"]["sync_state"] == "scheduled"
    assert finished["succeeded_at"] is not None
    assert [run["trigger"] for run in history] == ["sync", "sync"]


def test_sync_force_flag(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.plan_syncs(conn["id"], "success", "success", duration=30)

    post(http, sim, conn["id"], "sync")
    post(http, sim, conn["id"], "sync", {"force": False})
    assert [run["outcome"] for run in sim.sync_history(conn["id"])] == [None]
    post(http, sim, conn["id"], "sync", {"force": True})
    history = sim.sync_history(conn["id"])
    bad = post(http, sim, conn["id"], "sync", {"force": "yes"})

    assert [run["outcome"] for run in history] == ["cancelled", None]
    assert history[1]["trigger"] == "force"
    assert bad.status_code == 400 and "force" in bad.json()["message"]


def test_finish_sync_is_deterministic(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.plan_syncs(conn["id"], "success", duration=60)
    post(http, sim, conn["id"], "sync")
    assert get_conn(http, sim, conn["id"])["status"]["sync_state"] == "syncing"

    sim.finish_sync(conn["id"], "failure")
    data = get_conn(http, sim, conn["id"])

    assert data["status"]["sync_state"] == "scheduled"
    assert data["failed_at"] is not None and data["succeeded_at"] is None
    with pytest.raises(RuntimeError):
        sim.finish_sync(conn["id"])


def test_sync_on_paused_connection(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(paused=True)

    ignored = post(http, sim, conn["id"], "sync")
    data = get_conn(http, sim, conn["id"])
    sim.paused_sync_behaviour = "reject"
    rejected = post(http, sim, conn["id"], "sync")

    assert ignored.status_code == 200
    assert data["status"]["sync_state"] == "paused"
    assert data["succeeded_at"] is None
    assert sim.sync_history(conn["id"]) == []
    assert rejected.status_code == 400
    assert rejected.json()["code"] == "InvalidInput"


def test_pausing_stops_a_running_sync(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(succeeded_at=time.time() - 3600)
    sim.plan_syncs(conn["id"], "success", duration=30)
    post(http, sim, conn["id"], "sync")

    paused = patch(http, sim, conn["id"], {"paused": True, "run_setup_tests": False}).json()["data"]
    resumed = patch(http, sim, conn["id"], {"paused": False, "run_setup_tests": False}).json()["data"]

    assert paused["status"]["sync_state"] == "paused"
    assert paused["succeeded_at"] == conn["succeeded_at"]
    assert [run["outcome"] for run in sim.sync_history(conn["id"])] == ["cancelled"]
    assert resumed["status"]["sync_state"] == "scheduled"


def test_historical_sync_on_paused_connection_waits_for_unpause(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(paused=True)

    queued = patch(http, sim, conn["id"], {"is_historical_sync": True, "run_setup_tests": False}).json()["data"]
    assert sim.sync_history(conn["id"]) == []
    patch(http, sim, conn["id"], {"paused": False, "run_setup_tests": False})
    done = get_conn(http, sim, conn["id"])

    assert queued["status"]["sync_state"] == "paused"
    assert queued["status"]["is_historical_sync"] is True
    assert done["status"]["sync_state"] == "scheduled"
    assert done["status"]["is_historical_sync"] is False
    assert done["succeeded_at"] is not None


# ---------------------------------------------------------------------------- resync


@pytest.mark.parametrize(
    "body",
    [
        {"scope": {}},
        {"scope": {"public": []}},
        {"scope": ["public.orders"]},
        {"scope": {"public": [1]}},
        ["public"],
    ],
)
def test_resync_validation(sim: FivetranSimulator, http: requests.Session, body: Any) -> None:
    conn = sim.add_connection(service="postgres")
    response = post(http, sim, conn["id"], "resync", body)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidInput"
    assert sim.sync_history(conn["id"]) == []
    assert sim.connection(conn["id"])["status"]["is_historical_sync"] is False


def test_full_resync_sets_historical_flag_and_runs(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    sim.plan_syncs(conn["id"], "success", duration=0.1)

    response = post(http, sim, conn["id"], "resync")
    running = get_conn(http, sim, conn["id"])
    time.sleep(0.15)
    done = get_conn(http, sim, conn["id"])

    assert response.status_code == 200
    assert response.json()["code"] == "Success"
    assert running["status"]["sync_state"] == "syncing"
    assert running["status"]["is_historical_sync"] is True
    assert done["status"]["is_historical_sync"] is False
    assert done["succeeded_at"] is not None


def test_scoped_resync_runs_without_historical_flag(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(service="postgres")
    sheet = sim.add_connection(service="google_sheets")
    sim.plan_syncs(conn["id"], "success", duration=0.2)

    response = post(http, sim, conn["id"], "resync", {"scope": {"public": ["orders", "customers"]}})
    running = get_conn(http, sim, conn["id"])
    unsupported = post(http, sim, sheet["id"], "resync", {"scope": {"sheet": ["tab"]}})

    assert response.status_code == 200
    assert running["status"]["sync_state"] == "syncing"
    assert running["status"]["is_historical_sync"] is False
    assert unsupported.status_code == 400


def test_resync_on_paused_connection_is_queued(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection(paused=True)

    response = post(http, sim, conn["id"], "resync", {"scope": None})
    queued = get_conn(http, sim, conn["id"])
    patch(http, sim, conn["id"], {"paused": False, "run_setup_tests": False})
    done = get_conn(http, sim, conn["id"])

    assert response.status_code == 200
    assert queued["status"]["sync_state"] == "paused"
    assert queued["status"]["is_historical_sync"] is True
    assert sim.sync_history(conn["id"])[0]["trigger"] == "unpause"
    assert done["status"]["is_historical_sync"] is False
    assert done["succeeded_at"] is not None


# ---------------------------------------------------------------------------- Python-side API


def test_request_log_redacts_auth_and_keeps_order(sim: FivetranSimulator, http: requests.Session) -> None:
    conn = sim.add_connection()
    http.get(url(sim, "/v1/connections"), params={"limit": "5"})
    patch(http, sim, conn["id"], {"paused": True, "run_setup_tests": False})

    log = sim.requests
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/v1/connections", 200),
        ("PATCH", f"/v1/connections/{conn['id']}", 200),
    ]
    assert isinstance(log[0], RecordedRequest)
    assert log[0].query == {"limit": "5"}
    assert log[1].body == {"paused": True, "run_setup_tests": False}
    assert json.loads(log[1].raw_body) == log[1].body
    assert log[1].headers["Authorization"] == "<redacted>"
    assert sim.api_secret not in repr(log)
    assert log[0].at <= log[1].at
    assert [r.method for r in sim.requests_for(method="patch")] == ["PATCH"]
    sim.clear_requests()
    assert sim.requests == []


def test_airflow_connection_json(sim: FivetranSimulator) -> None:
    value = json.loads(sim.airflow_connection_json(extra={"retry_limit": 2}))
    assert value == {
        "conn_type": "fivetran",
        "host": sim.url,
        "login": sim.api_key,
        "password": sim.api_secret,
        "extra": {"retry_limit": 2},
    }
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sim.url)


def test_explicit_credentials_and_group_creation() -> None:
    with FivetranSimulator(api_key="k", api_secret="s") as sim:
        conn = sim.add_connection("my_conn", group_id="new_group", service="salesforce")
        assert conn["group_id"] == "new_group"
        assert sim.add_group()["id"] != "new_group"
        ok = requests.get(url(sim, "/v1/groups/new_group"), auth=("k", "s"))
        assert ok.status_code == 200
        with pytest.raises(KeyError):
            sim.connection("missing")


def test_concurrent_requests(sim: FivetranSimulator) -> None:
    ids = [c["id"] for c in sim.add_connections(20)]

    def work(connection_id: str) -> int:
        with requests.Session() as session:
            session.auth = (sim.api_key, sim.api_secret)
            patched = session.patch(
                url(sim, f"/v1/connections/{connection_id}"), json={"paused": True, "run_setup_tests": False}
            )
            return patched.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(work, ids))

    assert statuses == [200] * 20
    assert all(sim.connection(i)["paused"] for i in ids)


def test_stopped_simulator_refuses_connections() -> None:
    sim = FivetranSimulator()
    session = requests.Session()
    session.auth = (sim.api_key, sim.api_secret)
    assert session.get(url(sim, "/v1/account/info")).status_code == 200
    sim.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url(sim, "/v1/account/info"))
    sim.stop()


def test_module_entry_point_serves_demo_account() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "fivetran_provider.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        output = "".join(lines)
        base = re.search(r"listening on (http://\S+)", output)
        key = re.search(r"API key:\s+(\S+)", output)
        secret = re.search(r"API secret:\s+(\S+)", output)
        conn_json = re.search(r"AIRFLOW_CONN_FIVETRAN_DEFAULT='(.+)'", output)
        assert base and key and secret and conn_json, output
        assert json.loads(conn_json.group(1))["host"] == base.group(1)

        auth = (key.group(1), secret.group(1))
        info = requests.get(f"{base.group(1)}/v1/account/info", auth=auth, timeout=5)
        listing = requests.get(f"{base.group(1)}/v1/connections", auth=auth, timeout=5).json()["data"]["items"]

        assert info.status_code == 200
        assert len(listing) >= 5
        assert len({c["service"] for c in listing}) >= 4
        assert any(c["paused"] for c in listing)
        assert any(c["config"].get("password") == "******" for c in listing)
        assert "correct-horse" not in json.dumps(listing)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0

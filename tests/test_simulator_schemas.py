"""Schema-config endpoints, table-level re-sync and cursor state of the simulator, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator

START = "2026-03-02T00:00:00Z"
SCHEMAS = {
    "public": {
        "tables": {
            "orders": {"columns": {"id": {"is_primary_key": True}, "email": {}}},
            "customers": {},
            "audit_log": {"enabled": False},
            "pg_stat": {"enabled_patch_settings": {"allowed": False, "reason_code": "SYSTEM_TABLE"}},
        }
    },
    "scratch": {"enabled": False, "tables": {"tmp": {}}},
}


@pytest.fixture
def sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator(simulated_time=True, start_time=START) as simulator:
        simulator.add_connection("pg", service="postgres", sync_frequency=360, schemas=SCHEMAS)
        yield simulator


def call(http: requests.Session, sim: FivetranSimulator, method: str, path: str, body: Any = None) -> requests.Response:
    return http.request(method, f"{sim.url}/v1/connections/pg{path}", json=body, timeout=10)


def config(http: requests.Session, sim: FivetranSimulator) -> dict[str, Any]:
    answer = call(http, sim, "GET", "/schemas")
    assert answer.status_code == 200
    return answer.json()["data"]


# ---------------------------------------------------------------------------- table-level re-sync


def test_tables_resync_runs_a_historical_sync_of_those_tables_only(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    sim.plan_syncs("pg", "success", duration=600)
    answer = call(http, sim, "POST", "/schemas/tables/resync", {"public": ["orders", "customers"]})
    assert answer.status_code == 200
    assert answer.json() == {"code": "Success", "message": "Re-sync has been triggered successfully"}

    status = sim.connection("pg")["status"]
    assert status["sync_state"] == "syncing"
    assert status["is_historical_sync"] is False  # the flag describes the whole connection
    run = sim.sync_history("pg")[-1]
    assert run["historical"] is True and run["tables"] == {"public": ["customers", "orders"]}

    sim.advance(minutes=10)
    assert sim.connection("pg")["succeeded_at"] == "2026-03-02T00:10:00.000000Z"
    sim.advance(hours=5, minutes=49)
    assert len(sim.sync_history("pg")) == 1  # the schedule did not move: next run at 06:00
    sim.advance(minutes=1)
    assert [run["trigger"] for run in sim.sync_history("pg")] == ["resync", "scheduled"]
    assert sim.sync_history("pg")[-1]["tables"] is None


@pytest.mark.parametrize(
    ("scope", "status", "needle"),
    [
        ({"public": ["audit_log"]}, 400, "disabled"),
        ({"scratch": ["tmp"]}, 400, "disabled"),  # the whole schema is disabled
        ({"public": ["invoices"]}, 404, "invoices"),
        ({"sales": ["orders"]}, 404, "sales"),
    ],
)
@pytest.mark.parametrize("endpoint", ["/schemas/tables/resync", "/resync"])
def test_a_table_missing_from_or_disabled_in_the_schema_config_cannot_be_resynced(
    sim: FivetranSimulator, http: requests.Session, scope: dict[str, list[str]], status: int, needle: str, endpoint: str
) -> None:
    body = scope if endpoint == "/schemas/tables/resync" else {"scope": scope}
    answer = call(http, sim, "POST", endpoint, body)
    assert answer.status_code == status
    assert needle in answer.json()["message"]
    assert sim.sync_history("pg") == []


def test_disabling_a_table_in_the_schema_config_stops_its_resync(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    assert call(http, sim, "PATCH", "/schemas/public/tables/orders", {"enabled": False}).status_code == 200
    answer = call(http, sim, "POST", "/schemas/tables/resync", {"public": ["orders"]})
    assert answer.status_code == 400
    assert call(http, sim, "PATCH", "/schemas/public/tables/orders", {"enabled": True}).status_code == 200
    assert call(http, sim, "POST", "/resync", {"scope": {"public": ["orders"]}}).status_code == 200


@pytest.mark.parametrize("body", [None, {}, {"public": []}, {"public": "orders"}, {"public": ["orders", "orders"]}])
def test_tables_resync_body_is_checked(sim: FivetranSimulator, http: requests.Session, body: Any) -> None:
    answer = call(http, sim, "POST", "/schemas/tables/resync", body)
    assert answer.status_code == 400 and answer.json()["code"] == "InvalidInput"
    assert sim.sync_history("pg") == []


def test_tables_resync_on_an_api_connector_is_refused(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("sheets", service="google_sheets")
    answer = http.post(f"{sim.url}/v1/connections/sheets/schemas/tables/resync", json={"s": ["t"]}, timeout=10)
    assert answer.status_code == 400 and "not supported" in answer.json()["message"]


def test_tables_resync_faults(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.faults.resync_conflict(path_prefix="/v1/connections/pg/schemas/tables/resync")
    assert call(http, sim, "POST", "/schemas/tables/resync", {"public": ["orders"]}).status_code == 409
    assert sim.sync_history("pg") == []
    sim.faults.apply_then_fail(method="POST", status=500)
    assert call(http, sim, "POST", "/schemas/tables/resync", {"public": ["orders"]}).status_code == 500
    assert sim.sync_history("pg")[-1]["tables"] == {"public": ["orders"]}  # it took effect all the same


# ---------------------------------------------------------------------------- schema-config writes


def test_patch_schema_config_changes_handling_tables_and_columns(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    body = {
        "schema_change_handling": "BLOCK_ALL",
        "schemas": {
            "public": {
                "enabled": True,
                "tables": {
                    "orders": {
                        "enabled": True,
                        "sync_mode": "LIVE",
                        "columns": {"email": {"enabled": True, "hashed": True}},
                    }
                },
            }
        },
    }
    answer = call(http, sim, "PATCH", "/schemas", body)
    assert answer.status_code == 200
    assert answer.json()["message"] == "Schema configuration has been modified"
    data = answer.json()["data"]
    assert data == config(http, sim)
    assert data["schema_change_handling"] == "BLOCK_ALL"
    orders = data["schemas"]["public"]["tables"]["orders"]
    assert orders["sync_mode"] == "LIVE" and orders["columns"]["email"]["hashed"] is True


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"schema_change_handling": "SOMETIMES"}, 400, "schema_change_handling"),
        ({"schemas": {"public": {"tables": {}}}}, 400, "schemas.public.enabled"),
        (
            {"schemas": {"public": {"enabled": True, "tables": {"orders": {"enabled": "yes"}}}}},
            400,
            "tables.orders.enabled",
        ),
        ({"schemas": {"public": {"enabled": True, "tables": {"nope": {"enabled": True}}}}}, 404, "nope"),
        ({"schemas": {"public": {"enabled": True, "tables": {"pg_stat": {"enabled": False}}}}}, 400, "SYSTEM_TABLE"),
        (
            {"schemas": {"public": {"enabled": True, "tables": {"orders": {"enabled": True, "sync_mode": "HISTORY"}}}}},
            400,
            "history",
        ),
        (
            {
                "schemas": {
                    "public": {
                        "enabled": True,
                        "tables": {"orders": {"enabled": True, "columns": {"x": {"enabled": True}}}},
                    }
                }
            },
            404,
            "'x'",
        ),
    ],
)
def test_a_refused_schema_config_change_changes_nothing(
    sim: FivetranSimulator, http: requests.Session, body: dict[str, Any], status: int, needle: str
) -> None:
    before = config(http, sim)
    # A valid change first in the same body: it must not be half-applied.
    answer = call(http, sim, "PATCH", "/schemas", {"schema_change_handling": "BLOCK_ALL", **body})
    assert answer.status_code == status, answer.text
    assert needle in answer.json()["message"]
    assert config(http, sim) == before


def test_patch_schema_table_and_column_endpoints(sim: FivetranSimulator, http: requests.Session) -> None:
    answer = call(http, sim, "PATCH", "/schemas/scratch", {"enabled": True})
    assert answer.status_code == 200 and answer.json()["message"] == "Database schema configuration has been modified"
    assert answer.json()["data"]["schemas"]["scratch"]["enabled"] is True
    answer = call(
        http, sim, "PATCH", "/schemas/public/tables/customers", {"enabled": False, "sync_mode": "SOFT_DELETE"}
    )
    assert answer.status_code == 200 and answer.json()["message"] == "Table configuration has been modified"
    assert answer.json()["data"]["schemas"]["public"]["tables"]["customers"]["enabled"] is False
    answer = call(http, sim, "PATCH", "/schemas/public/tables/orders/columns/email", {"enabled": False, "hashed": True})
    assert answer.status_code == 200 and answer.json()["message"] == "Column configuration has been modified"
    columns = call(http, sim, "GET", "/schemas/public/tables/orders/columns")
    assert columns.status_code == 200
    assert columns.json()["data"]["columns"]["email"] == {
        "name_in_destination": "email",
        "enabled": False,
        "hashed": True,
        "enabled_patch_settings": {"allowed": True},
    }
    assert columns.json()["data"]["columns"]["id"]["is_primary_key"] is True
    assert call(http, sim, "PATCH", "/schemas/Public", {"enabled": True}).status_code == 404  # case-sensitive
    assert call(http, sim, "PATCH", "/schemas/public/tables/orders", {}).status_code == 400  # enabled is required
    assert call(http, sim, "GET", "/schemas/public/tables/nope/columns").status_code == 404


def test_reload_keeps_the_config_and_creates_one_when_missing(sim: FivetranSimulator, http: requests.Session) -> None:
    before = config(http, sim)
    answer = call(http, sim, "POST", "/schemas/reload", {"exclude_mode": "PRESERVE"})
    assert answer.status_code == 200 and answer.json()["data"] == before
    assert call(http, sim, "POST", "/schemas/reload", {"exclude_mode": 3}).status_code == 400
    sim.add_connection("fresh", service="postgres")
    assert http.get(f"{sim.url}/v1/connections/fresh/schemas", timeout=10).status_code == 404
    assert http.post(f"{sim.url}/v1/connections/fresh/schemas/reload", json={}, timeout=10).status_code == 200
    assert http.get(f"{sim.url}/v1/connections/fresh/schemas", timeout=10).json()["data"]["schemas"] == {}


def test_schema_writes_take_after_apply_faults(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.faults.apply_then_fail(method="PATCH", status=502)
    answer = call(http, sim, "PATCH", "/schemas/public/tables/customers", {"enabled": False})
    assert answer.status_code == 502
    assert config(http, sim)["schemas"]["public"]["tables"]["customers"]["enabled"] is False


def test_pre_creating_a_schema_config_is_documented_but_not_served(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    answer = call(http, sim, "POST", "/schemas", {"schemas": {}})
    assert answer.status_code == 404 and "does not serve" in answer.json()["message"]


# ---------------------------------------------------------------------------- cursor state


def test_cursor_state_of_a_connector_sdk_connection(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("sdk", service="connector_sdk")
    url = f"{sim.url}/v1/connections/sdk/state"
    assert http.get(url, timeout=10).status_code == 400  # nothing written yet
    answer = http.patch(url, json={"state": {"cursor": "2026-03-01"}}, timeout=10)
    assert answer.status_code == 200 and answer.json()["data"] == {"state": {"cursor": "2026-03-01"}}
    assert http.get(url, timeout=10).json()["data"] == {"state": {"cursor": "2026-03-01"}}
    assert http.patch(url, json={"state": "x"}, timeout=10).status_code == 400
    sim.plan_syncs("sdk", "success", duration=60)
    assert http.post(f"{sim.url}/v1/connections/sdk/sync", json={}, timeout=10).status_code == 200
    busy = http.patch(url, json={"state": {"cursor": "later"}}, timeout=10)
    assert busy.status_code == 409
    assert http.get(url, timeout=10).json()["data"] == {"state": {"cursor": "2026-03-01"}}


def test_cursor_state_of_other_connections_is_refused_with_405(sim: FivetranSimulator, http: requests.Session) -> None:
    assert call(http, sim, "GET", "/state").status_code == 405
    assert call(http, sim, "PATCH", "/state", {"state": {}}).status_code == 405
    assert http.get(f"{sim.url}/v1/connections/nobody/state", timeout=10).status_code == 404

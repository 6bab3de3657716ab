"""Simulator answers to the routes for lineage and broken connections match Fivetran's OpenAPI definition."""

from __future__ import annotations

from fivetran_provider.hooks import FivetranHook
from fivetran_provider.testing import FivetranSimulator
from tests.test_contract import _assert_valid, _response_schema  # skipped with it when the definition is not set

SCHEMAS = {"public": {"name_in_destination": "pg_public", "tables": {"orders": {}, "users": {"enabled": False}}}}


def test_schema_config_answer_matches_the_definition(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn", schemas=SCHEMAS)
    envelope = hook.request("GET", "/v1/connections/conn/schemas")
    _assert_valid(envelope, _response_schema("/v1/connections/{connectionId}/schemas", "get"))


def test_setup_test_answer_matches_the_definition(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn", setup_state="broken", setup_test_failure="Login failed")
    envelope = hook.request("POST", "/v1/connections/conn/test", body={})
    _assert_valid(envelope, _response_schema("/v1/connections/{connectionId}/test", "post"))
    assert envelope["data"]["setup_tests"][-1] == {
        "title": "Checking permissions",
        "status": "FAILED",
        "message": "Login failed",
    }

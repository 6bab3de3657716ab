"""Contract test: the hook's requests and the simulator's answers, held against Fivetran's official
OpenAPI definition.

The client (``fivetran_provider.fields``) and the simulator (``fivetran_provider.testing``) are two
independent readings of Fivetran's documentation; agreeing with each other proves little, so both
are checked against the definition itself. Its path comes from ``FIVETRAN_OPENAPI_SPEC``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fivetran_provider import fields
from fivetran_provider.hooks import FivetranHook
from fivetran_provider.testing import FivetranSimulator
from tests.test_hook_validation import GOOD_INPUTS

SPEC_ENV = "FIVETRAN_OPENAPI_SPEC"
if not os.environ.get(SPEC_ENV):
    # One skip for the whole module, so the reason is given once in the summary.
    pytest.skip(
        f"set {SPEC_ENV} to the path of Fivetran's OpenAPI definition (JSON) to run the contract test",
        allow_module_level=True,
    )
SPEC_URI = "urn:fivetran-openapi"

# Fields the definition types as plain strings although Fivetran answers null for them: its own
# descriptions say so for the first four ("`null` if ..."), and captured responses show null for
# the proxy and private-link ids of connections that use neither.
NULLABLE = {"connected_by", "succeeded_at", "failed_at", "daily_sync_time", "proxy_agent_id", "private_link_id"}
NULLABLE_STATUS = {"rescheduled_for", "schema_status"}
# The alpha flexible-schedule object is sent on PATCH by Fivetran's own SDKs but is not (yet) part of
# UpdateConnectorRequest; every other key must be one the definition lists.
EXTENSIONS = {"schedule"}


def _normalise(node: Any) -> Any:
    """Turn OpenAPI 3.0 schema dialect into JSON Schema, and repair the definition's one known bug.

    * ``nullable: true`` becomes a ``null`` type alternative;
    * integer enums written as strings (``sync_frequency``: ``["1", "5", ...]``) become integers;
    * ``discriminator`` (per-service variants) is dropped: the base schema is what is checked.
    """
    if isinstance(node, list):
        return [_normalise(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _normalise(value) for key, value in node.items() if key != "discriminator"}
    if result.get("type") == "integer" and isinstance(result.get("enum"), list):
        result["enum"] = [int(value) for value in result["enum"]]
    if result.pop("nullable", False) and "type" in result:
        result["type"] = [result["type"], "null"]
    return result


@cache
def _spec() -> dict[str, Any]:
    path = Path(os.environ[SPEC_ENV]).expanduser()
    spec = _normalise(json.loads(path.read_text()))
    schemas = spec["components"]["schemas"]
    for name in ("ConnectorResponseV1", "ConnectorResponse"):
        for prop in NULLABLE & set(schemas[name]["properties"]):
            schemas[name]["properties"][prop] = {"anyOf": [schemas[name]["properties"][prop], {"type": "null"}]}
    status = schemas["ConnectorStatusResponse"]["properties"]
    for prop in NULLABLE_STATUS:
        status[prop] = {"anyOf": [status[prop], {"type": "null"}]}
    return spec


def _validator(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    registry = Registry().with_resource(SPEC_URI, Resource(contents=_spec(), specification=DRAFT7))
    rewritten = json.loads(json.dumps(schema).replace('"#/components/', f'"{SPEC_URI}#/components/'))
    return Draft7Validator(rewritten, registry=registry)


def _component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _response_schema(path: str, method: str) -> dict[str, Any]:
    return _spec()["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]


def _assert_valid(instance: Any, schema: dict[str, Any]) -> None:
    errors = sorted(_validator(schema).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def _datetimes(connection: dict[str, Any]) -> Iterator[str]:
    for key in ("created_at", "succeeded_at", "failed_at"):
        if connection.get(key) is not None:
            yield connection[key]
    if connection["status"].get("rescheduled_for") is not None:
        yield connection["status"]["rescheduled_for"]


def _assert_connection(connection: dict[str, Any], schema_name: str = "ConnectorResponseV1") -> None:
    _assert_valid(connection, _component(schema_name))
    for stamp in _datetimes(connection):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", stamp), stamp
        datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# ------------------------------------------------------------------------------------ client side


def test_catalogue_lists_exactly_the_definitions_update_fields() -> None:
    documented = set(_spec()["components"]["schemas"]["UpdateConnectorRequest"]["properties"])
    assert set(fields.PATCH_FIELDS) - EXTENSIONS == documented


@pytest.mark.parametrize(
    "name", ["sync_frequency", "schedule_type", "schema_status", "networking_method", "data_delay_sensitivity"]
)
def test_catalogue_enums_match_the_definition(name: str) -> None:
    documented = _spec()["components"]["schemas"]["UpdateConnectorRequest"]["properties"][name]["enum"]
    assert set(fields.FIELDS[name].choices) == set(documented)


@pytest.mark.parametrize(("update", "_expected"), GOOD_INPUTS, ids=lambda v: ",".join(v) if v else "")
def test_every_patch_body_the_hook_sends_matches_the_definition(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, update: dict[str, Any], _expected: Any
) -> None:
    fivetran_conn.add_connection("conn")
    hook.update_connection("conn", **update)
    (patch,) = fivetran_conn.requests_for("PATCH")
    schema = copy.deepcopy(_spec()["components"]["schemas"]["UpdateConnectorRequest"])
    schema["additionalProperties"] = False
    schema["properties"]["schedule"] = {"type": "object"}
    _assert_valid(patch.body, schema)


def test_sync_and_resync_bodies_match_the_definition(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    hook.start_sync("conn", force=True)
    hook.resync("conn", scope={"public": ["orders"]})
    sync, resync = fivetran_conn.requests_for("POST")
    _assert_valid(sync.body, _component("SyncConnectorRequest"))
    _assert_valid(resync.body, _component("ResyncConnectorRequest"))


# ------------------------------------------------------------------------------------ simulator side


def test_simulator_connection_objects_match_the_definition(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    fivetran_conn.add_connection("fresh", succeeded_at=None, failed_at=None, is_historical_sync=True)
    fivetran_conn.add_connection(
        "daily", sync_frequency=1440, daily_sync_time="03:00", config={"host": "h", "password": "pw-123456"}
    )
    fivetran_conn.add_connection("stopped", paused=True)
    for connection_id in ("fresh", "daily", "stopped"):
        envelope = hook.request("GET", f"/v1/connections/{connection_id}")
        _assert_valid(envelope, _response_schema("/v1/connections/{connectionId}", "get"))
        _assert_connection(envelope["data"])
    patched = hook.request(
        "PATCH", "/v1/connections/daily", body={"paused": True, "sync_frequency": 60, "run_setup_tests": True}
    )
    _assert_valid(patched, _response_schema("/v1/connections/{connectionId}", "patch"))
    _assert_connection(patched["data"])
    assert patched["data"]["setup_tests"], "setup tests ran, so their results are listed"


def test_simulator_list_answers_match_the_definition(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connections(3, group_id="grp")
    envelope = hook.request("GET", "/v1/connections", params={"limit": 2})
    _assert_valid(envelope, _response_schema("/v1/connections", "get"))
    for item in envelope["data"]["items"]:
        _assert_connection(item, "ConnectorResponse")


def test_simulator_lifecycle_states_match_the_definition(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn", schedule_type="manual")
    fivetran_conn.plan_syncs("conn", "rescheduled", duration=0.0, rescheduled_delay=60.0)
    hook.start_sync("conn")
    rescheduled = hook.get_connection_details("conn")
    assert rescheduled["status"]["sync_state"] == "rescheduled"
    _assert_connection(rescheduled)
    fivetran_conn.add_connection("failing")
    fivetran_conn.plan_syncs("failing", "failure", duration=0.0)
    hook.start_sync("failing")
    _assert_connection(hook.get_connection_details("failing"))


def test_simulator_action_answers_match_the_definition(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    _assert_valid(hook.start_sync("conn"), _response_schema("/v1/connections/{connectionId}/sync", "post"))
    _assert_valid(hook.resync("conn"), _response_schema("/v1/connections/{connectionId}/resync", "post"))
    _assert_valid(hook.request("GET", "/v1/account/info"), _response_schema("/v1/account/info", "get"))


@pytest.mark.parametrize(
    "name", ["sync_frequency", "schedule_type", "schema_status", "networking_method", "data_delay_sensitivity"]
)
def test_simulator_accepts_every_documented_enum_value_and_nothing_else(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, name: str
) -> None:
    from fivetran_provider.exceptions import FivetranBadRequestError

    fivetran_conn.add_connection("conn")
    for value in _spec()["components"]["schemas"]["UpdateConnectorRequest"]["properties"][name]["enum"]:
        body = {name: value, "run_setup_tests": False, "proxy_agent_id": "agent", "private_link_id": "link"}
        hook.request("PATCH", "/v1/connections/conn", body=body)  # raw request: no client-side validation
    with pytest.raises(FivetranBadRequestError):
        hook.request("PATCH", "/v1/connections/conn", body={name: 7})


def test_the_contract_check_itself_rejects_what_the_definition_forbids() -> None:
    schema = copy.deepcopy(_spec()["components"]["schemas"]["UpdateConnectorRequest"])
    schema["additionalProperties"] = False
    for bad in ({"sync_frequency": 45}, {"sync_frequency": "60"}, {"paused": "true"}, {"colour": "red"}):
        with pytest.raises(AssertionError):
            _assert_valid(bad, schema)
    connection = {"id": "c", "paused": False}  # most required keys missing
    with pytest.raises(AssertionError):
        _assert_connection_schema_only(connection)


def _assert_connection_schema_only(connection: dict[str, Any]) -> None:
    _assert_valid(connection, _component("ConnectorResponseV1"))


# ------------------------------------------------------------------ routes for lineage and broken connections

LINEAGE_SCHEMAS = {
    "public": {"name_in_destination": "pg_public", "tables": {"orders": {}, "users": {"enabled": False}}}
}


def test_schema_config_answer_matches_the_definition(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn", schemas=LINEAGE_SCHEMAS)
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

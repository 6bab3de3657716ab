"""Conformance of the simulator to Fivetran's official OpenAPI definition, driven by Schemathesis.

Every operation the simulator implements is exercised with requests generated from the definition,
both valid (positive) and invalid (negative) ones, and every answer is checked: no 5xx, a documented
status code, a documented content type and a body that matches the documented schema.

The definition has a few defects of its own. They are repaired in a copy before the checks run
(:func:`repaired_definition`), and each answer that needed a repair is counted under its reason and
printed, so what is tolerated stays visible:

* ``sync_frequency`` of a single connection is an integer whose ``enum`` lists strings (``"1"``,
  ``"5"``, ...): no integer can match, so the values become integers;
* ``succeeded_at``, ``failed_at``, ``proxy_agent_id`` and ``private_link_id`` are typed as plain
  strings, but are ``null`` for a connection that never succeeded, never failed or uses no proxy or
  private link (the definition's own descriptions say so, and captured answers show it);
* the ``config`` of list items (``ConnectorResponse``) says every value is an object, although
  configuration values are strings, numbers and booleans, as in single-connection answers;
* 400, 401, 406 and 415, which Fivetran documents for every endpoint on its response-codes page,
  are not listed per operation; they are added with Fivetran's ``{"code", "message"}`` error body.
* the schema-config operations list only 200, although their own descriptions say an unknown
  schema, table or column gives 404, and a re-sync that cannot wait for a running sync gives 409
  (as ``/resync`` documents); both are added with the same error body;
* the body of ``POST .../schemas/tables/resync`` is drawn as a single ``schema`` array property,
  while the operation takes a map of schema names to table names (as an older snapshot of the
  definition models it); the map form replaces it, and every answer of that operation counts.

Every other failure is a simulator defect. Skipped unless ``FIVETRAN_OPENAPI_SPEC`` names the
definition (JSON).
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fivetran_provider.testing import FivetranSimulator

SPEC_ENV = "FIVETRAN_OPENAPI_SPEC"
pytestmark = pytest.mark.skipif(
    not os.environ.get(SPEC_ENV),
    reason=f"set {SPEC_ENV} to the path of Fivetran's OpenAPI definition (JSON) to run the conformance test",
)

CONNECTION = "conformance_conn"
GROUP = "conformance_group"
#: Generated requests per operation and generation mode (positive, negative).
EXAMPLES = 50

#: (path, method) of every operation the simulator implements.
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("/v1/account/info", "GET"),
    ("/v1/groups", "GET"),
    ("/v1/groups/{groupId}", "GET"),
    ("/v1/groups/{groupId}/connections", "GET"),
    ("/v1/connections", "GET"),
    ("/v1/connections/{connectionId}", "GET"),
    ("/v1/connections/{connectionId}", "PATCH"),
    ("/v1/connections/{connectionId}", "DELETE"),
    ("/v1/connections/{connectionId}/sync", "POST"),
    ("/v1/connections/{connectionId}/resync", "POST"),
    ("/v1/connections/{connectionId}/test", "POST"),
    ("/v1/connections/{connectionId}/schemas", "GET"),
    ("/v1/destinations/{destinationId}", "GET"),
    ("/v1/users", "GET"),
    ("/v1/connections/{connectionId}/schemas", "PATCH"),
    ("/v1/connections/{connectionId}/schemas/reload", "POST"),
    ("/v1/connections/{connectionId}/schemas/tables/resync", "POST"),
    ("/v1/connections/{connectionId}/schemas/{schemaName}", "PATCH"),
    ("/v1/connections/{connectionId}/schemas/{schemaName}/tables/{tableName}", "PATCH"),
    ("/v1/connections/{connectionId}/schemas/{schemaName}/tables/{tableName}/columns/{columnName}", "PATCH"),
    ("/v1/connections/{connectionId}/schemas/{schema}/tables/{table}/columns", "GET"),
    ("/v1/connections/{connectionId}/state", "GET"),
    ("/v1/connections/{connectionId}/state", "PATCH"),
    ("/v1/webhooks", "GET"),
    ("/v1/webhooks/account", "POST"),
    ("/v1/webhooks/group/{groupId}", "POST"),
    ("/v1/webhooks/{webhookId}", "GET"),
    ("/v1/webhooks/{webhookId}", "PATCH"),
    ("/v1/webhooks/{webhookId}/test", "POST"),
)
#: Id of the webhook the webhook operations address (created by the fixture).
WEBHOOK = {"id": ""}
#: Connector SDK connection the cursor-state operations address (other connections have no state).
SDK_CONNECTION = "conformance_sdk"
PATH_IDS = {
    "connectionId": CONNECTION,
    "groupId": GROUP,
    "destinationId": GROUP,
    "schemaName": "public",
    "schema": "public",
    "tableName": "orders",
    "table": "orders",
    "columnName": "id",
}
#: Schema-config operations the definition lists only 200 for.
SCHEMA_OPERATIONS = tuple(path for path, _ in OPERATIONS if "/schemas/" in path or path.endswith("/schemas"))
#: What Fivetran's response-codes page documents for every endpoint, missing from these operations:
#: 404 for a schema, table or column that does not exist (the definition's own descriptions say so)
#: and 409 for a re-sync that cannot wait for a running sync.
UNLISTED_SCHEMA_ERRORS = (404, 409)

NULLABLE_IN_PRACTICE = ("succeeded_at", "failed_at", "proxy_agent_id", "private_link_id")
UNLISTED_CLIENT_ERRORS = (400, 401, 406, 415)
ERROR_BODY = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
SCHEMA_CONFIG = {
    "schema_change_handling": "ALLOW_ALL",
    "schemas": {
        "public": {
            "name_in_destination": "public",
            "enabled": True,
            "tables": {
                "orders": {
                    "name_in_destination": "orders",
                    "enabled": True,
                    "sync_mode": "SOFT_DELETE",
                    "supports_columns_config": True,
                    "supports_history_mode": True,
                    "enabled_patch_settings": {"allowed": True},
                    "columns": {
                        "id": {
                            "name_in_destination": "id",
                            "enabled": True,
                            "hashed": False,
                            "enabled_patch_settings": {"allowed": True},
                        }
                    },
                }
            },
        }
    },
}

REASON_ENUM = "sync_frequency enum written as strings"
REASON_NULLABLE = "succeeded_at/failed_at/proxy_agent_id/private_link_id null in practice"
REASON_CONFIG = "list items' config typed as objects only"
REASON_STATUS = "400/401/406/415 not listed for the operation"
REASON_SCHEMA_STATUS = "404/409 not listed for schema-config operations"
REASON_TABLE_MAP = "tables/resync body drawn as one 'schema' array instead of schema -> tables"


def repaired_definition(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of the definition with its known defects repaired (see the module docstring).

    :param spec: the official definition.
    """
    fixed = copy.deepcopy(spec)
    schemas = fixed["components"]["schemas"]
    for name in ("ConnectorResponseV1", "ConnectorResponse"):
        properties = schemas[name]["properties"]
        frequency = properties["sync_frequency"]
        if isinstance(frequency.get("enum"), list):
            frequency["enum"] = [int(value) for value in frequency["enum"]]
        for field in NULLABLE_IN_PRACTICE:
            if field in properties:
                properties[field]["nullable"] = True
    schemas["ConnectorResponse"]["properties"]["config"].pop("additionalProperties", None)
    for path, method in OPERATIONS:
        responses = fixed["paths"][path][method.lower()]["responses"]
        unlisted = (*UNLISTED_CLIENT_ERRORS, *(UNLISTED_SCHEMA_ERRORS if path in SCHEMA_OPERATIONS else ()))
        for status in unlisted:
            responses.setdefault(
                str(status),
                {"description": "client error", "content": {"application/json": {"schema": ERROR_BODY}}},
            )
    table_map = {"type": "array", "uniqueItems": True, "minItems": 1, "items": {"type": "string", "minLength": 1}}
    resync = fixed["paths"]["/v1/connections/{connectionId}/schemas/tables/resync"]["post"]
    resync["requestBody"]["content"]["application/json"]["schema"] = {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": table_map,
    }
    resync["requestBody"]["required"] = True
    return fixed


def tolerated_reasons(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> set[str]:
    """Which of the definition's defects an answer ran into (the repairs it needed).

    :param spec: the official definition.
    :param path: operation path template.
    :param method: operation method.
    :param status: HTTP status answered.
    :param body: the parsed answer.
    """
    reasons: set[str] = set()
    listed = spec["paths"][path][method.lower()]["responses"]
    if status in UNLISTED_CLIENT_ERRORS and str(status) not in listed:
        reasons.add(REASON_STATUS)
    if status in UNLISTED_SCHEMA_ERRORS and str(status) not in listed:
        reasons.add(REASON_SCHEMA_STATUS)
    if path.endswith("/schemas/tables/resync"):
        reasons.add(REASON_TABLE_MAP)
    data = body.get("data") if isinstance(body, dict) and status == 200 else None
    if not isinstance(data, dict):
        return reasons
    single = data if "service" in data else None
    items = data.get("items") if isinstance(data.get("items"), list) else []
    connections = [item for item in items if isinstance(item, dict) and "service" in item]
    if single is not None and isinstance(single.get("sync_frequency"), int):
        reasons.add(REASON_ENUM)
    for connection in [*([single] if single is not None else []), *connections]:
        if any(field in connection and connection[field] is None for field in NULLABLE_IN_PRACTICE):
            reasons.add(REASON_NULLABLE)
    for item in connections:
        if any(not isinstance(value, dict) for value in (item.get("config") or {}).values()):
            reasons.add(REASON_CONFIG)
    return reasons


def _seed(sim: FivetranSimulator) -> None:
    """(Re)create what the generated requests address: connections (DELETE removes one), their schema
    config, and the webhook's URL (a generated PATCH may point it anywhere; tests post to the simulator)."""
    if WEBHOOK["id"]:
        sim.state.update_webhook(WEBHOOK["id"], {"url": f"{sim.url}/webhook-receiver", "active": True})
    if not sim.state.has_connection(CONNECTION):
        sim.add_connection(
            CONNECTION,
            group_id=GROUP,
            service="postgres",
            config={"host": "db.example.com", "port": 5432, "user": "loader", "password": "s3cret"},
        )
    sim.set_schema_config(CONNECTION, SCHEMA_CONFIG)
    if not sim.state.has_connection(SDK_CONNECTION):
        sim.add_connection(SDK_CONNECTION, group_id=GROUP, service="connector_sdk", cursor_state={"cursor": 0})


@pytest.fixture
def sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator() as simulator:
        simulator.add_group(GROUP, "Conformance warehouse")
        simulator.add_connection(service="stripe", group_id=GROUP, succeeded_at=time.time() - 60)
        WEBHOOK["id"] = simulator.add_webhook(f"{simulator.url}/webhook-receiver", secret="s")["id"]
        _seed(simulator)
        yield simulator


def test_simulator_conforms_to_the_official_definition(
    sim: FivetranSimulator, capsys: pytest.CaptureFixture[str], pytestconfig: pytest.Config
) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    import requests
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    started = time.monotonic()
    spec = json.loads(Path(os.environ[SPEC_ENV]).expanduser().read_text())
    schema = schemathesis.openapi.from_dict(repaired_definition(spec))
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    session = requests.Session()
    session.auth = (sim.api_key, sim.api_secret)
    sent: Counter[str] = Counter()
    tolerated: Counter[str] = Counter()
    tolerated_requests: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    defects: list[str] = []

    def _exercise_with(path: str, method: str, mode: str) -> Any:
        def exercise(case: Any) -> None:
            _seed(sim)
            response = case.call(base_url=sim.url, session=session, timeout=30)
            sent[mode] += 1
            statuses[response.status_code] += 1
            try:
                body = response.json()
            except ValueError:
                body = None
            reasons = tolerated_reasons(spec, path, method, response.status_code, body)
            for reason in reasons:
                tolerated[reason] += 1
            tolerated_requests[mode] += bool(reasons)
            try:
                case.validate_response(response, checks=checks)
            except FailureGroup as group:
                for failure in group.exceptions:
                    title = getattr(failure, "title", type(failure).__name__)
                    defects.append(f"{method} {path} ({mode}) -> {response.status_code}: {title}: {failure}")

        return exercise

    for path, method in OPERATIONS:
        operation = schema[path][method]
        path_ids = {name: value for name, value in PATH_IDS.items() if "{" + name + "}" in path}
        if path.endswith("/state"):
            path_ids["connectionId"] = SDK_CONNECTION
        if "{webhookId}" in path:
            path_ids["webhookId"] = WEBHOOK["id"]
        accept = next(
            (
                p["schema"].get("default")
                for p in operation.definition.raw.get("parameters", [])
                if p["name"] == "Accept"
            ),
            "application/json",
        )
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(
                generation_mode=mode, path_parameters=path_ids or None, headers={"Accept": accept}
            )

            run = settings(
                max_examples=pytestconfig.getoption("--conformance-examples") or EXAMPLES,
                database=None,
                deadline=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(given(case=strategy)(_exercise_with(path, method, mode.value)))
            run()

    elapsed = time.monotonic() - started
    total = sum(sent.values())
    lines = [
        f"conformance: {total} generated requests ({sent['positive']} positive, {sent['negative']} negative) "
        f"over {len(OPERATIONS)} operations in {elapsed:.1f} s; statuses {dict(sorted(statuses.items()))}",
        f"conformance: {sum(tolerated_requests.values())} answers needed a tolerated definition defect, by reason:",
        *(
            f"  {tolerated[reason]:>6}  {reason}"
            for reason in (
                REASON_STATUS,
                REASON_SCHEMA_STATUS,
                REASON_TABLE_MAP,
                REASON_ENUM,
                REASON_NULLABLE,
                REASON_CONFIG,
            )
        ),
        f"conformance: {len(defects)} simulator defects",
    ]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert not defects, "\n".join(sorted(set(defects))[:20])
    assert sent["positive"] > 0 and sent["negative"] > 0
    assert statuses[200] > 0

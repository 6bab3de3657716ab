"""Every operation Fivetran's definition documents is known to the simulator, served or not.

A documented operation it does not serve answers a JSON 404 saying so, a path the definition does
not have answers the plain ``NotFound``, and a method the definition does not document on one of
its paths answers 405 with the documented methods in ``Allow``. With ``FIVETRAN_OPENAPI_SPEC``
naming the definition, the table the simulator ships is checked against it, and every documented
operation is sent once.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator

SPEC_ENV = "FIVETRAN_OPENAPI_SPEC"
ROOT = Path(__file__).resolve().parents[1]
needs_spec = pytest.mark.skipif(
    not os.environ.get(SPEC_ENV), reason=f"set {SPEC_ENV} to the path of Fivetran's OpenAPI definition (JSON)"
)
PLAIN_NOT_FOUND = {"code": "NotFound", "message": "HTTP 404 Not Found"}


@pytest.fixture(scope="module")
def sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator(simulated_time=True) as simulator:
        yield simulator


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/users/u1"),
        ("DELETE", "/v1/users/u1"),  # documented under /v1/users/{id}, GET under /v1/users/{userId}
        ("GET", "/v1/teams"),
        ("GET", "/v1/destinations"),
        ("GET", "/v1/connections/c1/certificates"),
        ("GET", "/v1/connections/c1/fingerprints"),
        ("GET", "/public/connector-types"),
        ("GET", "/v1/transformations"),
        ("GET", "/v1/external-logging"),
        ("POST", "/v1/system-keys/k1/rotate"),
    ],
)
def test_a_documented_operation_not_served_says_so(
    sim: FivetranSimulator, http: requests.Session, method: str, path: str
) -> None:
    answer = http.request(method, sim.url + path)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body["code"] == "NotFound"
    assert body["message"] == f"The simulator does not serve {method} {path}, which Fivetran documents"


@pytest.mark.parametrize(
    "path", ["/v1/teamz", "/v1/users/u1/nonsense", "/v1/connectors/c1", "/public/other", "/public", "/v2/teams"]
)
def test_a_path_the_definition_does_not_have_is_plainly_not_found(
    sim: FivetranSimulator, http: requests.Session, path: str
) -> None:
    answer = http.get(sim.url + path)
    assert answer.status_code == 404
    assert answer.json() == PLAIN_NOT_FOUND


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v1/users/u1", "DELETE, GET, PATCH"),
        ("PUT", "/v1/destinations", "GET, POST"),
        ("GET", "/v1/teams/t1/role", "DELETE"),
        ("POST", "/public/connector-types", "GET"),
        ("DELETE", "/v1/connections/c1/sync", "POST"),  # a served path: what is documented, not what is served
    ],
)
def test_a_method_the_definition_does_not_document_is_405_with_the_documented_allow(
    sim: FivetranSimulator, http: requests.Session, method: str, path: str, allow: str
) -> None:
    answer = http.request(method, sim.url + path, json={})
    assert answer.status_code == 405
    assert answer.headers["Allow"] == allow
    assert answer.json()["code"] == "MethodNotAllowed"


def test_documented_but_unserved_paths_still_need_credentials(sim: FivetranSimulator) -> None:
    answer = requests.get(f"{sim.url}/public/connector-types", timeout=10)
    assert answer.status_code == 401 and answer.json()["code"] == "AuthFailed"


def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(os.environ[SPEC_ENV]).read_text(encoding="utf-8"))
    return loaded


@needs_spec
def test_the_shipped_table_is_derived_from_this_definition() -> None:
    tool = importlib.util.spec_from_file_location(
        "derive_documented_operations", ROOT / "tools" / "derive_documented_operations.py"
    )
    assert tool is not None and tool.loader is not None
    module = importlib.util.module_from_spec(tool)
    tool.loader.exec_module(module)
    shipped = json.loads(
        (ROOT / "fivetran_provider" / "testing" / "documented_operations.json").read_text(encoding="utf-8")
    )
    assert shipped == module.derive(_spec()), (
        "regenerate it: python tools/derive_documented_operations.py $FIVETRAN_OPENAPI_SPEC"
    )


@needs_spec
def test_no_documented_operation_is_answered_as_unknown(sim: FivetranSimulator, http: requests.Session) -> None:
    """Served or not, no documented operation gets the plain NotFound or a 405 (read from the definition here)."""
    unknown = []
    for path, item in _spec()["paths"].items():
        concrete = "/".join("x1" if part.startswith("{") else part for part in path.split("/"))
        for method in item:
            if method not in ("get", "post", "patch", "delete", "put"):
                continue
            answer = http.request(method.upper(), sim.url + concrete, json={} if method != "get" else None)
            if answer.status_code == 405 or (answer.status_code == 404 and answer.json() == PLAIN_NOT_FOUND):
                unknown.append(f"{method.upper()} {path}: {answer.status_code}")
    assert unknown == []

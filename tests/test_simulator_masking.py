"""The simulator masks exactly the configuration keys Fivetran's definition marks as passwords.

For every connection service the official OpenAPI definition describes, a connection is seeded
with a value at every configuration key the definition gives it, read back over HTTP, and the
masked keys are compared with the keys whose schema says ``"format": "password"``. The expected
sets are read from the definition here, independently of the table the simulator ships. Skipped
unless ``FIVETRAN_OPENAPI_SPEC`` names the definition (JSON).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator

SPEC_ENV = "FIVETRAN_OPENAPI_SPEC"
pytestmark = pytest.mark.skipif(
    not os.environ.get(SPEC_ENV), reason=f"set {SPEC_ENV} to the path of Fivetran's OpenAPI definition (JSON)"
)
MASK = "******"
ROOT = Path(__file__).resolve().parents[1]


def _keys(schemas: dict[str, Any], node: Any, prefix: str, seen: frozenset[str], out: dict[str, bool]) -> None:
    """Key path (``a.b``, ``a[].b``) to "is a password field", for everything under a config schema."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$ref"), str):
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            _keys(schemas, schemas.get(name), prefix, seen | {name}, out)
        return
    for key, child in (node.get("properties") or {}).items():
        out[prefix + key] = out.get(prefix + key, False) or (
            isinstance(child, dict) and child.get("format") == "password"
        )
        _keys(schemas, child, f"{prefix}{key}.", seen, out)
    _keys(schemas, node.get("items"), prefix.rstrip(".") + "[].", seen, out)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for option in node.get(combinator) or []:
            _keys(schemas, option, prefix, seen, out)


def _described_services(spec: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """Each service of the connection response's discriminator with the config keys of all its parts."""
    schemas = spec["components"]["schemas"]
    services: dict[str, dict[str, bool]] = {}
    for service, ref in schemas["ConnectorResponseV1"]["discriminator"]["mapping"].items():
        keys: dict[str, bool] = {}
        for part in schemas[ref.rsplit("/", 1)[-1]].get("allOf", []):
            part_schema = schemas[part["$ref"].rsplit("/", 1)[-1]] if "$ref" in part else part
            config = (part_schema.get("properties") or {}).get("config")
            _keys(schemas, config, "", frozenset(), keys)
        services[service] = keys
    return services


def _leaves(keys: dict[str, bool]) -> dict[str, bool]:
    """The paths a value can be put at: no key below them, or secret (a secret object is masked whole)."""
    leaves = {}
    for path, secret in keys.items():
        if any(path.startswith(other + ".") or path.startswith(other + "[].") for other, s in keys.items() if s):
            continue  # inside a secret object
        if secret or not any(other.startswith(path + ".") or other.startswith(path + "[].") for other in keys):
            leaves[path] = secret
    return leaves


def _put(config: dict[str, Any], path: str, value: str) -> None:
    node: Any = config
    parts = path.split(".")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        name, is_list = (part[:-2], True) if part.endswith("[]") else (part, False)
        if is_list:
            items = node.setdefault(name, [{}])
            node = items[0]
        elif last:
            node[name] = value
        else:
            node = node.setdefault(name, {})


def _masked(value: Any, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found |= {prefix + key} if item == MASK else _masked(item, f"{prefix}{key}.")
    elif isinstance(value, list):
        for item in value:
            found |= _masked(item, prefix.rstrip(".") + "[].")
    return found


def test_every_described_service_masks_exactly_its_password_fields() -> None:
    spec = json.loads(Path(os.environ[SPEC_ENV]).read_text(encoding="utf-8"))
    services = _described_services(spec)
    assert len(services) > 700
    expected: dict[str, set[str]] = {}
    placed: dict[str, set[str]] = {}
    with FivetranSimulator() as sim:
        for index, (service, keys) in enumerate(sorted(services.items())):
            leaves = _leaves(keys)
            config: dict[str, Any] = {}
            for path in sorted(leaves, key=lambda p: p.count(".")):
                _put(config, path, f"value-{index}")
            sim.add_connection(f"conn_{index}", service=service, config=config)
            expected[service] = {path for path, secret in leaves.items() if secret}
            placed[service] = set(leaves)
        answer = requests.get(f"{sim.url}/v1/connections?limit=1000", auth=(sim.api_key, sim.api_secret), timeout=60)
    assert answer.status_code == 200
    items = answer.json()["data"]["items"]
    assert len(items) == len(services)
    over, under = {}, {}
    for item in items:
        masked = _masked(item["config"])
        want = expected[item["service"]]
        if masked - want:
            over[item["service"]] = sorted(masked - want)
        if want - masked:
            under[item["service"]] = sorted(want - masked)
    total = sum(len(keys) for keys in placed.values())
    print(f"masking: {len(services)} services, {total} keys, {len(over)} over-masked, {len(under)} under-masked")
    assert over == {} and under == {}


def test_the_shipped_table_is_derived_from_this_definition() -> None:
    import importlib.util

    tool = importlib.util.spec_from_file_location("derive_secret_fields", ROOT / "tools" / "derive_secret_fields.py")
    assert tool is not None and tool.loader is not None
    module = importlib.util.module_from_spec(tool)
    tool.loader.exec_module(module)
    spec = json.loads(Path(os.environ[SPEC_ENV]).read_text(encoding="utf-8"))
    shipped = json.loads((ROOT / "fivetran_provider" / "testing" / "secret_fields.json").read_text(encoding="utf-8"))
    assert shipped == module.derive(spec), "regenerate it: python tools/derive_secret_fields.py $FIVETRAN_OPENAPI_SPEC"

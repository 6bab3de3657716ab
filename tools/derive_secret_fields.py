"""Derive ``fivetran_provider/testing/secret_fields.json`` from Fivetran's OpenAPI definition.

Run at development time only (the simulator never reads the definition)::

    python tools/derive_secret_fields.py /path/to/fivetran-openapi.json > fivetran_provider/testing/secret_fields.json

Every connection service the definition describes is listed: the services of the
``ConnectorResponseV1`` discriminator, each with the ``config`` of every part of its response schema
(``<service>_config_V1``, ``<service>_readonly_config_V1``, ...), and the other ``<name>_config_V1``
schemas under their own name. For each, ``services`` holds the dotted paths (``[]`` marks an array
item) of the config keys whose schema says ``"format": "password"``, following ``$ref``,
``allOf``/``oneOf``/``anyOf`` and array items; every other key of a listed service is plain. The
``any_service`` list is the set of secret key names across all services, used only for services
the definition does not describe.
"""

from __future__ import annotations

import json
import sys
from typing import Any

_SUFFIX = "_config_V1"


def _walk(schemas: dict[str, Any], node: Any, prefix: str, seen: frozenset[str], out: dict[str, bool]) -> None:
    """Record every key path under ``node`` in ``out``: path to whether it is a password field."""
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in schemas:
            _walk(schemas, schemas[name], prefix, seen | {name}, out)
        return
    for key, value in (node.get("properties") or {}).items():
        path = prefix + key
        secret = isinstance(value, dict) and value.get("format") == "password"
        out[path] = out.get(path, False) or secret
        _walk(schemas, value, path + ".", seen, out)
    if isinstance(node.get("items"), dict):
        _walk(schemas, node["items"], prefix.rstrip(".") + "[].", seen, out)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for option in node.get(combinator) or []:
            _walk(schemas, option, prefix, seen, out)


def _config_of(schemas: dict[str, Any], name: str, seen: frozenset[str], out: dict[str, bool]) -> None:
    """Add the key paths of the ``config`` property of schema ``name`` and of the schemas it combines."""
    node = schemas.get(name)
    if not isinstance(node, dict) or name in seen:
        return
    config = (node.get("properties") or {}).get("config")
    if config is not None:
        _walk(schemas, config, "", seen | {name}, out)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for option in node.get(combinator) or []:
            ref = option.get("$ref") if isinstance(option, dict) else None
            if isinstance(ref, str) and not ref.endswith("/ConnectorResponseV1"):
                _config_of(schemas, ref.rsplit("/", 1)[-1], seen | {name}, out)


def service_keys(spec: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """Every described service's config key paths, each mapped to whether it is a password field.

    :param spec: the parsed definition.
    """
    schemas = spec["components"]["schemas"]
    found: dict[str, dict[str, bool]] = {}
    mapping = schemas["ConnectorResponseV1"]["discriminator"]["mapping"]
    for service, ref in sorted(mapping.items()):
        keys: dict[str, bool] = {}
        _config_of(schemas, ref.rsplit("/", 1)[-1], frozenset(), keys)
        found[service] = keys
    for name in sorted(schemas):
        service = name[: -len(_SUFFIX)]
        if name.endswith(_SUFFIX) and service not in found and "_readonly" not in service:
            keys = {}
            _config_of(schemas, name, frozenset(), keys)
            if keys:
                found[service] = keys
    return found


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def derive(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the table.

    :param spec: the parsed definition.
    """
    keys = service_keys(spec)
    services = {service: sorted(path for path, secret in paths.items() if secret) for service, paths in keys.items()}
    names = {_leaf(path) for paths in services.values() for path in paths}
    return {
        "_note": (
            "Derived by tools/derive_secret_fields.py from Fivetran's OpenAPI definition: per connection service, "
            "the config key paths whose schema has format=password (every other key of a listed service is "
            "plain); any_service: names of secret keys across all services, only for services not listed."
        ),
        "services": services,
        "any_service": sorted(names),
    }


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        json.dump(derive(json.load(handle)), sys.stdout, indent=0, sort_keys=True)
    sys.stdout.write("\n")

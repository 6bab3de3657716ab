"""Derive ``fivetran_provider/testing/secret_fields.json`` from Fivetran's OpenAPI definition.

Run at development time only (the simulator never reads the definition)::

    python tools/derive_secret_fields.py /path/to/fivetran-openapi.json > fivetran_provider/testing/secret_fields.json

For each service in :data:`SERVICES`, the keys of ``components.schemas.<service>_config_V1``'s
``config`` object (followed through ``$ref``, ``allOf``/``oneOf``/``anyOf`` and array items) whose
schema says ``"format": "password"`` are listed as dotted paths (``[]`` marks an array item) under
``secret``, and its other top-level keys under ``plain``. The ``any_service`` list is the set of
secret key names across every connection service of the definition, used for services the table
does not name and for keys a listed service does not define.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: The services the simulator's demo account, tests and documentation use, plus common ones.
SERVICES: tuple[str, ...] = (
    "postgres",
    "mysql",
    "sql_server",
    "oracle",
    "snowflake_db",
    "mongo",
    "google_sheets",
    "salesforce",
    "stripe",
    "hubspot",
    "shopify",
    "google_ads",
    "facebook_ads",
    "github",
    "jira",
    "zendesk",
    "s3",
    "netsuite_suiteanalytics",
)


def _top_level_keys(schemas: dict[str, Any], node: Any, seen: frozenset[str]) -> set[str]:
    if not isinstance(node, dict):
        return set()
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return set() if name in seen else _top_level_keys(schemas, schemas[name], seen | {name})
    keys = set(node.get("properties") or {})
    for combinator in ("allOf", "oneOf", "anyOf"):
        for option in node.get(combinator) or []:
            keys |= _top_level_keys(schemas, option, seen)
    return keys


def _secret_paths(schemas: dict[str, Any], node: Any, prefix: str, seen: frozenset[str]) -> list[str]:
    found: list[str] = []
    if not isinstance(node, dict):
        return found
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return [] if name in seen else _secret_paths(schemas, schemas[name], prefix, seen | {name})
    for key, value in (node.get("properties") or {}).items():
        if isinstance(value, dict) and value.get("format") == "password":
            found.append(prefix + key)
        found += _secret_paths(schemas, value, f"{prefix}{key}.", seen)
    if "items" in node:
        found += _secret_paths(schemas, node["items"], prefix.rstrip(".") + "[].", seen)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for option in node.get(combinator) or []:
            found += _secret_paths(schemas, option, prefix, seen)
    return found


def derive(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the table.

    :param spec: the parsed definition.
    """
    schemas = spec["components"]["schemas"]

    def config_paths(name: str) -> list[str]:
        config = schemas[name]["properties"]["config"]
        return sorted(set(_secret_paths(schemas, config, "", frozenset({name}))))

    services = {}
    for service in SERVICES:
        name = f"{service}_config_V1"
        secret = config_paths(name)
        keys = _top_level_keys(schemas, schemas[name]["properties"]["config"], frozenset({name}))
        services[service] = {"secret": secret, "plain": sorted(keys - set(secret))}
    names: set[str] = set()
    for name in schemas:
        if name.endswith("_config_V1") and "config" in schemas[name].get("properties", {}):
            names.update(path.rsplit(".", 1)[-1] for path in config_paths(name))
    return {
        "_note": (
            "Derived by tools/derive_secret_fields.py from Fivetran's OpenAPI definition: per service "
            "(<service>_config_V1), config keys whose schema has format=password (secret) and its other keys "
            "(plain); any_service: names of secret keys across all services, for unlisted services and keys."
        ),
        "services": services,
        "any_service": sorted(names),
    }


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        json.dump(derive(json.load(handle)), sys.stdout, indent=1)
    sys.stdout.write("\n")

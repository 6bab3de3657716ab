"""Write ``fivetran_provider/secret_keys.json``: the config keys Fivetran's definition marks as passwords.

Run at development time, whenever the official OpenAPI definition changes::

    python tools/derive_password_keys.py /path/to/fivetran-openapi.json > fivetran_provider/secret_keys.json

Every connection service is found through the ``service`` discriminator of the request that
creates a connection (``NewConnectorRequestV1``). Its request schema is walked (``$ref``,
``allOf``/``oneOf``/``anyOf``, nested objects and array items) below its ``config`` property, and
every property name whose schema says ``"format": "password"`` is kept, at whatever depth. The
client masks values under these names for that service (:mod:`fivetran_provider.secrets`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

CREATE_REQUEST = "NewConnectorRequestV1"


def _resolve(definition: dict[str, Any], schema: Any) -> Any:
    seen: set[str] = set()
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            return {}
        seen.add(ref)
        node: Any = definition
        for part in ref.lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = node
    return schema


def _password_names(definition: dict[str, Any], schema: Any, depth: int = 0) -> Iterator[str]:
    """Names of properties (at any depth) whose schema is a password."""
    schema = _resolve(definition, schema)
    if not isinstance(schema, dict) or depth > 30:
        return
    for combined in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(combined) or []:
            yield from _password_names(definition, part, depth + 1)
    if "items" in schema:
        yield from _password_names(definition, schema["items"], depth + 1)
    for name, child in (schema.get("properties") or {}).items():
        resolved = _resolve(definition, child)
        if isinstance(resolved, dict) and resolved.get("format") == "password":
            yield name
        yield from _password_names(definition, resolved, depth + 1)


def _config_schemas(definition: dict[str, Any], schema: Any, depth: int = 0) -> Iterator[Any]:
    """The schemas of the ``config`` property of a service's create request."""
    schema = _resolve(definition, schema)
    if not isinstance(schema, dict) or depth > 10:
        return
    for combined in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(combined) or []:
            yield from _config_schemas(definition, part, depth + 1)
    config = (schema.get("properties") or {}).get("config")
    if config is not None:
        yield config


def password_keys(definition: dict[str, Any]) -> dict[str, list[str]]:
    """Service name to the sorted config key names its schema marks ``format: password``.

    :param definition: the parsed OpenAPI definition.
    """
    request = definition["components"]["schemas"][CREATE_REQUEST]
    mapping = request["discriminator"]["mapping"]
    table: dict[str, list[str]] = {}
    for service, ref in sorted(mapping.items()):
        names: set[str] = set()
        for config in _config_schemas(definition, {"$ref": ref}):
            names.update(_password_names(definition, config))
        if names:
            table[service] = sorted(names)
    return table


def main(argv: list[str]) -> int:
    """Print the table as JSON for the definition named on the command line.

    :param argv: ``[program, path-to-definition]``.
    """
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        definition = json.load(handle)
    table = password_keys(definition)
    output = {
        "_source": "format: password keys under config in Fivetran's OpenAPI definition; "
        "written by tools/derive_password_keys.py",
        "services": table,
    }
    print(json.dumps(output, indent=0, sort_keys=True, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Derive ``fivetran_provider/testing/documented_operations.json`` from Fivetran's OpenAPI definition.

Run at development time only (the simulator never reads the definition)::

    python tools/derive_documented_operations.py /path/to/fivetran-openapi.json \
        > fivetran_provider/testing/documented_operations.json

Every path of the definition is listed with the HTTP methods it documents. Path parameters
(``{connectionId}``, ``{id}``, ...) become ``*``, so paths that differ only in a parameter's name
(``/v1/users/{id}`` and ``/v1/users/{userId}``) share one entry holding the methods of both. The
simulator answers a documented method it does not serve with a 404 saying so, and an undocumented
method on a documented path with a 405 whose ``Allow`` lists the documented methods.
"""

from __future__ import annotations

import json
import sys
from typing import Any

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def pattern_of(path: str) -> str:
    """The path with every ``{parameter}`` segment replaced by ``*``.

    :param path: a path of the definition, e.g. ``/v1/users/{userId}``.
    """
    return "/".join("*" if part.startswith("{") and part.endswith("}") else part for part in path.split("/"))


def derive(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the table.

    :param spec: the parsed definition.
    """
    found: dict[str, set[str]] = {}
    for path, item in spec["paths"].items():
        methods = {method.upper() for method in item if method in _METHODS}
        if methods:
            found.setdefault(pattern_of(path), set()).update(methods)
    return {
        "_note": (
            "Derived by tools/derive_documented_operations.py from Fivetran's OpenAPI definition: every "
            "documented path (a path parameter written as *) and the HTTP methods documented for it."
        ),
        "paths": {pattern: sorted(methods) for pattern, methods in sorted(found.items())},
    }


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        json.dump(derive(json.load(handle)), sys.stdout, indent=0, sort_keys=True)
    sys.stdout.write("\n")

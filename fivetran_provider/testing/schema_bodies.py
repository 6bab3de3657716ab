"""Checks of the bodies the schema-config endpoints, ``/schemas/tables/resync`` and ``PATCH .../state`` accept.

Each follows the official definition: fields it does not name are ignored, ``enabled`` is required
where the definition requires it, and types and enums are checked with the field named.
"""

from __future__ import annotations

from typing import Any

from fivetran_provider.testing.body_checks import check_bool, require_object
from fivetran_provider.testing.http_messages import invalid

SCHEMA_CHANGE_HANDLING: tuple[str, ...] = ("ALLOW_ALL", "ALLOW_COLUMNS", "BLOCK_ALL")
SYNC_MODES: tuple[str, ...] = ("SOFT_DELETE", "HISTORY", "LIVE")
EXCLUDE_MODES: tuple[str, ...] = ("PRESERVE", "EXCLUDE")


def validate_schema_config_update(body: Any) -> dict[str, Any]:
    """Check a ``PATCH /v1/connections/{id}/schemas`` body.

    :param body: the parsed body.
    :return: ``schema_change_handling`` and/or ``schemas``, checked.
    :raises ApiError: 400 naming the offending field.
    """
    body = require_object({} if body is None else body, "schema config update")
    changes: dict[str, Any] = {}
    if "schema_change_handling" in body:
        changes["schema_change_handling"] = _enum(
            body["schema_change_handling"], "schema_change_handling", SCHEMA_CHANGE_HANDLING
        )
    if "is_type_locked" in body:
        check_bool(dict(body), "is_type_locked")
    if "schemas" in body:
        schemas = _object(body["schemas"], "schemas")
        changes["schemas"] = {name: validate_schema_update(item, f"schemas.{name}.") for name, item in schemas.items()}
    return changes


def validate_schema_update(body: Any, prefix: str = "") -> dict[str, Any]:
    """Check the change of one schema (``enabled`` required, ``tables``).

    :param body: the parsed body or nested object.
    :param prefix: where it sits in the request, for messages.
    """
    body = _object(body, prefix.rstrip(".") or "body")
    change: dict[str, Any] = {"enabled": _required_bool(body, "enabled", prefix)}
    if "tables" in body:
        tables = _object(body["tables"], f"{prefix}tables")
        change["tables"] = {
            name: validate_table_update(item, f"{prefix}tables.{name}.") for name, item in tables.items()
        }
    return change


def validate_table_update(body: Any, prefix: str = "") -> dict[str, Any]:
    """Check the change of one table (``enabled`` required, ``sync_mode``, ``columns``).

    :param body: the parsed body or nested object.
    :param prefix: where it sits in the request, for messages.
    """
    body = _object(body, prefix.rstrip(".") or "body")
    change: dict[str, Any] = {"enabled": _required_bool(body, "enabled", prefix)}
    if "sync_mode" in body:
        change["sync_mode"] = _enum(body["sync_mode"], f"{prefix}sync_mode", SYNC_MODES)
    if "columns" in body:
        columns = _object(body["columns"], f"{prefix}columns")
        change["columns"] = {
            name: validate_column_update(item, f"{prefix}columns.{name}.") for name, item in columns.items()
        }
    return change


def validate_column_update(body: Any, prefix: str = "") -> dict[str, Any]:
    """Check the change of one column (``enabled`` required, ``hashed``, ``is_primary_key``).

    :param body: the parsed body or nested object.
    :param prefix: where it sits in the request, for messages.
    """
    body = _object(body, prefix.rstrip(".") or "body")
    change: dict[str, Any] = {"enabled": _required_bool(body, "enabled", prefix)}
    for name in ("hashed", "is_primary_key"):
        if name in body:
            change[name] = _bool(body[name], f"{prefix}{name}")
    return change


def validate_reload(body: Any) -> str:
    """Check a ``POST .../schemas/reload`` body.

    :param body: the parsed body, or ``None``.
    :return: the ``exclude_mode`` (``PRESERVE`` when not given; the definition types it as any string).
    """
    if body is None:
        return "PRESERVE"
    mode = require_object(body, "reload").get("exclude_mode", "PRESERVE")
    if not isinstance(mode, str):
        raise invalid(f"Field 'exclude_mode' must be a string, e.g. {' or '.join(EXCLUDE_MODES)}")
    return mode


def validate_table_map(body: Any) -> dict[str, list[str]]:
    """Check a ``POST .../schemas/tables/resync`` body: schema name to a non-empty list of table names.

    :param body: the parsed body.
    """
    if body is None:
        raise invalid("Request body is required: a map of schema names to lists of table names")
    scope = require_object(body, "tables re-sync")
    if not scope:
        raise invalid("The request body must name at least one schema")
    for schema, tables in scope.items():
        if not isinstance(tables, list) or not all(isinstance(t, str) and t for t in tables):
            raise invalid(f"Field '{schema}' must be a list of table names")
        if not tables:
            raise invalid(f"Field '{schema}' must list at least one table")
        if len(set(tables)) != len(tables):
            raise invalid(f"Field '{schema}' lists a table twice")
    return {schema: list(tables) for schema, tables in scope.items()}


def validate_state_update(body: Any) -> dict[str, Any]:
    """Check a ``PATCH .../state`` body: ``{"state": {...}}``.

    :param body: the parsed body.
    """
    if body is None:
        raise invalid('Request body is required: {"state": {...}}')
    state = require_object(body, "state update").get("state")
    if not isinstance(state, dict):
        raise invalid("Field 'state' is required and must be an object")
    return state


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Field '{field}' must be an object")
    return value


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise invalid(f"Field '{field}' must be a boolean")
    return value


def _required_bool(body: dict[str, Any], name: str, prefix: str) -> bool:
    if name not in body:
        raise invalid(f"Field '{prefix}{name}' is required")
    return _bool(body[name], f"{prefix}{name}")


def _enum(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise invalid(f"Invalid value for field '{field}': {value!r}. Allowed values: {', '.join(allowed)}")
    return str(value)

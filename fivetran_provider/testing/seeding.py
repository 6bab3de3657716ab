"""Seed a simulator from JSON shaped like Fivetran's own answers, to mirror a real account offline.

The file may hold what ``GET /v1/connections`` answered (``{"code": ..., "data": {"items": [...]}}``),
several such pages in a list, just ``{"items": [...]}``, or a plain list of connection objects.
An optional top-level ``"groups"`` entry, shaped like ``GET /v1/groups`` (``{"data": {"items": [...]}}``,
``{"items": [...]}`` or a list), names the groups; groups that connections refer to are created
anyway. Masked values (``"******"``) are stored as they are: put real-looking values in if a test
needs them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fivetran_provider.testing.server import FivetranSimulator

# Connection fields the seeding passes on by name; the rest of an item goes in as extra fields.
_DIRECT_FIELDS: tuple[str, ...] = (
    "group_id",
    "service",
    "schema",
    "paused",
    "sync_frequency",
    "schedule_type",
    "daily_sync_time",
    "config",
    "succeeded_at",
    "failed_at",
)
_IGNORED_FIELDS: frozenset[str] = frozenset({"id", "status", "setup_tests", "auth", "source_sync_details"})


class SeedError(ValueError):
    """The seed file does not have a shape the simulator understands."""


def _items(node: Any, what: str) -> list[dict[str, Any]]:
    """The objects of a list answer in any of the accepted shapes."""
    if isinstance(node, list):
        found: list[dict[str, Any]] = []
        for entry in node:
            if isinstance(entry, dict) and ("data" in entry or "items" in entry):
                found.extend(_items(entry, what))
            elif isinstance(entry, dict):
                found.append(entry)
            else:
                raise SeedError(f"{what}: list entries must be objects, got {type(entry).__name__}")
        return found
    if isinstance(node, dict):
        if isinstance(node.get("data"), dict):
            return _items(node["data"], what)
        if isinstance(node.get("items"), list):
            return _items(node["items"], what)
    raise SeedError(
        f"{what}: expected a GET list answer ({{'data': {{'items': [...]}}}}), {{'items': [...]}} or a list"
    )


def seed_from_json(sim: FivetranSimulator, document: Any) -> tuple[int, int]:
    """Add the groups and connections of a parsed seed document to a simulator.

    :param sim: the simulator.
    :param document: the parsed JSON (see the module docstring for the shapes).
    :return: ``(groups added, connections added)``.
    :raises SeedError: on a shape that cannot be read or a connection without ``id``.
    """
    groups_node = document.get("groups") if isinstance(document, dict) else None
    connections_node = document.get("connections", document) if isinstance(document, dict) else document
    known = {group["id"] for group in sim.state.list_groups()}
    added_groups = 0
    if groups_node is not None:
        for group in _items(groups_node, "groups"):
            if "id" not in group:
                raise SeedError("groups: every group needs an 'id'")
            if group["id"] not in known:
                sim.add_group(str(group["id"]), group.get("name"))
                known.add(group["id"])
                added_groups += 1
    added = 0
    for item in _items(connections_node, "connections"):
        if not isinstance(item.get("id"), str):
            raise SeedError("connections: every connection needs a string 'id'")
        group_id = item.get("group_id")
        if group_id is not None and group_id not in known:
            sim.add_group(str(group_id))
            known.add(group_id)
            added_groups += 1
        raw_status = item.get("status")
        status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
        kwargs: dict[str, Any] = {name: item[name] for name in _DIRECT_FIELDS if name in item}
        for name in ("setup_state", "is_historical_sync", "schema_status", "tasks", "warnings"):
            if name in status:
                kwargs[name] = status[name]
        for name, value in item.items():
            if name not in kwargs and name not in _IGNORED_FIELDS and name not in _DIRECT_FIELDS:
                kwargs[name] = value
        sim.add_connection(item["id"], **kwargs)
        added += 1
    return added_groups, added


def seed_from_file(sim: FivetranSimulator, path: str | Path) -> tuple[int, int]:
    """Read a seed file (JSON) and add its groups and connections to a simulator.

    :param sim: the simulator.
    :param path: the file.
    :return: ``(groups added, connections added)``.
    :raises SeedError: on unreadable JSON or an unknown shape.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SeedError(f"cannot read seed file {path}: {error}") from None
    return seed_from_json(sim, document)

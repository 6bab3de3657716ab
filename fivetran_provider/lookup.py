"""Find a connection by its name (Fivetran's ``schema``) within a group, when a task runs.

Operators and the sensor accept ``connection_name`` with ``group_id`` instead of
``connection_id``; :func:`resolve_connection_id` turns them into the id with one list call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fivetran_provider import fields
from fivetran_provider.exceptions import FivetranError, FivetranValidationError

if TYPE_CHECKING:
    from fivetran_provider.hooks import FivetranHook

_SHOWN = 20
"""At most this many connections are named in a "not found" error."""


class FivetranConnectionLookupError(FivetranError):
    """No connection, or more than one, has the given name in the group."""


def check_target(operator: str, connection_id: Any, connection_name: Any, group_id: Any) -> None:
    """Check at construction that a task names its connection one way: by id, or by name and group.

    :param operator: the operator class name, for the message.
    :param connection_id: the ``connection_id`` argument.
    :param connection_name: the ``connection_name`` argument.
    :param group_id: the ``group_id`` argument.
    :raises FivetranValidationError: on none or both, or a name without a group.
    """
    if connection_name is None:
        if connection_id is None:
            raise FivetranValidationError(
                "connection_id",
                None,
                "a Fivetran connection id, or connection_name with group_id",
                reason=f"{operator} needs to know which connection to work on.",
            )
        return
    if connection_id is not None:
        raise FivetranValidationError(
            "connection_name",
            connection_name,
            "either connection_id or connection_name (with group_id), not both",
        )
    if group_id is None:
        raise FivetranValidationError(
            "group_id",
            None,
            "the id of the group (destination) the connection belongs to",
            reason="A connection name (schema) is unique only within its group.",
        )
    if not isinstance(connection_name, str) or not connection_name:
        raise FivetranValidationError("connection_name", connection_name, "the connection's schema name (text)")


def resolve_connection_id(
    hook: FivetranHook,
    *,
    connection_id: Any = None,
    connection_name: Any = None,
    group_id: Any = None,
    log: Any = None,
) -> str:
    """The connection id a task works on: ``connection_id`` as given, or the one named in the group.

    Looks a name up with one listing of the group (``GET /v1/connections?group_id=...``) and
    compares names exactly, as given: spaces are part of a name, and a connection may be named
    ``"None"``. Only ``None`` or empty text (a template that rendered nothing) means "not given".

    :param hook: the hook.
    :param connection_id: the id, when given.
    :param connection_name: the connection's schema name, when looking up.
    :param group_id: the group (destination) to look in.
    :param log: where to say what was found.
    :raises FivetranConnectionLookupError: no match, or several; the message lists what the group has.
    """
    if connection_name is None or connection_name == "":
        return fields.validate_connection_id(connection_id)
    if not isinstance(connection_name, str):
        raise FivetranValidationError("connection_name", connection_name, "the connection's schema name (text)")
    name = connection_name
    group = fields.validate_connection_id(group_id, "group_id")
    listed = hook.list_connections(group_id=group)
    matches = [item for item in listed if item.get("schema") == name and isinstance(item.get("id"), str)]
    if len(matches) == 1:
        found = str(matches[0]["id"])
        if log is not None:
            log.info("Connection %r of group %s is %s", name, group, found)
        return found
    if matches:
        ids = ", ".join(sorted(str(item["id"]) for item in matches))
        raise FivetranConnectionLookupError(
            f"{len(matches)} connections of group {group} are named {name!r}: {ids}. Give connection_id instead."
        )
    raise FivetranConnectionLookupError(
        f"No connection of group {group} is named {name!r}. " + _describe_group(listed, name)
    )


def _describe_group(listed: Sequence[Mapping[str, Any]], name: str) -> str:
    if not listed:
        return "The group has no connections."
    named = sorted(f"{item.get('schema')!s} ({item.get('id')!s})" for item in listed)
    shown = ", ".join(named[:_SHOWN]) + (f" and {len(named) - _SHOWN} more" if len(named) > _SHOWN else "")
    close = [str(item.get("schema")) for item in listed if str(item.get("schema", "")).lower() == name.lower()]
    hint = f" Names are case-sensitive: did you mean {close[0]!r}?" if close else ""
    return f"It has {len(named)}: {shown}.{hint}"

"""What the compatibility classes of both earlier providers share: warnings, settings, lookups, preparation.

The earlier providers' operators *prepared* a connection before syncing it: they set its
``schedule_type`` (``"manual"`` unless told otherwise) and resumed it when paused, silently. Here
:func:`prepare_connection` makes the same changes with one PATCH through
:func:`~fivetran_provider.operators._common.apply_change`, logs them as warnings, and stores a
change record (:mod:`fivetran_provider.changes`) under the XCom key
``fivetran_change_record``, so ``RestoreFivetranConnectionOperator(restore_from=<task>)`` can
put the connection back.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Mapping
from typing import Any

from fivetran_provider import changes, fields
from fivetran_provider.exceptions import FivetranError, FivetranValidationError

log = logging.getLogger("fivetran_provider.compat")

SCHEDULE_TYPES = ("manual", "auto")
GROUPS_PATH = "/v1/groups"
_MAX_GROUP_PAGES = 100
"""At most this many pages of groups are read when looking a destination up by name."""


class FivetranCompatibilityWarning(DeprecationWarning):
    """A class kept for DAGs written for an earlier Fivetran provider was used; the message names its successor."""


class FivetranDestinationLookupError(FivetranError):
    """No destination (group), or more than one, has the given name; or it has no such connection."""


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(name: str, instead: str) -> None:
    """Say once per process that a compatibility class was used, and what to use instead.

    Emits a :class:`FivetranCompatibilityWarning` and logs the same line, the first time only, so
    a DAG folder with many tasks does not repeat it per task or per parse.

    :param name: the compatibility name, e.g. ``fivetran_provider.operators.fivetran.FivetranOperator``.
    :param instead: what to use instead.
    """
    with _warned_lock:
        if name in _warned:
            return
        _warned.add(name)
    message = (
        f"{name} is kept so that DAGs written for an earlier Fivetran provider run unchanged; "
        f"use {instead} instead (see the migration guide, docs/guides/migrating.md)."
    )
    warnings.warn(message, FivetranCompatibilityWarning, stacklevel=3)
    log.warning("%s", message)


def legacy_retry_policy(retry_limit: Any, retry_delay: Any) -> dict[str, Any]:
    """The retry policy for the earlier providers' ``retry_limit`` (attempts) and ``retry_delay`` (seconds).

    Their clients made at most ``retry_limit`` attempts with a fixed pause between them; here the
    same number of attempts is made, the first wait being ``retry_delay`` and later ones growing.

    :param retry_limit: attempts per request, at least 1.
    :param retry_delay: seconds before the first retry, 0 or more.
    :raises FivetranValidationError: on other values.
    """
    limit = fields.coerce_int("fivetran_retry_limit", retry_limit)
    if limit < 1:
        raise FivetranValidationError("fivetran_retry_limit", retry_limit, "an integer of at least 1 (attempts)")
    delay = fields.coerce_seconds("fivetran_retry_delay", retry_delay) if retry_delay not in (0, 0.0) else 0.0
    return {"max_retries": limit - 1, "backoff_base": delay}


def check_schedule_type(value: Any) -> str:
    """Check the earlier operators' ``schedule_type``: ``"manual"`` or ``"auto"``.

    :param value: the argument.
    """
    if value not in SCHEDULE_TYPES:
        raise FivetranValidationError("schedule_type", value, '"manual" or "auto"')
    return str(value)


def previous_completion(connection: Mapping[str, Any]) -> str | None:
    """The later of ``succeeded_at`` and ``failed_at`` as Fivetran wrote it, or ``None`` if it never synced.

    This is what the earlier operators returned as XCom after starting a sync.

    :param connection: ``data`` of ``GET /v1/connections/{id}``.
    """
    from fivetran_provider.sync_status import parse_timestamp

    best: tuple[Any, str] | None = None
    for key in ("succeeded_at", "failed_at"):
        raw = connection.get(key)
        try:
            moment = parse_timestamp(raw)
        except (ValueError, TypeError, FivetranValidationError):
            continue
        if moment is not None and (best is None or moment > best[0]):
            best = (moment, str(raw))
    return None if best is None else best[1]


def find_connection_by_destination(hook: Any, connector_name: str, destination_name: str, log: Any = None) -> str:
    """The id of the connection named ``connector_name`` in the destination named ``destination_name``.

    A destination and its group share their id, so the group whose ``name`` is the destination's
    name is found with ``GET /v1/groups``, and the connection by its schema name within it.

    :param hook: a :class:`~fivetran_provider.hooks.FivetranHook`.
    :param connector_name: the connection's schema name, as shown in the Fivetran dashboard.
    :param destination_name: the destination's (group's) name.
    :param log: where to say what was found.
    :raises FivetranDestinationLookupError: no such destination, or several with that name.
    """
    from fivetran_provider.hooks.core import list_page
    from fivetran_provider.lookup import resolve_connection_id

    for name, value in (("connector_name", connector_name), ("destination_name", destination_name)):
        if not isinstance(value, str) or not value.strip():
            raise FivetranValidationError(name, value, "a non-empty name")
    params: dict[str, Any] = {"limit": 1000}
    groups: list[dict[str, Any]] = []
    for _page in range(_MAX_GROUP_PAGES):
        page, cursor = list_page(hook.request("GET", GROUPS_PATH, params=params), GROUPS_PATH)
        groups.extend(page)
        if cursor is None:
            break
        params["cursor"] = cursor
    matches = [group for group in groups if group.get("name") == destination_name and isinstance(group.get("id"), str)]
    if len(matches) != 1:
        known = ", ".join(sorted(repr(str(group.get("name"))) for group in groups)[:20]) or "none"
        problem = "No destination" if not matches else f"{len(matches)} destinations"
        raise FivetranDestinationLookupError(
            f"{problem} named {destination_name!r} found (destinations: {known}). Give connector_id instead."
        )
    return resolve_connection_id(hook, connection_name=connector_name, group_id=matches[0]["id"], log=log)


def prepare_connection(
    hook: Any,
    connection_id: str,
    *,
    schedule_type: str,
    unpause: bool,
    test_if_broken: bool,
    context: Any,
    log: Any,
    operator: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bring a connection into the state the earlier operators left it in before syncing; record it.

    Reads the connection; when its setup is not ``connected`` either fails (archived provider)
    or runs the setup tests first and fails if it is still not connected (``test_if_broken``, as
    ``airflow-provider-fivetran-async`` 2.4.0 did). Then sets ``schedule_type`` and, with
    ``unpause``, resumes a paused connection, both in one PATCH, logged as warnings and recorded
    under the XCom key ``fivetran_change_record`` for ``RestoreFivetranConnectionOperator``.

    :param hook: the operator's hook.
    :param connection_id: the connection.
    :param schedule_type: ``"manual"`` or ``"auto"``.
    :param unpause: resume the connection if it is paused.
    :param test_if_broken: run the setup tests of a connection that is not connected.
    :param context: the task context (the record is pushed to its ``ti``).
    :param log: the task's logger.
    :param operator: the class name, for messages.
    :return: the connection as first read, and as it is now (read again after a change).
    """
    from fivetran_provider.operators._common import apply_change
    from fivetran_provider.setup_tests import CONNECTED, FivetranConnectionBrokenError, ensure_connected, setup_state

    connection = before = hook.get_connection_details(connection_id)
    if test_if_broken:
        connection = ensure_connected(hook, connection, log=log)
    elif setup_state(connection) != CONNECTED:
        raise FivetranConnectionBrokenError(
            f"Fivetran connection {connection_id} is not correctly set up (setup_state "
            f"{setup_state(connection)!r}); {operator} does not sync it. Fix its setup in the dashboard.",
            connection_id=connection_id,
            setup_tests=[],
        )
    requested: dict[str, Any] = {"schedule_type": schedule_type}
    if unpause and connection.get("paused") is True:
        requested["paused"] = False
    record = changes.new_record("update")
    entry = apply_change(hook, connection_id, requested, log=log, current=connection)
    if entry is None:
        return before, connection
    changes.add_entry(record, entry)
    log.warning(
        "%s changed Fivetran connection %s before syncing it, as the earlier provider did: %s. "
        "RestoreFivetranConnectionOperator(restore_from=<this task>) puts it back.",
        operator,
        connection_id,
        changes.describe(entry),
    )
    ti = context.get("ti") if isinstance(context, Mapping) else None
    if ti is not None:
        ti.xcom_push(key=changes.RECORD_XCOM_KEY, value=record)
    return before, hook.get_connection_details(connection_id)

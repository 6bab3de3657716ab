"""The change record: what an operator changed on Fivetran connections, and how to undo it.

Every operator of this provider that writes to connections (``UpdateFivetranConnectionOperator``,
``PauseConnectionOperator``, ``ResumeConnectionOperator``, ``RestoreFivetranConnectionOperator``)
returns one record as its XCom value. ``RestoreFivetranConnectionOperator`` and
``ResumeConnectionOperator(restore_from=...)`` read it back to undo the change. Pure data and
functions, no I/O.

A record is plain JSON::

    {
        "kind": "fivetran_connection_changes",
        "version": 1,
        "operation": "pause",            # update | pause | resume | restore
        "dry_run": false,                # true: nothing was sent, "connections" is the plan
        "patched": true,                 # at least one PATCH was sent
        "connection_ids": ["mellow_quartz", "quiet_meadow"],   # connections a PATCH changed
        "unchanged": ["brisk_heron"],    # connections looked at that needed no change
        "connections": [                 # one entry per connection changed (or planned, in a dry run)
            {
                "connection_id": "mellow_quartz",
                "patched": true,
                "changes": {"paused": {"before": false, "after": true}},
                "not_restorable": {}
            },
            ...
        ]
    }

``changes`` holds only the fields whose value differed, as ``{"before": ..., "after": ...}``.
For ``config`` only the differing keys are listed. Secrets never appear, judged by what Fivetran
says rather than by key names: ``before`` is the value Fivetran returned before the change, and
``after`` the value Fivetran returned after it (so a secret reads ``"******"``), never the value
the DAG passed; where Fivetran's answer is not at hand (a dry run) ``after`` is the value the
DAG passed unless it is a secret. A key is a secret when Fivetran reads it back masked, when
Fivetran's definition marks it ``format: password`` for the connection's service, or when its
name marks a credential (:mod:`fivetran_provider.secrets`); its values read ``"******"``. Write-only
fields (``auth``, ``external_secrets_keys_config``) are recorded as ``{"before": null, "after":
"******"}`` without any of their content. ``not_restorable`` maps each change that an undo cannot
put back (a masked secret, a write-only field, a historical sync that has started, a value that
was not set before) to the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from fivetran_provider import fields, secrets
from fivetran_provider.exceptions import FivetranValidationError

RECORD_KIND = "fivetran_connection_changes"
RECORD_VERSION = 1
RECORD_XCOM_KEY = "fivetran_change_record"
"""XCom key under which a task that still has work after its PATCH (waiting for a sync) stores its
record at once, so an undo finds it even when that later work fails the task."""
OPERATIONS: tuple[str, ...] = ("update", "pause", "resume", "restore")


# --------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------


def secret_config_keys(connection: Mapping[str, Any] | None) -> set[str]:
    """Config keys that Fivetran reads back masked (``"******"``) on a connection.

    :param connection: a connection object as returned by Fivetran (or ``None``).
    """
    return secrets.masked_keys(connection)


def mask_object(value: Any, secret_keys: Iterable[str] = (), password_keys: Iterable[str] = ()) -> Any:
    """Copy a ``config``-like value with every secret replaced by ``"******"``, at any depth.

    A key is secret when it is in ``secret_keys`` (top level: keys Fivetran reads back masked),
    in ``password_keys`` (any depth: keys the definition marks ``format: password``), or when
    :func:`fivetran_provider.fields.is_secret_key` says its name marks a credential.

    :param value: a dict, list or scalar.
    :param secret_keys: top-level keys known to be secret.
    :param password_keys: keys secret at any depth.
    """
    deep = frozenset(password_keys)
    known = set(secret_keys) | deep
    if isinstance(value, Mapping):
        return {
            key: (
                fields.MASKED_VALUE
                if (key in known or fields.is_secret_key(str(key))) and item is not None
                else mask_object(item, (), deep)
            )
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [mask_object(item, (), deep) for item in value]
    return value


def mask_field(name: str, value: Any, secret_keys: Iterable[str] = (), password_keys: Iterable[str] = ()) -> Any:
    """The value of one PATCH field as it may be stored in a record (secrets masked).

    :param name: a PATCH field name.
    :param value: its value (before or after a change).
    :param secret_keys: ``config`` keys Fivetran reads back masked.
    :param password_keys: ``config`` keys the definition marks ``format: password`` (any depth).
    """
    spec = fields.FIELDS[name]
    if value is None:
        return None
    if spec.role == fields.WRITE_ONLY:
        return fields.MASKED_VALUE
    if spec.sensitive:
        return mask_object(value, secret_keys, password_keys)
    return value


# --------------------------------------------------------------------------------------------
# Building records
# --------------------------------------------------------------------------------------------


def new_record(operation: str, *, dry_run: bool = False) -> dict[str, Any]:
    """An empty record.

    :param operation: ``update``, ``pause``, ``resume`` or ``restore``.
    :param dry_run: whether the operator only planned its changes.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}, not {operation!r}")
    return {
        "kind": RECORD_KIND,
        "version": RECORD_VERSION,
        "operation": operation,
        "dry_run": bool(dry_run),
        "patched": False,
        "connection_ids": [],
        "unchanged": [],
        "connections": [],
    }


def as_fivetran_returned(
    name: str, sent: Mapping[str, Any], after_state: Mapping[str, Any] | None, secret_keys: Iterable[str] = ()
) -> dict[str, Any]:
    """The keys of an object field that were sent, with the values Fivetran returned after the change.

    A key Fivetran did not return reads ``"******"`` (or ``None`` when it was cleared). Without
    Fivetran's answer (a dry run) a key reads as sent unless it is a secret (``secret_keys``, or
    a name that marks a credential), which reads ``"******"``.

    :param name: the object field (``config``).
    :param sent: the keys and values sent.
    :param after_state: the connection as Fivetran returned it after the PATCH (``None``: unknown).
    :param secret_keys: keys known to be secret (masked by Fivetran or ``format: password``).
    """
    returned = after_state.get(name) if isinstance(after_state, Mapping) else None
    if not isinstance(returned, Mapping):
        return dict(mask_object(sent, (), secret_keys))
    result: dict[str, Any] = {}
    for key, value in sent.items():
        if value is None:
            result[key] = returned.get(key)
        elif key in returned:
            result[key] = returned[key]
        else:
            result[key] = fields.MASKED_VALUE
    return result


def build_entry(
    connection_id: str,
    diff: Mapping[str, tuple[Any, Any]],
    *,
    patched: bool,
    current: Mapping[str, Any] | None = None,
    after_state: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One connection's entry, from a diff (:func:`fivetran_provider.fields.diff_update`).

    :param connection_id: the Fivetran connection id.
    :param diff: ``{field: (before, after)}`` of the fields that differed.
    :param patched: whether the PATCH was sent.
    :param current: the connection as read before the change (tells which config keys are secret).
    :param after_state: the connection as Fivetran returned it after the change; the ``after``
        of ``config`` keys is taken from it.
    """
    masked = secret_config_keys(current) | secret_config_keys(after_state)
    password = secrets.secret_keys(current, after_state) - masked
    changes: dict[str, Any] = {}
    for name, (before, after) in diff.items():
        spec = fields.FIELDS[name]
        if spec.sensitive and spec.role != fields.WRITE_ONLY and isinstance(after, Mapping):
            after = as_fivetran_returned(name, after, after_state, masked | password)
        changes[name] = {
            "before": mask_field(name, before, masked, password),
            "after": mask_field(name, after, masked, password),
        }
    entry: dict[str, Any] = {"connection_id": connection_id, "patched": bool(patched), "changes": changes}
    _desired, skipped = restore_plan(entry)
    entry["not_restorable"] = skipped
    return entry


def add_entry(record: dict[str, Any], entry: Mapping[str, Any]) -> None:
    """Add a connection's entry to a record, keeping ``patched`` and ``connection_ids`` in step.

    :param record: a record from :func:`new_record`.
    :param entry: an entry from :func:`build_entry`.
    """
    record["connections"].append(dict(entry))
    if entry.get("patched"):
        record["patched"] = True
        record["connection_ids"].append(entry["connection_id"])


def add_unchanged(record: dict[str, Any], connection_id: str) -> None:
    """Note a connection that was looked at and needed no change.

    :param record: a record from :func:`new_record`.
    :param connection_id: the Fivetran connection id.
    """
    record["unchanged"].append(connection_id)


def add_results(
    record: dict[str, Any], connection_ids: Iterable[str], results: Mapping[str, Mapping[str, Any] | None]
) -> None:
    """Add the outcome of a per-connection step to a record, in the order of ``connection_ids``.

    :param record: a record from :func:`new_record`.
    :param connection_ids: the connections, in order; those without a result are skipped.
    :param results: connection id to its entry, or ``None`` when it needed no change.
    """
    for connection_id in connection_ids:
        if connection_id not in results:
            continue
        entry = results[connection_id]
        if entry is None:
            add_unchanged(record, connection_id)
        else:
            add_entry(record, entry)


# --------------------------------------------------------------------------------------------
# Reading records back
# --------------------------------------------------------------------------------------------


def _invalid(value: Any, reason: str) -> FivetranValidationError:
    shown = type(value).__name__
    return FivetranValidationError(
        "restore_from",
        f"<an XCom value of type {shown}>",
        f"the XCom value of an Update, Pause, Resume or Restore task of this provider ({RECORD_KIND})",
        reason=reason,
        show_value=True,
    )


def entries(value: Any) -> list[dict[str, Any]]:
    """Every connection entry of a record, a list of records (a mapped task) or ``None``.

    Entries of dry runs are left out: nothing was changed, so there is nothing to undo.

    :param value: what ``xcom_pull`` returned for the task to undo.
    :raises FivetranValidationError: if the value is not a record of this provider.
    """
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _invalid(value, "It is text but not JSON.") from None
    if isinstance(value, Mapping):
        if value.get("kind") != RECORD_KIND:
            raise _invalid(value, "It has no 'kind': 'fivetran_connection_changes'.")
        if value.get("version") != RECORD_VERSION:
            raise _invalid(value, f"Record version {value.get('version')!r} is not supported (expected 1).")
        found = value.get("connections")
        if not isinstance(found, list) or not all(
            isinstance(item, Mapping) and isinstance(item.get("connection_id"), str) for item in found
        ):
            raise _invalid(value, "Its 'connections' is not a list of entries with a connection_id.")
        if value.get("dry_run"):
            return []
        return [dict(item) for item in found if item.get("patched")]
    if isinstance(value, Iterable):
        result: list[dict[str, Any]] = []
        for item in value:
            result.extend(entries(item))
        return result
    raise _invalid(value, "Expected a record (dict) or a list of records.")


def paused_ids(value: Any) -> list[str]:
    """Connections that a recorded change paused (``paused`` went from false to true).

    :param value: a record, a list of records or ``None``.
    """
    ids: list[str] = []
    for entry in entries(value):
        change = entry.get("changes", {}).get("paused")
        paused = isinstance(change, Mapping) and change.get("after") is True and change.get("before") is not True
        if paused and entry["connection_id"] not in ids:
            ids.append(entry["connection_id"])
    return ids


def restore_plan(entry: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """What to send to put a connection back as it was before a recorded change.

    :param entry: one connection entry of a record.
    :return: ``(fields, not_restorable)``: the PATCH fields with their earlier values, and each
        change that cannot be put back (``field`` or ``config.<key>``) with the reason.
    """
    desired: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    recorded = entry.get("changes") or {}
    for name, change in recorded.items():
        spec = fields.FIELDS.get(name)
        if spec is None or not isinstance(change, Mapping):
            skipped[str(name)] = "not a field this provider knows"
            continue
        before = change.get("before")
        if spec.role == fields.ACTION:
            skipped[name] = "an action, not a setting: a historical sync that has started cannot be undone"
        elif spec.role == fields.WRITE_ONLY:
            skipped[name] = "write-only: Fivetran never reads it back, so the earlier value is unknown"
        elif spec.role == fields.TEST_CONTROL:
            continue
        elif spec.sensitive and spec.kind == "object":
            if not isinstance(before, Mapping):
                skipped[name] = "the earlier value is unknown"
                continue
            keys: dict[str, Any] = {}
            for key, value in before.items():
                if value == fields.MASKED_VALUE:
                    skipped[f"{name}.{key}"] = (
                        "a secret: Fivetran reads it back masked, so the earlier value is unknown"
                    )
                else:
                    keys[key] = value  # None clears a key that was not set before
            if keys:
                desired[name] = keys
        elif before is None:
            if spec.needs is not None:
                other, required = spec.needs
                skipped[name] = f"was not set before (it only applies with {other}={json.dumps(required)})"
            else:
                skipped[name] = "was not set before; there is no earlier value to put back"
        elif before == fields.MASKED_VALUE:
            skipped[name] = "the earlier value was masked"
        else:
            desired[name] = before
    return desired, skipped


# --------------------------------------------------------------------------------------------
# Describing changes for logs
# --------------------------------------------------------------------------------------------


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def describe(entry: Mapping[str, Any]) -> str:
    """One line per changed field, ``field: before -> after``; values as stored in the entry (masked).

    :param entry: one connection entry of a record.
    """
    parts: list[str] = []
    for name, change in (entry.get("changes") or {}).items():
        before, after = change.get("before"), change.get("after")
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            for key in after:
                parts.append(f"{name}.{key}: {_short(before.get(key))} -> {_short(after[key])}")
        else:
            parts.append(f"{name}: {_short(before)} -> {_short(after)}")
    return "; ".join(parts) if parts else "no change"

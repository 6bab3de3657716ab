"""Checks of the bodies ``PATCH /v1/connections/{id}``, ``/sync``, ``/resync`` and ``/test`` accept."""

from __future__ import annotations

import re
from typing import Any

from fivetran_provider.testing.body_checks import check_bool, coerce_int, is_int, require_object
from fivetran_provider.testing.http_messages import invalid
from fivetran_provider.testing.schedules import cron_is_valid

_SYNC_FREQUENCIES: tuple[int, ...] = (1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)
_HOUR_RE = re.compile(r"^([01]\d|2[0-3]):00$")
_WEEK_DAYS: tuple[str, ...] = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

_TRUST_FIELDS: tuple[str, ...] = ("trust_certificates", "trust_fingerprints")

# Fields that control setup tests during a PATCH; never stored.
_TEST_CONTROL_FIELDS: tuple[str, ...] = ("run_setup_tests", "trust_certificates", "trust_fingerprints")

# Persistent fields accepted by PATCH /v1/connections/{id}, keyed by the check that applies.
_PATCH_BOOLEANS: tuple[str, ...] = ("paused", "pause_after_trial", "is_historical_sync")
_PATCH_ENUMS: dict[str, tuple[str, ...]] = {
    "schedule_type": ("auto", "manual"),
    "schema_status": ("blocked_on_capture", "ready"),
    "networking_method": ("Directly", "PrivateLink", "SshTunnel", "ProxyAgent"),
    "data_delay_sensitivity": ("LOW", "NORMAL", "HIGH", "CUSTOM", "SYNC_FREQUENCY"),
}
_PATCH_OPTIONAL_IDS: tuple[str, ...] = (
    "proxy_agent_id",
    "private_link_id",
    "hybrid_deployment_agent_id",
    "external_secrets_manager_id",
)
_PATCH_OPTIONAL_OBJECTS: tuple[str, ...] = ("destination_configuration", "external_secrets_keys_config")
_PATCH_PERSISTENT: frozenset[str] = frozenset(
    {
        *_PATCH_BOOLEANS,
        *_PATCH_ENUMS,
        *_PATCH_OPTIONAL_IDS,
        *_PATCH_OPTIONAL_OBJECTS,
        "sync_frequency",
        "daily_sync_time",
        "data_delay_threshold",
        "config",
        "auth",
        "schedule",
    }
)


def _validate_schedule(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("Field 'schedule' must be an object")
    allowed = {"schedule_type", "interval", "time_of_day", "days_of_week", "cron"}
    # Fields the definition does not name are ignored, as the API does with JSON it does not know.
    schedule = {key: item for key, item in value.items() if key in allowed}
    kind = schedule.get("schedule_type")
    if kind is None:
        for key, inferred in (("cron", "CRON"), ("time_of_day", "TIME_OF_DAY"), ("interval", "INTERVAL")):
            if key in schedule:
                kind = inferred
                break
        else:
            raise invalid("Field 'schedule.schedule_type' is required")
        schedule["schedule_type"] = kind
    if kind not in ("INTERVAL", "TIME_OF_DAY", "CRON", "MANUAL"):
        raise invalid(
            f"Invalid value for field 'schedule.schedule_type': {kind!r}. "
            "Allowed values: INTERVAL, TIME_OF_DAY, CRON, MANUAL"
        )
    if "interval" in schedule:
        schedule["interval"] = coerce_int(schedule["interval"])
    if "interval" in schedule and (not is_int(schedule["interval"]) or schedule["interval"] not in _SYNC_FREQUENCIES):
        raise invalid(f"Invalid value for field 'schedule.interval': {schedule['interval']!r}")
    if "time_of_day" in schedule and (
        not isinstance(schedule["time_of_day"], str) or not _HOUR_RE.match(schedule["time_of_day"])
    ):
        raise invalid(f"Invalid value for field 'schedule.time_of_day': {schedule['time_of_day']!r}; expected HH:00")
    if "days_of_week" in schedule:
        days = schedule["days_of_week"]
        if not isinstance(days, list) or any(day not in _WEEK_DAYS for day in days) or len(set(days)) != len(days):
            raise invalid("Field 'schedule.days_of_week' must be a list of distinct week days (MONDAY..SUNDAY)")
    if "cron" in schedule and (not isinstance(schedule["cron"], str) or not cron_is_valid(schedule["cron"])):
        raise invalid(f"Invalid value for field 'schedule.cron': {schedule['cron']!r}")
    needed = {"INTERVAL": "interval", "TIME_OF_DAY": "time_of_day", "CRON": "cron"}.get(kind)
    if needed is not None and needed not in schedule:
        raise invalid(f"Field 'schedule.{needed}' is required when 'schedule.schedule_type' is {kind}")
    return schedule


def validate_update(body: Any) -> tuple[dict[str, Any], bool]:
    """Check a ``PATCH /v1/connections/{id}`` body.

    :param body: the parsed JSON body (``None`` when the request had none).
    :return: ``(persistent changes, whether setup tests run)``.
    :raises ApiError: 400 ``InvalidInput`` naming the offending field.
    """
    if body is None:
        body = {}
    # Fields the definition does not name are ignored (nothing documents a refusal).
    known = _PATCH_PERSISTENT | set(_TEST_CONTROL_FIELDS)
    body = {key: value for key, value in require_object(body, "update").items() if key in known}
    for name in ("sync_frequency", "data_delay_threshold"):
        if name in body:
            body[name] = coerce_int(body[name])
    for name in (*_PATCH_BOOLEANS, *_TEST_CONTROL_FIELDS):
        check_bool(body, name)
    for name, allowed in _PATCH_ENUMS.items():
        if name in body and body[name] not in allowed:
            raise invalid(f"Invalid value for field '{name}': {body[name]!r}. Allowed values: {', '.join(allowed)}")
    if "sync_frequency" in body:
        value = body["sync_frequency"]
        if not is_int(value) or value not in _SYNC_FREQUENCIES:
            raise invalid(
                f"Invalid value for field 'sync_frequency': {value!r}. "
                f"Allowed values: {', '.join(str(v) for v in _SYNC_FREQUENCIES)}"
            )
    if "daily_sync_time" in body:
        value = body["daily_sync_time"]
        if value is not None and (not isinstance(value, str) or not _HOUR_RE.match(value)):
            raise invalid(
                f"Invalid value for field 'daily_sync_time': {value!r}. Expected a whole hour from 00:00 to 23:00"
            )
    if "data_delay_threshold" in body:
        value = body["data_delay_threshold"]
        if not is_int(value) or value < 0:
            raise invalid(f"Invalid value for field 'data_delay_threshold': {value!r}. Expected an integer >= 0")
    for name in _PATCH_OPTIONAL_IDS:
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise invalid(f"Field '{name}' must be a string")
    for name in ("config", "auth"):
        if name in body and not isinstance(body[name], dict):
            raise invalid(f"Field '{name}' must be an object")
    for name in _PATCH_OPTIONAL_OBJECTS:
        if name in body and body[name] is not None and not isinstance(body[name], dict):
            raise invalid(f"Field '{name}' must be an object")
    destination = body.get("destination_configuration")
    if isinstance(destination, dict):
        body["destination_configuration"] = {k: v for k, v in destination.items() if k == "virtual_warehouse"}
        value = destination.get("virtual_warehouse")
        if value is not None and not isinstance(value, str):
            raise invalid("Field 'destination_configuration.virtual_warehouse' must be a string")
    changes = {key: value for key, value in body.items() if key not in _TEST_CONTROL_FIELDS}
    if "schedule" in changes:
        changes["schedule"] = _validate_schedule(changes["schedule"])
        if changes["schedule"] is not None and changes.get("schedule_type") == "manual":
            raise invalid("Field 'schedule' cannot be combined with 'schedule_type' set to manual")
    if not changes:
        raise invalid("No update parameters specified")
    for name in ("trust_certificates", "trust_fingerprints"):
        # run_setup_tests defaults to true, so only an explicit false conflicts.
        if name in body and body.get("run_setup_tests", True) is not True:
            raise invalid(f"Field '{name}' requires 'run_setup_tests' to be true")
    return changes, bool(body.get("run_setup_tests", True))


def validate_sync(body: Any) -> bool:
    """Check a ``POST /sync`` body.

    :param body: parsed body or ``None``.
    :return: the ``force`` flag.
    """
    if body is None:
        return False
    body = {key: value for key, value in require_object(body, "sync").items() if key == "force"}
    check_bool(body, "force")
    return bool(body.get("force", False))


def validate_resync(body: Any) -> dict[str, list[str]] | None:
    """Check a ``POST /resync`` body.

    :param body: parsed body or ``None``.
    :return: the scope (schema name to tables), or ``None`` for a full re-sync.
    """
    if body is None:
        return None
    scope = require_object(body, "resync").get("scope")
    if scope is None:
        return None
    if not isinstance(scope, dict):
        raise invalid("Field 'scope' must be an object mapping schema names to lists of table names")
    if not scope:
        raise invalid("Field 'scope' must not be empty")
    for schema, tables in scope.items():
        if not isinstance(tables, list) or not all(isinstance(t, str) and t for t in tables):
            raise invalid(f"Field 'scope.{schema}' must be a list of table names")
        if not tables:
            raise invalid(f"Field 'scope.{schema}' must list at least one table")
    return {schema: list(tables) for schema, tables in scope.items()}


def validate_test(body: Any, present: bool) -> None:
    """Check a ``POST /test`` body (required; ``{}`` is fine).

    :param body: parsed body or ``None``.
    :param present: whether the request had a body at all.
    """
    if not present:
        raise invalid("Request body is required; send {} to run the setup tests with default options")
    body = {key: value for key, value in require_object(body, "test").items() if key in _TRUST_FIELDS}
    for key in body:
        check_bool(body, key)

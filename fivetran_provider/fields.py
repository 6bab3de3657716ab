"""The field catalogue for ``PATCH /v1/connections/{connectionId}``.

Plain data plus pure functions, no I/O. Everything that needs to know about the update body
asks this module: the hook's validation, the operators' template fields, the README's field
table and every error message. Values may arrive as rendered Jinja strings (``"true"``,
``"60"``, a JSON object as text); they are coerced to the JSON type Fivetran expects, and
anything ambiguous is rejected with an error that names the field, the value and what is
allowed.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fivetran_provider.exceptions import FivetranValidationError

SYNC_FREQUENCIES: tuple[int, ...] = (1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)
"""Sync frequencies (minutes) accepted by Fivetran."""

DAILY_SYNC_TIMES: tuple[str, ...] = tuple(f"{hour:02d}:00" for hour in range(24))
"""``daily_sync_time`` values: whole hours only."""

WEEKDAYS: tuple[str, ...] = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

MASKED_VALUE = "******"
"""How Fivetran reads back a secret ``config`` value."""

INT32_MAX = 2**31 - 1
"""The largest value of the API's ``int32`` fields (none of them takes negative values)."""

JSON_INT_MIN, JSON_INT_MAX = -(2**63), 2**63 - 1
"""The integers accepted inside objects (``config`` and the like): what a 64-bit reader can hold."""

MAX_JSON_DEPTH = 32
"""How deeply objects and lists may nest inside an object field (connector configs are shallow)."""

MAX_JSON_TEXT = 1_000_000
"""The longest JSON text accepted for an object field or id list, in characters."""

MAX_INT_TEXT = 20
"""The longest integer text accepted (an int64 has at most 20 characters with its sign)."""

# Roles of a field in the PATCH body.
SETTING = "setting"  # stored by Fivetran and read back on GET
ACTION = "action"  # triggers work; read back as a transient status flag
WRITE_ONLY = "write_only"  # stored but never read back (credentials)
TEST_CONTROL = "test_control"  # only steers the setup tests of this request; never stored


@dataclass(frozen=True)
class FieldSpec:
    """How one PATCH body field is typed, checked and read back.

    :param name: the JSON key.
    :param kind: ``bool``, ``int``, ``str``, ``enum``, ``hour`` or ``object``.
    :param description: one line for docs and errors.
    :param choices: allowed values for ``enum`` and ``int`` fields (empty: any value of the kind).
    :param minimum: smallest allowed integer, for ``int`` fields without choices.
    :param maximum: largest allowed integer, for ``int`` fields without choices.
    :param role: one of ``setting``, ``action``, ``write_only``, ``test_control``.
    :param sensitive: the value may carry credentials; it is never shown in messages or logs.
    :param read_path: where a connection object holds the current value (empty: not readable).
    :param needs: a ``(field, value)`` pair this field only makes sense with.
    """

    name: str
    kind: str
    description: str
    choices: tuple[Any, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    role: str = SETTING
    sensitive: bool = False
    read_path: tuple[str, ...] = ()
    needs: tuple[str, Any] | None = None

    @property
    def persistent(self) -> bool:
        """True when sending this field counts as an update (it is not a test-control flag)."""
        return self.role != TEST_CONTROL

    @property
    def allowed(self) -> str:
        """Human description of the allowed values, used in errors and docs."""
        if self.kind == "bool":
            return "true or false (a boolean, or the strings 'true'/'false')"
        if self.kind == "hour":
            return "a whole hour 'HH:00' from '00:00' to '23:00'"
        if self.kind == "object":
            return "a JSON object (a dict, or its JSON text)"
        if self.choices:
            unit = " (minutes)" if self.name == "sync_frequency" else ""
            return "one of " + ", ".join(str(choice) for choice in self.choices) + unit
        if self.kind == "int":
            if self.minimum is not None and self.maximum is not None:
                return f"an integer from {self.minimum} to {self.maximum}"
            return f"an integer >= {self.minimum}" if self.minimum is not None else "an integer"
        return "a non-empty string"


def _spec(name: str, kind: str, description: str, **kwargs: Any) -> FieldSpec:
    kwargs.setdefault("read_path", (name,) if kwargs.get("role", SETTING) == SETTING else ())
    return FieldSpec(name=name, kind=kind, description=description, **kwargs)


FIELD_SPECS: tuple[FieldSpec, ...] = (
    _spec("paused", "bool", "Pause (true) or resume (false) the connection's syncs."),
    _spec("pause_after_trial", "bool", "Pause the connection automatically when the free trial ends."),
    _spec("sync_frequency", "int", "Minutes between syncs.", choices=SYNC_FREQUENCIES),
    _spec(
        "daily_sync_time",
        "hour",
        "Start hour of the daily sync; only with sync_frequency 1440.",
        needs=("sync_frequency", 1440),
    ),
    _spec(
        "schedule_type",
        "enum",
        "'auto' follows sync_frequency; 'manual' syncs only when asked through the API.",
        choices=("auto", "manual"),
    ),
    _spec(
        "is_historical_sync",
        "bool",
        "true starts a full historical re-sync now (a running sync restarts as historical).",
        role=ACTION,
        read_path=("status", "is_historical_sync"),
    ),
    _spec(
        "schema_status",
        "enum",
        "Schema capture flow state, for connectors that support it.",
        choices=("blocked_on_capture", "ready"),
        read_path=("status", "schema_status"),
    ),
    _spec(
        "networking_method",
        "enum",
        "How Fivetran reaches the source.",
        choices=("Directly", "PrivateLink", "SshTunnel", "ProxyAgent"),
    ),
    _spec("proxy_agent_id", "str", "Proxy agent to use with networking_method 'ProxyAgent'."),
    _spec("private_link_id", "str", "Private link to use with networking_method 'PrivateLink'."),
    _spec("hybrid_deployment_agent_id", "str", "Hybrid deployment agent (defaults to the destination's)."),
    _spec(
        "data_delay_sensitivity",
        "enum",
        "Threshold level for data-delay notifications.",
        choices=("LOW", "NORMAL", "HIGH", "CUSTOM", "SYNC_FREQUENCY"),
    ),
    _spec(
        "data_delay_threshold",
        "int",
        "Custom data-delay threshold in minutes; only with data_delay_sensitivity 'CUSTOM'.",
        minimum=0,
        maximum=INT32_MAX,
        needs=("data_delay_sensitivity", "CUSTOM"),
    ),
    _spec(
        "config",
        "object",
        "Connector settings; merged key by key (a null value clears a key).",
        sensitive=True,
    ),
    _spec(
        "auth",
        "object",
        "Connector authorization settings; write-only.",
        role=WRITE_ONLY,
        sensitive=True,
    ),
    _spec(
        "destination_configuration",
        "object",
        "Destination-side settings, e.g. {'virtual_warehouse': ...} for Snowflake.",
    ),
    _spec("external_secrets_manager_id", "str", "External secrets manager holding the credentials."),
    _spec(
        "external_secrets_keys_config",
        "object",
        "Config keys stored in the external secrets manager.",
        role=WRITE_ONLY,
        sensitive=True,
    ),
    _spec(
        "schedule",
        "object",
        "Flexible schedule (alpha): schedule_type INTERVAL, TIME_OF_DAY, CRON or MANUAL.",
    ),
    _spec(
        "run_setup_tests",
        "bool",
        "Run setup tests with this update (this provider sends false unless you ask).",
        role=TEST_CONTROL,
    ),
    _spec(
        "trust_certificates",
        "bool",
        "Trust certificates during the setup tests; needs run_setup_tests=true.",
        role=TEST_CONTROL,
        needs=("run_setup_tests", True),
    ),
    _spec(
        "trust_fingerprints",
        "bool",
        "Trust SSH fingerprints during the setup tests; needs run_setup_tests=true.",
        role=TEST_CONTROL,
        needs=("run_setup_tests", True),
    ),
)

NETWORKING_COMPANIONS: Mapping[str, str] = {"ProxyAgent": "proxy_agent_id", "PrivateLink": "private_link_id"}
"""The id field each networking method needs."""

FIELDS: Mapping[str, FieldSpec] = {spec.name: spec for spec in FIELD_SPECS}
"""Every PATCH body field by name."""

PATCH_FIELDS: tuple[str, ...] = tuple(FIELDS)
"""Every PATCH body field name, in catalogue order."""

SENSITIVE_FIELDS: frozenset[str] = frozenset(spec.name for spec in FIELD_SPECS if spec.sensitive)

_SECRET_KEY_MARKERS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "private_key",
    "api_key",
    "apikey",
    "access_key",
    "credential",
    "passphrase",
    "client_key",
    "signing_key",
    "service_account",
    "keyfile",
    "sas",
    "connection_string",
)


def is_secret_key(key: str) -> bool:
    """Tell whether a ``config``/``auth`` key name suggests a credential.

    :param key: a key of a connector config or auth object.
    """
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_KEY_MARKERS)


# --------------------------------------------------------------------------------------------
# Coercion of single values
# --------------------------------------------------------------------------------------------


class _Pattern:
    """A regular expression compiled on first use, so importing the catalogue (DAG parsing) stays cheap."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    def _get(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.source)
        return self._compiled

    def fullmatch(self, text: str) -> re.Match[str] | None:
        """:meth:`re.Pattern.fullmatch`.

        :param text: the text.
        """
        return self._get().fullmatch(text)

    def search(self, text: str) -> re.Match[str] | None:
        """:meth:`re.Pattern.search`.

        :param text: the text.
        """
        return self._get().search(text)


_INT_TEXT = _Pattern(r"[+-]?\d+")
_HOUR_TEXT = _Pattern(r"([01]?\d|2[0-3]):00(:00)?")
_CONTROL_CHARS = _Pattern(r"[\x00-\x1f\x7f]")


def _fail(spec: FieldSpec, value: Any, reason: str | None = None) -> FivetranValidationError:
    return FivetranValidationError(spec.name, value, spec.allowed, reason=reason, show_value=not spec.sensitive)


def coerce_bool(name: str, value: Any, *, show_value: bool = True) -> bool:
    """Turn a boolean or its text (``"true"``, ``"False"``) into a bool.

    :param name: the field name for the error message.
    :param value: the raw value.
    :param show_value: whether the value may appear in an error message.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise FivetranValidationError(
        name, value, "true or false (a boolean, or the strings 'true'/'false')", show_value=show_value
    )


def coerce_object(name: str, value: Any, *, show_value: bool = True) -> dict[str, Any]:
    """Turn a dict, its JSON text or its Python-literal text (a rendered template) into a dict.

    :param name: the field name for the error message.
    :param value: the raw value.
    :param show_value: whether the value may appear in an error message.
    """
    allowed = "a JSON object (a dict, or its JSON text)"
    if isinstance(value, Mapping):
        return check_json_object(name, value, show_value=show_value)
    if isinstance(value, str) and value.strip():
        parsed = parse_json_text(name, value, allowed, show_value=show_value)
        if isinstance(parsed, dict):
            return check_json_object(name, parsed, show_value=show_value)
    raise FivetranValidationError(name, value, allowed, show_value=show_value)


def parse_json_text(name: str, value: str, allowed: str, *, show_value: bool = True) -> Any:
    """Parse JSON text (or Python-literal text, as a rendered template gives) of bounded size and depth.

    :param name: the field name for the error message.
    :param value: the text.
    :param allowed: what is allowed, for the error message.
    :param show_value: whether the value may appear in an error message.
    :return: the parsed value, or ``None`` when the text is neither JSON nor a literal.
    """
    text = value.strip()
    if len(text) > MAX_JSON_TEXT:
        raise FivetranValidationError(
            name, f"<text of {len(text)} characters>", allowed, reason=f"At most {MAX_JSON_TEXT} characters."
        )
    too_deep = FivetranValidationError(
        name, value, allowed, reason=f"Nested more than {MAX_JSON_DEPTH} levels deep.", show_value=show_value
    )
    try:
        return json.loads(text)
    except RecursionError:
        raise too_deep from None
    except ValueError:
        pass
    depth = 0
    for char in text:  # an upper bound of the nesting, before Python's literal parser recurses into it
        if char in "[{(":
            depth += 1
            if depth > MAX_JSON_DEPTH + 1:
                raise too_deep
        elif char in "]})":
            depth -= 1
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _check_json(name: str, value: Any, depth: int, show_value: bool) -> Any:
    """Check one value inside an object field; return it with tuples turned into lists."""
    allowed = (
        "JSON values only: objects with string keys, lists, strings, finite numbers, booleans and null, "
        f"nested at most {MAX_JSON_DEPTH} levels"
    )
    if depth > MAX_JSON_DEPTH:
        raise FivetranValidationError(name, "<deeply nested value>", allowed, show_value=True)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if not JSON_INT_MIN <= value <= JSON_INT_MAX:
            raise FivetranValidationError(name, "<an integer out of the 64-bit range>", allowed, show_value=True)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FivetranValidationError(name, value, allowed, reason="NaN and infinity are not JSON.")
        return value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FivetranValidationError(name, f"<a key of type {type(key).__name__}>", allowed, show_value=True)
            result[key] = _check_json(f"{name}.{key}", item, depth + 1, show_value)
        return result
    if isinstance(value, (list, tuple)):
        return [_check_json(f"{name}[{index}]", item, depth + 1, show_value) for index, item in enumerate(value)]
    raise FivetranValidationError(name, f"<a value of type {type(value).__name__}>", allowed, show_value=True)


def check_json_object(name: str, value: Mapping[str, Any], *, show_value: bool = True) -> dict[str, Any]:
    """Check that an object field holds JSON only (string keys, finite numbers, bounded nesting).

    :param name: the field name for the error message.
    :param value: the object.
    :param show_value: whether values may appear in an error message.
    :return: a plain copy (tuples become lists).
    :raises FivetranValidationError: naming the field (and key) that is not JSON.
    """
    checked = _check_json(name, value, 0, show_value)
    assert isinstance(checked, dict)
    return checked


def strings_in(value: Any) -> list[str]:
    """Every string inside a value (dict values and keys' values, list items), at any depth.

    :param value: a ``config``-like value.
    """
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return found


def coerce_int(name: str, value: Any, *, show_value: bool = True) -> int:
    """Turn an integer or its decimal text (``"60"``) into an int; booleans and ``"6O"`` are errors.

    :param name: the field name for the error message.
    :param value: the raw value.
    :param show_value: whether the value may appear in an error message.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value.strip()) <= MAX_INT_TEXT and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, str) and len(value) > 100:
        value = f"<text of {len(value)} characters>"
    raise FivetranValidationError(name, value, "an integer", show_value=show_value)


SECONDS_ALLOWED = "a finite positive number of seconds or a timedelta"
"""What an operator's duration argument (``poll_interval``, ``timeout``) may be."""

MAX_DURATION = timedelta(days=366)
"""The longest duration any argument may have: a wait or interval beyond a year is a mistake, and
every such value still fits a ``timedelta`` and a deadline ``datetime``."""

MIN_POLL_INTERVAL = 1.0
"""The shortest interval between two reads of a connection (a poll or poke interval), in seconds."""

POLL_ALLOWED = f"a number of seconds (or a timedelta) from {MIN_POLL_INTERVAL:g} to {MAX_DURATION.days} days"
TIMEOUT_ALLOWED = f"a number of seconds above 0 (or a timedelta) up to {MAX_DURATION.days} days, or None for no limit"


def coerce_seconds(
    name: str,
    value: Any,
    *,
    text: bool = True,
    allowed: str = SECONDS_ALLOWED,
    minimum: float = 0.0,
    maximum: float = MAX_DURATION.total_seconds(),
) -> float:
    """Turn a duration (seconds, numeric text or timedelta) into a finite number of seconds within bounds.

    :param name: the argument name for the error message.
    :param value: the raw value.
    :param text: accept numeric text (``"60"``); off where Airflow itself takes the value as given.
    :param allowed: what the error message says is allowed.
    :param minimum: the value must be above 0 and at least this.
    :param maximum: the value may be at most this (default: :data:`MAX_DURATION`).
    """
    if isinstance(value, timedelta):
        number = value.total_seconds()
    elif isinstance(value, bool) or (not text and not isinstance(value, (int, float))):
        raise FivetranValidationError(name, value, allowed)
    else:
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            shown = value if not isinstance(value, str) or len(value) <= 100 else f"<text of {len(value)} characters>"
            raise FivetranValidationError(name, shown, allowed) from None
    if not (math.isfinite(number) and number > 0 and minimum <= number <= maximum):
        raise FivetranValidationError(name, value, allowed)
    return number


def seconds_or_none(name: str, value: Any) -> float | None:
    """:func:`coerce_seconds` where ``None`` (no limit) is allowed and stays ``None``.

    :param name: the argument name for the error message.
    :param value: the raw value, or ``None``.
    """
    return None if value is None else coerce_seconds(name, value)


def poll_seconds(name: str, value: Any, *, text: bool = True) -> float:
    """A poll or poke interval: at least :data:`MIN_POLL_INTERVAL` seconds, at most :data:`MAX_DURATION`.

    ``None`` is refused: a wait needs an interval.

    :param name: the argument name for the error message.
    :param value: seconds, numeric text or a timedelta.
    :param text: accept numeric text (off where Airflow itself takes the value as given).
    """
    return coerce_seconds(name, value, text=text, allowed=POLL_ALLOWED, minimum=MIN_POLL_INTERVAL)


def timeout_seconds(name: str, value: Any, *, text: bool = True) -> float | None:
    """A timeout: above 0 and at most :data:`MAX_DURATION`; ``None`` (no limit) stays ``None``.

    :param name: the argument name for the error message.
    :param value: seconds, numeric text, a timedelta or ``None``.
    :param text: accept numeric text (off where Airflow itself takes the value as given).
    """
    return None if value is None else coerce_seconds(name, value, text=text, allowed=TIMEOUT_ALLOWED)


def coerce_hour(name: str, value: Any) -> str:
    """Normalise a whole-hour time (``"3:00"``, ``"03:00:00"``) to ``"HH:00"``.

    :param name: the field name for the error message.
    :param value: the raw value.
    """
    if isinstance(value, str) and _HOUR_TEXT.fullmatch(value.strip()):
        return f"{int(value.strip().split(':', 1)[0]):02d}:00"
    raise FivetranValidationError(name, value, "a whole hour 'HH:00' from '00:00' to '23:00'")


def _coerce_enum(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, str):
        wanted = value.strip().lower()
        for choice in spec.choices:
            if choice.lower() == wanted:
                return str(choice)
    raise _fail(spec, value)


def _coerce_str(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, str) and value.strip() and not _CONTROL_CHARS.search(value):
        return value.strip()
    raise _fail(spec, value)


def coerce_field(name: str, value: Any) -> Any:
    """Coerce and check one PATCH field on its own (cross-field rules are not applied).

    :param name: a name from :data:`FIELDS`.
    :param value: the raw value, possibly a rendered template string.
    :return: the value as Fivetran expects it.
    """
    spec = field_spec(name)
    show = not spec.sensitive
    if spec.kind == "bool":
        return coerce_bool(name, value, show_value=show)
    if spec.kind == "int":
        number = coerce_int(name, value, show_value=show)
        if spec.choices and number not in spec.choices:
            raise _fail(spec, value)
        if spec.minimum is not None and number < spec.minimum:
            raise _fail(spec, value)
        if spec.maximum is not None and number > spec.maximum:
            raise _fail(spec, value)
        return number
    if spec.kind == "enum":
        return _coerce_enum(spec, value)
    if spec.kind == "hour":
        return coerce_hour(name, value)
    if spec.kind == "object":
        obj = coerce_object(name, value, show_value=show)
        if name == "schedule":
            return _check_schedule(obj)
        if name == "destination_configuration":
            return _check_destination_configuration(obj)
        return obj
    return _coerce_str(spec, value)


def field_spec(name: str) -> FieldSpec:
    """Look up a field, suggesting the closest valid name for a typo.

    :param name: the field name.
    """
    try:
        return FIELDS[name]
    except KeyError:
        import difflib  # only for the error message

        close = difflib.get_close_matches(str(name), PATCH_FIELDS, n=1, cutoff=0.6)
        hint = f"Did you mean '{close[0]}'?" if close else None
        raise FivetranValidationError(
            str(name), "<unknown field>", "one of " + ", ".join(PATCH_FIELDS), reason=hint, show_value=False
        ) from None


DESTINATION_CONFIGURATION_KEYS: tuple[str, ...] = ("virtual_warehouse",)
"""The keys of ``destination_configuration`` in the API definition (each a string)."""


def _check_destination_configuration(value: dict[str, Any]) -> dict[str, Any]:
    """Check ``destination_configuration``: only the definition's keys, each a non-empty string."""
    for key, item in value.items():
        if key not in DESTINATION_CONFIGURATION_KEYS:
            raise FivetranValidationError(
                f"destination_configuration.{key}",
                "<unknown key>",
                "keys " + ", ".join(DESTINATION_CONFIGURATION_KEYS),
                show_value=False,
            )
        if item is not None and not (isinstance(item, str) and item.strip()):
            raise FivetranValidationError(f"destination_configuration.{key}", item, "a non-empty string")
    return value


def _check_schedule(schedule: dict[str, Any]) -> dict[str, Any]:
    """Check the alpha ``schedule`` object: a type and the keys that type needs."""
    allowed_keys = {"schedule_type", "interval", "time_of_day", "days_of_week", "cron"}
    for key in schedule:
        if key not in allowed_keys:
            import difflib  # only for the error message

            close = difflib.get_close_matches(key, sorted(allowed_keys), n=1)
            raise FivetranValidationError(
                f"schedule.{key}",
                "<unknown key>",
                "keys " + ", ".join(sorted(allowed_keys)),
                reason=f"Did you mean '{close[0]}'?" if close else None,
                show_value=False,
            )
    kinds = ("INTERVAL", "TIME_OF_DAY", "CRON", "MANUAL")
    kind = schedule.get("schedule_type")
    if not isinstance(kind, str) or kind.strip().upper() not in kinds:
        raise FivetranValidationError("schedule.schedule_type", kind, "one of " + ", ".join(kinds))
    result: dict[str, Any] = {"schedule_type": kind.strip().upper()}
    required = {"INTERVAL": "interval", "TIME_OF_DAY": "time_of_day", "CRON": "cron"}.get(result["schedule_type"])
    if required and required not in schedule:
        raise FivetranValidationError(
            f"schedule.{required}", None, f"a value when schedule_type is {result['schedule_type']}"
        )
    if "interval" in schedule:
        interval = coerce_int("schedule.interval", schedule["interval"])
        if not 1 <= interval <= 1440:
            raise FivetranValidationError("schedule.interval", interval, "minutes from 1 to 1440")
        result["interval"] = interval
    if "time_of_day" in schedule:
        result["time_of_day"] = coerce_hour("schedule.time_of_day", schedule["time_of_day"])
    if "days_of_week" in schedule:
        days = schedule["days_of_week"]
        allowed_days = "a non-empty list of distinct names from " + ", ".join(WEEKDAYS)
        if isinstance(days, str) or not isinstance(days, Iterable):
            raise FivetranValidationError("schedule.days_of_week", days, allowed_days)
        normalised = [str(day).strip().upper() for day in days]
        if not normalised or len(set(normalised)) != len(normalised) or set(normalised) - set(WEEKDAYS):
            raise FivetranValidationError("schedule.days_of_week", days, allowed_days)
        result["days_of_week"] = normalised
    if "cron" in schedule:
        cron = schedule["cron"]
        if not isinstance(cron, str) or len(cron.split()) != 5:
            raise FivetranValidationError("schedule.cron", cron, "a five-field cron expression such as '0 9 * * 1-5'")
        result["cron"] = cron.strip()
    return result


# --------------------------------------------------------------------------------------------
# Whole-body validation
# --------------------------------------------------------------------------------------------


def validate_update(fields: Mapping[str, Any], *, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate and coerce a whole PATCH body; raise before anything is sent.

    Fields whose value is ``None`` count as not given. Cross-field rules:

    * at least one field other than ``run_setup_tests``/``trust_*`` (Fivetran answers
      "No update parameters specified" otherwise);
    * ``trust_certificates``/``trust_fingerprints`` only with ``run_setup_tests=true``;
    * ``daily_sync_time`` only with ``sync_frequency`` 1440, in the same body or (when
      ``current`` is given) already set on the connection;
    * ``data_delay_threshold`` only with ``data_delay_sensitivity`` ``CUSTOM``, likewise;
    * top-level ``schedule_type='manual'`` never together with ``schedule``;
    * when ``current`` is given: ``networking_method`` ``ProxyAgent``/``PrivateLink`` only with a
      ``proxy_agent_id``/``private_link_id`` in the body or already on the connection.

    :param fields: field name to raw value.
    :param current: the connection as last read from Fivetran, if known, for the rules above.
    :return: the body to send, with values of the right JSON types.
    """
    body: dict[str, Any] = {}
    for name, value in fields.items():
        spec = field_spec(name)
        if value is None:
            continue
        body[spec.name] = coerce_field(spec.name, value)

    if not any(FIELDS[name].persistent for name in body):
        given = ", ".join(sorted(body)) or "nothing"
        raise FivetranValidationError(
            "fields",
            given,
            "at least one field that changes the connection: "
            + ", ".join(spec.name for spec in FIELD_SPECS if spec.persistent),
            reason="run_setup_tests, trust_certificates and trust_fingerprints cannot be sent on their own.",
            show_value=True,
        )
    for name in list(body):
        spec = FIELDS[name]
        if spec.needs is None:
            continue
        other, required = spec.needs
        actual = body.get(other)
        if actual is None and current is not None:
            actual = read_current(current, other)
        if actual != required:
            where = "in the same update" if current is None else "in the same update or on the connection"
            raise FivetranValidationError(
                name,
                body[name],
                f"only together with {other}={json.dumps(required)} {where}",
                reason=f"{other} is {json.dumps(actual)}.",
                show_value=not spec.sensitive,
            )
    companion = NETWORKING_COMPANIONS.get(body.get("networking_method", ""))
    if companion and body.get(companion) is None and current is not None and not read_current(current, companion):
        raise FivetranValidationError(
            "networking_method",
            body["networking_method"],
            f"only with {companion} set, in the same update or already on the connection",
        )
    if body.get("schedule_type") == "manual" and "schedule" in body:
        raise FivetranValidationError(
            "schedule_type",
            "manual",
            "'auto' when a flexible 'schedule' object is sent",
            reason="Use schedule={'schedule_type': 'MANUAL'} instead.",
        )
    return body


def validate_connection_id(value: Any, name: str = "connection_id") -> str:
    """Check a connection id: a non-empty string that cannot escape its place in the URL path.

    :param value: the id to check.
    :param name: the argument name for the error message.
    """
    allowed = "a non-empty id without '/', '\\', '..', '?', '#', '%', whitespace or control characters"
    if not isinstance(value, str) or not value:
        raise FivetranValidationError(name, value, allowed)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise FivetranValidationError(
                name, value, allowed, reason="It holds a lone surrogate, which is not text that can be sent."
            ) from None
    if (
        any(char in value for char in "/\\?#%")
        or ".." in value
        or value in (".",)
        or any(char.isspace() for char in value)
        or _CONTROL_CHARS.search(value)
    ):
        raise FivetranValidationError(name, value, allowed)
    return value


def validate_resync_scope(scope: Any) -> dict[str, list[str]] | None:
    """Check a resync scope: ``None`` (everything) or a non-empty map of schema to non-empty table lists.

    :param scope: the scope, possibly as JSON text.
    """
    if scope is None:
        return None
    allowed = "a non-empty map of schema name to a non-empty list of table names"
    try:
        obj = coerce_object("scope", scope)
    except FivetranValidationError:
        raise FivetranValidationError("scope", scope, allowed) from None
    if not obj:
        raise FivetranValidationError("scope", scope, allowed)
    result: dict[str, list[str]] = {}
    for schema, tables in obj.items():
        if not isinstance(schema, str) or not schema.strip():
            raise FivetranValidationError("scope", scope, allowed)
        if isinstance(tables, str) or not isinstance(tables, Iterable):
            raise FivetranValidationError(f"scope.{schema}", tables, allowed)
        names = list(tables)
        if not names or not all(isinstance(table, str) and table.strip() for table in names):
            raise FivetranValidationError(f"scope.{schema}", tables, allowed)
        result[schema] = names
    return result


# --------------------------------------------------------------------------------------------
# Reading a connection back, and comparing it with a body
# --------------------------------------------------------------------------------------------


def read_current(connection: Mapping[str, Any], name: str) -> Any:
    """Read the current value of a field from a connection object (``None`` if absent or unreadable).

    :param connection: a connection object as returned by Fivetran.
    :param name: a field name.
    """
    node: Any = connection
    path = FIELDS[name].read_path
    if not path:
        return None
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, bool) or isinstance(after, bool):
        return before is after
    return bool(before == after)


def _object_diff(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """Keys of ``desired`` that differ from ``current``; masked secrets always differ."""
    differing: dict[str, Any] = {}
    for key, value in desired.items():
        if key not in current:
            if value is not None:  # clearing a key that is not there changes nothing
                differing[key] = value
        elif current[key] == MASKED_VALUE or not _same(current[key], value):
            differing[key] = value
    return differing


def diff_update(connection: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Which fields of a validated body would change the connection, as ``{field: (before, after)}``.

    ``config`` and other objects are compared key by key and only the differing keys are kept;
    a secret read back as ``"******"`` always counts as different (its value cannot be seen).
    Write-only fields (``auth``) always count as different, with ``before`` ``None``.
    ``is_historical_sync: true`` counts as a change unless a historical sync is already pending;
    ``false`` never does (Fivetran ignores it). Test-control fields are never part of a diff.

    :param connection: the connection as last read.
    :param body: a body returned by :func:`validate_update`.
    """
    changes: dict[str, tuple[Any, Any]] = {}
    for name, after in body.items():
        spec = FIELDS[name]
        if spec.role == TEST_CONTROL:
            continue
        if spec.role == WRITE_ONLY:
            changes[name] = (None, after)
            continue
        before = read_current(connection, name)
        if spec.role == ACTION:
            if after is True and before is not True:
                changes[name] = (bool(before), True)
            continue
        if spec.kind == "object" and name != "schedule":
            current_obj = before if isinstance(before, Mapping) else {}
            differing = _object_diff(current_obj, after)
            if differing:
                changes[name] = ({key: current_obj.get(key) for key in differing}, differing)
            continue
        if name == "schedule" and isinstance(before, Mapping) and all(before.get(k) == v for k, v in after.items()):
            continue
        if not _same(before, after):
            changes[name] = (before, after)
    return changes


def body_for_changes(changes: Mapping[str, tuple[Any, Any]], body: Mapping[str, Any]) -> dict[str, Any]:
    """Build the minimal PATCH body from a diff, keeping the test-control flags of the full body.

    :param changes: the result of :func:`diff_update`.
    :param body: the full validated body.
    """
    minimal = {name: after for name, (_before, after) in changes.items()}
    if minimal:
        for name, value in body.items():
            if FIELDS[name].role == TEST_CONTROL:
                minimal[name] = value
    return minimal


def unverifiable_fields(body: Mapping[str, Any]) -> list[str]:
    """Fields of a body whose effect cannot be seen on a later GET (write-only or masked secrets).

    :param body: a validated body.
    """
    names = [name for name in body if FIELDS[name].role == WRITE_ONLY]
    config = body.get("config")
    if isinstance(config, Mapping) and any(is_secret_key(key) for key in config):
        names.append("config")
    return names


def mask_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Copy a ``config``-like object with every value replaced by ``"******"`` (keys and nulls kept).

    Used where the value a DAG passed would otherwise be shown (rendered fields, dry-run plans):
    whether a value is a secret cannot be told from its key, so none is shown.

    :param config: a connector config (or ``auth``, ``external_secrets_keys_config``).
    """
    return {str(key): (None if value is None else MASKED_VALUE) for key, value in config.items()}


def field_table_markdown() -> str:
    """Render the catalogue as a Markdown table (used in the README)."""
    lines = ["| field | allowed values | notes |", "|---|---|---|"]
    for spec in FIELD_SPECS:
        notes = spec.description
        if spec.role == TEST_CONTROL:
            notes += " Not stored; cannot be sent alone."
        if spec.sensitive:
            notes += " Masked in logs and XCom."
        lines.append(f"| `{spec.name}` | {spec.allowed} | {notes} |")
    return "\n".join(lines)

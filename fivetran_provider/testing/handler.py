"""Request handling of the Fivetran API simulator.

:class:`ApiHandler` turns an :class:`IncomingRequest` into a :class:`Response` and knows nothing about
sockets: it applies faults, checks authentication and headers, routes ``/v1/...`` paths, validates
request bodies with Fivetran's error codes, paginates lists and maintains the rate-limit headers.
The account itself lives in :class:`~fivetran_provider.testing.state.SimulatorState`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from fivetran_provider.testing.faults import AFTER_APPLY_KINDS, EARLY_KINDS, Fault, FaultInjector, shape_answer
from fivetran_provider.testing.state import ApiError, SimulatorState

JSON_CONTENT_TYPE = "application/json"

# ---------------------------------------------------------------------------- request recording


@dataclass
class RecordedRequest:
    """One request the simulator received.

    :param method: HTTP method.
    :param path: path without the query string.
    :param query: query parameters (the first value of each name).
    :param headers: request headers as sent, ``Authorization`` replaced by ``"<redacted>"``.
    :param body: parsed JSON body, or ``None`` when absent or not JSON.
    :param raw_body: body bytes as received.
    :param status: HTTP status answered; ``0`` while in flight or when the connection was dropped.
    :param at: ``time.time()`` when the request was received.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    status: int
    at: float


#: Most requests the log keeps (the oldest are forgotten first).
MAX_RECORDS = 100_000
#: Most body bytes the log keeps in total; older records lose their bodies first.
MAX_RECORDED_BODY_BYTES = 64 * 1024 * 1024


class RequestRecorder:
    """Thread-safe log of :class:`RecordedRequest` in order of arrival, bounded in size.

    :param max_records: most records kept; the oldest are dropped beyond it.
    :param max_body_bytes: most raw body bytes kept over all records; beyond it the oldest
        records' bodies are dropped (their other fields stay).
    """

    def __init__(self, max_records: int = MAX_RECORDS, max_body_bytes: int = MAX_RECORDED_BODY_BYTES) -> None:
        self._lock = threading.Lock()
        self._records: deque[RecordedRequest] = deque(maxlen=max_records)
        self._with_bodies: deque[RecordedRequest] = deque()  # records still holding a body, oldest first
        self.max_body_bytes = max_body_bytes
        self._body_bytes = 0

    def add(self, record: RecordedRequest) -> None:
        """Append a record.

        :param record: the request received.
        """
        with self._lock:
            if len(record.raw_body) > self.max_body_bytes:
                record.raw_body, record.body = b"", None
            if self._records.maxlen is not None and len(self._records) == self._records.maxlen:
                self._drop_body(self._records[0])
            self._records.append(record)
            if record.raw_body:
                self._with_bodies.append(record)
                self._body_bytes += len(record.raw_body)
            while self._body_bytes > self.max_body_bytes and self._with_bodies:
                self._drop_body(self._with_bodies.popleft())

    def _drop_body(self, record: RecordedRequest) -> None:
        self._body_bytes -= len(record.raw_body)
        record.raw_body, record.body = b"", None

    def set_status(self, record: RecordedRequest, status: int) -> None:
        """Fill in the status answered for a record.

        :param record: a record previously added.
        :param status: HTTP status (``0`` for a dropped connection).
        """
        with self._lock:
            record.status = status

    def snapshot(self) -> list[RecordedRequest]:
        """Copies of all records, oldest first."""
        with self._lock:
            return [
                dataclasses.replace(r, query=dict(r.query), headers=dict(r.headers), body=copy.deepcopy(r.body))
                for r in self._records
            ]

    def clear(self) -> None:
        """Forget all records."""
        with self._lock:
            self._records.clear()
            self._with_bodies.clear()
            self._body_bytes = 0


# ---------------------------------------------------------------------------- rate-limit budget


class RateLimiter:
    """Rolling one-hour request budget reported in ``X-Rate-Limit``/``X-Rate-Limit-Remaining``.

    :param limit_per_hour: the budget (Fivetran's paid plans allow 20,000 requests per hour).
    :param enforce: answer 429 once the budget is spent (off by default so benchmarks are not throttled).
    """

    def __init__(self, limit_per_hour: int = 20000, enforce: bool = False) -> None:
        self.limit_per_hour = limit_per_hour
        self.enforce = enforce
        self._lock = threading.Lock()
        self._hits: deque[float] = deque()

    def hit(self, now: float) -> tuple[int, int, int | None]:
        """Count one request.

        :param now: current epoch time.
        :return: ``(limit, remaining, retry_after)``; ``retry_after`` is set when the request must
            be refused with 429.
        """
        with self._lock:
            horizon = now - 3600.0
            while self._hits and self._hits[0] <= horizon:
                self._hits.popleft()
            limit = self.limit_per_hour
            if self.enforce and len(self._hits) >= limit:
                wait = int(self._hits[0] - horizon) + 1 if self._hits else 1
                return limit, 0, max(1, wait)
            self._hits.append(now)
            return limit, max(0, limit - len(self._hits)), None

    def reset(self) -> None:
        """Give back the whole budget."""
        with self._lock:
            self._hits.clear()


# ---------------------------------------------------------------------------- request / response


@dataclass
class IncomingRequest:
    """A request as read from the socket.

    :param method: HTTP method.
    :param target: request target (path and query).
    :param headers: header name/value pairs as sent.
    :param body: raw body bytes (empty when none).
    """

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """Look a header up case-insensitively.

        :param name: header name.
        """
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Response:
    """What to send back.

    :param status: HTTP status.
    :param body: body bytes.
    :param headers: response headers (``Content-Length`` is added by the server).
    :param drop: close the connection without answering.
    :param drip: when above 0, send the body one byte every ``drip`` seconds.
    :param drip_head: drip the status line and headers too.
    :param cut_short: announce the whole body's length but send only half of it, then hang up.
    """

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    drip: float = 0.0
    drip_head: bool = False
    cut_short: bool = False


def json_response(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """Build a JSON response.

    :param status: HTTP status.
    :param payload: body object.
    :param headers: extra headers.
    """
    all_headers = {"Content-Type": JSON_CONTENT_TYPE}
    if headers:
        all_headers.update(headers)
    return Response(status, json.dumps(payload).encode("utf-8"), all_headers)


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    """Build Fivetran's error body ``{"code", "message"}`` (no ``data``).

    :param error: the error.
    :param headers: extra headers.
    """
    return json_response(error.status, {"code": error.code, "message": error.message}, headers)


def success(message: str | None, data: Any = None, *, status: int = 200) -> Response:
    """Build Fivetran's success envelope.

    :param message: ``message`` (left out when ``None``).
    :param data: ``data`` (left out when ``None``).
    :param status: HTTP status.
    """
    payload: dict[str, Any] = {"code": "Success"}
    if message is not None:
        payload["message"] = message
    if data is not None:
        payload["data"] = data
    return json_response(status, payload)


def invalid(message: str) -> ApiError:
    """A 400 ``InvalidInput`` error.

    :param message: what is wrong.
    """
    return ApiError(400, "InvalidInput", message)


def _malformed_success(shape: str, data: Any) -> Response:
    """A 200 answer of the given broken shape (see ``faults.MALFORMED_BODIES``).

    :param shape: ``html``, ``truncated``, ``bad_gzip``, ``no_data`` or ``data_list``.
    :param data: the ``data`` the answer should have carried (``None`` for sync answers).
    """
    if shape == "html":
        page = b"<html><body><h1>200 OK</h1><p>Request forwarded.</p></body></html>\n"
        return Response(200, page, {"Content-Type": "text/html; charset=utf-8"})
    if shape == "bad_gzip":
        return Response(
            200, b"\x1f\x8b\x08\x00not really gzip", {"Content-Type": JSON_CONTENT_TYPE, "Content-Encoding": "gzip"}
        )
    if shape == "no_data":
        return json_response(200, {"code": "Success", "message": "Connection has been updated"})
    if shape == "data_list":
        return json_response(200, {"code": "Success", "data": [data]})
    whole = json.dumps({"code": "Success", "data": data}).encode("utf-8")
    return Response(200, whole[: max(1, len(whole) // 2)], {"Content-Type": JSON_CONTENT_TYPE})


# ---------------------------------------------------------------------------- body validation

_SYNC_FREQUENCIES: tuple[int, ...] = (1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)
_HOUR_RE = re.compile(r"^([01]\d|2[0-3]):00$")
_DIGITS_RE = re.compile(r"[0-9]{1,9}")
_WEEK_DAYS: tuple[str, ...] = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(f"The {what} request body must be a JSON object")
    return body


def _check_bool(body: dict[str, Any], name: str) -> None:
    """Check (and coerce in place) a boolean field: ``"true"``/``"false"`` are accepted like the live API."""
    if name not in body:
        return
    value = body[name]
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        body[name] = value.strip().lower() == "true"
    elif not isinstance(value, bool):
        raise invalid(f"Field '{name}' must be a boolean")


def _coerce_int(value: Any) -> Any:
    """A string of decimal digits becomes its integer (the live API coerced ``"720"``); anything else is kept."""
    if isinstance(value, str) and _DIGITS_RE.fullmatch(value.strip()):
        return int(value.strip())
    return value


def _validate_schedule(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("Field 'schedule' must be an object")
    allowed = {"schedule_type", "interval", "time_of_day", "days_of_week", "cron"}
    for key in value:
        if key not in allowed:
            raise invalid(f"Unknown field 'schedule.{key}'")
    schedule = dict(value)
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
        schedule["interval"] = _coerce_int(schedule["interval"])
    if "interval" in schedule and (not _is_int(schedule["interval"]) or schedule["interval"] not in _SYNC_FREQUENCIES):
        raise invalid(f"Invalid value for field 'schedule.interval': {schedule['interval']!r}")
    if "time_of_day" in schedule and (
        not isinstance(schedule["time_of_day"], str) or not _HOUR_RE.match(schedule["time_of_day"])
    ):
        raise invalid(f"Invalid value for field 'schedule.time_of_day': {schedule['time_of_day']!r}; expected HH:00")
    if "days_of_week" in schedule:
        days = schedule["days_of_week"]
        if not isinstance(days, list) or any(day not in _WEEK_DAYS for day in days) or len(set(days)) != len(days):
            raise invalid("Field 'schedule.days_of_week' must be a list of distinct week days (MONDAY..SUNDAY)")
    if "cron" in schedule and (not isinstance(schedule["cron"], str) or len(schedule["cron"].split()) != 5):
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
    body = dict(_require_object(body, "update"))
    for key in body:
        if key not in _PATCH_PERSISTENT and key not in _TEST_CONTROL_FIELDS:
            raise invalid(f"Unknown field '{key}'")
    for name in ("sync_frequency", "data_delay_threshold"):
        if name in body:
            body[name] = _coerce_int(body[name])
    for name in (*_PATCH_BOOLEANS, *_TEST_CONTROL_FIELDS):
        _check_bool(body, name)
    for name, allowed in _PATCH_ENUMS.items():
        if name in body and body[name] not in allowed:
            raise invalid(f"Invalid value for field '{name}': {body[name]!r}. Allowed values: {', '.join(allowed)}")
    if "sync_frequency" in body:
        value = body["sync_frequency"]
        if not _is_int(value) or value not in _SYNC_FREQUENCIES:
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
        if not _is_int(value) or value < 0:
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
        for key, value in destination.items():
            if key != "virtual_warehouse":
                raise invalid(f"Unknown field 'destination_configuration.{key}'")
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
    body = dict(_require_object(body, "sync"))
    for key in body:
        if key != "force":
            raise invalid(f"Unknown field '{key}'")
    _check_bool(body, "force")
    return bool(body.get("force", False))


def validate_resync(body: Any) -> dict[str, list[str]] | None:
    """Check a ``POST /resync`` body.

    :param body: parsed body or ``None``.
    :return: the scope (schema name to tables), or ``None`` for a full re-sync.
    """
    if body is None:
        return None
    body = _require_object(body, "resync")
    for key in body:
        if key != "scope":
            raise invalid(f"Unknown field '{key}'")
    scope = body.get("scope")
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
    body = dict(_require_object(body, "test"))
    for key in body:
        if key not in ("trust_certificates", "trust_fingerprints"):
            raise invalid(f"Unknown field '{key}'")
        _check_bool(body, key)


# ---------------------------------------------------------------------------- pagination

_DEFAULT_LIMIT = 100
_MAX_LIMIT = 1000


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    raw_limit = query.get("limit")
    limit = _DEFAULT_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise invalid(f"Invalid value for parameter 'limit': {raw_limit!r}") from None
        if not 1 <= limit <= _MAX_LIMIT:
            raise invalid(f"Invalid value for parameter 'limit': {limit}. Allowed range is 1..{_MAX_LIMIT}")
    skip = 0
    cursor = query.get("cursor")
    if cursor:
        skip = _decode_cursor(cursor)
    page: dict[str, Any] = {"items": items[skip : skip + limit]}
    if skip + limit < len(items):
        page["next_cursor"] = _encode_cursor(skip + limit)
    return page


def _encode_cursor(skip: int) -> str:
    raw = json.dumps({"skip": skip}, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        skip = decoded["skip"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise invalid(f"Invalid value for parameter 'cursor': {cursor!r}") from None
    if not _is_int(skip) or skip < 0:
        raise invalid(f"Invalid value for parameter 'cursor': {cursor!r}")
    return int(skip)


# ---------------------------------------------------------------------------- routing

Route = Callable[["_Context"], Response]


@dataclass
class _Context:
    request: IncomingRequest
    path: str
    query: dict[str, str]
    params: list[str]
    body: Any
    body_present: bool


#: Deepest JSON nesting a request body may have (Fivetran's bodies need a handful of levels).
MAX_JSON_DEPTH = 64


def _nesting_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (iterative, never recurses)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _acceptable(accept: str | None) -> bool:
    if accept is None or not accept.strip():
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in (JSON_CONTENT_TYPE, "*/*", "application/*"):
            return True
    return False


def _is_json_content_type(value: str | None) -> bool:
    if value is None:
        return False
    media = value.split(";", 1)[0].strip().lower()
    return media == JSON_CONTENT_TYPE or (media.startswith("application/") and media.endswith("+json"))


class ApiHandler:
    """Answers requests against a :class:`SimulatorState`.

    :param state: the simulated account.
    :param faults: queued faults.
    :param recorder: where requests are logged.
    :param limiter: rate-limit budget.
    :param api_key: expected Basic-auth user name.
    :param api_secret: expected Basic-auth password.
    """

    def __init__(
        self,
        state: SimulatorState,
        faults: FaultInjector,
        recorder: RequestRecorder,
        limiter: RateLimiter,
        api_key: str,
        api_secret: str,
    ) -> None:
        self.state = state
        self.faults = faults
        self.recorder = recorder
        self.limiter = limiter
        self.api_key = api_key
        self.api_secret = api_secret
        # (pattern segments, {method: handler}); "*" matches one path segment.
        self._routes: list[tuple[tuple[str, ...], dict[str, Route]]] = [
            (("account", "info"), {"GET": self._account_info}),
            (("groups",), {"GET": self._list_groups}),
            (("groups", "*"), {"GET": self._get_group}),
            (("groups", "*", "connections"), {"GET": self._list_group_connections}),
            (("connections",), {"GET": self._list_connections}),
            (
                ("connections", "*"),
                {"GET": self._get_connection, "PATCH": self._patch_connection, "DELETE": self._delete_connection},
            ),
            (("connections", "*", "sync"), {"POST": self._sync}),
            (("connections", "*", "resync"), {"POST": self._resync}),
            (("connections", "*", "test"), {"POST": self._test}),
            (("connections", "*", "schemas"), {"GET": self._schema_config}),
            (("destinations", "*"), {"GET": self._get_destination}),
            (("users",), {"GET": self._list_users}),
        ]

    # ------------------------------------------------------------------ entry point

    def handle(self, request: IncomingRequest) -> Response:
        """Answer one request (may sleep for latency faults, never while holding the state lock).

        :param request: the request.
        :return: the response, or one with ``drop`` set to close the connection silently.
        """
        received = time.time()
        split = urlsplit(request.target)
        path = split.path or "/"
        query: dict[str, str] = {}
        for key, value in parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(key, value)
        body_present = len(request.body) > 0
        parsed: Any = None
        body_ok = True
        if body_present:
            try:
                parsed = json.loads(request.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                body_ok = False
            if body_ok and _nesting_depth(parsed) > MAX_JSON_DEPTH:
                parsed, body_ok = None, False
        headers = {key: ("<redacted>" if key.lower() == "authorization" else value) for key, value in request.headers}
        # Bodies of requests without valid credentials are not kept: nobody may fill the log for free.
        keep_body = self._authorised(request)
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(query),
            headers=headers,
            body=copy.deepcopy(parsed) if keep_body else None,
            raw_body=bytes(request.body) if keep_body else b"",
            status=0,
            at=received,
        )
        self.recorder.add(record)
        try:
            response = self._handle(request, path, query, parsed, body_present, body_ok)
        except Exception:
            response = json_response(500, {"code": "InternalServerError", "message": "Internal server error"})
        self.recorder.set_status(record, 0 if response.drop else response.status)
        return response

    def _handle(
        self, request: IncomingRequest, path: str, query: dict[str, str], parsed: Any, body_present: bool, body_ok: bool
    ) -> Response:
        method = request.method.upper()
        held = self.faults.take(("hold",), method, path)
        if held is not None:
            held.wait_until_released()
        delay = self.faults.take_latency(method, path)
        if delay > 0:
            time.sleep(delay)

        drip = self.faults.take(("slow_drip",), method, path)
        spoil = self.faults.take(("malformed",), method, path)
        fault = self.faults.take(EARLY_KINDS, method, path)
        if fault is not None and fault.kind == "drop_connection":
            return Response(0, drop=True)
        limit, remaining, retry_after = self.limiter.hit(time.time())
        rate_headers = {"X-Rate-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}
        if fault is not None:
            response = self._fault_response(fault)
        elif retry_after is not None:
            response = error_response(
                ApiError(429, "TooManyRequests", f"Max {limit} api calls allowed in one-hour rolling time period"),
                {"Retry-After": str(retry_after)},
            )
        else:
            try:
                response = self._route(request, method, path, query, parsed, body_present, body_ok)
            except ApiError as error:
                response = error_response(error)
            except Exception:
                response = error_response(ApiError(500, "InternalServerError", "Internal server error"))
        for key, value in rate_headers.items():
            response.headers.setdefault(key, value)
        if spoil is not None:
            try:
                data = json.loads(response.body.decode("utf-8")).get("data")
            except (ValueError, UnicodeDecodeError, AttributeError):
                data = None
            spoiled = _malformed_success(spoil.body, data)
            spoiled.headers.update({key: value for key, value in response.headers.items() if key.startswith("X-Rate")})
            response = spoiled
        if drip is not None:
            response.drip = max(drip.seconds, 0.001)
        shape_answer(self.faults, method, path, response)
        return response

    def _fault_response(self, fault: Fault) -> Response:
        if fault.kind == "redirect":
            return Response(fault.status, b"", {"Location": fault.location})
        if fault.kind == "rate_limit":
            return error_response(
                ApiError(429, fault.error_code, fault.error_message),
                {"Retry-After": str(fault.retry_after), "X-Rate-Limit-Remaining": "0"},
            )
        if fault.body == "html":
            title = f"{fault.status} {'Bad Gateway' if fault.status == 502 else 'Server Error'}"
            page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>\n"
            return Response(fault.status, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})
        return error_response(ApiError(fault.status, fault.error_code, fault.error_message))

    # ------------------------------------------------------------------ routing

    def _authorised(self, request: IncomingRequest) -> bool:
        value = request.header("Authorization")
        if not value:
            return False
        scheme, _, encoded = value.strip().partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        key, sep, secret = decoded.partition(":")
        if not sep:
            return False
        key_ok = secrets.compare_digest(key.encode("utf-8"), self.api_key.encode("utf-8"))
        secret_ok = secrets.compare_digest(secret.encode("utf-8"), self.api_secret.encode("utf-8"))
        return key_ok and secret_ok

    def _route(
        self,
        request: IncomingRequest,
        method: str,
        path: str,
        query: dict[str, str],
        parsed: Any,
        body_present: bool,
        body_ok: bool,
    ) -> Response:
        not_found = ApiError(404, "NotFound", "HTTP 404 Not Found")
        segments = path.split("/")
        if len(segments) < 2 or segments[1] != "v1":
            raise not_found
        if not self._authorised(request):
            raise ApiError(401, "AuthFailed", "Invalid authorization credentials")
        if not _acceptable(request.header("Accept")):
            raise ApiError(406, "NotAcceptable", f"Unsupported Accept header: {request.header('Accept')}")
        rest = segments[2:]
        if not rest or rest[0] == "connectors":
            raise not_found
        handlers: dict[str, Route] | None = None
        params: list[str] = []
        for pattern, candidates in self._routes:
            if len(pattern) != len(rest):
                continue
            captured: list[str] = []
            for expected, actual in zip(pattern, rest, strict=True):
                if expected == "*":
                    if not actual:
                        break
                    captured.append(unquote(actual))
                elif expected != actual:
                    break
            else:
                handlers, params = candidates, captured
                break
        if handlers is None:
            raise not_found
        route = handlers.get(method)
        if route is None:
            error = error_response(
                ApiError(405, "MethodNotAllowed", f"HTTP method {method} is not supported for {path}")
            )
            error.headers["Allow"] = ", ".join(sorted(handlers))
            return error
        if method in ("POST", "PATCH", "PUT") and body_present:
            if not _is_json_content_type(request.header("Content-Type")):
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"Unsupported Content-Type: {request.header('Content-Type') or '(none)'}; use application/json",
                )
            if not body_ok:
                raise invalid(f"The request body is not valid JSON (or nests deeper than {MAX_JSON_DEPTH} levels)")
        return route(_Context(request, path, query, params, parsed, body_present))

    # ------------------------------------------------------------------ endpoints

    def _account_info(self, ctx: _Context) -> Response:
        return success("Account information retrieved successfully", self.state.account_info())

    def _list_groups(self, ctx: _Context) -> Response:
        return success("Groups retrieved successfully", _page(self.state.list_groups(), ctx.query))

    def _get_group(self, ctx: _Context) -> Response:
        return success("Group details retrieved successfully", self.state.get_group(ctx.params[0]))

    def _list_group_connections(self, ctx: _Context) -> Response:
        group_id = ctx.params[0]
        self.state.get_group(group_id)
        items = self.state.list_connections(group_id=group_id, schema=ctx.query.get("schema"))
        return success("Connections list retrieved successfully", _page(items, ctx.query))

    def _list_connections(self, ctx: _Context) -> Response:
        items = self.state.list_connections(group_id=ctx.query.get("group_id"), schema=ctx.query.get("schema"))
        return success("Connections list retrieved successfully", _page(items, ctx.query))

    def _get_connection(self, ctx: _Context) -> Response:
        return success("Connection details retrieved successfully", self.state.connection_view(ctx.params[0]))

    def _patch_connection(self, ctx: _Context) -> Response:
        connection_id = ctx.params[0]
        self._require_connection(connection_id)
        changes, run_tests = validate_update(ctx.body)
        data = self.state.update_connection(connection_id, changes, run_setup_tests=run_tests)
        spoiled = self._after_apply("PATCH", ctx.path, data)
        return spoiled or success("Connection has been updated", data)

    def _after_apply(self, method: str, path: str, data: Any) -> Response | None:
        """The spoiled answer of a request that took effect, when an after-apply fault is queued."""
        fault = self.faults.take(AFTER_APPLY_KINDS, method, path)
        if fault is None:
            return None
        if fault.kind == "apply_then_drop":
            return Response(0, drop=True)
        if fault.kind == "apply_then_malformed":
            return _malformed_success(fault.body, data)
        if fault.seconds > 0:
            time.sleep(fault.seconds)
        return error_response(ApiError(fault.status, fault.error_code, fault.error_message))

    def _delete_connection(self, ctx: _Context) -> Response:
        self.state.delete_connection(ctx.params[0])
        return success(f"Connection with id '{ctx.params[0]}' has been deleted")

    def _require_connection(self, connection_id: str) -> None:
        if not self.state.has_connection(connection_id):
            raise ApiError(404, "NotFound_Connector", f"Connector with id '{connection_id}' does not exist.")

    def _sync(self, ctx: _Context) -> Response:
        connection_id = ctx.params[0]
        self._require_connection(connection_id)
        force = validate_sync(ctx.body)
        self.state.trigger_sync(connection_id, force=force)
        spoiled = self._after_apply("POST", ctx.path, None)
        return spoiled or success(f"Sync has been successfully triggered for connection with id '{connection_id}'")

    def _resync(self, ctx: _Context) -> Response:
        connection_id = ctx.params[0]
        self._require_connection(connection_id)
        scope = validate_resync(ctx.body)
        fault = self.faults.take(("resync_conflict",), "POST", ctx.path)
        if fault is not None:
            raise ApiError(409, fault.error_code, fault.error_message)
        self.state.resync(connection_id, scope)
        spoiled = self._after_apply("POST", ctx.path, None)
        return spoiled or success(f"Sync has been successfully triggered for connection with id '{connection_id}'")

    def _test(self, ctx: _Context) -> Response:
        connection_id = ctx.params[0]
        self._require_connection(connection_id)
        validate_test(ctx.body, ctx.body_present)
        return success("Setup tests have been completed", self.state.run_setup_tests(connection_id))

    def _schema_config(self, ctx: _Context) -> Response:
        return success("Schema configuration retrieved successfully", self.state.schema_config(ctx.params[0]))

    def _get_destination(self, ctx: _Context) -> Response:
        return success("Destination details retrieved successfully", self.state.get_destination(ctx.params[0]))

    def _list_users(self, ctx: _Context) -> Response:
        return success("Users list retrieved successfully", _page(self.state.list_users(), ctx.query))

"""Request handling of the Fivetran API simulator.

:class:`ApiHandler` turns an :class:`IncomingRequest` into a :class:`Response` and knows nothing about
sockets: it applies faults, checks authentication and headers, routes ``/v1/...`` paths to the route
set of each resource (``routes_*`` modules), counts requests against the rate-limit budget and records
them. The account itself lives in :class:`~fivetran_provider.testing.state.SimulatorState`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.faults import EARLY_KINDS, Fault, FaultInjector, shape_answer
from fivetran_provider.testing.http_messages import (
    IncomingRequest,
    Response,
    accepts_json,
    error_response,
    invalid,
    is_json_content_type,
    json_response,
    malformed_success,
)
from fivetran_provider.testing.ratelimit import RateLimiter
from fivetran_provider.testing.recorder import MAX_RECORDED_BODY, MAX_RECORDS, RecordedRequest, RequestRecorder
from fivetran_provider.testing.routes_accounts import AccountRoutes
from fivetran_provider.testing.routes_connections import ConnectionRoutes
from fivetran_provider.testing.routes_schemas import SchemaRoutes
from fivetran_provider.testing.routes_webhooks import WebhookRoutes
from fivetran_provider.testing.routing import DOCUMENTED_METHODS, Route, RouteContext, RouteEntry
from fivetran_provider.testing.state import SimulatorState

#: The route set of each resource, in the order their routes are tried.
ROUTE_SETS = (AccountRoutes, ConnectionRoutes, SchemaRoutes, WebhookRoutes)

__all__ = [
    "MAX_RECORDS",
    "ApiHandler",
    "IncomingRequest",
    "RateLimiter",
    "RecordedRequest",
    "RequestRecorder",
    "Response",
]

#: Deepest JSON nesting a request body may have (Fivetran's bodies need a handful of levels).
MAX_JSON_DEPTH = 64


def _documented_pattern(segments: list[str]) -> tuple[str, ...] | None:
    """The most specific documented path pattern (fewest ``*``) that ``segments`` matches, if any.

    :param segments: the path's segments after the leading ``/`` (``["v1", "users", "u1"]``).
    """
    best: tuple[str, ...] | None = None
    for pattern in DOCUMENTED_METHODS:
        if len(pattern) != len(segments):
            continue
        fits = all((want == "*" and bool(part)) or want == part for want, part in zip(pattern, segments, strict=True))
        if fits and (best is None or pattern.count("*") < best.count("*")):
            best = pattern
    return best


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
        entries = [entry for routes in ROUTE_SETS for entry in routes(state, faults).routes()]
        # A literal segment beats a "*" in the same place: fewer wildcards are tried first.
        self._routes: list[RouteEntry] = sorted(entries, key=lambda entry: entry[0].count("*"))

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
        keep_body = self._authorised(request) and len(request.body) <= MAX_RECORDED_BODY
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
        authorised = self._authorised(request)
        rate_headers: dict[str, str] = {}
        retry_after: int | None = None
        limit = self.limiter.limit_per_hour
        if authorised or fault is not None:
            # Only requests with valid credentials use up the budget; the others get 401 first.
            clock = self.state.clock
            limit, remaining, wait = self.limiter.hit(clock.now())
            rate_headers = {"X-Rate-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}
            if wait is not None:
                retry_after = max(1, math.ceil(clock.real_seconds(wait)))
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
            spoiled = malformed_success(spoil.body, data)
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
        if len(segments) < 2 or segments[1] not in ("v1", "public"):
            raise not_found
        if not self._authorised(request):
            raise ApiError(401, "AuthFailed", "Invalid authorization credentials")
        if not accepts_json(request.header("Accept")):
            raise ApiError(406, "NotAcceptable", f"Unsupported Accept header: {request.header('Accept')}")
        rest = segments[2:]
        if not rest or rest[0] == "connectors":
            raise not_found
        handlers: dict[str, Route] | None = None
        params: list[str] = []
        matched: tuple[str, ...] = ()
        # Every route served is under /v1; other documented paths (/public/...) only get the 404 or 405.
        for pattern, candidates in self._routes if segments[1] == "v1" else []:
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
                handlers, params, matched = candidates, captured, ("v1", *pattern)
                break
        documented_here = _documented_pattern(segments[1:])
        if documented_here is not None and (handlers is None or documented_here.count("*") < matched.count("*")):
            # A documented operation the simulator does not serve, more specific than any route it has.
            handlers, matched = {}, documented_here
        if handlers is None:
            raise not_found
        route = handlers.get("GET" if method == "HEAD" else method)
        if route is None:
            documented = DOCUMENTED_METHODS.get(matched, tuple(handlers))
            if method in documented:
                # Like the operations it serves on no path at all: 404, so clients fail fast (a 5xx
                # would be retried) and the message says why.
                raise ApiError(
                    404, "NotFound", f"The simulator does not serve {method} {path}, which Fivetran documents"
                )
            error = error_response(
                ApiError(405, "MethodNotAllowed", f"HTTP method {method} is not supported for {path}")
            )
            error.headers["Allow"] = ", ".join(sorted(documented))
            return error
        if method in ("POST", "PATCH", "PUT") and body_present:
            if not is_json_content_type(request.header("Content-Type")):
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"Unsupported Content-Type: {request.header('Content-Type') or '(none)'}; use application/json",
                )
            if not body_ok:
                raise invalid(f"The request body is not valid JSON (or nests deeper than {MAX_JSON_DEPTH} levels)")
        return route(RouteContext(request, path, query, params, parsed, body_present))

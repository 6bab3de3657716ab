"""Fault injection for the Fivetran API simulator.

Faults are queued on a :class:`FaultInjector` and consumed by matching requests in the order they
were added. Each fault can be scoped to an HTTP method and/or a path prefix, either with the
``method``/``path_prefix`` keywords or through a scoped view returned by
:meth:`FaultInjector.only_for`::

    sim.faults.rate_limit(count=2, retry_after=1)
    sim.faults.only_for(method="PATCH").server_error(status=503)
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

#: Fault kinds answered before the request is looked at (auth included).
EARLY_KINDS: tuple[str, ...] = ("rate_limit", "server_error", "drop_connection", "redirect")

#: Fault kinds that let a request with a side effect (PATCH a connection, POST a sync or
#: re-sync) take effect and then spoil its answer, so the client cannot tell that it worked.
AFTER_APPLY_KINDS: tuple[str, ...] = ("apply_then_fail", "apply_then_drop", "apply_then_malformed")

#: Fault kinds that reshape the answer once it is built (:func:`shape_answer`): its headers,
#: a list's cursor, an oversized compressed body, a 1xx status, a body cut short, a dripped head.
ANSWER_KINDS: tuple[str, ...] = ("headers", "cursor", "oversized", "informational", "cut_short", "drip_head")

#: Shapes of a spoiled success answer for ``apply_then_malformed``: an HTML page, a truncated
#: JSON body, a body announced as gzip that is not, a success without ``data`` (malformed only
#: for a PATCH) and ``data`` as a list.
MALFORMED_BODIES: tuple[str, ...] = ("html", "truncated", "bad_gzip", "no_data", "data_list")


def is_side_effect(method: str, path: str) -> bool:
    """Whether a request changes a connection: any ``PATCH /v1/connections/{id}[/...]`` (the connection,
    its schema config, its state), ``POST .../sync|resync``, ``POST .../schemas/reload`` and
    ``POST .../schemas/tables/resync``.

    :param method: request method.
    :param path: request path without query.
    """
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[:2] != ["v1", "connections"]:
        return False
    if method.upper() == "PATCH":
        return True
    if method.upper() != "POST":
        return False
    return (len(parts) == 4 and parts[3] in ("sync", "resync")) or parts[3:] in (
        ["schemas", "reload"],
        ["schemas", "tables", "resync"],
    )


#: Guards the ``waiting`` counts of ``hold`` faults (requests are answered on many threads).
_HOLD_LOCK = threading.Lock()

_ERROR_CODES: dict[int, str] = {
    500: "InternalServerError",
    501: "NotImplemented",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass
class Fault:
    """One queued fault.

    :param kind: ``hold``, ``latency``, ``rate_limit``, ``server_error``, ``drop_connection``, ``redirect``,
        ``slow_drip``, ``malformed``, ``apply_then_fail``, ``apply_then_drop``,
        ``apply_then_malformed`` or ``resync_conflict``.
    :param remaining: how many more requests it affects; ``None`` means until cleared.
    :param method: only requests with this HTTP method (any when ``None``).
    :param path_prefix: only requests whose path starts with this (any when ``None``).
    :param status: HTTP status to answer with, for error kinds.
    :param code: Fivetran error ``code`` of the answer.
    :param message: error ``message`` of the answer.
    :param retry_after: ``Retry-After`` value, for ``rate_limit`` (whole seconds, or any text).
    :param seconds: delay, for ``latency`` and ``apply_then_fail``.
    :param body: ``json`` or ``html`` (a non-JSON gateway page), for ``server_error``; one of
        :data:`MALFORMED_BODIES` for ``apply_then_malformed``.
    :param hits: how many requests it has affected so far.
    :param location: the ``Location`` header, for ``redirect``.
    :param gate: set by :meth:`release`, for ``hold``.
    :param waiting: requests held by this ``hold`` fault right now.
    :param after: another fault this one waits for: it affects no request until that one has hit
        (e.g. a 429 on the read that verifies a PATCH answered with a 500).
    :param headers: headers set on the answer, for ``headers``.
    """

    kind: str
    remaining: int | None = 1
    method: str | None = None
    path_prefix: str | None = None
    status: int = 500
    code: str | None = None
    message: str | None = None
    retry_after: int | str = 1
    seconds: float = 0.0
    body: str = "json"
    hits: int = 0
    location: str = ""
    after: Fault | None = None
    headers: dict[str, str] = field(default_factory=dict)
    gate: threading.Event = field(default_factory=threading.Event, repr=False)
    waiting: int = 0

    def release(self) -> None:
        """Let every request held by this ``hold`` fault be answered (now and later)."""
        self.gate.set()

    def wait_until_released(self) -> None:
        """Block the request being answered until :meth:`release` (at most ``seconds``), counting it in ``waiting``."""
        with _HOLD_LOCK:
            self.waiting += 1
        try:
            self.gate.wait(self.seconds)
        finally:
            with _HOLD_LOCK:
                self.waiting -= 1

    def matches(self, method: str, path: str) -> bool:
        """Tell whether the fault applies to a request.

        :param method: request method.
        :param path: request path without query.
        """
        if self.after is not None and self.after.hits == 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.kind in AFTER_APPLY_KINDS and not is_side_effect(method, path):
            return False
        if self.kind == "resync_conflict" and not (method.upper() == "POST" and path.endswith("/resync")):
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)

    @property
    def error_code(self) -> str:
        """The ``code`` used in the error body."""
        if self.code is not None:
            return self.code
        if self.kind == "rate_limit":
            return "TooManyRequests"
        if self.kind == "resync_conflict":
            return "Conflict"
        return _ERROR_CODES.get(self.status, "ServerError")

    @property
    def error_message(self) -> str:
        """The ``message`` used in the error body."""
        if self.message is not None:
            return self.message
        if self.kind == "rate_limit":
            return "Too many requests: the API request limit for this account has been reached"
        if self.kind == "resync_conflict":
            return "A data sync is in progress and could not be completed before the re-sync was scheduled"
        if self.kind == "apply_then_fail":
            return "Request failed: the operation did not finish within 60 seconds"
        return "Internal server error"


@dataclass
class _FaultStore:
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[Fault] = field(default_factory=list)


class FaultInjector:
    """Queue faults for the simulator's next requests.

    :param method: default method scope of faults added through this object.
    :param path_prefix: default path-prefix scope of faults added through this object.
    """

    def __init__(self, method: str | None = None, path_prefix: str | None = None) -> None:
        self._store = _FaultStore()
        self._method = method
        self._path_prefix = path_prefix

    # ------------------------------------------------------------------ adding faults

    def _add(self, fault: Fault, method: str | None, path_prefix: str | None) -> Fault:
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("count must be at least 1 (or None for latency until cleared)")
        fault.method = method if method is not None else self._method
        fault.path_prefix = path_prefix if path_prefix is not None else self._path_prefix
        with self._store.lock:
            self._store.faults.append(fault)
        return fault

    def only_for(self, method: str | None = None, path_prefix: str | None = None) -> FaultInjector:
        """A view of the same fault queue whose new faults only hit matching requests.

        :param method: HTTP method, e.g. ``PATCH``.
        :param path_prefix: path prefix, e.g. ``/v1/connections/mellow_quartz``.
        :return: a :class:`FaultInjector` sharing this one's queue.
        """
        view = FaultInjector(method=method, path_prefix=path_prefix)
        view._store = self._store
        return view

    def rate_limit(
        self,
        count: int = 1,
        retry_after: int | str = 1,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        after: Fault | None = None,
    ) -> Fault:
        """Answer the next ``count`` requests with 429 ``TooManyRequests`` and ``Retry-After``.

        :param count: number of requests affected.
        :param retry_after: value of the ``Retry-After`` header: whole seconds, or any text (an
            HTTP date, or something hostile such as ``inf``).
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        :param after: only once this other fault has hit (see :class:`Fault`).
        """
        value = retry_after if isinstance(retry_after, str) else int(retry_after)
        fault = Fault("rate_limit", count, status=429, retry_after=value, after=after)
        return self._add(fault, method, path_prefix)

    def server_error(
        self,
        count: int = 1,
        status: int = 500,
        code: str | None = None,
        message: str | None = None,
        *,
        body: str = "json",
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> Fault:
        """Answer the next ``count`` requests with a server error, before doing anything else.

        :param count: number of requests affected.
        :param status: HTTP status (500, 502, 503, ...).
        :param code: error ``code``; derived from the status when ``None``.
        :param message: error ``message``.
        :param body: ``json`` for Fivetran's envelope, ``html`` for a gateway-style HTML page.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        if body not in ("json", "html"):
            raise ValueError("body must be 'json' or 'html'")
        fault = Fault("server_error", count, status=status, code=code, message=message, body=body)
        return self._add(fault, method, path_prefix)

    def latency(
        self,
        seconds: float,
        count: int | None = None,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> Fault:
        """Delay matching requests by ``seconds`` (no lock is held while waiting).

        :param seconds: delay per request.
        :param count: number of requests affected; ``None`` until :meth:`clear`.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("latency", count, seconds=float(seconds)), method, path_prefix)

    def drop_connection(self, count: int = 1, *, method: str | None = None, path_prefix: str | None = None) -> Fault:
        """Close the socket of the next ``count`` requests without answering.

        :param count: number of requests affected.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("drop_connection", count, status=0), method, path_prefix)

    def apply_then_fail(
        self,
        count: int = 1,
        status: int = 500,
        delay: float = 0.0,
        *,
        code: str | None = None,
        message: str | None = None,
        path_prefix: str | None = None,
        method: str = "PATCH",
    ) -> Fault:
        """Apply the next valid request with a side effect (by default a PATCH), then answer it with an error.

        Fivetran documents that pausing a busy connection can time out with a 500 although the
        change took effect.

        :param count: number of requests affected.
        :param status: HTTP status of the answer.
        :param delay: seconds to wait after applying and before answering.
        :param code: error ``code``.
        :param message: error ``message``.
        :param path_prefix: only requests under this path.
        :param method: ``PATCH`` (connection updates) or ``POST`` (sync and re-sync).
        """
        fault = Fault("apply_then_fail", count, status=status, seconds=float(delay), code=code, message=message)
        return self._add(fault, method, path_prefix)

    def apply_then_drop(self, count: int = 1, *, method: str = "PATCH", path_prefix: str | None = None) -> Fault:
        """Apply the next request with a side effect, then close the connection without answering.

        :param count: number of requests affected.
        :param method: ``PATCH`` (connection updates) or ``POST`` (sync and re-sync).
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("apply_then_drop", count, status=0), method, path_prefix)

    def apply_then_malformed(
        self, count: int = 1, body: str = "html", *, method: str = "PATCH", path_prefix: str | None = None
    ) -> Fault:
        """Apply the next request with a side effect, then answer 200 with a body the client cannot use.

        :param count: number of requests affected.
        :param body: one of :data:`MALFORMED_BODIES`.
        :param method: ``PATCH`` (connection updates) or ``POST`` (sync and re-sync).
        :param path_prefix: only requests under this path.
        """
        if body not in MALFORMED_BODIES:
            raise ValueError(f"body must be one of {MALFORMED_BODIES}")
        return self._add(Fault("apply_then_malformed", count, status=200, body=body), method, path_prefix)

    def malformed(
        self, count: int = 1, body: str = "html", *, method: str | None = None, path_prefix: str | None = None
    ) -> Fault:
        """Handle the next ``count`` requests normally, then answer 200 with a body the client cannot use.

        For requests with a side effect this is :meth:`apply_then_malformed`; for reads it is a
        proxy or load balancer spoiling an answer (an HTML page, a broken gzip body).

        :param count: number of requests affected.
        :param body: one of :data:`MALFORMED_BODIES`.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        if body not in MALFORMED_BODIES:
            raise ValueError(f"body must be one of {MALFORMED_BODIES}")
        return self._add(Fault("malformed", count, status=200, body=body), method, path_prefix)

    def redirect(
        self,
        count: int = 1,
        status: int = 307,
        location: str = "https://elsewhere.invalid/v1/connections",
        *,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> Fault:
        """Answer the next ``count`` requests with a redirect, before doing anything else.

        :param count: number of requests affected.
        :param status: a 3xx status (301, 302, 303, 307, 308).
        :param location: the ``Location`` header.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        if not 300 <= status < 400:
            raise ValueError("status must be a 3xx status")
        return self._add(Fault("redirect", count, status=status, location=location), method, path_prefix)

    def slow_drip(
        self, interval: float, count: int = 1, *, method: str | None = None, path_prefix: str | None = None
    ) -> Fault:
        """Handle the next ``count`` requests normally but send their answers one byte every ``interval`` s.

        The status line and headers go out at once; the body trickles, so each read of the client
        gets a byte well within any read timeout while the whole answer takes minutes.

        :param interval: seconds between two bytes of the body.
        :param count: number of requests affected.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("slow_drip", count, seconds=float(interval)), method, path_prefix)

    def hold(
        self, count: int = 1, *, timeout: float = 30.0, method: str | None = None, path_prefix: str | None = None
    ) -> Fault:
        """Hold the answers of the next ``count`` matching requests until :meth:`Fault.release` is called.

        Lets a test act while a request is in flight, without guessing how long it takes: the
        fault's ``waiting`` counts the requests held right now. A request still held after
        ``timeout`` seconds is answered anyway (so a test that never releases cannot hang), and
        ``fault.gate.is_set()`` stays false, which tells the test it was not released.

        :param count: number of requests affected.
        :param timeout: seconds after which a held request is answered anyway.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("hold", count, seconds=float(timeout)), method, path_prefix)

    def with_headers(
        self,
        headers: dict[str, str],
        count: int | None = 1,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> Fault:
        """Set (or replace) headers on the next ``count`` answers, whatever their status.

        For headers a proxy could add or spoil: ``Retry-After`` on a 200, ``X-Rate-Limit-Remaining: ²``.

        :param headers: header name to value.
        :param count: number of answers affected; ``None`` until :meth:`clear`.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("headers", count, headers=dict(headers)), method, path_prefix)

    def broken_cursor(
        self,
        mode: str = "repeat",
        count: int | None = None,
        *,
        path_prefix: str | None = None,
    ) -> Fault:
        """Spoil the ``next_cursor`` of list answers: it repeats (``repeat``) or never ends (``endless``).

        :param mode: ``repeat``: every page names the same next cursor; ``endless``: every page
            names a new one, for ever.
        :param count: number of list answers affected; ``None`` until :meth:`clear`.
        :param path_prefix: only lists under this path.
        """
        if mode not in ("repeat", "endless"):
            raise ValueError("mode must be 'repeat' or 'endless'")
        return self._add(Fault("cursor", count, body=mode), "GET", path_prefix)

    def oversized(
        self, megabytes: int = 40, count: int = 1, *, method: str | None = None, path_prefix: str | None = None
    ) -> Fault:
        """Answer the next ``count`` requests 200 with a small gzip body that inflates to ``megabytes`` MiB.

        :param megabytes: size of the body once decompressed.
        :param count: number of requests affected.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("oversized", count, status=200, seconds=float(megabytes)), method, path_prefix)

    def informational(
        self, status: int = 101, count: int = 1, *, method: str | None = None, path_prefix: str | None = None
    ) -> Fault:
        """Answer the next ``count`` requests with a 1xx status as if it were final (e.g. 101 Switching Protocols).

        :param status: a 1xx status.
        :param count: number of requests affected.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        if not 100 <= status < 200:
            raise ValueError("status must be a 1xx status")
        return self._add(Fault("informational", count, status=status), method, path_prefix)

    def cut_short(self, count: int = 1, *, method: str | None = None, path_prefix: str | None = None) -> Fault:
        """Handle the next ``count`` requests, announce the whole answer's length, send half of it and hang up.

        :param count: number of requests affected.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("cut_short", count), method, path_prefix)

    def drip_head(
        self, interval: float, count: int = 1, *, method: str | None = None, path_prefix: str | None = None
    ) -> Fault:
        """Send the next ``count`` answers whole, status line and headers included, one byte every ``interval`` s.

        Unlike :meth:`slow_drip`, the client waits for the status line itself.

        :param interval: seconds between two bytes.
        :param count: number of requests affected.
        :param method: only requests with this method.
        :param path_prefix: only requests under this path.
        """
        return self._add(Fault("drip_head", count, seconds=float(interval)), method, path_prefix)

    def resync_conflict(self, count: int = 1, *, path_prefix: str | None = None) -> Fault:
        """Answer the next ``count`` ``POST .../resync`` requests with 409 ``Conflict``.

        :param count: number of requests affected.
        :param path_prefix: only re-syncs under this path.
        """
        return self._add(Fault("resync_conflict", count, status=409), "POST", path_prefix)

    def clear(self) -> None:
        """Remove every queued fault (of every scope)."""
        with self._store.lock:
            self._store.faults.clear()

    @property
    def pending(self) -> list[Fault]:
        """The faults still queued, oldest first."""
        with self._store.lock:
            return list(self._store.faults)

    # ------------------------------------------------------------------ consuming faults

    def _consume(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._store.faults.remove(fault)

    def take_latency(self, method: str, path: str) -> float:
        """Consume the matching latency faults and return the total delay in seconds.

        :param method: request method.
        :param path: request path.
        """
        total = 0.0
        with self._store.lock:
            for fault in list(self._store.faults):
                if fault.kind == "latency" and fault.matches(method, path):
                    total += fault.seconds
                    self._consume(fault)
        return total

    def take(self, kinds: tuple[str, ...], method: str, path: str) -> Fault | None:
        """Consume and return the oldest matching fault of one of ``kinds``.

        :param kinds: fault kinds to look for.
        :param method: request method.
        :param path: request path.
        """
        with self._store.lock:
            for fault in self._store.faults:
                if fault.kind in kinds and fault.matches(method, path):
                    self._consume(fault)
                    return fault
        return None


class ShapedAnswer(Protocol):
    """What :func:`shape_answer` changes in a simulator answer."""

    status: int
    body: bytes
    headers: dict[str, str]
    drip: float
    drip_head: bool
    cut_short: bool


@lru_cache(maxsize=4)
def _inflating_body(megabytes: int) -> bytes:
    return gzip.compress(b" " * (megabytes * 1024 * 1024), compresslevel=9)


def shape_answer(faults: FaultInjector, method: str, path: str, answer: ShapedAnswer) -> None:
    """Apply the matching :data:`ANSWER_KINDS` faults to a finished answer, in place.

    :param faults: the simulator's fault queue.
    :param method: request method.
    :param path: request path without query.
    :param answer: the answer about to be sent.
    """
    for kind in ANSWER_KINDS:  # at most one hit of each kind per answer
        fault = faults.take((kind,), method, path)
        if fault is None:
            continue
        if fault.kind == "headers":
            answer.headers.update(fault.headers)
        elif fault.kind == "cursor":
            _spoil_cursor(answer, fault)
        elif fault.kind == "oversized":
            answer.status = 200
            answer.body = _inflating_body(int(fault.seconds))
            answer.headers.update({"Content-Type": "application/json", "Content-Encoding": "gzip"})
        elif fault.kind == "informational":
            answer.status, answer.body = fault.status, b""
            answer.headers = {"Upgrade": "websocket", "Connection": "Upgrade"}
        elif fault.kind == "cut_short":
            answer.cut_short = True
        elif fault.kind == "drip_head":
            answer.drip, answer.drip_head = max(fault.seconds, 0.001), True


def _spoil_cursor(answer: ShapedAnswer, fault: Fault) -> None:
    try:
        payload: Any = json.loads(answer.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or "items" not in data:
        return
    # The simulator's own cursor form: ``repeat`` names the first page again, ``endless`` a new
    # (empty) page far beyond the last each time.
    skip = 0 if fault.body == "repeat" else 1_000_000 + fault.hits
    raw = json.dumps({"skip": skip}, separators=(",", ":")).encode("ascii")
    data["next_cursor"] = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    answer.body = json.dumps(payload).encode("utf-8")

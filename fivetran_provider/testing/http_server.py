"""The HTTP layer of the Fivetran API simulator: sockets, request reading, limits and protocol errors.

:class:`SimulatorHTTPServer` serves each client connection on one of a bounded number of threads;
:class:`_RequestHandler` reads a request under an idle and a whole-request deadline, hands it to
:class:`~fivetran_provider.testing.handler.ApiHandler` and writes the answer. Errors of the HTTP
layer itself (414, 431, bad versions, unreadable bodies) are answered with Fivetran's JSON body.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fivetran_provider.testing.handler import ApiHandler
from fivetran_provider.testing.http_messages import IncomingRequest

_MAX_BODY = 16 * 1024 * 1024
_CHUNK_SIZE_RE = re.compile(rb"^[0-9A-Fa-f]{1,8}$")

#: Seconds a client connection may stay idle between requests, and the most one request may take
#: to arrive in full (however slowly its bytes trickle in), before the simulator closes it.
IDLE_TIMEOUT = 60.0

#: Most client connections served at once (one handler thread each); more get 503 and are closed.
MAX_CONNECTIONS = 256


class _BadRequestBody(Exception):
    """The request body could not be read (bad length or chunking)."""


class SimulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server that remembers its open connections so they can be cut on shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(
        self,
        address: tuple[str, int],
        api: ApiHandler,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.api = api
        self.idle_timeout = idle_timeout
        self.on_answer: Callable[[str, str, int], None] | None = None
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a new client connection on its own thread, if one of the bounded slots is free."""
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        with self._open_lock:
            self._open.add(request)
        name = f"fivetran-simulator-{self.server_address[1]}-connection"
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address), name=name, daemon=True)
        try:
            thread.start()
        except RuntimeError:
            self._slots.release()
            self.shutdown_request(request)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients going away (or the simulator being stopped under them) is routine; stay quiet.
        return

    def close_open_connections(self) -> None:
        """Cut every kept-alive client connection."""
        with self._open_lock:
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _json_error_bytes(status: int, code: str, message: str, version: str = "HTTP/1.1") -> bytes:
    """A whole HTTP answer carrying Fivetran's error body, closing the connection."""
    body = json.dumps({"code": code, "message": message}).encode("utf-8")
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    head = (
        f"{version} {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _refuse_busy(request: socket.socket) -> None:
    """Tell a client over the connection limit to come back later (never blocks the accepting thread)."""
    with contextlib.suppress(OSError):
        request.settimeout(1.0)
        answer = _json_error_bytes(503, "ServiceUnavailable", "Too many open connections; retry shortly")
        request.sendall(answer.replace(b"Connection: close", b"Retry-After: 1\r\nConnection: close"))


#: Fivetran's error codes for the errors the HTTP layer itself answers.
_PROTOCOL_ERROR_CODES: dict[int, str] = {
    400: "InvalidInput",
    408: "RequestTimeout",
    413: "PayloadTooLarge",
    414: "UriTooLong",
    431: "RequestHeaderFieldsTooLarge",
    501: "NotImplemented",
    505: "HttpVersionNotSupported",
}


class _DeadlineReader(io.RawIOBase):
    """Socket reads under two limits: ``idle`` seconds for a request to begin, then ``whole`` for all of it.

    :param sock: the client socket.
    :param idle: seconds a kept-alive connection may wait for the next request.
    :param whole: seconds one request may take to arrive in full, counted from its first byte.
    """

    def __init__(self, sock: socket.socket, idle: float, whole: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle
        self._whole = whole
        self.deadline: float | None = None

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read what the socket has, waiting no longer than the limit that applies now.

        :param buffer: where to put the bytes.
        """
        if self.deadline is None:
            self._sock.settimeout(self._idle)
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request took longer than allowed to arrive")
            self._sock.settimeout(remaining)
        count = self._sock.recv_into(buffer)
        if count and self.deadline is None:
            self.deadline = time.monotonic() + self._whole
        return count


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one HTTP/1.1 request, passes it to :class:`ApiHandler` and writes the answer."""

    protocol_version = "HTTP/1.1"
    # Small answers must not wait for delayed ACKs (Nagle), or every keep-alive request costs ~40 ms.
    disable_nagle_algorithm = True
    server: SimulatorHTTPServer

    def version_string(self) -> str:
        """Value of the ``Server`` header."""
        return "FivetranSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log (request lines can carry ids; bodies never logged)."""
        return

    def setup(self) -> None:
        """Read through :class:`_DeadlineReader`: idle and whole-request limits, not a per-read timeout."""
        super().setup()
        self._reader = _DeadlineReader(self.connection, self.server.idle_timeout, self.server.idle_timeout)
        self.rfile = io.BufferedReader(self._reader, 65536)

    def handle_one_request(self) -> None:
        """Serve one request; the whole-request deadline starts with its first byte."""
        self._reader.deadline = None
        super().handle_one_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer an error of the HTTP layer (414, 431, bad version, ...) with Fivetran's JSON error body.

        :param code: HTTP status.
        :param message: short description.
        :param explain: longer description (used as the message when given).
        """
        self.close_connection = True
        text = explain or message or HTTPStatus(code).phrase
        answer = _json_error_bytes(code, _PROTOCOL_ERROR_CODES.get(code, "Error"), text)
        with contextlib.suppress(OSError):
            self.wfile.write(answer)
            self.wfile.flush()
        if self.server.on_answer is not None:
            self.server.on_answer(getattr(self, "command", "") or "", getattr(self, "path", "") or "", code)

    def parse_request(self) -> bool:
        """Parse the request line and headers; an HTTP/0.9 request (no version) is closed at once."""
        words = self.raw_requestline.split()
        if len(words) == 2:
            self.close_connection = True
            return False
        return super().parse_request()

    def __getattr__(self, name: str) -> Any:
        # Any method name gets the API's answer (JSON 405 with Allow on a known route), not http.server's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                digits = line.split(b";", 1)[0].strip()
                if not _CHUNK_SIZE_RE.match(digits):  # no sign, no "0x", no empty size
                    raise _BadRequestBody
                size = int(digits, 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise _BadRequestBody
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise _BadRequestBody
                chunks.append(chunk)
                self.rfile.readline(65537)
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequestBody from None
        if length < 0 or length > _MAX_BODY:
            raise _BadRequestBody
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _BadRequestBody:
            payload = json.dumps({"code": "InvalidInput", "message": "Malformed request body"}).encode("utf-8")
            self.close_connection = True
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            if self.server.on_answer is not None:
                self.server.on_answer(self.command, self.path, 400)
            return
        request = IncomingRequest(self.command, self.path, list(self.headers.items()), body)
        response = self.server.api.handle(request)
        if self.server.on_answer is not None:
            self.server.on_answer(self.command, self.path, 0 if response.drop else response.status)
        if response.drop:
            self.close_connection = True
            return
        if response.drip_head:
            self._drip(self._head(response) + response.body, response.drip)
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.cut_short:
            self.close_connection = True
            self.wfile.write(response.body[: len(response.body) // 2])
            return
        if response.drip > 0:
            self._drip(response.body, response.drip)
            return
        self.wfile.write(response.body)

    @staticmethod
    def _head(response: Any) -> bytes:
        """The status line and headers of an answer, as bytes (for a dripped head)."""
        lines = [f"HTTP/1.1 {response.status} Answer"]
        lines += [f"{key}: {value}" for key, value in response.headers.items()]
        lines += [f"Content-Length: {len(response.body)}", "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1")

    def _drip(self, body: bytes, interval: float) -> None:
        """Send a body one byte at a time (a slow-drip fault); stop when the client goes away."""
        self.close_connection = True
        try:
            self.wfile.flush()
            for index in range(len(body)):
                time.sleep(interval)
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
        except OSError:
            return

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_HEAD = _serve
    do_OPTIONS = _serve

"""The simulator's HTTP edges: JSON for every error it produces, HEAD, documented methods, bounded
threads and deadlines, memory after large bodies, and documented leniency."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator


@pytest.fixture
def sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator(simulated_time=True) as simulator:
        yield simulator


def _auth(sim: FivetranSimulator) -> str:
    return "Basic " + base64.b64encode(f"{sim.api_key}:{sim.api_secret}".encode()).decode()


def _exchange(sim: FivetranSimulator, payload: bytes) -> tuple[bytes, bytes]:
    """Send raw bytes, read the answer until the server closes; return (status line, body)."""
    with socket.create_connection((sim.host, sim.port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"GET /v1/groups HTTP/9.9\r\nHost: x\r\n\r\n", b"505", "HttpVersionNotSupported"),
        (b"GET /v1/groups HTTP/x.y\r\nHost: x\r\n\r\n", b"400", "InvalidInput"),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414", "UriTooLong"),
        (b"GET /v1/groups HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", b"431", None),
    ],
)
def test_protocol_errors_get_a_status_line_and_json(
    sim: FivetranSimulator, payload: bytes, status: bytes, code: str | None
) -> None:
    line, body = _exchange(sim, payload)
    assert line.startswith(b"HTTP/1.1 " + status), line
    error = json.loads(body)
    assert set(error) == {"code", "message"}
    if code is not None:
        assert error["code"] == code


def test_head_answers_like_get_without_a_body(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn")
    head = http.head(f"{sim.url}/v1/connections/conn")
    get = http.get(f"{sim.url}/v1/connections/conn")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"] == "application/json"
    assert int(head.headers["Content-Length"]) == len(get.content)


def test_documented_methods_not_served_get_404_and_others_405_with_the_documented_allow(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    created = http.post(f"{sim.url}/v1/groups", json={"name": "new"})
    assert created.status_code == 404 and "does not serve POST /v1/groups" in created.json()["message"]
    refused = http.put(f"{sim.url}/v1/groups", json={"name": "new"})
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, POST"  # what the definition documents, not what is served


def test_users_list_honours_active(sim: FivetranSimulator, http: requests.Session) -> None:
    def users(active: str) -> list[dict[str, object]]:
        answer = http.get(f"{sim.url}/v1/users", params={"active": active})
        assert answer.status_code == 200
        return answer.json()["data"]["items"]

    assert [user["active"] for user in users("true")] == [True]
    assert users("false") == []
    assert http.get(f"{sim.url}/v1/users", params={"active": "maybe"}).status_code == 400


def test_unknown_body_fields_are_ignored(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn")
    answer = http.patch(f"{sim.url}/v1/connections/conn", json={"paused": True, "colour": "blue"})
    assert answer.status_code == 200 and answer.json()["data"]["paused"] is True
    assert "colour" not in answer.json()["data"]
    assert http.post(f"{sim.url}/v1/connections/conn/sync", json={"force": False, "why": 1}).status_code == 200
    assert http.post(f"{sim.url}/v1/connections/conn/test", json={"hello": True}).status_code == 200


def test_connections_beyond_the_limit_get_503_and_the_threads_stay_bounded() -> None:
    with FivetranSimulator(max_connections=3) as small:
        idle = [socket.create_connection((small.host, small.port), timeout=10) for _ in range(3)]
        try:
            # The three idle connections hold the three handler slots; a fourth is turned away at once.
            line, body = _exchange(small, b"GET /v1/groups HTTP/1.1\r\nHost: x\r\n\r\n")
            assert line.startswith(b"HTTP/1.1 503")
            assert json.loads(body)["code"] == "ServiceUnavailable"
            name = f"fivetran-simulator-{small.port}-connection"
            assert sum(thread.name == name for thread in threading.enumerate()) == 3
        finally:
            for sock in idle:
                sock.close()


def test_a_request_trickling_in_is_cut_at_the_whole_request_deadline() -> None:
    """The deadline covers the whole request: bytes arriving in time do not extend it.

    The client sends a byte every 50 ms, so no single read waits as long as the 0.2 s limit; only a
    deadline over the whole request closes the connection (with a per-read timeout the request would
    be held open until the client's own 10 s timeout fails the test). No timing is asserted.
    """
    with (
        FivetranSimulator(idle_timeout=0.2) as quick,
        socket.create_connection((quick.host, quick.port), timeout=10) as sock,
    ):
        sock.sendall(b"GET /v1/gro")
        closed = threading.Event()

        def drip() -> None:
            # Keep sending a byte whenever the server still reads, until it closes.
            try:
                while not closed.wait(0.05):
                    sock.sendall(b"X-A: b\r\n"[:1])
            except OSError:
                closed.set()

        sender = threading.Thread(target=drip, daemon=True)
        sender.start()
        data = sock.recv(65536)  # returns b"" once the server closes the connection
        closed.set()
        sender.join(timeout=10)
    assert data == b""


def test_a_documented_path_more_specific_than_any_route_is_reported_unserved(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    sim.add_connection("conn")
    answer = http.post(f"{sim.url}/v1/connections/conn/schemas/drop-columns", json={})
    assert answer.status_code == 404 and "does not serve POST" in answer.json()["message"]
    wrong = http.get(f"{sim.url}/v1/connections/conn/schemas/drop-columns")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"

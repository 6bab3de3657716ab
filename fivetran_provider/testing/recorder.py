"""The simulator's log of the requests it received, bounded in records and body bytes."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any


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
MAX_RECORDED_BODY_BYTES = 16 * 1024 * 1024
#: Largest body one record keeps (a larger one is logged without it, so its memory is given back).
MAX_RECORDED_BODY = 1024 * 1024


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

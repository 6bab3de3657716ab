"""Sending webhook events: a POST of the JSON payload, signed as Fivetran signs it.

With a secret, the ``X-Fivetran-Signature-256`` header holds the HMAC-SHA256 of the body under the
secret, in upper-case hex. Events are sent one after another on one background thread; every
attempt is kept in :attr:`WebhookSender.deliveries`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from fivetran_provider.testing.state_webhooks import WebhookEvent

#: Seconds one delivery may take before it counts as failed.
DELIVERY_TIMEOUT = 5.0

# Events go straight to the webhook's URL, never through a proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Delivery:
    """One attempt to send an event.

    :param webhook_id: the webhook it was for.
    :param url: where it went.
    :param payload: the event sent.
    :param status: the receiver's HTTP status; 0 when it could not be reached.
    :param error: why it could not be sent, if so.
    """

    webhook_id: str
    url: str
    payload: dict[str, Any]
    status: int
    error: str | None = None


def signature(secret: str, body: bytes) -> str:
    """The ``X-Fivetran-Signature-256`` value of a body.

    :param secret: the webhook's secret.
    :param body: the exact bytes sent.
    """
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().upper()


def send(event: WebhookEvent, timeout: float = DELIVERY_TIMEOUT) -> Delivery:
    """POST one event and report what happened (never raises).

    :param event: the event.
    :param timeout: seconds the attempt may take.
    """
    body = json.dumps(event.payload).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "FivetranSimulator/1.0"}
    if event.secret:
        headers["X-Fivetran-Signature-256"] = signature(event.secret, body)
    request = urllib.request.Request(event.url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            return Delivery(event.webhook_id, event.url, event.payload, answer.status)
    except urllib.error.HTTPError as error:
        return Delivery(event.webhook_id, event.url, event.payload, error.code, str(error))
    except (OSError, ValueError) as error:
        return Delivery(event.webhook_id, event.url, event.payload, 0, str(error))


class WebhookSender:
    """Sends queued events on a daemon thread, in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[WebhookEvent | None] = queue.Queue()
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._markers: list[threading.Event] = []
        self._thread = threading.Thread(target=self._run, name="fivetran-simulator-webhooks", daemon=True)
        self._thread.start()

    def enqueue(self, event: WebhookEvent) -> None:
        """Queue an event (never blocks).

        :param event: the event.
        """
        self._queue.put(event)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was sent (or failed).

        :param timeout: most seconds to wait.
        :return: whether the queue emptied in time.
        """
        done = threading.Event()
        with self._lock:
            self._markers.append(done)
        self._queue.put(None)  # a marker: when it comes out, everything queued before it was sent
        return done.wait(timeout)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every attempt so far, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def stop(self) -> None:
        """Stop after the events already queued."""
        self._queue.put(_STOP)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is _STOP:
                return
            if event is None:
                with self._lock:
                    marker = self._markers.pop(0) if self._markers else None
                if marker is not None:
                    marker.set()
                continue
            delivery = send(event)
            with self._lock:
                self._deliveries.append(delivery)


_STOP: Any = object()

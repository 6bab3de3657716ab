"""A watchdog for the synchronous client: one call ends at its deadline, however slowly the server talks.

A socket read timeout bounds each read, not the whole answer: a server that drips its status line
and headers a byte at a time stays under any read timeout for ever. So each call of
:class:`~fivetran_provider.hooks.FivetranHook` runs under a :class:`CallWatch`, a timer that shuts
the call's socket down when the call deadline passes; the blocked read then fails at once and the
hook raises :class:`~fivetran_provider.exceptions.FivetranDeadlineError`. The connections learn
which call they serve through a thread-local, so the many threads of one session (pause and
resume send requests in parallel) each watch their own.

Imported when the first session is built (it needs ``requests`` and ``urllib3``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class CallWatch:
    """Shuts the socket of the current thread's call down once ``seconds`` have passed.

    :param seconds: the call deadline.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> CallWatch:
        _current.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current.watch = None

    def attach(self, sock: socket.socket | None) -> None:
        """Watch the socket the call now uses (shut at once if the deadline has already passed).

        :param sock: the connection's socket.
        """
        if sock is None:
            return
        with self._lock:
            self._sock = sock
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


def _attach(sock: Any) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self.sock)

    def getresponse(self) -> Any:  # type: ignore[override]
        _attach(self.sock)  # a kept-alive connection: no connect() for this call
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self.sock)

    def getresponse(self) -> Any:  # type: ignore[override]
        _attach(self.sock)
        return super().getresponse()


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections report their socket to the current :class:`CallWatch`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Build the pool manager with watched connection pools.

        :param args: as ``HTTPAdapter.init_poolmanager``.
        :param kwargs: as ``HTTPAdapter.init_poolmanager``.
        """
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

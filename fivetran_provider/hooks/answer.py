"""Reading an answer's body piece by piece, bounded, the same way in both clients.

Both clients ask for ``gzip`` or ``deflate`` only and decode the raw bytes here, so that:

* no answer grows past :data:`MAX_ANSWER_BYTES` once decompressed (0.3 MiB of gzip can inflate
  to hundreds of MiB): reading stops there with
  :class:`~fivetran_provider.exceptions.FivetranAnswerTooLargeError`, without holding the rest;
* an answer cut short (fewer bytes than its ``Content-Length``, a compressed stream that does not
  end) or one that cannot be decoded is a
  :class:`~fivetran_provider.exceptions.FivetranTransportError` in both clients alike: the
  answer never fully arrived, so a request with a side effect is verified before it is re-sent.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from fivetran_provider.exceptions import FivetranAnswerTooLargeError, FivetranTransportError
from fivetran_provider.headers import header_int

#: The largest answer read, once decompressed: 32 MiB (a page of 1,000 connections is a few MiB).
MAX_ANSWER_BYTES = 32 * 1024 * 1024
#: What both clients accept as ``Content-Encoding`` (decoded by :class:`AnswerBody`).
ACCEPT_ENCODING = "gzip, deflate"
#: Raw bytes asked for per read.
READ_SIZE = 64 * 1024


class AnswerBody:
    """Collects one answer's body from its raw (still encoded) pieces.

    :param status: the answer's HTTP status.
    :param headers: its headers (``Content-Encoding`` and ``Content-Length`` are read).
    :param method: the request method (for errors).
    :param path: the request path (for errors).
    :param limit: the most bytes the decoded body may have.
    """

    def __init__(
        self, status: int, headers: Mapping[str, str], method: str, path: str, limit: int = MAX_ANSWER_BYTES
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.limit = limit
        self.raw_bytes = 0
        self.size = 0
        self.pieces: list[bytes] = []
        self.expected = header_int(headers, "Content-Length")
        encoding = (headers.get("Content-Encoding") or "identity").strip().lower()
        self._decoder: zlib._Decompress | None
        if encoding in ("", "identity"):
            self._decoder = None
        elif encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header, detected
        else:
            raise FivetranTransportError(method, path, f"answer in an encoding not asked for ({encoding[:40]!r})")

    def _add(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.pieces.clear()
            raise FivetranAnswerTooLargeError(self.limit, status=self.status, method=self.method, path=self.path)
        self.pieces.append(data)

    def feed(self, chunk: bytes) -> None:
        """Take one raw piece of the body.

        :param chunk: bytes as they came off the connection.
        :raises FivetranAnswerTooLargeError: the decoded body passed the limit.
        :raises FivetranTransportError: the compressed stream is broken.
        """
        self.raw_bytes += len(chunk)
        decoder = self._decoder
        if decoder is None:
            self._add(chunk)
            return
        data = chunk
        while data and not decoder.eof:
            try:
                out = decoder.decompress(data, self.limit - self.size + 1)
            except zlib.error:
                raise FivetranTransportError(self.method, self.path, "undecodable compressed answer") from None
            self._add(out)
            data = decoder.unconsumed_tail

    def finish(self) -> bytes:
        """The whole decoded body, once the connection said it ended.

        :raises FivetranTransportError: the answer was cut short.
        """
        if self.expected is not None and self.raw_bytes < self.expected:
            raise FivetranTransportError(
                self.method, self.path, f"answer cut short: {self.raw_bytes} of {self.expected} bytes"
            )
        if self._decoder is not None and self.raw_bytes and not self._decoder.eof:
            raise FivetranTransportError(self.method, self.path, "compressed answer cut short")
        return b"".join(self.pieces)

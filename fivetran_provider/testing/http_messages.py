"""Requests and answers of the simulator as plain values, and the answer shapes Fivetran uses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fivetran_provider.testing.errors import ApiError

JSON_CONTENT_TYPE = "application/json"


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


def malformed_success(shape: str, data: Any) -> Response:
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


def accepts_json(accept: str | None) -> bool:
    """Tell whether an ``Accept`` header allows a JSON answer (no header allows anything).

    :param accept: the header value, or ``None``.
    """
    if accept is None or not accept.strip():
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in (JSON_CONTENT_TYPE, "*/*", "application/*"):
            return True
    return False


def is_json_content_type(value: str | None) -> bool:
    """Tell whether a ``Content-Type`` names JSON (``application/json`` or ``application/*+json``).

    :param value: the header value, or ``None``.
    """
    if value is None:
        return False
    media = value.split(";", 1)[0].strip().lower()
    return media == JSON_CONTENT_TYPE or (media.startswith("application/") and media.endswith("+json"))

"""Errors of the Fivetran API simulator: API answers and unknown ids on the Python side."""

from __future__ import annotations


class ApiError(Exception):
    """An error the simulator answers with, in Fivetran's ``{"code", "message"}`` shape.

    :param status: HTTP status code.
    :param code: Fivetran error code, e.g. ``InvalidInput`` or ``NotFound_Connector``.
    :param message: human-readable message.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class UnknownConnectionError(KeyError):
    """Raised by the Python-side helpers when a connection id does not exist.

    :param connection_id: the id that was looked up.
    """

    def __init__(self, connection_id: str) -> None:
        super().__init__(connection_id)
        self.connection_id = connection_id

"""Small checks of JSON request bodies shared by every resource's routes."""

from __future__ import annotations

import re
from typing import Any

from fivetran_provider.testing.http_messages import invalid

DIGITS_RE = re.compile(r"[0-9]{1,9}")


def is_int(value: Any) -> bool:
    """Tell whether a JSON value is an integer (``true`` is not).

    :param value: the value.
    """
    return isinstance(value, int) and not isinstance(value, bool)


def require_object(body: Any, what: str) -> dict[str, Any]:
    """Return the body if it is a JSON object, else raise 400.

    :param body: the parsed body.
    :param what: the request's name in the message.
    """
    if not isinstance(body, dict):
        raise invalid(f"The {what} request body must be a JSON object")
    return body


def check_bool(body: dict[str, Any], name: str) -> None:
    """Check (and coerce in place) a boolean field: ``"true"``/``"false"`` are accepted like the live API.

    :param body: the request body.
    :param name: the field.
    """
    if name not in body:
        return
    value = body[name]
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        body[name] = value.strip().lower() == "true"
    elif not isinstance(value, bool):
        raise invalid(f"Field '{name}' must be a boolean")


def coerce_int(value: Any) -> Any:
    """A string of decimal digits becomes its integer (the live API coerced ``"720"``); anything else is kept.

    :param value: the value.
    """
    if isinstance(value, str) and DIGITS_RE.fullmatch(value.strip()):
        return int(value.strip())
    return value

"""What every resource's routes share: the request context, the route table shape and after-apply faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.faults import AFTER_APPLY_KINDS, FaultInjector
from fivetran_provider.testing.http_messages import IncomingRequest, Response, error_response, malformed_success
from fivetran_provider.testing.state import SimulatorState


@dataclass
class RouteContext:
    """One routed request.

    :param request: the request as read.
    :param path: its path without the query.
    :param query: the first value of each query parameter.
    :param params: the path segments the route's ``*`` matched, in order.
    :param body: the parsed JSON body, or ``None``.
    :param body_present: whether the request had a body at all.
    """

    request: IncomingRequest
    path: str
    query: dict[str, str]
    params: list[str]
    body: Any
    body_present: bool


Route = Callable[[RouteContext], Response]

#: A route: path segments after ``/v1`` (``"*"`` matches one segment) and the handler per method.
RouteEntry = tuple[tuple[str, ...], dict[str, Route]]


def _documented_methods() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Read the table of documented operations shipped with the simulator."""
    text = resources.files("fivetran_provider.testing").joinpath("documented_operations.json").read_text("utf-8")
    paths: dict[str, list[str]] = json.loads(text)["paths"]
    return {tuple(pattern.split("/")[1:]): tuple(methods) for pattern, methods in paths.items()}


#: Every path Fivetran's OpenAPI definition documents, as segments (``"v1"`` or ``"public"`` first,
#: ``"*"`` for a path parameter), and the methods it documents there: the ``Allow`` header of a 405.
#: A documented method the simulator does not serve is answered 404 with a message saying so. Derived
#: at development time by tools/derive_documented_operations.py (the definition is not shipped).
DOCUMENTED_METHODS: dict[tuple[str, ...], tuple[str, ...]] = _documented_methods()


class RouteSet:
    """The routes of one resource; subclasses list them in :meth:`routes`.

    :param state: the simulated account.
    :param faults: queued faults.
    """

    def __init__(self, state: SimulatorState, faults: FaultInjector) -> None:
        self.state = state
        self.faults = faults

    def routes(self) -> list[RouteEntry]:
        """The resource's routes, most specific first."""
        raise NotImplementedError

    def require_connection(self, connection_id: str) -> None:
        """Raise 404 ``NotFound_Connector`` for an unknown connection (before its body is checked).

        :param connection_id: connection id.
        """
        if not self.state.has_connection(connection_id):
            raise ApiError(404, "NotFound_Connector", f"Connector with id '{connection_id}' does not exist.")

    def after_apply(self, method: str, path: str, data: Any) -> Response | None:
        """The spoiled answer of a request that took effect, when an after-apply fault is queued.

        :param method: HTTP method.
        :param path: request path.
        :param data: the ``data`` the answer would have carried.
        """
        fault = self.faults.take(AFTER_APPLY_KINDS, method, path)
        if fault is None:
            return None
        if fault.kind == "apply_then_drop":
            return Response(0, drop=True)
        if fault.kind == "apply_then_malformed":
            return malformed_success(fault.body, data)
        if fault.seconds > 0:
            time.sleep(fault.seconds)
        return error_response(ApiError(fault.status, fault.error_code, fault.error_message))

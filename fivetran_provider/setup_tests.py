"""Getting past a broken connection before a sync: run the setup tests, fail with their messages.

Used by ``FivetranSyncOperator(test_if_broken=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fivetran_provider.exceptions import FivetranError
from fivetran_provider.links import connection_dashboard_url

if TYPE_CHECKING:
    from fivetran_provider.hooks import FivetranHook

CONNECTED = "connected"
PASSING = ("PASSED", "SKIPPED", "WARNING")


class FivetranConnectionBrokenError(FivetranError):
    """A connection is not ``connected`` and its setup tests did not fix that.

    :param message: what happened, with the failing tests' messages.
    :param connection_id: the Fivetran connection id.
    :param setup_tests: the setup tests as Fivetran reported them.
    """

    def __init__(self, message: str, connection_id: str, setup_tests: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.connection_id = connection_id
        self.setup_tests = setup_tests


def setup_state(connection: Mapping[str, Any]) -> str | None:
    """``status.setup_state`` of a connection (``incomplete``, ``connected`` or ``broken``).

    :param connection: ``data`` of ``GET /v1/connections/{id}``.
    """
    status = connection.get("status")
    state = status.get("setup_state") if isinstance(status, Mapping) else None
    return state if isinstance(state, str) else None


def ensure_connected(hook: FivetranHook, connection: Mapping[str, Any], *, log: Any) -> dict[str, Any]:
    """Run the setup tests of a connection that is not ``connected``; fail if it still is not.

    A connected connection is returned as it is, with no request.

    :param hook: the hook.
    :param connection: the connection as just read.
    :param log: where to say what was done.
    :return: the connection as read after the tests (or the one given).
    :raises FivetranConnectionBrokenError: with every failing test's title and message.
    """
    state = setup_state(connection)
    if state == CONNECTED:
        return dict(connection)
    connection_id = str(connection.get("id"))
    log.warning("Fivetran connection %s is %s; running its setup tests before the sync", connection_id, state)
    tested = hook.run_connection_setup_tests(connection_id)
    tests = [item for item in tested.get("setup_tests") or [] if isinstance(item, Mapping)]
    after = setup_state(tested)
    if after == CONNECTED:
        log.info("Setup tests of %s passed; the connection is connected again", connection_id)
        return tested
    failing = [item for item in tests if item.get("status") not in PASSING] or tests
    details = "; ".join(
        f"{item.get('title', 'setup test')}: {item.get('status', '?')}"
        + (f" ({item.get('message')})" if item.get("message") else "")
        for item in failing
    )
    raise FivetranConnectionBrokenError(
        f"Fivetran connection {connection_id} is still {after or 'not connected'} after its setup tests, "
        f"so no sync was started. {details or 'No setup test results were returned.'} "
        f"Fix the connection in Fivetran: {connection_dashboard_url(connection_id)}",
        connection_id,
        [dict(item) for item in tests],
    )

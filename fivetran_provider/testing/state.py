"""The simulated Fivetran account: one :class:`SimulatorState` made of a part per resource.

Each resource keeps its state in its own module, the way the HTTP routes are split too:

- :mod:`~fivetran_provider.testing.state_accounts`: account, groups, destinations, users;
- :mod:`~fivetran_provider.testing.state_connections`: connections and their setup tests;
- :mod:`~fivetran_provider.testing.state_schemas`: schema configuration;
- :mod:`~fivetran_provider.testing.state_syncs`: sync and re-sync requests and the run history;
- :mod:`~fivetran_provider.testing.state_cursors`: cursor state of function and Connector SDK connections;
- :mod:`~fivetran_provider.testing.state_webhooks`: webhooks and the ``sync_end`` events runs send;
- :mod:`~fivetran_provider.testing.state_base`: the lock, clock, ids and sync lifecycle they share.
"""

from __future__ import annotations

from fivetran_provider.testing.clock import SimulatedClock, WallClock
from fivetran_provider.testing.errors import ApiError, UnknownConnectionError
from fivetran_provider.testing.masking import MASK, is_secret_config_key, mask_config
from fivetran_provider.testing.model import DEFAULT_FAILURE_MESSAGE, SYNC_OUTCOMES
from fivetran_provider.testing.state_accounts import AccountsState
from fivetran_provider.testing.state_connections import ConnectionsState
from fivetran_provider.testing.state_cursors import CursorsState
from fivetran_provider.testing.state_schemas import SchemasState
from fivetran_provider.testing.state_syncs import (
    PAUSED_SYNC_BEHAVIOURS,
    RESYNC_FINISH_WINDOW,
    SyncsState,
    supports_table_resync,
)
from fivetran_provider.testing.state_webhooks import WebhooksState
from fivetran_provider.testing.timestamps import format_timestamp, to_epoch

__all__ = [
    "DEFAULT_FAILURE_MESSAGE",
    "MASK",
    "PAUSED_SYNC_BEHAVIOURS",
    "RESYNC_FINISH_WINDOW",
    "SYNC_OUTCOMES",
    "ApiError",
    "SimulatorState",
    "UnknownConnectionError",
    "format_timestamp",
    "is_secret_config_key",
    "mask_config",
    "supports_table_resync",
    "to_epoch",
]


class SimulatorState(AccountsState, ConnectionsState, SchemasState, SyncsState, CursorsState, WebhooksState):
    """The simulated Fivetran account: groups, connections, stored auth, schema configs and sync runs.

    All methods are thread-safe; a single re-entrant lock guards the whole state and is held only
    for the duration of one operation.

    :param account_name: name reported by ``GET /v1/account/info``.
    :param clock: the simulator's clock; the wall clock when ``None``.
    """

    def __init__(
        self, account_name: str = "Simulated Fivetran Account", clock: WallClock | SimulatedClock | None = None
    ) -> None:
        super().__init__(clock)
        self._init_account(account_name)
        self._init_syncs()
        self._init_webhooks()
        self.setup_tests_run = 0

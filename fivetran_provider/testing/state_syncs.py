"""Sync runs of connections: planning outcomes, ``POST /sync``, ``POST /resync`` and the run history."""

from __future__ import annotations

from typing import Any

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.model import DEFAULT_FAILURE_MESSAGE, SYNC_OUTCOMES, PlannedSync
from fivetran_provider.testing.state_base import StateBase
from fivetran_provider.testing.state_schemas import check_resync_scope

#: What ``POST /sync`` does on a paused connection.
PAUSED_SYNC_BEHAVIOURS: tuple[str, ...] = ("ignore", "reject")

#: Seconds a running sync may still need for ``POST /resync`` to let it finish first (Fivetran's
#: REST API gives up on work after 60 seconds); a longer one makes the re-sync answer 409.
RESYNC_FINISH_WINDOW = 60.0

# Services taken to support table-level re-sync: Fivetran documents it for database connectors
# (PostgreSQL, MySQL, Oracle, SQL Server, ...) and rejects a scope for API connectors such as
# Google Sheets.
_TABLE_RESYNC_SERVICE_HINTS: tuple[str, ...] = (
    "postgres",
    "mysql",
    "maria",
    "oracle",
    "sql_server",
    "db2",
    "mongo",
    "cosmos",
    "dynamodb",
    "cockroach",
    "aurora",
    "snowflake_db",
    "bigquery_db",
    "databricks_db",
    "redshift_db",
    "sap_hana",
    "hva",
)


def supports_table_resync(service: str) -> bool:
    """Tell whether a connector service accepts a table-level ``scope`` on ``/resync``.

    :param service: connector service name, e.g. ``postgres``.
    """
    lowered = service.lower()
    return any(hint in lowered for hint in _TABLE_RESYNC_SERVICE_HINTS)


class SyncsState(StateBase):
    """Sync control: the Python-side plan of outcomes and the API's sync and re-sync requests."""

    paused_sync_behaviour: str
    resync_finish_window: float

    def _init_syncs(self) -> None:
        self.paused_sync_behaviour = "ignore"
        self.resync_finish_window = RESYNC_FINISH_WINDOW

    def sync_history(self, connection_id: str) -> list[dict[str, Any]]:
        """Runs of a connection, oldest first; a running one is last with ``outcome`` ``None``.

        :param connection_id: connection id.
        """
        with self.lock:
            conn = self._conn_py(connection_id)
            self._advance(conn, self.clock.now())
            runs = [run.as_dict() for run in conn.history]
            if conn.run is not None:
                runs.append(conn.run.as_dict())
            return runs

    def plan_syncs(
        self,
        connection_id: str,
        outcomes: tuple[str, ...],
        *,
        duration: float = 0.0,
        rescheduled_delay: float = 1.0,
        failure_message: str = DEFAULT_FAILURE_MESSAGE,
    ) -> None:
        """Queue outcomes for the next runs of a connection, one consumed per run.

        :param connection_id: connection id.
        :param outcomes: ``success``, ``failure`` or ``rescheduled`` values.
        :param duration: seconds each planned run takes.
        :param rescheduled_delay: seconds between a rescheduled run's end and ``rescheduled_for``.
        :param failure_message: message of the task a failed run leaves.
        """
        for outcome in outcomes:
            if outcome not in SYNC_OUTCOMES:
                raise ValueError(f"outcome must be one of {SYNC_OUTCOMES}, not {outcome!r}")
        if duration < 0 or rescheduled_delay < 0:
            raise ValueError("duration and rescheduled_delay must not be negative")
        with self.lock:
            conn = self._conn_py(connection_id)
            self._advance(conn, self.clock.now())
            for outcome in outcomes:
                conn.plan.append(PlannedSync(outcome, duration, rescheduled_delay, failure_message))

    def finish_sync(self, connection_id: str, outcome: str = "success") -> dict[str, Any]:
        """End the running sync now with the given outcome.

        :param connection_id: connection id.
        :param outcome: ``success``, ``failure`` or ``rescheduled``.
        :return: the connection view afterwards.
        :raises RuntimeError: if no sync is running.
        """
        if outcome not in SYNC_OUTCOMES:
            raise ValueError(f"outcome must be one of {SYNC_OUTCOMES}, not {outcome!r}")
        with self.lock:
            conn = self._conn_py(connection_id)
            now = self.clock.now()
            self._advance(conn, now)
            if conn.run is None:
                raise RuntimeError(f"connection {connection_id!r} has no running sync")
            self._finish(conn, outcome, now)
            return self._view(conn)

    # ------------------------------------------------------------------ API operations

    def trigger_sync(self, connection_id: str, *, force: bool) -> None:
        """``POST /sync``.

        :param connection_id: connection id.
        :param force: restart a running sync.
        :raises ApiError: 404; 400 on a paused connection when ``paused_sync_behaviour`` is ``reject``.
        """
        with self.lock:
            conn = self._conn(connection_id)
            now = self.clock.now()
            self._advance(conn, now)
            if conn.paused:
                if self.paused_sync_behaviour == "reject":
                    raise ApiError(
                        400, "InvalidInput", f"Connection with id '{connection_id}' is paused and cannot be synced"
                    )
                return
            if conn.run is not None:
                if force:
                    self._cancel(conn, now)
                    self._start(conn, now, "force")
                return
            if conn.rescheduled_for is not None and now < conn.rescheduled_for:
                return
            self._start(conn, now, "sync")

    def resync(self, connection_id: str, scope: dict[str, list[str]] | None) -> None:
        """``POST /resync``: full (``scope`` ``None``) or table-level historical re-sync.

        Fivetran finishes a running sync first and answers 409 when it cannot. Here a running
        sync that ends within :attr:`resync_finish_window` seconds is left to finish (with its
        planned outcome, at its planned time) and the re-sync starts as it ends; a longer one makes
        the request fail with 409 ``Conflict`` and changes nothing. A paused connection queues
        the re-sync until it is resumed.

        A table-level re-sync runs a historical sync of those tables only: the run is historical
        and lists its tables in the history, ``status.is_historical_sync`` stays as it is (it
        describes the whole connection), and the schedule is not moved. Tables the schema config
        lacks or has disabled are refused.

        :param connection_id: connection id.
        :param scope: schema name to table names, already checked to be non-empty.
        :raises ApiError: 404 (connection, or a table the schema config lacks); 400 when the connector
            has no table-level re-sync or a table is disabled; 409 as above.
        """
        with self.lock:
            conn = self._conn(connection_id)
            now = self.clock.now()
            self._advance(conn, now)
            if scope is not None:
                if not supports_table_resync(conn.service):
                    raise ApiError(
                        400, "InvalidInput", f"Table-level re-sync is not supported for service '{conn.service}'"
                    )
                check_resync_scope(conn, scope)
            if conn.run is not None and not conn.paused and conn.run.ends_at - now > self.resync_finish_window:
                raise ApiError(
                    409,
                    "Conflict",
                    "A data sync is in progress and could not be completed before the re-sync was scheduled",
                )
            if scope is None:
                conn.is_historical_sync = True
                conn.pending_tables = None
            elif not conn.is_historical_sync:
                merged = {name: list(tables) for name, tables in (conn.pending_tables or {}).items()}
                for name, tables in scope.items():
                    merged[name] = sorted(set(merged.get(name, [])) | set(tables))
                conn.pending_tables = merged
            if conn.run is not None and not conn.paused:
                conn.resync_after_run = True  # the running sync finishes first, then the re-sync starts
                return
            if conn.paused:
                conn.queued = True
                return
            self._start(conn, now, "resync")

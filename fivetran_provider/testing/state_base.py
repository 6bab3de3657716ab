"""The core every resource of the simulated account shares: lock, clock, ids and the sync lifecycle.

Nothing here knows about HTTP. Every public method of the state takes :attr:`StateBase.lock`, brings
the touched connections up to date with the clock (the wall clock by default, or simulated time) and
returns plain JSON-ready dictionaries. Sync runs are not driven by a background thread: a run records
when it started and when it will end, and the transitions are computed lazily whenever a connection
is read or changed.
"""

from __future__ import annotations

import threading
from typing import Any

from fivetran_provider.testing.clock import SimulatedClock, WallClock
from fivetran_provider.testing.connection_view import render_connection
from fivetran_provider.testing.errors import ApiError, UnknownConnectionError
from fivetran_provider.testing.model import DEFAULT_FAILURE_MESSAGE, Connection, Group, IdPool, PlannedSync, SyncRun
from fivetran_provider.testing.schedules import last_slot, next_scheduled_start, next_slot

# Most scheduled runs one read may compute for a connection after a long jump of simulated time;
# beyond it the scheduler starts again from the current time (missed slots are skipped).
_MAX_RUNS_PER_READ = 10000

# Up to this many scheduled runs due at once are run one by one (each kept in the history); beyond
# it all but the last are jumped over in closed form.
_RUNS_KEPT = 100


class StateBase:
    """Lock, clock, id pool, the stored groups and connections, and the sync lifecycle machinery.

    :param clock: the simulator's clock; the wall clock when ``None``.
    """

    #: Id of the account's one user (the API key's owner); set by the accounts part of the state.
    user_id: str

    def __init__(self, clock: WallClock | SimulatedClock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: WallClock | SimulatedClock = clock if clock is not None else WallClock()
        # Scheduled syncs start by themselves only under simulated time unless switched on.
        self.scheduled_syncs = self.clock.simulated
        self.default_sync_duration = 0.0
        self._ids = IdPool()
        self._groups: dict[str, Group] = {}
        self._connections: dict[str, Connection] = {}

    @property
    def now(self) -> float:
        """The state's current time (epoch seconds): simulated time, or the wall clock."""
        return self.clock.now()

    def new_id(self) -> str:
        """Generate an unused id in Fivetran's ``word_word`` style (e.g. ``tidal_lantern``)."""
        with self.lock:
            return self._ids.new()

    def _conn(self, connection_id: str) -> Connection:
        conn = self._connections.get(connection_id)
        if conn is None:
            raise ApiError(404, "NotFound_Connector", f"Connector with id '{connection_id}' does not exist.")
        return conn

    def _conn_py(self, connection_id: str) -> Connection:
        conn = self._connections.get(connection_id)
        if conn is None:
            raise UnknownConnectionError(connection_id)
        return conn

    def has_connection(self, connection_id: str) -> bool:
        """Tell whether a connection exists.

        :param connection_id: connection id.
        """
        with self.lock:
            return connection_id in self._connections

    def _new_group(self, group_id: str | None, name: str | None) -> Group:
        if group_id is None:
            group_id = self._ids.new()
        elif group_id in self._groups:
            raise ValueError(f"group {group_id!r} already exists")
        self._ids.claim(group_id)
        group = Group(
            id=group_id, name=name if name is not None else f"{group_id}_warehouse", created_at=self.clock.now()
        )
        self._groups[group_id] = group
        return group

    def _group_or_create(self, group_id: str | None) -> Group:
        if group_id is None:
            if self._groups:
                return next(iter(self._groups.values()))
            return self._new_group(None, None)
        if group_id not in self._groups:
            return self._new_group(group_id, None)
        return self._groups[group_id]

    def _view(self, conn: Connection) -> dict[str, Any]:
        return render_connection(conn, self.clock.now())

    # ------------------------------------------------------------------ lifecycle machinery

    def _advance(self, conn: Connection, now: float) -> None:
        """Apply every transition that is due at ``now``."""
        for _ in range(_MAX_RUNS_PER_READ):
            run = conn.run
            if run is not None:
                if now < run.ends_at:
                    return
                self._finish(conn, run.outcome, run.ends_at)
                if conn.resync_after_run:
                    conn.resync_after_run = False
                    self._start(conn, run.ends_at, "resync")
                continue
            if (
                conn.rescheduled_for is not None
                and not conn.paused
                and conn.schedule_type == "auto"
                and now >= conn.rescheduled_for
            ):
                self._start(conn, conn.rescheduled_for, "resume")
                continue
            due = next_scheduled_start(conn) if self.scheduled_syncs else None
            if due is not None and now >= due:
                due = self._skip_routine_runs(conn, due, now)
                self._start(conn, due, "scheduled")
                continue
            return
        conn.schedule_anchor = now

    def _skip_routine_runs(self, conn: Connection, due: float, now: float) -> float:
        """Jump over all but the last scheduled runs due by ``now``, in closed form; return the next start.

        Only runs nothing was planned for are skipped (they succeed after the default duration), so
        the outcome is the one running them one by one would give: ``succeeded_at`` is the end of the
        last skipped run, and the runs after it are started as usual. The skipped runs are summed
        up in one entry of the history, the last of them.
        """
        if conn.plan or conn.is_historical_sync or conn.resync_after_run or conn.queued:
            return due
        length = max(0.0, self.default_sync_duration)
        last = last_slot(conn, due, now, length)
        if last is None or last <= due or self._few_slots(conn, due, last, length):
            return due
        before = last_slot(conn, due, last - 1.0, length)
        if before is None or before <= due or before + length > min(last, now):
            return due
        run = SyncRun(
            started_at=before, ends_at=before + length, outcome="success", historical=False, trigger="scheduled"
        )
        run.ended_at, run.result = before + length, "success"
        conn.history.append(run)
        conn.succeeded_at = before + length
        conn.not_before = before + length
        conn.schedule_anchor = before
        conn.tasks = [task for task in conn.tasks if task.get("code") != "sync_failed"]
        following = next_scheduled_start(conn)
        return due if following is None else following

    @staticmethod
    def _few_slots(conn: Connection, due: float, last: float, length: float) -> bool:
        """Whether at most :data:`_RUNS_KEPT` scheduled runs lie between ``due`` and ``last`` (then all are run)."""
        moment: float | None = due
        for _ in range(_RUNS_KEPT):
            if moment is None or moment >= last:
                return True
            following = next_slot(conn, moment)
            moment = None if following is None else max(following, moment + length)
        return False

    def _start(self, conn: Connection, at: float, trigger: str) -> None:
        if conn.plan:
            planned = conn.plan.popleft()
        else:
            planned = PlannedSync("success", self.default_sync_duration, 1.0, DEFAULT_FAILURE_MESSAGE)
        conn.rescheduled_for = None
        conn.queued = False
        tables, conn.pending_tables = conn.pending_tables, None
        if tables is None:
            conn.schedule_anchor = at  # a table-level re-sync does not change the schedule
        conn.run = SyncRun(
            started_at=at,
            ends_at=at + max(0.0, planned.duration),
            outcome=planned.outcome,
            historical=conn.is_historical_sync or tables is not None,
            trigger=trigger,
            rescheduled_delay=planned.rescheduled_delay,
            failure_message=planned.failure_message,
            tables=tables,
        )

    def _cancel(self, conn: Connection, at: float) -> None:
        run = conn.run
        if run is None:
            return
        run.ended_at = at
        run.result = "cancelled"
        conn.history.append(run)
        conn.run = None
        conn.not_before = at

    def _finish(self, conn: Connection, outcome: str, at: float) -> None:
        run = conn.run
        if run is None:
            return
        run.ended_at = at
        run.result = outcome
        conn.history.append(run)
        conn.run = None
        conn.not_before = at
        if outcome == "success":
            conn.succeeded_at = at
            if run.historical:
                conn.is_historical_sync = False
            conn.tasks = [task for task in conn.tasks if task.get("code") != "sync_failed"]
        elif outcome == "failure":
            conn.failed_at = at
            conn.tasks = [task for task in conn.tasks if task.get("code") != "sync_failed"]
            conn.tasks.append({"code": "sync_failed", "message": run.failure_message})
        else:
            conn.rescheduled_for = at + max(0.0, run.rescheduled_delay)
        self._on_sync_end(conn, run)

    def _on_sync_end(self, conn: Connection, run: SyncRun) -> None:
        """Called when a run ends (not when it is cancelled); the webhooks part sends events."""

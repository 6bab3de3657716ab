"""Bring connections to a wanted ``paused`` state after a failure, and say exactly what is left.

Used by the pause, resume and restore operators when something went wrong: every connection
they may have touched is read back (with the hook's retry policy, and a second chance when that
read fails), set again where it is still wrong, and then sorted into three lists: done, still
wrong, and could not be verified (its state could not be read).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fivetran_provider.exceptions import short_error
from fivetran_provider.operators._common import run_each

if TYPE_CHECKING:
    from fivetran_provider.hooks import FivetranHook

#: Rounds of read-then-set per connection before the final verifying read.
SETTLE_ROUNDS = 2
#: Reads of the final verification (the second one is the second chance).
VERIFY_READS = 2


@dataclass
class Settled:
    """Where a group of connections ended up after :func:`settle_paused`.

    :param done: connections read back in the wanted state.
    :param wrong: connections read back in the other state.
    :param unverified: connections whose state could not be read, with the last error.
    :param set_here: connections this step sent a PATCH to that was verified applied.
    """

    done: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    unverified: dict[str, str] = field(default_factory=dict)
    set_here: set[str] = field(default_factory=set)


class SentTracker:
    """Thread-safe set of connections a PATCH was sent to (applied, refused or with unknown outcome)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: set[str] = set()

    def note(self, connection_id: str, _current: Mapping[str, Any]) -> None:
        """Record that a PATCH is about to be sent (an ``apply_change`` ``before_send`` callback).

        :param connection_id: the connection.
        :param _current: its state before the PATCH (unused).
        """
        with self._lock:
            self._sent.add(connection_id)

    def __contains__(self, connection_id: object) -> bool:
        with self._lock:
            return connection_id in self._sent


def _settle_one(hook: FivetranHook, connection_id: str, paused: bool) -> tuple[str, str, bool]:
    """Read one connection, set ``paused`` where it differs, and verify; ``(state, last error, set here)``."""
    last_error = ""
    set_here = False
    for _round in range(SETTLE_ROUNDS):
        try:
            current = hook.get_connection_details(connection_id)
        except Exception as error:
            last_error = short_error(error)
            continue
        if current.get("paused") is paused:
            return "done", "", set_here
        try:
            hook.update_connection(connection_id, paused=paused, current_state=current)
            set_here = True
        except Exception as error:
            last_error = short_error(error)
    for _read in range(VERIFY_READS):
        try:
            current = hook.get_connection_details(connection_id)
        except Exception as error:
            last_error = short_error(error)
            continue
        return ("done" if current.get("paused") is paused else "wrong"), last_error, set_here
    return "unverified", last_error, set_here


def settle_paused(hook: FivetranHook, connection_ids: Sequence[str], paused: bool, *, max_parallel: int) -> Settled:
    """Bring every connection to ``paused`` as far as possible and report where each one ended.

    :param hook: the hook (shared by the worker threads).
    :param connection_ids: the connections to settle.
    :param paused: the wanted state.
    :param max_parallel: worker threads.
    """
    results, crashed, _ = run_each(
        connection_ids,
        lambda cid: _settle_one(hook, cid, paused),
        max_parallel=max_parallel,
        stop_on_error=False,
    )
    settled = Settled()
    for connection_id in connection_ids:
        if connection_id in crashed:
            settled.unverified[connection_id] = short_error(crashed[connection_id])
            continue
        state, last_error, set_here = results[connection_id]
        if set_here:
            settled.set_here.add(connection_id)
        if state == "done":
            settled.done.append(connection_id)
        elif state == "wrong":
            settled.wrong.append(connection_id)
        else:
            settled.unverified[connection_id] = last_error or "no answer"
    return settled


def describe_left(settled: Settled, state: str, owner: str = "") -> str:
    """The sentence naming what is left: connections still in ``state`` and those not verified.

    :param settled: the result of :func:`settle_paused`.
    :param state: ``PAUSED`` or ``RUNNING``, the state that is left behind.
    :param owner: words after the state, e.g. ``" by this task"``.
    """
    parts = []
    if settled.wrong:
        parts.append(f"still {state}{owner}: {', '.join(settled.wrong)}")
    if settled.unverified:
        parts.append(
            f"could not verify (may be {state}): "
            + ", ".join(f"{cid} ({reason})" for cid, reason in settled.unverified.items())
        )
    return "; ".join(parts)

"""Awaiting with a time limit, without ever losing a cancellation.

Before Python 3.12, ``asyncio.wait_for`` returns the result when the awaited work finishes in the
same moment as the caller is cancelled, and the cancellation is gone: a trigger that the
triggerer cancels just as its reading arrives would keep polling until its deadline. The
function here cancels the caller in that case, on every Python.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

_T = TypeVar("_T")


async def wait_at_most(work: Awaitable[_T], seconds: float) -> _T:
    """Await ``work`` for at most ``seconds``; cancel it and raise ``asyncio.TimeoutError`` after that.

    A cancellation of the caller always reaches the caller, whenever it comes, and cancels
    ``work`` first: nothing keeps running after either this returns or raises.

    :param work: a coroutine, task or future.
    :param seconds: the time limit (a negative one counts as zero).
    :return: what ``work`` returned (what it raised is raised).
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=max(0.0, seconds))
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.wait({task})
        raise
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.wait({task})
    raise asyncio.TimeoutError

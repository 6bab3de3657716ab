"""A cancelled wait stops, even when its answer arrives in the same moment.

The triggerer cancels a trigger whose task was cleared or marked by hand. Before Python 3.12,
``asyncio.wait_for`` let such a cancellation go when the awaited reading arrived in the same
step of the event loop, and the trigger kept polling until its deadline. These tests cancel in
exactly that step (no timing luck: the result and the cancellation are set one after the other,
before the loop runs again).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from fivetran_provider.awaiting import wait_at_most
from fivetran_provider.sync_status import SyncWaiter
from fivetran_provider.triggers import _before_deadline


async def _started(coroutine: Any) -> asyncio.Task[Any]:
    task = asyncio.ensure_future(coroutine)
    for _ in range(3):  # let it reach its first await
        await asyncio.sleep(0)
    return task


def _within_a_minute(answer: asyncio.Future[str]) -> Any:
    return wait_at_most(answer, 60)


def _before_a_trigger_deadline(answer: asyncio.Future[str]) -> Any:
    waiter = SyncWaiter("conn_a", baseline=None, poll_interval=1, deadline=time.time() + 60, started_at=time.time())
    return _before_deadline(answer, waiter)


@pytest.mark.parametrize(
    "waiting",
    [_within_a_minute, _before_a_trigger_deadline],
    ids=["wait_at_most", "a trigger's wait for its reading"],
)
def test_a_cancellation_in_the_moment_the_result_arrives_still_cancels(waiting: Any) -> None:
    async def scenario() -> None:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = await _started(waiting(answer))
        answer.set_result("reading")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_the_work_is_cancelled_with_its_caller() -> None:
    async def scenario() -> None:
        work = asyncio.ensure_future(asyncio.sleep(60))
        task = await _started(wait_at_most(work, 60))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert work.cancelled()

    asyncio.run(scenario())


def test_the_result_comes_back_and_a_late_one_times_out_with_the_work_cancelled() -> None:
    async def scenario() -> None:
        assert await wait_at_most(asyncio.sleep(0, result="answer"), 5) == "answer"
        slow = asyncio.ensure_future(asyncio.sleep(60))
        with pytest.raises(asyncio.TimeoutError):
            await wait_at_most(slow, 0.01)
        assert slow.cancelled()
        with pytest.raises(ValueError, match="refused"):
            await wait_at_most(_raises(), 5)

    asyncio.run(scenario())


async def _raises() -> None:
    raise ValueError("refused")

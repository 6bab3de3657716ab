"""The promises hold at the edges: deadlines, ``Retry-After``, paging, numeric headers, transport.

Against the simulator over loopback HTTP; every fault comes from the simulator's own controls.
Waits that the old code held for minutes or for ever run under a generous safety bound (a
thread join, ``asyncio.wait_for``): the bound only stops a broken run from hanging the suite,
it is not a timing assertion.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivetran_provider import budget as budget_module
from fivetran_provider.exceptions import (
    FivetranAnswerTooLargeError,
    FivetranDeadlineError,
    FivetranPagingError,
    FivetranRateLimitError,
    FivetranRedirectError,
    FivetranTransportError,
)
from fivetran_provider.headers import RETRY_AFTER_CEILING, header_int, parse_retry_after
from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook
from fivetran_provider.hooks.core import MAX_PAGES
from fivetran_provider.operators.sync import wait_blocking
from fivetran_provider.sync_status import SyncWaiter, capture_baseline, epoch_to_iso
from fivetran_provider.testing import FivetranSimulator
from fivetran_provider.triggers import FivetranSyncTrigger
from tests.conftest import conn_json

OLD_SUCCESS = "2026-01-01T00:00:00Z"
NO_RETRIES = {"max_retries": 0, "backoff_base": 0.01, "backoff_max": 0.05, "jitter": False}
SAFETY = 30.0  # seconds a broken run may hang before the test gives up on it


@pytest.fixture(autouse=True)
def fresh_budgets() -> None:
    budget_module.forget_budgets()


def use(sim: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json(sim, **extra))


async def aread(call: str, *args: Any, **kwargs: Any) -> Any:
    hook = FivetranAsyncHook()
    try:
        return await getattr(hook, call)(*args, **kwargs)
    finally:
        await hook.aclose()


def run_in_thread(work: Any) -> dict[str, Any]:
    """Run ``work`` in a thread; a run the old code held for minutes fails here instead of hanging."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as error:  # handed to the test
            result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(SAFETY)
    assert not thread.is_alive(), "the wait did not end at its deadline"
    return result


# ------------------------------------------------------------------ a deadline is a deadline


async def first_event(trigger: FivetranSyncTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


@pytest.mark.parametrize("retry_after", ["3600", "5", "inf", "1e308", "Fri, 01 Jan 2999 00:00:00 GMT"])
def test_a_retry_after_never_holds_shared_waits_past_their_deadlines(
    simulator: FivetranSimulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    retry_after: str,
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    hook = FivetranHook()
    ids = ["conn_a", "conn_b", "conn_c"]
    for cid in ids:
        sim.add_connection(cid, group_id="group_a", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(cid, "success", duration=3600)
        hook.start_sync(cid)
    hook.close()
    sim.faults.rate_limit(count=1, retry_after=retry_after, path_prefix="/v1/connections")
    deadline = epoch_to_iso(time.time() + 2)

    async def scenario() -> list[dict[str, Any]]:
        waits = [
            first_event(
                FivetranSyncTrigger(cid, baseline=OLD_SUCCESS, poll_interval=0.2, deadline=deadline, group_id="group_a")
            )
            for cid in ids
        ]
        return await asyncio.wait_for(asyncio.gather(*waits), SAFETY)

    with caplog.at_level(logging.WARNING, logger="fivetran_provider"):
        events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["timeout"] * 3
    holds = [r for r in caplog.records if "Retry-After" in r.getMessage() and "polls are held" in r.getMessage()]
    # One account, one hold, one line; text that is no delay at all is ignored (no hold).
    assert len(holds) == (0 if retry_after in ("inf", "1e308") else 1)
    budget = FivetranHook().settings.budget
    assert budget.blocked_until <= time.time() + 300  # capped at max_retry_after (default 300 s)


def test_a_blocking_wait_does_not_sleep_out_a_retry_after_past_its_deadline(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator
    use(sim, monkeypatch, max_retries=3, max_retry_after=300, backoff_base=0.01, backoff_max=0.05, jitter=False)
    connection = sim.add_connection("conn", succeeded_at=OLD_SUCCESS)
    sim.plan_syncs("conn", "success", duration=3600)
    hook = FivetranHook()
    hook.start_sync("conn")
    sim.faults.rate_limit(count=1, retry_after=250, method="GET")  # within the cap: the old code slept 250 s
    waiter = SyncWaiter(
        "conn",
        baseline=capture_baseline(connection),
        poll_interval=0.2,
        deadline=time.time() + 1.5,
        started_at=time.time(),
    )
    result = run_in_thread(lambda: wait_blocking(hook, waiter, logging.getLogger("test")))
    hook.close()
    assert result["value"]["status"] == "timeout"
    assert sim.faults.pending == []  # the 429 was seen, and its 250 s were not slept


def test_retry_after_counts_only_on_429_and_503(simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    sim.add_connection("conn")
    sim.faults.with_headers({"Retry-After": "3600"}, count=2, method="GET")
    hook = FivetranHook()
    hook.get_connection_details("conn")
    assert hook.settings.budget.blocked_until == 0.0  # a 200 with Retry-After holds nothing
    asyncio.run(aread("aget_connection_details", "conn"))
    assert hook.settings.budget.blocked_until == 0.0
    # A 503 with Retry-After is honoured (within the cap) like a 429.
    sim.faults.server_error(status=503, method="GET")
    sim.faults.with_headers({"Retry-After": "1"}, method="GET")
    retrying = FivetranHook(retry_policy={"max_retries": 1, "max_retry_after": 0.5, "jitter": False})
    with pytest.raises(Exception, match="503"):
        retrying.get_connection_details("conn")  # asked for 1 s, above the 0.5 s cap: fails at once
    assert len(sim.requests_for("GET", "/v1/connections/conn")) == 3
    hook.close()
    retrying.close()


@pytest.mark.parametrize("value", ["inf", "1e308", "NaN", "-inf", "Fri, 01 Jan 2999 00:00:00 GMT", "²", "9" * 5000])
def test_hostile_retry_after_values_are_bounded(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES, max_retry_after=2)
    sim.add_connection("conn")
    sim.faults.rate_limit(count=1, retry_after=value, method="GET")
    hook = FivetranHook()
    with pytest.raises(FivetranRateLimitError) as caught:
        hook.get_connection_details("conn")
    assert caught.value.retry_after is None or caught.value.retry_after <= RETRY_AFTER_CEILING
    assert hook.settings.budget.blocked_until <= time.time() + 2  # the hold is capped at max_retry_after
    hook.close()


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=60), st.from_regex(r"[0-9]{1,400}", fullmatch=True)))
def test_retry_after_parsing_never_raises_and_stays_bounded(value: str) -> None:
    wait = parse_retry_after(value, now=time.time())
    assert wait is None or 0.0 <= wait <= RETRY_AFTER_CEILING


def test_an_http_date_retry_after_counts_from_now() -> None:
    now = time.time()
    later = format_datetime(datetime.fromtimestamp(now + 90, timezone.utc), usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(90.0, abs=1.0)


# ------------------------------------------------------------------ bounded paging


@pytest.mark.parametrize("mode", ["repeat", "endless"])
def test_a_listing_that_does_not_end_raises_a_paging_error(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    sim.add_connections(3, group_id="group_a")
    # A limited fault, so that a client without the bound ends too (with duplicates) instead of hanging.
    sim.faults.broken_cursor(mode, count=MAX_PAGES + 20)
    hook = FivetranHook()
    with pytest.raises(FivetranPagingError, match=r"GET /v1/connections\?limit=1000&group_id=group_a") as caught:
        hook.list_connections(group_id="group_a")
    hook.close()
    sent = len(sim.requests_for("GET", "/v1/connections"))
    assert sent == (2 if mode == "repeat" else MAX_PAGES)
    assert caught.value.pages == sent


@pytest.mark.parametrize("mode", ["repeat", "endless"])
def test_the_async_listing_is_bounded_too(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    sim.add_connections(3, group_id="group_a")
    sim.faults.broken_cursor(mode, count=MAX_PAGES + 20)
    with pytest.raises(FivetranPagingError, match="group_id=group_a"):
        asyncio.run(aread("alist_group_connections", "group_a"))
    assert len(sim.requests_for("GET", "/v1/connections")) == (2 if mode == "repeat" else MAX_PAGES)


def test_shared_waits_of_a_group_with_a_broken_listing_still_end(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    hook = FivetranHook()
    for cid in ("conn_a", "conn_b"):
        sim.add_connection(cid, group_id="group_a", succeeded_at=OLD_SUCCESS)
        sim.plan_syncs(cid, "success", duration=0)
        hook.start_sync(cid)
    hook.close()
    sim.faults.broken_cursor("repeat", count=None)
    deadline = epoch_to_iso(time.time() + 20)

    async def scenario() -> list[dict[str, Any]]:
        waits = [
            first_event(
                FivetranSyncTrigger(
                    cid, baseline=OLD_SUCCESS, poll_interval=0.05, deadline=deadline, group_id="group_a"
                )
            )
            for cid in ("conn_a", "conn_b")
        ]
        return await asyncio.wait_for(asyncio.gather(*waits), SAFETY)

    events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["success", "success"]
    assert len(sim.requests_for("GET", "/v1/connections")) <= 2  # then read one by one


# ------------------------------------------------------------------ robust numeric headers

HOSTILE_NUMBERS = ["²", "³", "9" * 5000, "1e3", "-5", " 12 34", "0x10", "\uff11\uff12", "inf", ""]


@pytest.mark.parametrize("value", [v for v in HOSTILE_NUMBERS if v.isascii() or v in ("²", "³")])
@pytest.mark.parametrize("header", ["X-Rate-Limit-Remaining", "X-Rate-Limit"])
def test_hostile_rate_limit_headers_are_ignored_by_both_clients(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, header: str, value: str
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    sim.add_connection("conn")
    hook = FivetranHook()
    hook.get_connection_details("conn")
    before = (hook.settings.budget.remaining, hook.settings.budget.limit)
    sim.faults.with_headers({header: value}, count=2, method="GET")
    assert hook.get_connection_details("conn")["id"] == "conn"
    assert asyncio.run(aread("aget_connection_details", "conn"))["id"] == "conn"
    after = (hook.settings.budget.remaining, hook.settings.budget.limit)
    if header == "X-Rate-Limit-Remaining":
        assert after == before  # ignored: nothing recorded
    else:
        assert after[1] == before[1]
    hook.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(st.text(max_size=40), st.from_regex(r"[0-9]{10,5000}", fullmatch=True)))
def test_numeric_header_parsing_never_raises(value: str) -> None:
    number = header_int({"X-Rate-Limit-Remaining": value}, "X-Rate-Limit-Remaining")
    assert number is None or (0 <= number < 10**12 and value.strip(" \t").isascii())


# ------------------------------------------------------------------ transport


def test_the_sync_client_bounds_a_server_that_drips_its_status_line(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES, read_timeout=5, call_deadline=1)
    sim.add_connection("conn")
    # One byte every 0.25 s keeps each socket read inside the read timeout; the whole answer
    # (status line and headers first) would take minutes.
    sim.faults.drip_head(0.25, method="GET")
    hook = FivetranHook()
    result = run_in_thread(lambda: hook.get_connection_details("conn"))
    assert isinstance(result.get("error"), FivetranDeadlineError)
    hook.close()


def test_the_async_client_bounds_a_dripped_status_line_too(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES, read_timeout=5, call_deadline=1)
    sim.add_connection("conn")
    sim.faults.drip_head(0.25, method="GET")
    with pytest.raises(FivetranDeadlineError):
        asyncio.run(aread("aget_connection_details", "conn"))


@pytest.mark.parametrize("client", ["sync", "async"])
def test_a_malformed_location_is_a_redirect_error_sent_once(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    sim = simulator
    use(sim, monkeypatch, max_retries=3, backoff_base=0.0, backoff_max=0.0, jitter=False)
    sim.add_connection("conn")
    sim.faults.redirect(count=4, location="http://[::1/v1", method="POST")
    with pytest.raises(FivetranRedirectError, match="without a usable Location"):
        if client == "sync":
            FivetranHook().start_sync("conn", baseline={"id": "conn"})
        else:
            asyncio.run(aread("astart_sync", "conn", baseline={"id": "conn"}))
    assert len(sim.requests_for("POST", "/v1/connections/conn/sync")) == 1


@pytest.mark.parametrize("client", ["sync", "async"])
def test_an_answer_that_inflates_past_the_cap_is_refused(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    sim.add_connection("conn")
    sim.faults.oversized(40, method="GET")  # about 40 KiB of gzip, 40 MiB once inflated
    with pytest.raises(FivetranAnswerTooLargeError, match="32 MiB"):
        if client == "sync":
            FivetranHook().get_connection_details("conn")
        else:
            asyncio.run(aread("aget_connection_details", "conn"))


def test_http_101_is_a_transport_error_in_both_clients_and_a_sync_start_is_verified(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    sim.add_connection("conn", succeeded_at=OLD_SUCCESS)
    sim.faults.informational(101, count=2, method="GET")
    with pytest.raises(FivetranTransportError, match="HTTP 101"):
        FivetranHook().get_connection_details("conn")
    with pytest.raises(FivetranTransportError):  # httpx itself refuses the 101 as a protocol error
        asyncio.run(aread("aget_connection_details", "conn"))
    # Not a refusal: a POST /sync answered 101 (after the simulator applied it) is read back,
    # found started, and not sent again.
    sim.faults.informational(101, count=1, method="POST")
    hook = FivetranHook(retry_policy={"max_retries": 1, "backoff_base": 0, "jitter": False})
    envelope = hook.start_sync("conn")
    assert envelope["message"] == "verified by reading the connection back"
    assert len(sim.requests_for("POST", "/v1/connections/conn/sync")) == 1


def test_both_clients_classify_an_answer_cut_short_alike(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator
    use(sim, monkeypatch, **NO_RETRIES)
    sim.add_connection("conn")
    sim.faults.cut_short(count=2, method="GET")
    with pytest.raises(FivetranTransportError) as sync_error:
        FivetranHook().get_connection_details("conn")
    with pytest.raises(FivetranTransportError) as async_error:
        asyncio.run(aread("aget_connection_details", "conn"))
    assert type(sync_error.value) is type(async_error.value)

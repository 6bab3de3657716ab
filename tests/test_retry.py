"""The retry policy's arithmetic: backoff, jitter, Retry-After parsing and the cap."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from fivetran_provider.retry import FAIL, RETRY, VERIFY, RetryPolicy, parse_retry_after


def test_backoff_doubles_up_to_the_maximum_without_jitter() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0, jitter=False)
    assert [policy.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_spreads_waits_within_the_step() -> None:
    policy = RetryPolicy(backoff_base=2.0, backoff_max=60.0, jitter=True)
    rng = random.Random(7)
    waits = [policy.backoff(3, rng) for _ in range(200)]
    assert all(4.0 <= wait <= 8.0 for wait in waits)
    assert len({round(wait, 3) for wait in waits}) > 50


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retry_after=30.0, jitter=False, backoff_base=1.0)
    assert policy.rate_limit_wait(12.0, attempt=1) == 12.0
    assert policy.rate_limit_wait(31.0, attempt=1) is None
    assert policy.rate_limit_wait(None, attempt=2) == 2.0  # no header: fall back to backoff


@pytest.mark.parametrize(
    ("status", "method", "decision"),
    [
        (429, "GET", RETRY),
        (500, "GET", RETRY),
        (503, "POST", VERIFY),
        (503, "DELETE", VERIFY),
        (500, "PATCH", VERIFY),
        (400, "GET", FAIL),
        (401, "PATCH", FAIL),
        (403, "GET", FAIL),
        (404, "GET", FAIL),
        (409, "POST", FAIL),
    ],
)
def test_status_classification(status: int, method: str, decision: str) -> None:
    assert RetryPolicy().classify_status(status, method=method) == decision


def test_transport_errors_on_patch_need_verification() -> None:
    assert RetryPolicy().classify_transport_error(method="PATCH") == VERIFY
    assert RetryPolicy().classify_transport_error(method="GET") == RETRY


def test_parse_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 3 ") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(90.0)


def test_policy_round_trips_through_a_mapping_of_strings() -> None:
    policy = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_max=9.0, max_retry_after=42.0, jitter=False)
    assert RetryPolicy.from_mapping(policy.to_dict()) == policy
    as_text = {key: str(value).lower() for key, value in policy.to_dict().items()}
    assert RetryPolicy.from_mapping(as_text) == policy


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)

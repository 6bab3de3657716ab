"""The retry policy as a DAG author meets it: the connection's extras, the real default paths
(jitter on with the module's own random source, ``Retry-After`` dates against the real clock)
and the errors that bad settings raise.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from fivetran_provider.exceptions import (
    FivetranConfigurationError,
    FivetranRateLimitError,
    FivetranServerError,
    FivetranValidationError,
)
from fivetran_provider.hooks import FivetranHook, raise_for_response
from fivetran_provider.retry import FAIL, RETRY, VERIFY, RetryPolicy, parse_retry_after
from fivetran_provider.testing import FivetranSimulator


def _hook(monkeypatch: pytest.MonkeyPatch, simulator: FivetranSimulator, **extra: Any) -> FivetranHook:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", simulator.airflow_connection_json(extra=extra))
    return FivetranHook()


# ------------------------------------------------------------------ the real default paths


def test_default_jitter_retries_a_server_error_with_the_module_random_source(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No "jitter" in the extras: the default (on) is used, and the hook passes no random source.
    simulator.add_connection("conn")
    hook = _hook(monkeypatch, simulator, backoff_base=0.01, backoff_max=0.02)
    assert hook.settings.retry_policy.jitter is True
    simulator.faults.server_error(count=2, status=503)
    try:
        assert hook.get_connection_details("conn")["id"] == "conn"
    finally:
        hook.close()
    assert [r.status for r in simulator.requests] == [503, 503, 200]


def test_jittered_backoff_without_a_random_source_stays_within_the_step() -> None:
    policy = RetryPolicy(backoff_base=2.0, backoff_max=60.0)
    waits = [policy.backoff(3) for _ in range(200)]
    assert all(4.0 <= wait <= 8.0 for wait in waits)
    assert len(set(waits)) > 1


def test_retry_after_http_date_is_read_against_the_real_clock() -> None:
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=600), usegmt=True)
    wait = parse_retry_after(later)
    assert wait is not None
    assert 500 < wait <= 600
    earlier = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=600), usegmt=True)
    assert parse_retry_after(earlier) == 0.0


def test_a_429_with_an_http_date_tells_the_author_how_long_fivetran_asked_to_wait() -> None:
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=3600), usegmt=True)
    body = '{"code": "TooManyRequests", "message": "Rate limit exceeded"}'
    with pytest.raises(FivetranRateLimitError) as caught:
        raise_for_response(429, body, {"Retry-After": later}, "GET", "/v1/connections/conn")
    assert caught.value.retry_after is not None
    assert 3500 < caught.value.retry_after <= 3600
    policy = RetryPolicy(max_retry_after=300.0)
    assert policy.rate_limit_wait(caught.value.retry_after, attempt=1) is None


def test_retry_after_edge_values() -> None:
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-5") == 0.0  # a negative delay means "now", never a negative sleep
    assert parse_retry_after("") is None
    now = time.time()
    past = format_datetime(datetime.fromtimestamp(now - 30, timezone.utc), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after(" 2.5 ") == 2.5


# ------------------------------------------------------------------ settings from the connection extras


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("True", True), (" TRUE ", True), ("false", False), ("False", False)],
)
def test_jitter_given_as_text_in_the_extras(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, text: str, expected: bool
) -> None:
    hook = _hook(monkeypatch, simulator, jitter=text)
    assert hook.settings.retry_policy.jitter is expected


def test_every_retry_setting_is_read_from_text_extras(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _hook(
        monkeypatch,
        simulator,
        max_retries="2",
        backoff_base="0.25",
        backoff_max="7.5",
        max_retry_after="42",
        jitter="false",
    )
    assert hook.settings.retry_policy == RetryPolicy(
        max_retries=2, backoff_base=0.25, backoff_max=7.5, max_retry_after=42.0, jitter=False
    )


def test_empty_extras_keep_the_defaults() -> None:
    assert RetryPolicy.from_mapping({"max_retries": "", "jitter": None, "backoff_max": ""}) == RetryPolicy()
    assert RetryPolicy.from_mapping({"unknown": "1"}) == RetryPolicy()
    assert RetryPolicy.from_mapping({"jitter": False}).jitter is False
    assert RetryPolicy.from_mapping({"jitter": True}).jitter is True
    assert RetryPolicy.from_mapping({"max_retries": 0}).max_retries == 0


def test_max_retries_from_the_extras_bounds_the_requests(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator.add_connection("conn")
    hook = _hook(monkeypatch, simulator, max_retries="1", backoff_base=0.01, backoff_max=0.02, jitter="false")
    simulator.faults.server_error(count=5, status=500)
    try:
        with pytest.raises(FivetranServerError):
            hook.get_connection_details("conn")
    finally:
        hook.close()
    assert [r.status for r in simulator.requests] == [500, 500]


# ------------------------------------------------------------------ bad settings


@pytest.mark.parametrize("name", ["backoff_base", "backoff_max", "max_retry_after"])
def test_a_negative_wait_setting_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        RetryPolicy(**{name: -1.0})


def test_zero_is_a_valid_setting_everywhere() -> None:
    policy = RetryPolicy(max_retries=0, backoff_base=0.0, backoff_max=0.0, max_retry_after=0.0)
    assert policy.backoff(1) == 0.0
    assert policy.rate_limit_wait(0.0, attempt=1) == 0.0
    assert policy.rate_limit_wait(0.5, attempt=1) is None


def test_max_retries_error_names_the_value() -> None:
    with pytest.raises(ValueError, match="max_retries must be >= 0, got -2"):
        RetryPolicy(max_retries=-2)


# ------------------------------------------------------------------ what each answer leads to


def test_first_backoff_step_is_the_base_and_doubles_after() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=100.0, jitter=False)
    assert [policy.backoff(n) for n in (0, 1, 2, 3)] == [0.5, 0.5, 1.0, 2.0]


def test_jitter_with_a_seeded_source_is_reproducible_and_uses_it() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=60.0, jitter=True)
    first = [policy.backoff(4, random.Random(3)) for _ in range(3)]
    assert len(set(first)) == 1
    assert first[0] == random.Random(3).uniform(4.0, 8.0)


def test_retry_after_exactly_at_the_cap_is_honoured() -> None:
    policy = RetryPolicy(max_retry_after=30.0)
    assert policy.rate_limit_wait(30.0, attempt=1) == 30.0
    assert policy.rate_limit_wait(30.5, attempt=1) is None


@pytest.mark.parametrize(
    ("status", "method", "decision"),
    [
        (429, "PATCH", RETRY),
        (499, "GET", FAIL),
        (500, "patch", VERIFY),
        (599, "POST", VERIFY),
        (599, "GET", RETRY),
        (502, "PATCH", VERIFY),
        (503, "put", VERIFY),
        (500, "DELETE", VERIFY),
    ],
)
def test_status_edges(status: int, method: str, decision: str) -> None:
    assert RetryPolicy().classify_status(status, method=method) == decision


def test_transport_error_on_a_request_with_a_side_effect_needs_verification() -> None:
    assert RetryPolicy().classify_transport_error(method="patch") == VERIFY
    assert RetryPolicy().classify_transport_error(method="POST") == VERIFY
    assert RetryPolicy().classify_transport_error(method="put") == VERIFY
    assert RetryPolicy().classify_transport_error(method="DELETE") == VERIFY
    assert RetryPolicy().classify_transport_error(method="get") == RETRY


def test_policy_serialises_every_setting_for_the_trigger() -> None:
    policy = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_max=9.0, max_retry_after=42.0, jitter=False)
    assert policy.to_dict() == {
        "max_retries": 3,
        "backoff_base": 0.5,
        "backoff_max": 9.0,
        "max_retry_after": 42.0,
        "jitter": False,
    }


def test_the_documented_defaults() -> None:
    assert RetryPolicy().to_dict() == {
        "max_retries": 5,
        "backoff_base": 1.0,
        "backoff_max": 60.0,
        "max_retry_after": 300.0,
        "jitter": True,
    }


def test_a_policy_is_a_fixed_value() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_retries = 9  # type: ignore[misc]
    assert len({RetryPolicy(), RetryPolicy(), RetryPolicy(max_retries=1)}) == 2


@pytest.mark.parametrize("text", ["yes", "no", "u", "zzz", "1", "on"])
def test_jitter_takes_only_true_or_false(text: str) -> None:
    with pytest.raises(FivetranValidationError, match="'jitter'"):
        RetryPolicy.from_mapping({"jitter": text})


@pytest.mark.parametrize(
    ("extra", "value"),
    [
        ("backoff_max", "nan"),
        ("backoff_max", "inf"),
        ("backoff_base", "-1"),
        ("max_retry_after", "1e300"),
        ("max_retries", "1.5"),
        ("max_retries", "-1"),
        ("max_retries", "1000"),
        ("jitter", "yes"),
        ("read_timeout", "1e300"),
        ("connect_timeout", "nan"),
        ("call_deadline", "0"),
    ],
)
def test_a_bad_extra_is_refused_naming_it_before_any_request(
    simulator: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, extra: str, value: str
) -> None:
    hook = _hook(monkeypatch, simulator, **{extra: value})
    with pytest.raises(FivetranConfigurationError, match=extra):
        hook.get_connection_details("any")
    assert simulator.requests == []


def test_the_first_jittered_wait_is_at_least_half_the_base() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=60.0, jitter=True)
    waits = [policy.backoff(1) for _ in range(200)]
    assert all(0.5 <= wait <= 1.0 for wait in waits)


def test_a_negative_retry_after_never_becomes_a_negative_sleep() -> None:
    assert RetryPolicy().rate_limit_wait(-3.0, attempt=1) == 0.0


def test_arguments_may_be_given_by_name() -> None:
    assert parse_retry_after(value="7") == 7.0
    assert RetryPolicy().classify_status(status=503, method="GET") == RETRY
    assert RetryPolicy().rate_limit_wait(retry_after=None, attempt=1) is not None
    with pytest.raises(TypeError):
        RetryPolicy().classify_transport_error("PATCH")  # type: ignore[misc]
    with pytest.raises(TypeError):
        RetryPolicy().classify_status(500, "PATCH")  # type: ignore[misc]

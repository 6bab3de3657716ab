"""How one HTTP answer becomes what a DAG author sees, and what is refused before anything is sent.

These are the hook's shared pure steps (``fivetran_provider.hooks.core``), called with the status,
body and headers exactly as they come off the wire; the synchronous hook and the trigger's client
both go through them.
"""

from __future__ import annotations

from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from fivetran_provider.exceptions import (
    FivetranBadRequestError,
    FivetranRateLimitError,
    FivetranRedirectError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
    FivetranValidationError,
)
from fivetran_provider.hooks.core import encode_body, envelope_data, raise_for_response

ENVELOPE = '{"code": "Success", "data": {"id": "conn"}}'


def answer(status: int, text: str = ENVELOPE, **headers: str) -> Any:
    return raise_for_response(status, text, CaseInsensitiveDict(headers), "PATCH", "/v1/connections/conn")


@pytest.mark.parametrize("status", [200, 299])
def test_every_2xx_with_an_envelope_is_a_success(status: int) -> None:
    assert answer(status) == {"code": "Success", "data": {"id": "conn"}}


@pytest.mark.parametrize("status", [300, 307, 399])
def test_every_3xx_is_a_refused_redirect_never_a_success(status: int) -> None:
    with pytest.raises(FivetranRedirectError) as caught:
        answer(status, Location="https://elsewhere.example/v1/connections/conn")
    assert caught.value.status == status
    assert caught.value.location_host == "elsewhere.example"
    assert "redirect to host 'elsewhere.example' refused" in str(caught.value)


def test_a_redirect_to_an_unreadable_location_is_still_refused() -> None:
    with pytest.raises(FivetranRedirectError) as caught:
        answer(302, Location="http://[::1")
    assert caught.value.location_host is None
    assert "redirect without a usable Location refused" in str(caught.value)


def test_a_status_below_200_is_an_error_not_a_success() -> None:
    # Not a refusal either: nothing says whether the request was applied, so it is verified.
    with pytest.raises(FivetranTransportError, match="informational answer HTTP 199"):
        answer(199)


def test_an_error_message_that_is_not_text_is_not_shown_as_one() -> None:
    with pytest.raises(FivetranBadRequestError) as caught:
        answer(400, '{"code": "InvalidInput", "message": 42}')
    assert caught.value.message == "no message"
    assert caught.value.code == "InvalidInput"
    with pytest.raises(FivetranBadRequestError) as caught:
        answer(400, '{"code": 7, "message": "bad"}')
    assert (caught.value.code, caught.value.message) == (None, "bad")


def test_a_rate_limit_answer_keeps_its_code_and_retry_after() -> None:
    with pytest.raises(FivetranRateLimitError) as caught:
        answer(429, '{"code": "TooManyRequests", "message": "slow down"}', **{"Retry-After": "7"})
    assert (caught.value.code, caught.value.message, caught.value.retry_after) == ("TooManyRequests", "slow down", 7.0)
    with pytest.raises(FivetranRateLimitError) as caught:
        answer(429, '{"code": 429, "message": "slow down"}')
    assert caught.value.code is None


def test_a_success_without_data_names_the_status_and_code() -> None:
    with pytest.raises(FivetranUnexpectedResponseError) as caught:
        envelope_data({"code": "Success"}, "PATCH", "/v1/connections/conn")
    assert (caught.value.status, caught.value.code) == (200, "Success")
    assert "response has no 'data' object" in str(caught.value)
    with pytest.raises(FivetranUnexpectedResponseError) as caught:
        envelope_data({"code": 1, "data": []}, "PATCH", "/v1/connections/conn")
    assert caught.value.code is None


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"ratio": float("nan")}, "ValueError"),
        ({"ratio": float("inf")}, "ValueError"),
        ({"tables": {"a", "b"}}, "TypeError"),
        ({"deep": nested(100_000)}, "RecursionError"),
    ],
)
def test_a_body_that_is_not_strict_json_is_refused_before_sending(body: Any, why: str) -> None:
    with pytest.raises(FivetranValidationError) as caught:
        encode_body(body)
    assert str(caught.value) == (
        f"Invalid value for 'body': '<a value that is not strict JSON: {why}>'. "
        "Allowed: JSON objects, arrays, strings, finite numbers, booleans and null."
    )


def test_a_strict_json_body_is_sent_as_json_and_no_body_as_none() -> None:
    assert encode_body({"paused": True, "n": 1.5}) == '{"paused": true, "n": 1.5}'
    assert encode_body(None) is None

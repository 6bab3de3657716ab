"""FivetranHook against the simulator over real HTTP on loopback: calls, errors, retries, secrets."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from types import SimpleNamespace
from typing import Any

import pytest

from fivetran_provider import __version__, _compat
from fivetran_provider.exceptions import (
    FivetranAuthError,
    FivetranBadRequestError,
    FivetranConfigurationError,
    FivetranConflictError,
    FivetranNotFoundError,
    FivetranRateLimitError,
    FivetranServerError,
    FivetranTransportError,
    FivetranUnexpectedResponseError,
)
from fivetran_provider.hooks import FivetranAsyncHook, FivetranHook, async_pool, resolve_base_url
from fivetran_provider.hooks import async_hook as async_hook_module
from fivetran_provider.hooks import fivetran_hook as fivetran_hook_module
from fivetran_provider.links import connection_dashboard_url
from fivetran_provider.testing import FivetranSimulator
from tests.conftest import FAST_RETRIES


def _use(monkeypatch: pytest.MonkeyPatch, simulator: FivetranSimulator, **extra: Any) -> FivetranHook:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", simulator.airflow_connection_json(extra=extra))
    return FivetranHook()


# ------------------------------------------------------------------------------------ basics


def test_requests_carry_auth_versioned_accept_and_user_agent(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    fivetran_conn.add_connection("conn")
    hook.get_connection_details("conn")
    hook.update_connection("conn", paused=True)
    for recorded in fivetran_conn.requests:
        assert recorded.headers["Accept"] == "application/json;version=2"
        assert recorded.headers["Authorization"] == "<redacted>"
        assert recorded.headers["User-Agent"].startswith(f"airflow-provider-fivetran-connections/{__version__}")
    patch = fivetran_conn.requests_for("PATCH")[0]
    assert patch.headers["Content-Type"] == "application/json"
    assert all(r.status == 200 for r in fivetran_conn.requests)


def test_one_session_is_reused_across_calls(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    hook.get_connection_details("conn")
    first = hook.session
    hook.update_connection("conn", paused=True)
    hook.get_connection_details("conn")
    assert hook.session is first
    assert hook.get_conn() is first


def test_update_returns_the_connection_and_changes_it(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn", sync_frequency=360)
    data = hook.update_connection("conn", paused="true", sync_frequency="1440", daily_sync_time="04:00")
    assert data["id"] == "conn"
    assert data["paused"] is True
    assert data["sync_frequency"] == 1440
    assert data["daily_sync_time"] == "04:00"
    assert fivetran_conn.connection("conn")["status"]["sync_state"] == "paused"


def test_config_is_merged_and_auth_is_written_but_never_read(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    fivetran_conn.add_connection("conn", config={"host": "db.example.com", "port": 5432})
    data = hook.update_connection(
        "conn", config={"port": 6543, "password": "pa55-word-xyz"}, auth={"client_secret": "cs-123456"}
    )
    assert data["config"]["host"] == "db.example.com"
    assert data["config"]["port"] == 6543
    assert data["config"]["password"] == "******"
    assert "auth" not in data
    assert fivetran_conn.stored_auth("conn") == {"client_secret": "cs-123456"}


def test_get_connection_details(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn", schema="pg_prod", paused=True)
    data = hook.get_connection_details("conn")
    assert (data["schema"], data["paused"]) == ("pg_prod", True)
    assert fivetran_conn.requests[0].path == "/v1/connections/conn"


def test_list_connections_follows_cursor_and_filters(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_group("grp_a")
    fivetran_conn.add_group("grp_b")
    fivetran_conn.add_connections(7, group_id="grp_a")
    fivetran_conn.add_connections(3, group_id="grp_b")
    everything = hook.list_connections(page_size=3)
    assert len(everything) == 10
    assert len({item["id"] for item in everything}) == 10
    assert len(fivetran_conn.requests_for("GET", "/v1/connections")) == 4
    only_a = hook.list_connections(group_id="grp_a")
    assert len(only_a) == 7
    assert {item["group_id"] for item in only_a} == {"grp_a"}
    one = everything[0]
    assert [c["id"] for c in hook.list_connections(schema=one["schema"])] == [one["id"]]


def test_start_sync_posts_to_the_documented_sync_path(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    answer = hook.start_sync("conn", force="true")
    assert answer["code"] == "Success"
    (post,) = fivetran_conn.requests_for("POST")
    assert post.path == "/v1/connections/conn/sync"
    assert post.body == {"force": True}


def test_resync_with_and_without_scope(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    hook.resync("conn")
    hook.resync("conn", scope='{"public": ["orders", "customers"]}')
    bodies = [r.body for r in fivetran_conn.requests_for("POST")]
    assert bodies == [{}, {"scope": {"public": ["orders", "customers"]}}]
    assert all(r.path == "/v1/connections/conn/resync" for r in fivetran_conn.requests_for("POST"))


@pytest.mark.parametrize("scope", [{}, {"public": []}, {"public": "orders"}, "[]", {"": ["t"]}])
def test_bad_resync_scope_is_refused_before_any_request(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, scope: Any
) -> None:
    from fivetran_provider.exceptions import FivetranValidationError

    with pytest.raises(FivetranValidationError, match="non-empty"):
        hook.resync("conn", scope=scope)
    assert fivetran_conn.requests == []


def test_only_current_connection_paths_are_used(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    hook.get_connection_details("conn")
    hook.update_connection("conn", paused=True)
    hook.start_sync("conn")
    hook.resync("conn")
    hook.list_connections()
    paths = [r.path for r in fivetran_conn.requests]
    assert all(p.startswith("/v1/connections") for p in paths)
    assert not any(p.endswith("/force") for p in paths)


def test_test_connection_reports_success_and_bad_credentials(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message = FivetranHook().test_connection()
    assert ok is True
    assert "Connected to Fivetran account" in message
    assert fivetran_conn.requests[-1].path == "/v1/account/info"
    bad = json.loads(fivetran_conn.airflow_connection_json())
    bad["password"] = "wrong-secret-value"
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", json.dumps(bad))
    ok, message = FivetranHook().test_connection()
    assert ok is False
    assert "401" in message and "AuthFailed" in message
    assert "wrong-secret-value" not in message


def test_dashboard_url() -> None:
    assert (
        connection_dashboard_url("mellow_quartz") == "https://fivetran.com/dashboard/connections/mellow_quartz/status"
    )


# ------------------------------------------------------------------------------------ errors


def test_unknown_connection_raises_not_found_with_code(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    with pytest.raises(FivetranNotFoundError) as caught:
        hook.get_connection_details("missing_one")
    assert caught.value.status == 404
    assert caught.value.code is not None and caught.value.code.startswith("NotFound")
    assert "missing_one" in caught.value.message
    assert len(fivetran_conn.requests) == 1  # 4xx never retries


def test_wrong_credentials_raise_auth_error_without_retry(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = json.loads(fivetran_conn.airflow_connection_json(extra=FAST_RETRIES))
    bad["password"] = "not-the-secret"
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", json.dumps(bad))
    with pytest.raises(FivetranAuthError) as caught:
        FivetranHook().get_connection_details("conn")
    assert (caught.value.status, caught.value.code) == (401, "AuthFailed")
    assert len(fivetran_conn.requests) == 1


def test_api_validation_error_is_typed_and_not_retried(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    # The client refuses an empty scope itself; a scope on an unknown connection reaches the API.
    with pytest.raises(FivetranNotFoundError):
        hook.resync("nope", scope={"public": ["orders"]})
    fivetran_conn.faults.server_error(count=1, status=400, code="InvalidInput", message="Invalid request")
    with pytest.raises(FivetranBadRequestError) as caught:
        hook.get_connection_details("conn")
    assert caught.value.code == "InvalidInput"
    assert len([r for r in fivetran_conn.requests_for("GET") if r.path.endswith("/conn")]) == 1


def test_conflict_is_typed(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.resync_conflict(count=1)
    with pytest.raises(FivetranConflictError) as caught:
        hook.resync("conn")
    assert caught.value.status == 409
    assert len(fivetran_conn.requests_for("POST")) == 1


def test_success_without_data_is_an_unexpected_response(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    # /v1/connections/{id}/sync answers without 'data'; reading it as a connection must fail clearly.
    fivetran_conn.add_connection("conn")
    from fivetran_provider.hooks import envelope_data

    envelope = hook.request("POST", "/v1/connections/conn/sync", body={})
    with pytest.raises(FivetranUnexpectedResponseError, match="no 'data' object"):
        envelope_data(envelope, "POST", "/v1/connections/conn/sync")


# ------------------------------------------------------------------------------------ retries


def test_429_waits_for_retry_after_then_succeeds(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.rate_limit(count=1, retry_after=1)
    started = time.monotonic()
    data = hook.get_connection_details("conn")
    waited = time.monotonic() - started
    assert data["id"] == "conn"
    assert [r.status for r in fivetran_conn.requests] == [429, 200]
    assert waited >= 0.95  # it honoured Retry-After rather than its own (much shorter) backoff


def test_429_beyond_the_cap_fails_fast_saying_how_long(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fivetran_conn.add_connection("conn")
    hook = _use(monkeypatch, fivetran_conn, max_retry_after=5, **FAST_RETRIES)
    fivetran_conn.faults.rate_limit(count=1, retry_after=3600)
    with pytest.raises(FivetranRateLimitError) as caught:
        hook.get_connection_details("conn")
    assert len(fivetran_conn.requests) == 1  # no retry: it did not wait at all
    assert caught.value.retry_after == 3600
    assert "3600" in str(caught.value)
    assert len(fivetran_conn.requests) == 1


def test_429_retries_are_bounded(fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    fivetran_conn.add_connection("conn")
    hook = _use(monkeypatch, fivetran_conn, max_retries=2, max_retry_after=5, **FAST_RETRIES)
    fivetran_conn.faults.rate_limit(count=5, retry_after=0)
    with pytest.raises(FivetranRateLimitError):
        hook.get_connection_details("conn")
    assert [r.status for r in fivetran_conn.requests] == [429, 429, 429]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_retry_with_backoff(hook: FivetranHook, fivetran_conn: FivetranSimulator, status: int) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.server_error(count=2, status=status, body="html" if status == 502 else "json")
    assert hook.get_connection_details("conn")["id"] == "conn"
    assert [r.status for r in fivetran_conn.requests] == [status, status, 200]


def test_server_errors_give_up_after_max_retries(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fivetran_conn.add_connection("conn")
    hook = _use(monkeypatch, fivetran_conn, max_retries=1, **FAST_RETRIES)
    fivetran_conn.faults.server_error(count=5, status=503)
    with pytest.raises(FivetranServerError) as caught:
        hook.get_connection_details("conn")
    assert caught.value.status == 503
    assert len(fivetran_conn.requests) == 2


def test_non_json_error_body_still_raises_typed_error(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fivetran_conn.add_connection("conn")
    hook = _use(monkeypatch, fivetran_conn, max_retries=0, **FAST_RETRIES)
    fivetran_conn.faults.server_error(count=1, status=502, body="html")
    with pytest.raises(FivetranServerError, match="non-JSON error body"):
        hook.get_connection_details("conn")


def test_dropped_connection_is_retried(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.drop_connection(count=1)
    assert hook.get_connection_details("conn")["id"] == "conn"
    assert len(fivetran_conn.requests_for("GET")) == 2


def test_read_timeout_is_retried_then_reported(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fivetran_conn.add_connection("conn")
    hook = _use(monkeypatch, fivetran_conn, read_timeout=0.2, max_retries=1, **FAST_RETRIES)
    fivetran_conn.faults.latency(1.0, count=1)
    assert hook.get_connection_details("conn")["id"] == "conn"  # second attempt is fast
    fivetran_conn.faults.latency(1.0, count=2)
    with pytest.raises(FivetranTransportError, match="No answer from Fivetran for GET /v1/connections/conn"):
        hook.get_connection_details("conn")


def test_unreachable_host_raises_transport_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with FivetranSimulator() as sim:
        conn_json = sim.airflow_connection_json(extra={**FAST_RETRIES, "max_retries": 1})
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", conn_json)  # the simulator is gone now
    with pytest.raises(FivetranTransportError):
        FivetranHook().get_connection_details("conn")


def test_patch_that_applied_then_failed_is_verified_not_resent(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.apply_then_fail(count=1, status=500)
    data = hook.update_connection("conn", paused=True)
    assert data["paused"] is True
    assert [(r.method, r.status) for r in fivetran_conn.requests] == [("PATCH", 500), ("GET", 200)]


def test_patch_timeout_after_applying_is_verified_not_resent(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fivetran_conn.add_connection("conn")
    hook = _use(monkeypatch, fivetran_conn, read_timeout=0.3, **FAST_RETRIES)
    fivetran_conn.faults.apply_then_fail(count=1, status=500, delay=1.0)
    data = hook.update_connection("conn", paused=True, sync_frequency=60)
    assert (data["paused"], data["sync_frequency"]) == (True, 60)
    assert [r.method for r in fivetran_conn.requests_for("PATCH")] == ["PATCH"]


def test_patch_that_failed_before_applying_is_sent_again(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.server_error(count=1, status=500, method="PATCH")
    data = hook.update_connection("conn", paused=True)
    assert data["paused"] is True
    assert [(r.method, r.status) for r in fivetran_conn.requests] == [("PATCH", 500), ("GET", 200), ("PATCH", 200)]


def test_historical_sync_is_not_restarted_by_a_retry(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    fivetran_conn.default_sync_duration = 30.0
    fivetran_conn.faults.apply_then_fail(count=1, status=500)
    hook.update_connection("conn", is_historical_sync=True)
    # The baseline read comes first: it tells a historical sync that started (and maybe ended) apart.
    assert [r.method for r in fivetran_conn.requests] == ["GET", "PATCH", "GET"]
    assert fivetran_conn.connection("conn")["status"]["is_historical_sync"] is True


def test_write_only_fields_are_resent_after_an_unknown_outcome(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    # auth cannot be read back, so a GET cannot prove it was stored; re-sending it is harmless.
    fivetran_conn.add_connection("conn")
    fivetran_conn.faults.apply_then_fail(count=1, status=500)
    hook.update_connection("conn", paused=True, auth={"refresh_token": "tok-98765"})
    patches = fivetran_conn.requests_for("PATCH")
    assert len(patches) == 2
    assert patches[1].body == {"auth": {"refresh_token": "tok-98765"}, "run_setup_tests": False}
    assert fivetran_conn.stored_auth("conn") == {"refresh_token": "tok-98765"}


# ------------------------------------------------------------------------------------ configuration


def test_retry_settings_come_from_connection_extras(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _use(monkeypatch, fivetran_conn, max_retries="2", backoff_base="0.5", max_retry_after="7", read_timeout="75")
    policy = hook.settings.retry_policy
    assert (policy.max_retries, policy.backoff_base, policy.max_retry_after) == (2, 0.5, 7.0)
    assert hook.settings.read_timeout == 75.0
    overridden = FivetranHook(retry_policy={"max_retries": 0}, read_timeout=120)
    assert overridden.settings.retry_policy.max_retries == 0
    assert overridden.settings.retry_policy.max_retry_after == 7.0
    assert overridden.settings.read_timeout == 120.0


def test_default_timeouts_outlast_fivetrans_60_second_limit(hook: FivetranHook) -> None:
    assert hook.settings.read_timeout > 60
    assert hook.settings.connect_timeout > 0


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://api.fivetran.com"),
        ("", None, "https://api.fivetran.com"),
        ("api.fivetran.com", None, "https://api.fivetran.com"),
        ("https://api.fivetran.com/v1/", None, "https://api.fivetran.com"),
        ("http://127.0.0.1:8123", None, "http://127.0.0.1:8123"),
        ("127.0.0.1", 8123, "https://127.0.0.1:8123"),
        ("http://localhost", 9000, "http://localhost:9000"),
        ("http://[::1]:7000", None, "http://[::1]:7000"),
    ],
)
def test_base_url_resolution(host: str | None, port: int | None, expected: str) -> None:
    assert resolve_base_url(host, port) == expected


@pytest.mark.parametrize("host", ["http://api.fivetran.com", "http://10.1.2.3:8080", "ftp://api.fivetran.com"])
def test_plain_http_to_a_remote_host_is_refused(host: str) -> None:
    with pytest.raises(FivetranConfigurationError):
        resolve_base_url(host)


def test_missing_credentials_are_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", json.dumps({"conn_type": "fivetran", "login": "key"}))
    with pytest.raises(FivetranConfigurationError, match="API secret as password"):
        FivetranHook().get_connection_details("conn")


# ------------------------------------------------------------------------------------ secrets


def test_api_secret_never_reaches_logs_errors_or_reprs(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fivetran_conn.add_connection("conn")
    secret = fivetran_conn.api_secret
    hook = _use(monkeypatch, fivetran_conn, max_retries=1, **FAST_RETRIES)
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    hook.update_connection("conn", paused=True)
    fivetran_conn.faults.server_error(count=3, status=500)
    fivetran_conn.faults.drop_connection(count=1)
    for call in (lambda: hook.get_connection_details("conn"), lambda: hook.get_connection_details("nope")):
        try:
            call()
        except Exception as error:
            errors.append(f"{error!s} {error!r}")
    assert errors
    encoded = base64.b64encode(f"{fivetran_conn.api_key}:{secret}".encode()).decode()
    haystack = "\n".join([caplog.text, *errors, repr(hook), repr(hook.settings), str(vars(hook))])
    assert secret not in haystack
    assert encoded not in haystack


# ------------------------------------------------------------------------------------ async hook


def test_async_settings_equal_the_sync_ones_and_are_read_with_the_async_api(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _use(monkeypatch, fivetran_conn, max_retries="2", read_timeout="75", connect_timeout="4")
    Connection = type(_compat.BaseHook.get_connection("fivetran_default"))
    if not hasattr(Connection, "aextra_dejson"):
        pytest.skip("before Airflow 3.3 connections have no async extras: the hook reads them in a worker thread")
    expected = hook.settings
    assert (expected.read_timeout, expected.connect_timeout, expected.retry_policy.max_retries) == (75.0, 4.0, 2)

    def blocking(*args: Any) -> Any:
        raise AssertionError("the synchronous API was used on the event loop")

    # From here on, only the async variants work: the sync extras property and masker fail.
    monkeypatch.setattr(Connection, "extra_dejson", property(blocking))
    monkeypatch.setattr(_compat, "mask_secret", blocking)
    monkeypatch.setattr(fivetran_hook_module, "mask_secret", blocking)
    masked: list[Any] = []
    monkeypatch.setattr(async_hook_module, "amask_secret", masked_too(masked, _compat.amask_secret))
    async_hook = FivetranAsyncHook(retry_policy={"max_retries": 2})
    assert asyncio.run(async_hook.asettings()) == expected
    assert masked == [fivetran_conn.api_secret]
    assert _compat.redact(f"x {fivetran_conn.api_secret} y") == "x *** y"


def masked_too(record: list[Any], amask: Any) -> Any:
    """Wrap ``amask_secret`` so the values it masks are recorded."""

    async def wrapper(value: Any, name: str | None = None) -> None:
        record.append(value)
        await amask(value, name)

    return wrapper


def test_async_settings_refuse_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FIVETRAN_DEFAULT", json.dumps({"conn_type": "fivetran", "login": "key"}))
    with pytest.raises(FivetranConfigurationError, match="API secret as password"):
        asyncio.run(FivetranAsyncHook().asettings())


def test_extras_are_read_asynchronously_where_the_connection_allows_it() -> None:
    class AsyncConnection:
        extra_dejson = property(lambda self: pytest.fail("extra_dejson read although aextra_dejson exists"))

        async def aextra_dejson(self) -> dict[str, Any]:
            return {"read_timeout": 5}

    assert asyncio.run(_compat.aextra_dejson(AsyncConnection())) == {"read_timeout": 5}
    # A connection of an Airflow without aextra_dejson: its property is read (in a worker thread).
    assert asyncio.run(_compat.aextra_dejson(SimpleNamespace(extra_dejson={"max_retries": 1}))) == {"max_retries": 1}
    assert asyncio.run(_compat.aextra_dejson(SimpleNamespace(extra_dejson=None))) == {}


def test_async_hooks_of_one_loop_share_one_pool_until_the_last_one_closes(
    fivetran_conn: FivetranSimulator,
) -> None:
    fivetran_conn.add_connection("conn")

    async def scenario() -> None:
        same = [FivetranAsyncHook() for _ in range(3)]
        slower = FivetranAsyncHook(read_timeout=30)  # other timeouts: another pool
        alone = FivetranAsyncHook(share_clients=False)  # its own clients, outside the registry
        for hook in [*same, slower, alone]:
            assert (await hook.aget_connection_details("conn"))["id"] == "conn"
        pools = async_pool.shared_pools
        assert len(pools) == 2
        shared = next(pool for pool in pools.values() if pool.users == 3)
        assert [await hook.aclients() for hook in same] == [shared] * 3
        assert await slower.aclients() is not shared and await alone.aclients() not in pools.values()
        assert len(shared.clients) == 1  # one request at a time needs one client

        own = await alone.aclients()
        await alone.aclose()
        assert own.is_closed and len(pools) == 2
        await same[0].aclose()
        await same[0].aclose()  # closing twice gives back one share only
        await same[1].aclose()
        assert shared.users == 1 and not shared.is_closed
        assert (await same[2].aget_connection_details("conn"))["id"] == "conn"
        await same[2].aclose()
        assert shared.is_closed and shared not in pools.values()
        await slower.aclose()
        assert pools == {}

        # A closed hook can be used again: it borrows anew.
        assert (await same[0].aget_connection_details("conn"))["id"] == "conn"
        [again] = pools.values()
        assert again is not shared and again.users == 1
        await same[0].aclose()

    asyncio.run(scenario())
    assert async_pool.shared_pools == {}


def test_the_pool_caps_requests_in_flight_and_queues_the_rest(
    fivetran_conn: FivetranSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fivetran_conn.add_connection("conn")
    monkeypatch.setattr(async_pool, "MAX_CONCURRENT_REQUESTS", 3)
    fivetran_conn.faults.latency(0.3, count=8, method="GET")

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        hook = FivetranAsyncHook()
        try:
            answers = await asyncio.gather(*(hook.aget_connection_details("conn") for _ in range(8)))
            return answers, len((await hook.aclients()).clients)
        finally:
            await hook.aclose()

    started = time.monotonic()
    answers, clients = asyncio.run(scenario())
    assert [answer["id"] for answer in answers] == ["conn"] * 8
    assert clients == 3
    assert time.monotonic() - started >= 0.85  # three rounds of at most three requests
    assert async_pool.shared_pools == {}


def test_pools_of_event_loops_that_ended_without_aclose_are_forgotten(fivetran_conn: FivetranSimulator) -> None:
    fivetran_conn.add_connection("conn")
    leaked = FivetranAsyncHook()
    asyncio.run(leaked.aget_connection_details("conn"))  # and never closed
    assert len(async_pool.shared_pools) == 1

    async def next_loop() -> None:
        hook = FivetranAsyncHook()
        await hook.aget_connection_details("conn")
        [(key, pool)] = async_pool.shared_pools.items()
        assert key[0] is asyncio.get_running_loop() and pool.users == 1
        await hook.aclose()

    asyncio.run(next_loop())
    assert async_pool.shared_pools == {}

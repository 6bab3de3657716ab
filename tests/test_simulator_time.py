"""One clock for everything time-based in the simulator, and schedules as Fivetran runs them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator, SimulatedClock

START = "2026-03-02T00:00:00Z"  # a Monday, midnight UTC


@pytest.fixture
def sim() -> Iterator[FivetranSimulator]:
    with FivetranSimulator(simulated_time=True, start_time=START) as simulator:
        yield simulator


def get(http: requests.Session, sim: FivetranSimulator, path: str) -> requests.Response:
    return http.get(f"{sim.url}{path}", timeout=10)


def patch(http: requests.Session, sim: FivetranSimulator, path: str, body: Any) -> requests.Response:
    return http.patch(f"{sim.url}{path}", json=body, timeout=10)


# ---------------------------------------------------------------------------- rate limit on the simulated clock


def test_rate_limit_window_moves_with_simulated_time(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.rate_limit_per_hour = 2
    sim.enforce_rate_limit = True
    assert [get(http, sim, "/v1/groups").status_code for _ in range(2)] == [200, 200]
    refused = get(http, sim, "/v1/groups")
    assert refused.status_code == 429
    assert 3599 <= int(refused.headers["Retry-After"]) <= 3601  # simulated seconds: the clock is frozen

    sim.advance(hours=1, seconds=1)

    assert get(http, sim, "/v1/groups").status_code == 200


def test_retry_after_is_given_in_real_seconds_when_simulated_time_runs_faster() -> None:
    with FivetranSimulator(simulated_time=True, speed=600) as fast:
        fast.rate_limit_per_hour = 1
        fast.enforce_rate_limit = True
        auth = (fast.api_key, fast.api_secret)
        assert requests.get(f"{fast.url}/v1/groups", auth=auth, timeout=10).status_code == 200
        refused = requests.get(f"{fast.url}/v1/groups", auth=auth, timeout=10)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 7  # an hour of simulated time is 6 real seconds


def test_real_seconds_of_a_simulated_span() -> None:
    assert SimulatedClock(0.0, speed=600).real_seconds(3600) == 6.0
    assert SimulatedClock(0.0).real_seconds(3600) == 3600


def test_requests_without_credentials_get_401_and_spend_no_budget(
    sim: FivetranSimulator, http: requests.Session
) -> None:
    sim.rate_limit_per_hour = 1
    sim.enforce_rate_limit = True
    for _ in range(3):
        assert requests.get(f"{sim.url}/v1/groups", timeout=10).status_code == 401
        wrong = requests.get(f"{sim.url}/v1/groups", auth=("nobody", "nothing"), timeout=10)
        assert wrong.status_code == 401
    assert get(http, sim, "/v1/groups").status_code == 200
    assert get(http, sim, "/v1/groups").status_code == 429


# ---------------------------------------------------------------------------- seeded timestamps


def test_demo_account_follows_the_start_time_and_never_goes_backwards() -> None:
    with FivetranSimulator(seed_demo=True, start_time=START) as demo:
        before = demo.connection("mellow_quartz")
        assert before["succeeded_at"] == "2026-03-01T23:30:00.000000Z"  # half an hour before the start
        assert before["created_at"] < before["succeeded_at"]
        demo.advance(hours=1)
        after = demo.connection("mellow_quartz")
        assert after["succeeded_at"] == "2026-03-02T00:30:00.000000Z"  # its hourly slot, from the last sync


def test_seeded_times_after_the_clock_are_refused(sim: FivetranSimulator) -> None:
    with pytest.raises(ValueError, match=r"succeeded_at 2026-03-05T00:00:00.000000Z is later than the simulator"):
        sim.add_connection("conn", succeeded_at="2026-03-05T00:00:00Z")
    with pytest.raises(KeyError):
        sim.connection("conn")


# ---------------------------------------------------------------------------- schedules


def test_a_month_of_one_minute_syncs_is_computed_in_closed_form(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=1, succeeded_at="2026-03-01T23:59:00Z")
    sim.advance(days=30)
    conn = sim.connection("conn")
    assert conn["succeeded_at"] == "2026-04-01T00:00:00.000000Z"  # the slot at the current time
    assert conn["status"]["update_state"] == "on_schedule"
    history = sim.sync_history("conn")
    assert len(history) <= 3  # the skipped runs are summed up, not stored one by one
    assert [run["started_at"] for run in history] == sorted(run["started_at"] for run in history)


def test_a_planned_failure_still_happens_after_a_long_jump(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=5)
    sim.plan_syncs("conn", "failure")
    sim.advance(days=2)
    conn = sim.connection("conn")
    assert conn["failed_at"] == "2026-03-02T00:05:00.000000Z"  # the first scheduled run took the plan
    assert conn["succeeded_at"] == "2026-03-04T00:00:00.000000Z"
    assert conn["status"]["tasks"] == []


def test_a_run_longer_than_the_interval_delays_the_next_one(sim: FivetranSimulator) -> None:
    sim.add_connection("conn", sync_frequency=5)
    sim.plan_syncs("conn", "success", duration=420)
    sim.advance(minutes=20)
    starts = [run["started_at"] - sim.now for run in sim.sync_history("conn")]
    assert starts == [-900.0, -480.0, -180.0]  # 00:05 until 00:12, then 00:12 and 00:17


def test_cron_schedule_syncs_at_its_slots(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn", sync_frequency=360)
    answer = patch(http, sim, "/v1/connections/conn", {"schedule": {"schedule_type": "CRON", "cron": "0 9 * * 1-5"}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["sync_frequency"] is None

    sim.advance(days=3)  # Monday 00:00 to Thursday 00:00

    starts = [run["started_at"] for run in sim.sync_history("conn")]
    assert [start - starts[0] for start in starts] == [0.0, 86400.0, 86400.0 * 2]
    conn = sim.connection("conn")
    assert conn["succeeded_at"] == "2026-03-04T09:00:00.000000Z"
    assert conn["status"]["update_state"] == "on_schedule"
    sim.advance(days=4)  # through the weekend: Thursday and Friday only
    assert sim.connection("conn")["succeeded_at"] == "2026-03-06T09:00:00.000000Z"


@pytest.mark.parametrize("expression", ["61 * * * *", "0 9 * *", "every day", "0 0 * * * *"])
def test_an_invalid_cron_expression_is_refused(sim: FivetranSimulator, http: requests.Session, expression: str) -> None:
    sim.add_connection("conn")
    answer = patch(http, sim, "/v1/connections/conn", {"schedule": {"schedule_type": "CRON", "cron": expression}})
    assert answer.status_code == 400
    assert "schedule.cron" in answer.json()["message"]
    assert "schedule" not in sim.connection("conn")


def test_time_of_day_schedule_skips_days_not_listed(sim: FivetranSimulator, http: requests.Session) -> None:
    sim.add_connection("conn")
    body = {"schedule": {"schedule_type": "TIME_OF_DAY", "time_of_day": "06:00", "days_of_week": ["WEDNESDAY"]}}
    assert patch(http, sim, "/v1/connections/conn", body).status_code == 200
    sim.advance(days=14)
    starts = sorted(run["started_at"] for run in sim.sync_history("conn"))
    assert [start - starts[0] for start in starts] == [0.0, 7 * 86400.0]
    assert sim.connection("conn")["succeeded_at"] == "2026-03-11T06:00:00.000000Z"

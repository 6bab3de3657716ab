"""The simulator as users script it: the pytest plugin and its fixture, JSON seeding and the
command line. (The testing guide's example of a user's own DAG test runs in test_docs_examples.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from fivetran_provider.testing import FivetranSimulator
from fivetran_provider.testing.seeding import SeedError, seed_from_json

ROOT = Path(__file__).resolve().parents[1]

# Shaped like a real GET /v1/connections answer (one page), trimmed.
LISTING = {
    "code": "Success",
    "data": {
        "items": [
            {
                "id": "mellow_quartz",
                "group_id": "tidal_lantern",
                "service": "postgres",
                "schema": "pg_prod",
                "paused": False,
                "sync_frequency": 60,
                "schedule_type": "auto",
                "succeeded_at": "2026-03-01T23:00:00.000000Z",
                "failed_at": None,
                "data_delay_sensitivity": "HIGH",
                "status": {"setup_state": "connected", "is_historical_sync": False, "tasks": [], "warnings": []},
                "config": {"host": "db", "password": "******"},
            },
            {
                "id": "brisk_heron",
                "group_id": "amber_meadow",
                "service": "salesforce",
                "schema": "salesforce",
                "paused": True,
                "sync_frequency": 360,
                "schedule_type": "auto",
                "status": {"setup_state": "broken", "is_historical_sync": True},
                "config": {},
            },
        ],
        "next_cursor": "eyJza2lwIjoyfQ",
    },
}


# ---------------------------------------------------------------------------- pytest plugin


def test_fixture_sets_the_airflow_connection(fivetran_simulator: FivetranSimulator) -> None:
    from fivetran_provider.hooks import FivetranHook

    conn = json.loads(os.environ["AIRFLOW_CONN_FIVETRAN_DEFAULT"])
    assert conn["host"] == fivetran_simulator.url and conn["login"] == fivetran_simulator.api_key
    fivetran_simulator.add_connection("conn", service="postgres")
    hook = FivetranHook()
    try:
        assert hook.get_connection_details("conn")["service"] == "postgres"
    finally:
        hook.close()


@pytest.mark.fivetran_simulator(simulated_time=True, start_time="2026-03-02T00:00:00Z", conn_id="fivetran_other")
def test_marker_options_reach_the_fixture(fivetran_simulator: FivetranSimulator) -> None:
    assert json.loads(os.environ["AIRFLOW_CONN_FIVETRAN_OTHER"])["host"] == fivetran_simulator.url
    assert fivetran_simulator.now == pytest.approx(1772409600.0)
    fivetran_simulator.add_connection("conn", sync_frequency=60)
    fivetran_simulator.advance(hours=1)
    assert [run["trigger"] for run in fivetran_simulator.sync_history("conn")] == ["scheduled"]


def test_plugin_is_registered_through_the_entry_point(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("fivetran_simulator")
    assert plugin is not None and plugin.__name__ == "fivetran_provider.testing.pytest_plugin"


# ---------------------------------------------------------------------------- seeding


def test_seed_from_a_listing_answer() -> None:
    with FivetranSimulator(simulated_time=True, start_time="2026-03-02T00:00:00Z") as sim:
        sim.scheduled_syncs = False  # mellow_quartz's hourly slot is now: keep the seeded values in view
        assert seed_from_json(sim, LISTING) == (2, 2)
        mellow = sim.connection("mellow_quartz")
        assert mellow["group_id"] == "tidal_lantern" and mellow["schema"] == "pg_prod"
        assert mellow["succeeded_at"] == "2026-03-01T23:00:00.000000Z"
        assert mellow["data_delay_sensitivity"] == "HIGH"
        assert mellow["status"]["update_state"] == "on_schedule"
        heron = sim.connection("brisk_heron")
        assert heron["paused"] is True and heron["status"]["setup_state"] == "broken"
        assert heron["status"]["is_historical_sync"] is True
        assert [group["id"] for group in sim.state.list_groups()] == ["tidal_lantern", "amber_meadow"]


def test_seed_accepts_pages_plain_lists_and_named_groups() -> None:
    with FivetranSimulator() as sim:
        document = {
            "groups": {"data": {"items": [{"id": "g1", "name": "Warehouse"}]}},
            "connections": [LISTING, {"items": [{"id": "third", "group_id": "g1", "service": "stripe"}]}],
        }
        assert seed_from_json(sim, document) == (3, 3)
        assert sim.state.get_group("g1")["name"] == "Warehouse"
    with FivetranSimulator() as sim, pytest.raises(SeedError, match="string 'id'"):
        seed_from_json(sim, [{"service": "postgres"}])
    with FivetranSimulator() as sim, pytest.raises(SeedError, match="expected a GET list answer"):
        seed_from_json(sim, {"data": "nope"})


# ---------------------------------------------------------------------------- command line


def test_command_line_seeds_limits_fails_and_prints_each_request(tmp_path: Path) -> None:
    seed = tmp_path / "account.json"
    seed.write_text(json.dumps(LISTING))
    secret = "cli-secret-value-123"
    command = [sys.executable, "-m", "fivetran_provider.testing", "--port", "0", "--seed", str(seed)]
    command += ["--api-key", "cli-key", "--api-secret", secret, "--sync-duration", "0"]
    command += ["--fail-next-sync", "mellow_quartz", "--rate-limit", "4", "--latency", "0.01"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        output = "".join(banner)
        assert "Seeded 2 connections and 2 groups" in output, output
        assert "gentle_harbor" not in output  # no demo account when seeding
        # The listing names each connection by its schema under its group, as lookups by name need.
        assert re.search(r"group tidal_lantern name=\"[^\"]+\"\n\s+mellow_quartz\s+postgres\s+schema=pg_prod\s", output)
        base = re.search(r"listening on (http://\S+)", output)
        assert base, output
        session = requests.Session()
        session.auth = ("cli-key", secret)
        url = base.group(1)
        assert session.post(f"{url}/v1/connections/mellow_quartz/sync", json={}, timeout=10).status_code == 200
        details = session.get(f"{url}/v1/connections/mellow_quartz?limit=5", timeout=10).json()["data"]
        # The seeded hourly connection is overdue, so a sync ran at once; the failure planned by
        # --fail-next-sync ended the first run after the start.
        assert details["failed_at"] is not None and details["failed_at"] > "2026-03-01T23:00:00.000000Z"
        assert details["succeeded_at"] is None or details["succeeded_at"] > "2026-03-01T23:00:00.000000Z"
        assert session.get(f"{url}/v1/groups", timeout=10).status_code == 200
        assert session.get(f"{url}/v1/users", timeout=10).status_code == 200
        limited = session.get(f"{url}/v1/groups", timeout=10)
        assert limited.status_code == 429 and limited.headers["Retry-After"]
        request_lines = [process.stdout.readline() for _ in range(5)]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert [line.split()[1:] for line in request_lines] == [
        ["POST", "/v1/connections/mellow_quartz/sync", "200"],
        ["GET", "/v1/connections/mellow_quartz?limit", "200"],
        ["GET", "/v1/groups", "200"],
        ["GET", "/v1/users", "200"],
        ["GET", "/v1/groups", "429"],
    ]
    assert not any(secret in line or "cli-key" in line for line in request_lines)


def test_command_line_refuses_bad_options(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    base = [sys.executable, "-m", "fivetran_provider.testing", "--port", "0"]
    for extra, needle in (
        (["--latency", "-1"], "must not be negative"),
        (["--rate-limit", "0"], "at least 1"),
        (["--speed", "0"], "--speed must be positive"),
        (["--fail-next-sync", "ghost"], "no connection 'ghost'"),
        (["--seed", str(tmp_path / "missing.json")], "cannot read seed file"),
    ):
        done = subprocess.run(base + extra, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
        assert done.returncode == 2 and needle in done.stderr, (extra, done.stderr)


def test_command_line_says_in_one_line_that_the_port_is_taken() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with FivetranSimulator() as running:  # holds a port on loopback
        port = running.url.rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, "-m", "fivetran_provider.testing", "--port", port],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # no traceback
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0] and "--port 0" in lines[0], lines[0]


def test_command_line_speed_lets_scheduled_syncs_run_by_themselves(tmp_path: Path) -> None:
    seed = tmp_path / "account.json"
    seed.write_text(json.dumps(LISTING))
    command = [sys.executable, "-m", "fivetran_provider.testing", "--port", "0", "--seed", str(seed), "--quiet"]
    command += ["--api-key", "k", "--api-secret", "s", "--speed", "36000"]  # ten simulated hours per second
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert process.stdout is not None
        output = ""
        for line in process.stdout:
            output += line
            if line.startswith("Press Ctrl-C"):
                break
        base = re.search(r"listening on (http://\S+)", output)
        assert base, output
        history: list[str] = []
        for _ in range(600):  # until the scheduler has started a sync (about 0.1 s of real time)
            details = requests.get(f"{base.group(1)}/v1/connections/mellow_quartz", auth=("k", "s"), timeout=10)
            history.append(details.json()["data"]["succeeded_at"])
            if history[-1] != LISTING["data"]["items"][0]["succeeded_at"]:
                break
            time.sleep(0.05)
        assert history[-1] > "2026-03-01T23:00:00.000000Z", history[-1]
        paused = requests.get(f"{base.group(1)}/v1/connections/brisk_heron", auth=("k", "s"), timeout=10).json()
        assert paused["data"]["succeeded_at"] is None  # paused: never synced by the scheduler
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()

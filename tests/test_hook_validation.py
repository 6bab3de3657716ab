"""Every bad input is refused with a clear error before anything reaches Fivetran, and every good
input reaches it with the right JSON type."""

from __future__ import annotations

from typing import Any

import pytest

from fivetran_provider import fields
from fivetran_provider.exceptions import FivetranValidationError
from fivetran_provider.hooks import FivetranHook
from fivetran_provider.testing import FivetranSimulator

# (description, connection id, fields, field named in the error, text the message must contain)
BAD_INPUTS: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("no fields", "conn", {}, "fields", "at least one field"),
    ("only run_setup_tests", "conn", {"run_setup_tests": True}, "fields", "cannot be sent on their own"),
    (
        "only trust flags",
        "conn",
        {"run_setup_tests": True, "trust_certificates": True},
        "fields",
        "at least one field",
    ),
    ("unknown field with suggestion", "conn", {"sync_frequncy": 60}, "sync_frequncy", "Did you mean 'sync_frequency'"),
    ("unknown field", "conn", {"colour": "red"}, "colour", "Allowed: one of paused"),
    ("frequency not in set", "conn", {"sync_frequency": 45}, "sync_frequency", "1, 5, 15, 30, 60"),
    ("frequency as ambiguous text", "conn", {"sync_frequency": "6O"}, "sync_frequency", "'6O'"),
    ("frequency as boolean", "conn", {"sync_frequency": True}, "sync_frequency", "an integer"),
    ("paused as yes", "conn", {"paused": "yes"}, "paused", "true or false"),
    ("paused as integer", "conn", {"paused": 1}, "paused", "true or false"),
    ("historical sync as text", "conn", {"is_historical_sync": "maybe"}, "is_historical_sync", "true or false"),
    ("pause_after_trial as none-text", "conn", {"pause_after_trial": "None"}, "pause_after_trial", "true or false"),
    ("schedule_type bad", "conn", {"schedule_type": "hourly"}, "schedule_type", "auto, manual"),
    ("schema_status bad", "conn", {"schema_status": "blocked_on_customer"}, "schema_status", "blocked_on_capture"),
    ("networking_method bad", "conn", {"networking_method": "VPN"}, "networking_method", "SshTunnel"),
    ("sensitivity bad", "conn", {"data_delay_sensitivity": "EXTREME"}, "data_delay_sensitivity", "CUSTOM"),
    (
        "daily time with half hour",
        "conn",
        {"sync_frequency": 1440, "daily_sync_time": "03:30"},
        "daily_sync_time",
        "whole hour",
    ),
    (
        "daily time out of range",
        "conn",
        {"sync_frequency": 1440, "daily_sync_time": "24:00"},
        "daily_sync_time",
        "whole hour",
    ),
    (
        "daily time with other frequency",
        "conn",
        {"sync_frequency": 360, "daily_sync_time": "03:00"},
        "daily_sync_time",
        "sync_frequency=1440",
    ),
    ("daily time without frequency", "conn", {"daily_sync_time": "03:00"}, "daily_sync_time", "sync_frequency=1440"),
    (
        "negative delay threshold",
        "conn",
        {"data_delay_sensitivity": "CUSTOM", "data_delay_threshold": -5},
        "data_delay_threshold",
        "from 0 to 2147483647",
    ),
    (
        "threshold without CUSTOM",
        "conn",
        {"data_delay_sensitivity": "HIGH", "data_delay_threshold": 30},
        "data_delay_threshold",
        '"CUSTOM"',
    ),
    (
        "trust certificates without setup tests",
        "conn",
        {"paused": True, "trust_certificates": True},
        "trust_certificates",
        "run_setup_tests=true",
    ),
    (
        "trust fingerprints with setup tests off",
        "conn",
        {"paused": True, "run_setup_tests": False, "trust_fingerprints": True},
        "trust_fingerprints",
        "run_setup_tests=true",
    ),
    ("config not an object", "conn", {"config": "[1, 2]"}, "config", "JSON object"),
    ("config as number", "conn", {"config": 5}, "config", "JSON object"),
    ("auth as list", "conn", {"auth": ["token"]}, "auth", "JSON object"),
    (
        "destination_configuration text",
        "conn",
        {"destination_configuration": "wh"},
        "destination_configuration",
        "JSON",
    ),
    ("schedule without type", "conn", {"schedule": {"interval": 60}}, "schedule.schedule_type", "INTERVAL"),
    ("schedule interval missing", "conn", {"schedule": {"schedule_type": "INTERVAL"}}, "schedule.interval", "INTERVAL"),
    (
        "schedule bad weekday",
        "conn",
        {"schedule": {"schedule_type": "TIME_OF_DAY", "time_of_day": "09:00", "days_of_week": ["FUNDAY"]}},
        "schedule.days_of_week",
        "MONDAY",
    ),
    (
        "schedule bad cron",
        "conn",
        {"schedule": {"schedule_type": "CRON", "cron": "every day"}},
        "schedule.cron",
        "five-field",
    ),
    (
        "schedule unknown key",
        "conn",
        {"schedule": {"schedule_type": "CRON", "crn": "0 9 * * *"}},
        "schedule.crn",
        "cron",
    ),
    (
        "manual with flexible schedule",
        "conn",
        {"schedule_type": "manual", "schedule": {"schedule_type": "MANUAL"}},
        "schedule_type",
        "'auto'",
    ),
    ("empty proxy agent id", "conn", {"proxy_agent_id": "  "}, "proxy_agent_id", "non-empty"),
    ("empty connection id", "", {"paused": True}, "connection_id", "non-empty"),
    ("connection id with slash", "a/b", {"paused": True}, "connection_id", "'/'"),
    ("connection id with dot-dot", "..", {"paused": True}, "connection_id", "'..'"),
    ("connection id with space", "a b", {"paused": True}, "connection_id", "whitespace"),
    ("connection id with newline", "a\nb", {"paused": True}, "connection_id", "control"),
    ("connection id with query", "a?x=1", {"paused": True}, "connection_id", "'?'"),
    ("connection id with percent", "a%2Fb", {"paused": True}, "connection_id", "'%'"),
]


@pytest.mark.parametrize(
    ("connection_id", "update", "field", "expected"),
    [pytest.param(cid, upd, fld, exp, id=desc) for desc, cid, upd, fld, exp in BAD_INPUTS],
)
def test_bad_input_is_refused_before_any_request(
    hook: FivetranHook,
    fivetran_conn: FivetranSimulator,
    connection_id: str,
    update: dict[str, Any],
    field: str,
    expected: str,
) -> None:
    fivetran_conn.add_connection("conn")
    with pytest.raises(FivetranValidationError) as caught:
        hook.update_connection(connection_id, **update)
    assert caught.value.field == field
    assert expected in str(caught.value)
    assert fivetran_conn.requests == []


def test_secret_values_never_appear_in_validation_errors(hook: FivetranHook, fivetran_conn: FivetranSimulator) -> None:
    with pytest.raises(FivetranValidationError) as caught:
        hook.update_connection("conn", auth="client_secret=hunter2-very-secret")
    assert "hunter2" not in str(caught.value)
    assert caught.value.value is None
    assert fivetran_conn.requests == []


# Every field of the catalogue, given as rendered-template text where that is how it would arrive.
GOOD_INPUTS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"paused": "true"}, {"paused": True}),
    ({"paused": "False"}, {"paused": False}),
    ({"pause_after_trial": True}, {"pause_after_trial": True}),
    ({"sync_frequency": "60"}, {"sync_frequency": 60}),
    ({"sync_frequency": 1440, "daily_sync_time": "3:00"}, {"sync_frequency": 1440, "daily_sync_time": "03:00"}),
    ({"schedule_type": "MANUAL"}, {"schedule_type": "manual"}),
    ({"is_historical_sync": "True"}, {"is_historical_sync": True}),
    ({"schema_status": "ready"}, {"schema_status": "ready"}),
    (
        {"networking_method": "ProxyAgent", "proxy_agent_id": "agent_1"},
        {"networking_method": "ProxyAgent", "proxy_agent_id": "agent_1"},
    ),
    (
        {"networking_method": "privatelink", "private_link_id": "link_1"},
        {"networking_method": "PrivateLink", "private_link_id": "link_1"},
    ),
    ({"hybrid_deployment_agent_id": "hda_1"}, {"hybrid_deployment_agent_id": "hda_1"}),
    (
        {"data_delay_sensitivity": "custom", "data_delay_threshold": "45"},
        {"data_delay_sensitivity": "CUSTOM", "data_delay_threshold": 45},
    ),
    ({"config": '{"port": 5433}'}, {"config": {"port": 5433}}),
    ({"config": "{'port': 5434}"}, {"config": {"port": 5434}}),
    ({"auth": {"refresh_token": "r-token-123"}}, {"auth": {"refresh_token": "r-token-123"}}),
    (
        {"destination_configuration": {"virtual_warehouse": "LOAD_WH"}},
        {"destination_configuration": {"virtual_warehouse": "LOAD_WH"}},
    ),
    ({"external_secrets_manager_id": "esm_1"}, {"external_secrets_manager_id": "esm_1"}),
    ({"external_secrets_keys_config": {"password": "db/pw"}}, {"external_secrets_keys_config": {"password": "db/pw"}}),
    (
        {"schedule": {"schedule_type": "time_of_day", "time_of_day": "09:00", "days_of_week": ["monday"]}},
        {"schedule": {"schedule_type": "TIME_OF_DAY", "time_of_day": "09:00", "days_of_week": ["MONDAY"]}},
    ),
    (
        {"paused": False, "run_setup_tests": "true", "trust_certificates": "true", "trust_fingerprints": True},
        {"paused": False, "run_setup_tests": True, "trust_certificates": True, "trust_fingerprints": True},
    ),
]


@pytest.mark.parametrize(("update", "expected_body"), GOOD_INPUTS, ids=lambda v: ",".join(v) if v else "")
def test_every_field_is_sent_with_its_json_type(
    hook: FivetranHook, fivetran_conn: FivetranSimulator, update: dict[str, Any], expected_body: dict[str, Any]
) -> None:
    fivetran_conn.add_connection("conn")
    hook.update_connection("conn", **update)
    (patch,) = fivetran_conn.requests_for("PATCH")
    expected = {"run_setup_tests": False, **expected_body}
    assert patch.body == expected
    assert patch.status == 200


def test_catalogue_covers_every_documented_update_field() -> None:
    documented = {
        "schema_status",
        "daily_sync_time",
        "pause_after_trial",
        "networking_method",
        "sync_frequency",
        "is_historical_sync",
        "hybrid_deployment_agent_id",
        "config",
        "data_delay_threshold",
        "paused",
        "auth",
        "trust_fingerprints",
        "proxy_agent_id",
        "run_setup_tests",
        "schedule_type",
        "private_link_id",
        "trust_certificates",
        "data_delay_sensitivity",
        "destination_configuration",
        "external_secrets_manager_id",
        "external_secrets_keys_config",
        "schedule",
    }
    assert set(fields.PATCH_FIELDS) == documented
    covered = {name for update, _ in GOOD_INPUTS for name in update}
    assert covered == documented


def test_daily_sync_time_alone_is_fine_when_the_connection_is_already_daily(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    current = fivetran_conn.add_connection("conn", sync_frequency=1440)
    hook.update_connection("conn", current_state=current, daily_sync_time="05:00")
    assert fivetran_conn.connection("conn")["daily_sync_time"] == "05:00"


def test_run_setup_tests_defaults_to_false_and_can_be_switched_on(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    fivetran_conn.add_connection("conn")
    hook.update_connection("conn", paused=True)
    assert fivetran_conn.setup_tests_run == 0
    hook.update_connection("conn", paused=False, run_setup_tests=True)
    assert fivetran_conn.setup_tests_run == 1


def test_networking_method_needs_its_id_when_the_connection_has_none(
    hook: FivetranHook, fivetran_conn: FivetranSimulator
) -> None:
    current = fivetran_conn.add_connection("conn")
    with pytest.raises(FivetranValidationError, match="proxy_agent_id"):
        hook.update_connection("conn", current_state=current, networking_method="ProxyAgent")
    assert fivetran_conn.requests == []
    hook.update_connection("conn", current_state=current, networking_method="ProxyAgent", proxy_agent_id="agent_7")
    assert fivetran_conn.connection("conn")["proxy_agent_id"] == "agent_7"

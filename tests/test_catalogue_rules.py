"""The field catalogue's rules as a DAG author meets them: the body that reaches Fivetran, the
error that names the field, the value and what is allowed, and which changes count as changes.

Pure functions (no hook, no HTTP): ``validate_update`` is what the hook and the operators call
before anything is sent, ``diff_update`` decides what a PATCH must carry.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fivetran_provider import fields
from fivetran_provider.exceptions import FivetranValidationError
from fivetran_provider.fields import diff_update, validate_update


def refused(body: dict[str, Any], *, current: dict[str, Any] | None = None) -> FivetranValidationError:
    with pytest.raises(FivetranValidationError) as caught:
        validate_update(body, current=current)
    return caught.value


# ------------------------------------------------------------------ the flexible schedule


@pytest.mark.parametrize("interval", [1, 15, 1440, "60", " 720 "])
def test_every_interval_from_1_to_1440_minutes_is_sent(interval: Any) -> None:
    body = validate_update({"schedule": {"schedule_type": "interval", "interval": interval}})
    assert body == {"schedule": {"schedule_type": "INTERVAL", "interval": int(str(interval).strip())}}


@pytest.mark.parametrize("interval", [0, -5, 1441, 10_000])
def test_an_interval_outside_1_to_1440_is_refused(interval: int) -> None:
    error = refused({"schedule": {"schedule_type": "INTERVAL", "interval": interval}})
    assert str(error) == f"Invalid value for 'schedule.interval': {interval!r}. Allowed: minutes from 1 to 1440."


def test_every_weekday_can_be_scheduled() -> None:
    days = ["monday", "Tuesday", "WEDNESDAY", "thursday", " friday ", "SATURDAY", "sunday"]
    body = validate_update({"schedule": {"schedule_type": "TIME_OF_DAY", "time_of_day": "9:00", "days_of_week": days}})
    assert body["schedule"] == {
        "schedule_type": "TIME_OF_DAY",
        "time_of_day": "09:00",
        "days_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"],
    }
    for day in ("THURSDAY", "SATURDAY"):
        single = {"schedule_type": "TIME_OF_DAY", "time_of_day": "09:00", "days_of_week": [day]}
        assert validate_update({"schedule": single})["schedule"]["days_of_week"] == [day]


@pytest.mark.parametrize("days", [[], ["MONDAY", "monday"], "MONDAY", 5, ["MONDAY", "HOLIDAY"]])
def test_bad_weekday_lists_are_refused_listing_the_weekdays(days: Any) -> None:
    error = refused({"schedule": {"schedule_type": "TIME_OF_DAY", "time_of_day": "09:00", "days_of_week": days}})
    assert error.field == "schedule.days_of_week"
    assert error.allowed == (
        "a non-empty list of distinct names from MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY"
    )


def test_a_schedule_type_is_required_and_must_be_known() -> None:
    for kind in (None, 3, "HOURLY"):
        error = refused({"schedule": {"schedule_type": kind}} if kind is not None else {"schedule": {}})
        assert error.field == "schedule.schedule_type"
        assert error.allowed == "one of INTERVAL, TIME_OF_DAY, CRON, MANUAL"
    assert validate_update({"schedule": {"schedule_type": " manual "}}) == {"schedule": {"schedule_type": "MANUAL"}}


@pytest.mark.parametrize(("kind", "key"), [("INTERVAL", "interval"), ("TIME_OF_DAY", "time_of_day"), ("CRON", "cron")])
def test_each_schedule_type_needs_its_key(kind: str, key: str) -> None:
    error = refused({"schedule": {"schedule_type": kind}})
    assert str(error) == f"Invalid value for 'schedule.{key}': None. Allowed: a value when schedule_type is {kind}."


def test_cron_schedules_need_five_fields() -> None:
    body = validate_update({"schedule": {"schedule_type": "CRON", "cron": " 0 9 * * 1-5 "}})
    assert body["schedule"] == {"schedule_type": "CRON", "cron": "0 9 * * 1-5"}
    for bad in ("0 9 * *", "0 9 * * 1 2", 5):
        error = refused({"schedule": {"schedule_type": "CRON", "cron": bad}})
        assert error.field == "schedule.cron" and "five-field cron expression" in error.allowed


def test_an_unknown_schedule_key_is_refused_with_a_suggestion() -> None:
    error = refused({"schedule": {"schedule_type": "INTERVAL", "interval": 60, "intervall": 5}})
    assert error.field == "schedule.intervall" and error.reason == "Did you mean 'interval'?"
    assert error.allowed == "keys cron, days_of_week, interval, schedule_type, time_of_day"
    far = refused({"schedule": {"schedule_type": "INTERVAL", "interval": 60, "zzz": 5}})
    assert far.reason is None


def test_a_schedule_as_json_text_is_read() -> None:
    body = validate_update({"schedule": '{"schedule_type": "INTERVAL", "interval": 30}'})
    assert body == {"schedule": {"schedule_type": "INTERVAL", "interval": 30}}


# ------------------------------------------------------------------ minimums, choices and types


def test_a_minimum_value_itself_is_allowed() -> None:
    body = validate_update({"data_delay_sensitivity": "custom", "data_delay_threshold": 0})
    assert body == {"data_delay_sensitivity": "CUSTOM", "data_delay_threshold": 0}
    error = refused({"data_delay_sensitivity": "CUSTOM", "data_delay_threshold": -1})
    assert str(error) == "Invalid value for 'data_delay_threshold': -1. Allowed: an integer from 0 to 2147483647."


@pytest.mark.parametrize("frequency", fields.SYNC_FREQUENCIES)
def test_every_documented_frequency_is_sent_as_an_integer(frequency: int) -> None:
    assert validate_update({"sync_frequency": str(frequency)}) == {"sync_frequency": frequency}


def test_a_frequency_error_lists_the_minutes() -> None:
    error = refused({"sync_frequency": 45})
    assert error.allowed == "one of 1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440 (minutes)"


@pytest.mark.parametrize(
    ("raw", "sent"),
    [(60, 60), (60.0, 60), ("60", 60), (" +60 ", 60)],
)
def test_integers_from_templates(raw: Any, sent: int) -> None:
    assert validate_update({"sync_frequency": raw}) == {"sync_frequency": sent}


@pytest.mark.parametrize("raw", [60.5, "60.0", True, None.__class__, "sixty"])
def test_what_is_not_an_integer_is_refused(raw: Any) -> None:
    error = refused({"sync_frequency": raw})
    assert error.field == "sync_frequency" and error.allowed == "an integer"


@pytest.mark.parametrize(("raw", "sent"), [(True, True), ("true", True), (" FALSE ", False), ("False", False)])
def test_booleans_from_templates(raw: Any, sent: bool) -> None:
    assert validate_update({"paused": raw}) == {"paused": sent}


@pytest.mark.parametrize(
    ("raw", "sent"), [("3:00", "03:00"), ("03:00:00", "03:00"), ("23:00", "23:00"), ("0:00", "00:00")]
)
def test_daily_sync_times_are_normalised(raw: str, sent: str) -> None:
    assert validate_update({"sync_frequency": 1440, "daily_sync_time": raw})["daily_sync_time"] == sent


@pytest.mark.parametrize(
    ("name", "raw", "sent"),
    [
        ("schedule_type", "MANUAL", "manual"),
        ("networking_method", " privatelink ", "PrivateLink"),
        ("data_delay_sensitivity", "sync_frequency", "SYNC_FREQUENCY"),
        ("schema_status", "Ready", "ready"),
    ],
)
def test_choices_are_matched_whatever_the_case(name: str, raw: str, sent: str) -> None:
    assert fields.coerce_field(name, raw) == sent


def test_an_enum_given_a_number_is_refused_with_its_choices() -> None:
    error = refused({"schedule_type": 1})
    assert str(error) == "Invalid value for 'schedule_type': 1. Allowed: one of auto, manual."


def test_text_fields_are_trimmed_and_refuse_control_characters() -> None:
    assert validate_update({"proxy_agent_id": "  agent_1 "}) == {"proxy_agent_id": "agent_1"}
    for bad in ("agent\n1", "", 7, "agent\x7f"):
        error = refused({"proxy_agent_id": bad})
        assert error.allowed == "a non-empty string"


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ({"virtual_warehouse": "WH"}, {"virtual_warehouse": "WH"}),
        ('{"virtual_warehouse": "WH"}', {"virtual_warehouse": "WH"}),
        ("{'virtual_warehouse': 'WH'}", {"virtual_warehouse": "WH"}),
        ("  {}  ", {}),
    ],
)
def test_objects_from_dicts_json_or_rendered_python(raw: Any, sent: dict[str, Any]) -> None:
    assert validate_update({"destination_configuration": raw}) == {"destination_configuration": sent}


@pytest.mark.parametrize("raw", ["", "   ", "[1, 2]", "{'a': }", "(", 5, ["a"]])
def test_what_is_not_an_object_is_refused(raw: Any) -> None:
    error = refused({"destination_configuration": raw})
    assert error.allowed == "a JSON object (a dict, or its JSON text)"
    assert error.value == raw


def test_a_credential_field_error_never_shows_the_value() -> None:
    for name in ("config", "auth", "external_secrets_keys_config"):
        error = refused({name: "password=hunter2"})
        assert "hunter2" not in str(error)
        assert error.value is None
        assert f"Invalid value for '{name}': a value of type str." in str(error)


def test_an_unknown_field_suggests_the_closest_name_or_lists_them_all() -> None:
    error = refused({"pausd": True})
    assert error.reason == "Did you mean 'paused'?"
    assert error.allowed.startswith("one of paused, pause_after_trial, sync_frequency")
    assert refused({"zzzzzz": True}).reason is None


# ------------------------------------------------------------------ cross-field rules


def test_only_test_control_flags_are_refused_naming_what_was_given() -> None:
    error = refused({"trust_fingerprints": True, "run_setup_tests": True})
    assert error.value == "run_setup_tests, trust_fingerprints"
    assert error.allowed.startswith("at least one field that changes the connection: paused, pause_after_trial")
    assert "run_setup_tests" not in error.allowed
    assert refused({"paused": None}).value == "nothing"


def test_fields_given_as_none_are_not_sent() -> None:
    assert validate_update({"paused": True, "sync_frequency": None}) == {"paused": True}


def test_trust_flags_go_with_setup_tests() -> None:
    body = validate_update({"paused": False, "run_setup_tests": "true", "trust_certificates": True})
    assert body == {"paused": False, "run_setup_tests": True, "trust_certificates": True}


def test_dependent_fields_may_rely_on_the_connection_as_it_is() -> None:
    daily = {"sync_frequency": 1440}
    assert validate_update({"daily_sync_time": "03:00"}, current=daily) == {"daily_sync_time": "03:00"}
    custom = {"data_delay_sensitivity": "CUSTOM"}
    assert validate_update({"data_delay_threshold": 30}, current=custom) == {"data_delay_threshold": 30}
    error = refused({"daily_sync_time": "03:00"}, current={"sync_frequency": 360})
    assert str(error) == (
        "Invalid value for 'daily_sync_time': '03:00'. Allowed: only together with sync_frequency=1440 "
        "in the same update or on the connection. sync_frequency is 360."
    )
    alone = refused({"daily_sync_time": "03:00"})
    assert str(alone) == (
        "Invalid value for 'daily_sync_time': '03:00'. Allowed: only together with sync_frequency=1440 "
        "in the same update. sync_frequency is null."
    )


def test_a_dependent_field_in_the_body_wins_over_the_connection() -> None:
    body = validate_update({"sync_frequency": 1440, "daily_sync_time": "03:00"}, current={"sync_frequency": 60})
    assert body == {"sync_frequency": 1440, "daily_sync_time": "03:00"}
    error = refused({"sync_frequency": 60, "daily_sync_time": "03:00"}, current={"sync_frequency": 1440})
    assert error.field == "daily_sync_time" and error.reason == "sync_frequency is 60."


@pytest.mark.parametrize(
    ("method", "companion"), [("PrivateLink", "private_link_id"), ("ProxyAgent", "proxy_agent_id")]
)
def test_a_networking_method_needs_its_id(method: str, companion: str) -> None:
    bare = {"id": "conn", "networking_method": "Directly", companion: None}
    error = refused({"networking_method": method}, current=bare)
    assert str(error) == (
        f"Invalid value for 'networking_method': '{method}'. "
        f"Allowed: only with {companion} set, in the same update or already on the connection."
    )
    assert validate_update({"networking_method": method, companion: "id_1"}, current=bare)[companion] == "id_1"
    assert validate_update({"networking_method": method}, current={**bare, companion: "id_2"}) == {
        "networking_method": method
    }
    # Without the connection at hand the rule cannot be judged, so it is left to Fivetran.
    assert validate_update({"networking_method": method}) == {"networking_method": method}


def test_other_networking_methods_need_no_id() -> None:
    for method in ("Directly", "SshTunnel"):
        assert validate_update({"networking_method": method}, current={}) == {"networking_method": method}


def test_manual_schedule_type_never_goes_with_a_flexible_schedule() -> None:
    error = refused({"schedule_type": "manual", "schedule": {"schedule_type": "MANUAL"}})
    assert str(error) == (
        "Invalid value for 'schedule_type': 'manual'. Allowed: 'auto' when a flexible 'schedule' object is sent. "
        "Use schedule={'schedule_type': 'MANUAL'} instead."
    )
    body = validate_update({"schedule_type": "auto", "schedule": {"schedule_type": "MANUAL"}})
    assert body["schedule_type"] == "auto"


# ------------------------------------------------------------------ ids and resync scopes


@pytest.mark.parametrize("good", ["mellow_quartz", "a.b", "x-1", "..a"[1:]])
def test_plain_connection_ids_pass(good: str) -> None:
    assert fields.validate_connection_id(good) == good


@pytest.mark.parametrize("bad", [".", "..", "a..b", "a/b", "a\\b", "a#b", "a\tb", "", None, 5])
def test_ids_that_could_leave_their_place_in_the_url_are_refused(bad: Any) -> None:
    with pytest.raises(FivetranValidationError) as caught:
        fields.validate_connection_id(bad, "group_id")
    assert caught.value.field == "group_id"


def test_resync_scopes() -> None:
    assert fields.validate_resync_scope(None) is None
    assert fields.validate_resync_scope('{"public": ["users", "orders"]}') == {"public": ["users", "orders"]}
    assert fields.validate_resync_scope({"public": ("users",)}) == {"public": ["users"]}
    allowed = "a non-empty map of schema name to a non-empty list of table names"
    for bad, where in [
        ({}, "scope"),
        ("[]", "scope"),
        ({"": ["t"]}, "scope"),
        ({"public": "users"}, "scope.public"),
        ({"public": []}, "scope.public"),
        ({"public": ["users", ""]}, "scope.public"),
        ({"public": [5]}, "scope.public"),
        ({"public": 5}, "scope.public"),
    ]:
        with pytest.raises(FivetranValidationError) as caught:
            fields.validate_resync_scope(bad)
        assert (caught.value.field, caught.value.allowed) == (where, allowed)


# ------------------------------------------------------------------ what counts as a change


def test_a_schedule_change_is_a_change_unless_every_key_is_the_same() -> None:
    current = {"schedule": {"schedule_type": "INTERVAL", "interval": 60}}
    same = validate_update({"schedule": {"schedule_type": "INTERVAL", "interval": 60}})
    assert diff_update(current, same) == {}
    one_differs = validate_update({"schedule": {"schedule_type": "INTERVAL", "interval": 30}})
    assert diff_update(current, one_differs) == {"schedule": (current["schedule"], one_differs["schedule"])}
    every_key_differs = validate_update({"schedule": {"schedule_type": "CRON", "cron": "0 9 * * 1-5"}})
    assert diff_update(current, every_key_differs) == {
        "schedule": (current["schedule"], {"schedule_type": "CRON", "cron": "0 9 * * 1-5"})
    }
    assert diff_update({}, same) == {"schedule": (None, same["schedule"])}


def test_settings_differ_by_value_and_booleans_by_identity() -> None:
    body = validate_update({"paused": False, "sync_frequency": 60})
    assert diff_update({"paused": False, "sync_frequency": 60}, body) == {}
    assert diff_update({"paused": 0, "sync_frequency": 60}, body) == {"paused": (0, False)}
    assert diff_update({"paused": True, "sync_frequency": 1440}, body) == {
        "paused": (True, False),
        "sync_frequency": (1440, 60),
    }
    assert diff_update({"sync_frequency": 60.0, "paused": False}, body) == {}


def test_config_keys_are_compared_one_by_one() -> None:
    current = {"config": {"host": "db", "password": "******", "port": 5432, "ssl": True}}
    body = validate_update({"config": {"host": "db", "password": "new", "port": 5433, "ssl": 1, "schema": None}})
    assert diff_update(current, body) == {
        "config": ({"password": "******", "port": 5432, "ssl": True}, {"password": "new", "port": 5433, "ssl": 1})
    }
    cleared = validate_update({"config": {"host": None}})
    assert diff_update(current, cleared) == {"config": ({"host": "db"}, {"host": None})}
    assert diff_update({"config": "odd"}, validate_update({"config": {"host": "db"}})) == {
        "config": ({"host": None}, {"host": "db"})
    }
    assert diff_update(current, validate_update({"config": {"host": "db", "ssl": True}})) == {}


def test_write_only_fields_always_change_and_test_flags_never_do() -> None:
    body = validate_update({"auth": {"client_secret": "x"}, "run_setup_tests": True, "paused": True})
    assert diff_update({"paused": True}, body) == {"auth": (None, {"client_secret": "x"})}


def test_a_historical_sync_is_a_change_only_when_none_is_pending() -> None:
    start = validate_update({"is_historical_sync": True})
    assert diff_update({"status": {"is_historical_sync": False}}, start) == {"is_historical_sync": (False, True)}
    assert diff_update({"status": {}}, start) == {"is_historical_sync": (False, True)}
    assert diff_update({"status": {"is_historical_sync": True}}, start) == {}
    assert diff_update({"status": {"is_historical_sync": False}}, validate_update({"is_historical_sync": False})) == {}
    assert diff_update({"status": "odd"}, start) == {"is_historical_sync": (False, True)}


def test_the_minimal_body_keeps_the_test_flags_only_when_something_changes() -> None:
    body = validate_update({"paused": True, "sync_frequency": 60, "run_setup_tests": True, "trust_certificates": True})
    changes = diff_update({"paused": False, "sync_frequency": 60}, body)
    assert fields.body_for_changes(changes, body) == {
        "paused": True,
        "run_setup_tests": True,
        "trust_certificates": True,
    }
    assert fields.body_for_changes({}, body) == {}


def test_which_parts_of_a_body_a_read_back_cannot_confirm() -> None:
    assert fields.unverifiable_fields({"paused": True, "config": {"host": "db"}}) == []
    assert fields.unverifiable_fields({"config": {"host": "db", "API_KEY": "k"}}) == ["config"]
    assert fields.unverifiable_fields({"auth": {}, "external_secrets_keys_config": {}, "paused": True}) == [
        "auth",
        "external_secrets_keys_config",
    ]


def test_read_current_follows_the_read_path() -> None:
    connection = {"paused": True, "status": {"schema_status": "ready"}, "config": {"a": 1}}
    assert fields.read_current(connection, "paused") is True
    assert fields.read_current(connection, "schema_status") == "ready"
    assert fields.read_current(connection, "is_historical_sync") is None
    assert fields.read_current({"status": None}, "schema_status") is None
    assert fields.read_current(connection, "auth") is None
    assert fields.read_current({"run_setup_tests": True}, "run_setup_tests") is None


# ------------------------------------------------------------------ secrets and the catalogue itself


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_passwd",
        "client_secret",
        "refresh_token",
        "private_key",
        "api_key",
        "APIKEY",
        "aws_access_key",
        "credentials_json",
        "ssh_passphrase",
        "client_key",
        "signing_key",
        "service_account_json",
        "keyfile",
        "sas_url",
        "connection_string",
        "Azure_Connection_String",
    ],
)
def test_credential_like_config_keys_are_secret(key: str) -> None:
    assert fields.is_secret_key(key)


@pytest.mark.parametrize("key", ["host", "port", "user", "database", "schema_prefix", "region", "account"])
def test_ordinary_config_keys_are_not_secret(key: str) -> None:
    assert not fields.is_secret_key(key)


def test_the_catalogue_knows_which_fields_carry_credentials_and_how_they_are_read() -> None:
    assert {"config", "auth", "external_secrets_keys_config"} == fields.SENSITIVE_FIELDS
    assert {name for name in fields.PATCH_FIELDS if not fields.FIELDS[name].persistent} == {
        "run_setup_tests",
        "trust_certificates",
        "trust_fingerprints",
    }
    assert fields.FIELDS["paused"].read_path == ("paused",)
    assert fields.FIELDS["auth"].read_path == ()
    assert fields.FIELDS["is_historical_sync"].read_path == ("status", "is_historical_sync")
    assert fields.DAILY_SYNC_TIMES[0] == "00:00" and fields.DAILY_SYNC_TIMES[-1] == "23:00"
    assert len(fields.DAILY_SYNC_TIMES) == 24


def test_the_field_table_for_the_readme() -> None:
    table = fields.field_table_markdown().splitlines()
    assert table[:2] == ["| field | allowed values | notes |", "|---|---|---|"]
    assert len(table) == 2 + len(fields.FIELD_SPECS)
    rows = {line.split("|")[1].strip(" `"): line for line in table[2:]}
    assert rows["run_setup_tests"].endswith(" Not stored; cannot be sent alone. |")
    assert rows["config"].endswith(" Masked in logs and XCom. |")
    assert rows["paused"] == (
        "| `paused` | true or false (a boolean, or the strings 'true'/'false') "
        "| Pause (true) or resume (false) the connection's syncs. |"
    )
    assert "| a whole hour 'HH:00' from '00:00' to '23:00' |" in rows["daily_sync_time"]
    assert "| an integer from 0 to 2147483647 |" in rows["data_delay_threshold"]
    assert "| a non-empty string |" in rows["proxy_agent_id"]
    assert "| a JSON object (a dict, or its JSON text) |" in rows["auth"]


# ------------------------------------------------------------------ order, read-backs and calling conventions


def test_a_dependent_field_after_an_ordinary_one_is_still_checked() -> None:
    error = refused({"paused": True, "daily_sync_time": "03:00"})
    assert error.field == "daily_sync_time"


def test_a_test_flag_first_in_the_body_does_not_hide_later_changes() -> None:
    body = validate_update({"run_setup_tests": True, "paused": True})
    assert diff_update({"paused": False}, body) == {"paused": (False, True)}


def test_an_unchanged_schedule_first_in_the_body_does_not_hide_later_changes() -> None:
    current = {"schedule": {"schedule_type": "INTERVAL", "interval": 60}, "paused": False}
    body = validate_update({"schedule": {"schedule_type": "INTERVAL", "interval": 60}, "paused": True})
    assert diff_update(current, body) == {"paused": (False, True)}


def test_a_schedule_read_back_with_more_keys_and_the_same_values_is_no_change() -> None:
    current = json.loads('{"schedule": {"schedule_type": "INTERVAL", "interval": 60, "time_of_day": null}}')
    body = validate_update({"schedule": {"schedule_type": "INTERVAL", "interval": 60}})
    assert diff_update(current, body) == {}


def test_a_secret_read_back_masked_from_json_always_counts_as_a_change() -> None:
    current = json.loads('{"config": {"password": "******", "host": "db"}}')
    body = validate_update({"config": {"password": "******", "host": "db"}})
    assert diff_update(current, body) == {"config": ({"password": "******"}, {"password": "******"})}


def test_a_pending_historical_flag_that_is_not_a_json_true_does_not_count_as_pending() -> None:
    start = validate_update({"is_historical_sync": True})
    assert diff_update({"status": {"is_historical_sync": 1}}, start) == {"is_historical_sync": (True, True)}


def test_unknown_names_are_never_echoed_as_values() -> None:
    error = refused({"colour": "red"})
    assert str(error).startswith("Invalid value for 'colour': a value of type str. Allowed: one of paused,")
    key = refused({"schedule": {"schedule_type": "CRON", "cron": "0 9 * * *", "crn": "x"}})
    assert str(key).startswith("Invalid value for 'schedule.crn': a value of type str. Allowed: keys cron,")


def test_coercion_errors_show_the_value_unless_told_not_to() -> None:
    for coerce, bad in ((fields.coerce_bool, "maybe"), (fields.coerce_object, "[1]"), (fields.coerce_int, "6O")):
        with pytest.raises(FivetranValidationError) as shown:
            coerce("setting", bad)
        assert repr(bad) in str(shown.value)
        with pytest.raises(FivetranValidationError) as hidden:
            coerce(name="setting", value=bad, show_value=False)
        assert repr(bad) not in str(hidden.value)


def test_validate_update_takes_its_arguments_by_name() -> None:
    assert validate_update(fields={"paused": True}, current=None) == {"paused": True}


def test_field_specs_are_fixed_values() -> None:
    spec = fields.FIELDS["paused"]
    with pytest.raises(AttributeError):
        spec.kind = "int"  # type: ignore[misc]
    assert len(set(fields.FIELD_SPECS)) == len(fields.FIELD_SPECS)


def test_write_only_rows_of_the_field_table_are_not_called_unstored() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in fields.field_table_markdown().splitlines()[2:]}
    for name in ("auth", "external_secrets_keys_config"):
        assert "Not stored" not in rows[name]
        assert rows[name].endswith(" Masked in logs and XCom. |")


def test_a_longer_schedule_interval_is_a_change() -> None:
    current = {"schedule": {"schedule_type": "INTERVAL", "interval": 30}}
    body = validate_update({"schedule": {"schedule_type": "INTERVAL", "interval": 60}})
    assert diff_update(current, body) == {"schedule": (current["schedule"], body["schedule"])}


def test_a_field_given_as_none_first_does_not_drop_the_fields_after_it() -> None:
    assert validate_update({"paused": None, "sync_frequency": "60"}) == {"sync_frequency": 60}


# ------------------------------------------------------------------ bounds on object fields and integer text


def nested_list(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_objects_may_nest_32_levels_and_no_more() -> None:
    assert validate_update({"config": {"a": nested_list(31)}}) == {"config": {"a": nested_list(31)}}
    error = refused({"config": {"a": nested_list(32)}})
    assert error.field == "config.a" + "[0]" * 32
    assert error.value == "<deeply nested value>"
    assert error.allowed.endswith("nested at most 32 levels")


def test_deep_python_literal_text_is_refused_before_it_is_parsed() -> None:
    def text(levels: int) -> str:
        return "{'a': " + "[" * levels + "1" + "]" * levels + ", 'b': (1,)}"

    assert validate_update({"config": text(31)}) == {"config": {"a": nested_list(31), "b": [1]}}
    checked = refused({"config": text(32)})  # parsed, then refused by the object check
    assert checked.field == "config.a" + "[0]" * 32
    scanned = refused({"config": text(33)})  # refused by the bracket count, before parsing
    assert (scanned.field, scanned.reason) == ("config", "Nested more than 32 levels deep.")
    assert str(scanned) == (
        "Invalid value for 'config': a value of type str. Allowed: a JSON object (a dict, or its JSON text). "
        "Nested more than 32 levels deep."
    )


def test_object_text_of_a_million_characters_is_read_and_longer_is_refused() -> None:
    def text(length: int) -> str:
        return '{"a": "' + "x" * (length - 9) + '"}'

    assert validate_update({"config": text(1_000_000)})["config"]["a"] == "x" * (1_000_000 - 9)
    error = refused({"config": text(1_000_001)})
    assert str(error) == (
        "Invalid value for 'config': '<text of 1000001 characters>'. "
        "Allowed: a JSON object (a dict, or its JSON text). At most 1000000 characters."
    )


# Literal bounds, as a 64-bit reader on Fivetran's side sees them (not the module's constants).
@pytest.mark.parametrize("number", [-9223372036854775808, 9223372036854775807, 0])
def test_integers_in_the_64_bit_range_are_kept(number: int) -> None:
    assert validate_update({"config": {"port": number}}) == {"config": {"port": number}}


@pytest.mark.parametrize("number", [-9223372036854775809, 9223372036854775808])
def test_integers_beyond_64_bits_are_refused(number: int) -> None:
    error = refused({"config": {"port": number}})
    assert (error.field, error.value) == ("config.port", "<an integer out of the 64-bit range>")


@pytest.mark.parametrize(
    ("config", "field", "value"),
    [
        ({1: "a"}, "config", "<a key of type int>"),
        ({"a": {"b": {1, 2}}}, "config.a.b", "<a value of type set>"),
        ({"a": [b"x"]}, "config.a[0]", "<a value of type bytes>"),
    ],
)
def test_what_is_not_json_inside_an_object_is_named(config: Any, field: str, value: str) -> None:
    error = refused({"config": config})
    assert (error.field, error.value) == (field, value)
    assert error.allowed.startswith("JSON values only: objects with string keys")


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_inside_an_object_are_refused(number: float) -> None:
    error = refused({"destination_configuration": {"virtual_warehouse": "WH"}, "config": {"a": [1.5, number]}})
    assert (error.field, error.reason) == ("config.a[1]", "NaN and infinity are not JSON.")


def test_tuples_inside_an_object_are_sent_as_lists() -> None:
    assert validate_update({"config": {"a": (1, (2.5, None, True, "x"))}}) == {
        "config": {"a": [1, [2.5, None, True, "x"]]}
    }


def test_integer_text_up_to_20_characters_is_read() -> None:
    assert validate_update({"sync_frequency": " " + "0" * 18 + "60 "}) == {"sync_frequency": 60}
    assert refused({"sync_frequency": "0" * 19 + "60"}).value == "0" * 19 + "60"
    assert refused({"sync_frequency": "6" * 100}).value == "6" * 100
    assert refused({"sync_frequency": "6" * 101}).value == "<text of 101 characters>"

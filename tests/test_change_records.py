"""The change record as its readers use it: what a restore sends back, which connections a resume
un-pauses, what a log line shows, and the clear error for an XCom value that is not a record.

Records are built from diffs exactly as the operators build them, then read back through the
same functions ``RestoreFivetranConnectionOperator`` and ``ResumeConnectionOperator`` use.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fivetran_provider import changes
from fivetran_provider.exceptions import FivetranValidationError
from fivetran_provider.fields import diff_update, validate_update

ALLOWED = "the XCom value of an Update, Pause, Resume or Restore task of this provider (fivetran_connection_changes)"


def record_of(operation: str, *entries: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
    record = changes.new_record(operation, dry_run=dry_run)
    for entry in entries:
        changes.add_entry(record, entry)
    return json.loads(json.dumps(record))  # what XCom hands back


def entry_for(
    connection: dict[str, Any],
    update: dict[str, Any],
    conn_id: str = "conn",
    patched: bool = True,
    after_state: dict[str, Any] | None = None,
) -> Any:
    body = validate_update(update, current=connection)
    return changes.build_entry(
        conn_id, diff_update(connection, body), patched=patched, current=connection, after_state=after_state
    )


# ------------------------------------------------------------------ pause and resume


def test_only_a_pause_is_counted_as_a_pause() -> None:
    paused = entry_for({"paused": False}, {"paused": True}, "quiet_meadow")
    resumed = entry_for({"paused": True}, {"paused": False}, "brisk_heron")
    unknown_before = changes.build_entry("mellow_quartz", {"paused": (None, True)}, patched=True)
    record = record_of("pause", paused, resumed, unknown_before)
    assert changes.paused_ids(record) == ["quiet_meadow", "mellow_quartz"]
    assert changes.paused_ids(record_of("resume", resumed)) == []
    assert changes.paused_ids([record, record]) == ["quiet_meadow", "mellow_quartz"]
    assert changes.paused_ids(None) == []


def test_a_frequency_change_is_not_a_pause() -> None:
    entry = entry_for({"paused": True, "sync_frequency": 60}, {"sync_frequency": 360})
    assert changes.paused_ids(record_of("update", entry)) == []


def test_a_pause_of_a_dry_run_or_an_unsent_patch_is_nothing_to_undo() -> None:
    planned = entry_for({"paused": False}, {"paused": True}, patched=False)
    assert changes.paused_ids(record_of("pause", planned, dry_run=True)) == []
    assert changes.paused_ids(record_of("pause", planned)) == []


# ------------------------------------------------------------------ what a restore writes back


def test_list_values_inside_config_are_recorded_and_restored_as_lists() -> None:
    current = {"config": {"tables": ["users", "orders"], "hosts": [{"name": "a", "password": "******"}]}}
    returned = {"config": {"tables": ["users"], "hosts": [{"name": "b", "password": "******"}]}}
    entry = entry_for(
        current, {"config": {"tables": ["users"], "hosts": [{"name": "b", "password": "pw"}]}}, after_state=returned
    )
    assert entry["changes"]["config"] == {
        "before": {"tables": ["users", "orders"], "hosts": [{"name": "a", "password": "******"}]},
        "after": {"tables": ["users"], "hosts": [{"name": "b", "password": "******"}]},
    }
    desired, skipped = changes.restore_plan(record_of("update", entry)["connections"][0])
    assert desired == {"config": {"tables": ["users", "orders"], "hosts": [{"name": "a", "password": "******"}]}}
    assert skipped == {}


def test_tuples_inside_config_are_recorded_as_lists() -> None:
    assert changes.mask_object({"ports": (1, 2), "nested": ({"token": "t"},)}) == {
        "ports": [1, 2],
        "nested": [{"token": "******"}],
    }


def test_restoring_a_settings_change_sends_the_earlier_values() -> None:
    current = {"paused": False, "sync_frequency": 60, "schedule_type": "auto", "config": {"host": "db"}}
    update = {"paused": True, "sync_frequency": 1440, "daily_sync_time": "03:00", "config": {"host": "db2", "port": 1}}
    entry = entry_for(current, update)
    desired, skipped = changes.restore_plan(entry)
    assert desired == {"paused": False, "sync_frequency": 60, "config": {"host": "db", "port": None}}
    assert skipped == {"daily_sync_time": "was not set before (it only applies with sync_frequency=1440)"}
    assert entry["not_restorable"] == skipped


def test_what_a_restore_cannot_put_back_is_said_with_the_reason() -> None:
    current = {"config": {"api_token": "******", "host": "db"}, "status": {"is_historical_sync": False}}
    update = {
        "config": {"api_token": "new-token", "host": "db2"},
        "auth": {"client_secret": "s3cret"},
        "is_historical_sync": True,
        "proxy_agent_id": "agent",
        "run_setup_tests": True,
    }
    entry = entry_for(current, update, after_state={"config": {"api_token": "******", "host": "db2"}})
    assert entry["changes"]["auth"] == {"before": None, "after": "******"}
    assert entry["changes"]["config"] == {
        "before": {"api_token": "******", "host": "db"},
        "after": {"api_token": "******", "host": "db2"},
    }
    assert "run_setup_tests" not in entry["changes"]
    desired, skipped = changes.restore_plan(entry)
    assert desired == {"config": {"host": "db"}}
    assert skipped == {
        "config.api_token": "a secret: Fivetran reads it back masked, so the earlier value is unknown",
        "auth": "write-only: Fivetran never reads it back, so the earlier value is unknown",
        "is_historical_sync": "an action, not a setting: a historical sync that has started cannot be undone",
        "proxy_agent_id": "was not set before; there is no earlier value to put back",
    }
    assert "s3cret" not in json.dumps(entry) and "new-token" not in json.dumps(entry)


def test_odd_entries_are_restored_as_far_as_they_can_be() -> None:
    entry = {
        "connection_id": "conn",
        "changes": {
            "colour": {"before": "red", "after": "blue"},
            "paused": "true",
            "config": {"before": None, "after": {"host": "db"}},
            "destination_configuration": {"before": {"wh": "A"}, "after": {"wh": "B"}},
            "proxy_agent_id": {"before": "******", "after": "x"},
            "run_setup_tests": {"before": False, "after": True},
        },
    }
    desired, skipped = changes.restore_plan(entry)
    assert desired == {"destination_configuration": {"wh": "A"}}
    assert skipped == {
        "colour": "not a field this provider knows",
        "paused": "not a field this provider knows",
        "config": "the earlier value is unknown",
        "proxy_agent_id": "the earlier value was masked",
    }
    masked_only = {"changes": {"config": {"before": {"password": "******"}, "after": {"password": "******"}}}}
    assert changes.restore_plan(masked_only)[0] == {}
    assert changes.restore_plan({"connection_id": "c"}) == ({}, {})


def test_a_false_earlier_value_is_restored_not_skipped() -> None:
    desired, skipped = changes.restore_plan({"changes": {"pause_after_trial": {"before": False, "after": True}}})
    assert desired == {"pause_after_trial": False} and skipped == {}


# ------------------------------------------------------------------ secrets in records


def test_config_keys_fivetran_reads_back_masked_are_secret_whatever_their_name() -> None:
    current = {"config": {"custom_field_7": "******", "host": "db"}}
    assert changes.secret_config_keys(current) == {"custom_field_7"}
    entry = entry_for(current, {"config": {"custom_field_7": "value-only-i-know", "host": "db"}})
    assert entry["changes"]["config"] == {"before": {"custom_field_7": "******"}, "after": {"custom_field_7": "******"}}
    assert "value-only-i-know" not in json.dumps(entry)
    assert entry["not_restorable"] == {
        "config.custom_field_7": "a secret: Fivetran reads it back masked, so the earlier value is unknown"
    }


def test_secret_keys_are_masked_at_any_depth_but_nulls_stay_null() -> None:
    masked = changes.mask_field(
        "config",
        {"user": "me", "password": None, "ssh": {"private_key": "KEY", "port": 22}, "extra": "x"},
        secret_keys={"extra"},
    )
    assert masked == {"user": "me", "password": None, "ssh": {"private_key": "******", "port": 22}, "extra": "******"}
    # Keys read back masked are known at the top level only.
    assert changes.mask_object({"outer": {"extra": "x"}}, {"extra"}) == {"outer": {"extra": "x"}}


def test_fields_without_credentials_are_recorded_as_they_are() -> None:
    assert changes.mask_field("destination_configuration", {"password": "x"}) == {"password": "x"}
    assert changes.mask_field("paused", True) is True
    assert changes.mask_field("auth", None) is None
    assert changes.mask_field("auth", {"client_id": "id"}) == "******"
    assert changes.mask_field("external_secrets_keys_config", {"a": 1}) == "******"


@pytest.mark.parametrize("connection", [None, {}, {"config": None}, {"config": "******"}, "odd"])
def test_no_masked_keys_without_a_config_object(connection: Any) -> None:
    assert changes.secret_config_keys(connection) == set()


# ------------------------------------------------------------------ building records


def test_a_record_lists_changed_and_unchanged_connections_in_order() -> None:
    record = changes.new_record("update")
    a = entry_for({"paused": False}, {"paused": True}, "a")
    c = entry_for({"paused": False}, {"paused": True}, "c")
    changes.add_results(record, ["a", "b", "c", "d"], {"c": c, "b": None, "a": a})
    assert record["connection_ids"] == ["a", "c"]
    assert record["unchanged"] == ["b"]
    assert [item["connection_id"] for item in record["connections"]] == ["a", "c"]
    assert record["patched"] is True
    assert record["kind"] == "fivetran_connection_changes" and record["version"] == 1
    assert record["operation"] == "update" and record["dry_run"] is False


def test_a_dry_run_record_plans_without_claiming_a_patch() -> None:
    record = changes.new_record("pause", dry_run=1)  # type: ignore[arg-type]
    changes.add_entry(record, entry_for({"paused": False}, {"paused": True}, patched=False))
    assert record["dry_run"] is True and record["patched"] is False and record["connection_ids"] == []
    assert len(record["connections"]) == 1


def test_an_unknown_operation_is_refused() -> None:
    with pytest.raises(ValueError, match=r"operation must be one of \('update', 'pause', 'resume', 'restore'\)"):
        changes.new_record("delete")


# ------------------------------------------------------------------ reading restore_from


def test_records_are_read_from_dicts_json_text_and_lists() -> None:
    entry = entry_for({"paused": False}, {"paused": True})
    record = record_of("pause", entry)
    assert changes.entries(record) == [entry]
    assert changes.entries(json.dumps(record)) == [entry]
    assert changes.entries([record, None, json.dumps(record)]) == [entry, entry]
    assert changes.entries(None) == []
    assert changes.entries(record_of("pause", entry, dry_run=True)) == []


def test_unsent_entries_are_not_undone() -> None:
    sent = entry_for({"paused": False}, {"paused": True}, "a")
    unsent = entry_for({"paused": False}, {"paused": True}, "b", patched=False)
    assert changes.entries(record_of("pause", sent, unsent)) == [sent]


@pytest.mark.parametrize(
    ("value", "shown", "reason"),
    [
        ("not json at all", "str", "It is text but not JSON."),
        ("{broken", "str", "It is text but not JSON."),
        (
            {"kind": "something_else", "version": 1, "connections": []},
            "dict",
            "It has no 'kind': 'fivetran_connection_changes'.",
        ),
        ({"version": 1, "connections": []}, "dict", "It has no 'kind': 'fivetran_connection_changes'."),
        (
            {"kind": "fivetran_connection_changes", "version": 2, "connections": []},
            "dict",
            "Record version 2 is not supported (expected 1).",
        ),
        (
            {"kind": "fivetran_connection_changes", "version": 1, "connections": {"a": 1}},
            "dict",
            "Its 'connections' is not a list of entries with a connection_id.",
        ),
        (
            {"kind": "fivetran_connection_changes", "version": 1, "connections": [{"connection_id": 5}]},
            "dict",
            "Its 'connections' is not a list of entries with a connection_id.",
        ),
        (
            {"kind": "fivetran_connection_changes", "version": 1, "connections": ["conn"]},
            "dict",
            "Its 'connections' is not a list of entries with a connection_id.",
        ),
        (42, "int", "Expected a record (dict) or a list of records."),
        ([1.5], "float", "Expected a record (dict) or a list of records."),
    ],
)
def test_a_value_that_is_not_a_record_is_refused_clearly(value: Any, shown: str, reason: str) -> None:
    with pytest.raises(FivetranValidationError) as caught:
        changes.entries(value)
    assert str(caught.value) == (
        f"Invalid value for 'restore_from': '<an XCom value of type {shown}>'. Allowed: {ALLOWED}. {reason}"
    )


def test_a_json_string_that_holds_a_string_is_refused_not_recursed_into() -> None:
    with pytest.raises(FivetranValidationError, match="It is text but not JSON"):
        changes.entries(json.dumps("mellow_quartz"))


def test_a_record_with_one_good_and_one_bad_entry_is_refused_whole() -> None:
    record = {
        "kind": "fivetran_connection_changes",
        "version": 1,
        "connections": [{"connection_id": "a", "patched": True}, {"patched": True}],
    }
    with pytest.raises(FivetranValidationError, match="not a list of entries"):
        changes.entries(record)


# ------------------------------------------------------------------ log lines


def test_describe_shows_each_change_as_before_and_after() -> None:
    entry = entry_for(
        {"paused": False, "config": {"host": "db", "password": "******"}},
        {"paused": True, "config": {"host": "db2", "password": "pw"}},
        after_state={"paused": True, "config": {"host": "db2", "password": "******"}},
    )
    assert changes.describe(entry) == (
        'paused: false -> true; config.host: "db" -> "db2"; config.password: "******" -> "******"'
    )
    assert changes.describe({"changes": {}}) == "no change"
    assert changes.describe({}) == "no change"
    added = changes.describe({"changes": {"destination_configuration": {"before": {}, "after": {"b": 1, "a": 2}}}})
    assert added == "destination_configuration.b: null -> 1; destination_configuration.a: null -> 2"


def test_describe_shortens_long_values() -> None:
    long_value = "x" * 300
    text = changes.describe({"changes": {"proxy_agent_id": {"before": None, "after": long_value}}})
    assert text == "proxy_agent_id: null -> " + json.dumps(long_value)[:197] + "..."
    exact = "y" * 198  # 200 characters once quoted: shown whole
    assert changes.describe({"changes": {"proxy_agent_id": {"before": None, "after": exact}}}).endswith(
        json.dumps(exact)
    )
    nested = changes.describe({"changes": {"schedule": {"before": None, "after": {"b": 1, "a": [2]}}}})
    assert nested == 'schedule: null -> {"a": [2], "b": 1}'


# ------------------------------------------------------------------ edges a restore depends on


def test_arguments_may_be_given_by_name() -> None:
    record = changes.new_record(operation="pause", dry_run=True)
    assert record["dry_run"] is True
    entry = changes.build_entry(connection_id="c", diff={"paused": (False, True)}, patched=True, current=None)
    assert entry["changes"] == {"paused": {"before": False, "after": True}}


@pytest.mark.parametrize("version", [0, -1, "1", None])
def test_a_record_of_another_version_is_refused(version: Any) -> None:
    with pytest.raises(FivetranValidationError, match="is not supported"):
        changes.entries({"kind": "fivetran_connection_changes", "version": version, "connections": []})


def test_a_record_whose_version_was_written_as_a_float_is_still_read() -> None:
    record = {"kind": "fivetran_connection_changes", "version": 1.0, "connections": []}
    assert changes.entries(record) == []


@pytest.mark.parametrize(
    ("change", "paused"),
    [
        ({"before": None, "after": False}, False),
        ({"before": False, "after": False}, False),
        ({"before": False, "after": 1}, False),
        ({"before": 1, "after": True}, True),
        ({"before": False, "after": "true"}, False),
    ],
)
def test_only_a_change_to_json_true_is_a_pause(change: dict[str, Any], paused: bool) -> None:
    entry = {"connection_id": "c", "patched": True, "changes": {"paused": change}}
    record = {"kind": "fivetran_connection_changes", "version": 1, "connections": [entry]}
    assert changes.paused_ids(record) == (["c"] if paused else [])


def test_a_test_flag_in_a_record_does_not_stop_the_restore_of_later_fields() -> None:
    entry = {
        "changes": {
            "run_setup_tests": {"before": False, "after": True},
            "sync_frequency": {"before": 60, "after": 360},
        }
    }
    assert changes.restore_plan(entry) == ({"sync_frequency": 60}, {})


def test_an_object_setting_that_was_not_set_before_is_said_so() -> None:
    desired, skipped = changes.restore_plan({"changes": {"schedule": {"before": None, "after": {"a": 1}}}})
    assert desired == {}
    assert skipped == {"schedule": "was not set before; there is no earlier value to put back"}


def test_describe_cuts_at_200_characters() -> None:
    value = "z" * 199  # 201 characters once quoted
    text = changes.describe({"changes": {"proxy_agent_id": {"before": None, "after": value}}})
    assert text == "proxy_agent_id: null -> " + json.dumps(value)[:197] + "..."


# ------------------------------------------------------------------ config 'after' as Fivetran returned it


def test_config_after_is_what_fivetran_returned_never_what_the_dag_passed() -> None:
    current = {"config": {"host": "db", "schema_prefix": "raw", "port": 5432}}
    update = {"config": {"host": "DB2", "apikey_x": "plain-looking", "port": None, "note": "hello"}}
    returned = {"config": {"host": "db2", "apikey_x": "******", "port": None, "schema_prefix": "raw"}}
    entry = entry_for(current, update, after_state=returned)
    assert entry["changes"]["config"] == {
        "before": {"host": "db", "apikey_x": None, "port": 5432, "note": None},
        # normalised by Fivetran; masked by Fivetran; cleared; not read back at all
        "after": {"host": "db2", "apikey_x": "******", "port": None, "note": "******"},
    }
    assert "plain-looking" not in json.dumps(entry) and "hello" not in json.dumps(entry)


def test_a_key_fivetran_reads_back_masked_is_masked_before_the_change_too() -> None:
    current = {"config": {"conn_blob": "old-blob", "host": "db"}}
    returned = {"config": {"conn_blob": "******", "host": "db"}}
    entry = entry_for(current, {"config": {"conn_blob": "new-blob"}}, after_state=returned)
    assert entry["changes"]["config"] == {"before": {"conn_blob": "******"}, "after": {"conn_blob": "******"}}
    assert "old-blob" not in json.dumps(entry)
    assert entry["not_restorable"] == {
        "config.conn_blob": "a secret: Fivetran reads it back masked, so the earlier value is unknown"
    }


@pytest.mark.parametrize("returned", [None, {"paused": True}, {"config": "******"}, {"config": ["host"]}])
def test_without_fivetran_s_answer_only_secrets_of_config_after_are_masked(returned: Any) -> None:
    current = {"service": "postgres", "config": {"host": "db", "port": 5432, "keystore": "******"}}
    update = {"config": {"host": "db2", "port": None, "keystore": "k2", "client_private_key": "pem", "api_pwd": "p"}}
    entry = entry_for(current, update, after_state=returned)
    assert entry["changes"]["config"]["after"] == {
        "host": "db2",  # no secret by any word: shown as the DAG passed it
        "port": None,
        "keystore": "******",  # Fivetran reads it back masked
        "client_private_key": "******",  # format: password for postgres in the definition
        "api_pwd": "******",  # a name that marks a credential
    }


def test_settings_objects_that_hold_no_secret_are_recorded_as_sent() -> None:
    current = {"destination_configuration": {"virtual_warehouse": "SMALL"}}
    update = {"destination_configuration": {"virtual_warehouse": "LARGE"}}
    planned = entry_for(current, update, patched=False)  # a dry run: no answer from Fivetran
    assert planned["changes"]["destination_configuration"] == {
        "before": {"virtual_warehouse": "SMALL"},
        "after": {"virtual_warehouse": "LARGE"},
    }
    desired, _skipped = changes.restore_plan(planned)
    assert desired == {"destination_configuration": {"virtual_warehouse": "SMALL"}}

"""The connection form: typed fields on Airflow 2's Flask UI, and a port the Test button can use."""

from __future__ import annotations

import pytest

from fivetran_provider._provider_info import CONN_FIELDS, UI_FIELD_BEHAVIOUR, field_kind
from fivetran_provider.hooks import FivetranHook


def test_field_kind_reads_nullable_schema_types() -> None:
    assert field_kind({"type": ["integer", "null"]}) == ("integer", True)
    assert field_kind({"type": "integer"}) == ("integer", False)
    assert field_kind({"type": ["null", "boolean"]}) == ("boolean", True)
    assert field_kind({}) == ("string", False)


def test_flask_form_fields_are_integers_that_may_stay_empty() -> None:
    wtforms = pytest.importorskip("wtforms", reason="the Flask UI's form needs wtforms (Airflow 2, or 3 with FAB)")
    from wtforms.validators import NumberRange, Optional

    widgets = FivetranHook.get_connection_form_widgets()
    assert set(widgets) == set(CONN_FIELDS)
    for name, field in widgets.items():
        assert field.field_class is wtforms.IntegerField, name
        validators = field.kwargs["validators"]
        assert any(isinstance(v, Optional) for v in validators), name
        (number_range,) = [v for v in validators if isinstance(v, NumberRange)]
        assert number_range.min == CONN_FIELDS[name]["schema"]["minimum"], name


def test_port_stays_visible_for_the_test_button() -> None:
    # Airflow 3.3's Test button sends port 0 for an empty or hidden port, and the API refuses to
    # test a stored connection whose port differs; the user must be able to fill it in.
    assert "port" not in UI_FIELD_BEHAVIOUR["hidden-fields"]
    assert "port" not in FivetranHook.get_ui_field_behaviour()["hidden_fields"]
    assert UI_FIELD_BEHAVIOUR["relabeling"]["port"].startswith("Port")

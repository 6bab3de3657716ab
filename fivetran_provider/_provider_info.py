"""What Airflow's ProvidersManager learns about this provider, including the connection form."""

from __future__ import annotations

from typing import Any

from fivetran_provider import __version__

# The port stays visible and should be filled in: Airflow 3.3's Test button sends port 0 for an
# empty port, and the API refuses to test a stored connection whose port (null) differs from it.
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema"],
    "relabeling": {
        "login": "API key",
        "password": "API secret",
        "host": "API URL (optional)",
        "port": "Port (443, or the simulator's)",
    },
    "placeholders": {
        "host": "https://api.fivetran.com",
        "port": "443",
        "login": "Fivetran API key",
        "password": "Fivetran API secret",
    },
}

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "connect_timeout": {
        "label": "Connect timeout (s)",
        "description": "Seconds to wait for a TCP connection to Fivetran (default 10).",
        "schema": {"type": ["integer", "null"], "minimum": 1},
    },
    "read_timeout": {
        "label": "Read timeout (s)",
        "description": "Seconds to wait for an answer; keep above Fivetran's 60 s limit (default 90).",
        "schema": {"type": ["integer", "null"], "minimum": 1},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries after 429, 5xx and network errors (default 5).",
        "schema": {"type": ["integer", "null"], "minimum": 0},
    },
    "max_retry_after": {
        "label": "Longest Retry-After to honour (s)",
        "description": "A 429 asking for a longer wait fails at once with a rate-limit error (default 300).",
        "schema": {"type": ["integer", "null"], "minimum": 0},
    },
}


def field_kind(schema: dict[str, Any]) -> tuple[str, bool]:
    """The JSON-schema type of a form field and whether it may be left empty.

    :param schema: the field's ``schema`` entry, whose ``type`` is a name or a list such as
        ``["integer", "null"]``.
    """
    kinds = schema.get("type", "string")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    return next((kind for kind in kinds if kind != "null"), "string"), "null" in kinds


def form_widgets() -> dict[str, Any]:
    """The WTForms fields of the connection form for Airflow's Flask UI (Airflow 2 and 3 before 3.2).

    Integer fields are integer inputs that may be left empty and enforce the declared minimum.
    Returns ``{}`` when the web UI's packages (wtforms, Flask-Babel) are not installed.
    """
    try:
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import NumberRange, Optional
    except ImportError:  # the form needs the web UI's packages; without them there is no form
        return {}
    try:
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget

        text_widget: dict[str, Any] = {"widget": BS3TextFieldWidget()}
    except ImportError:  # pragma: no cover - no Flask-AppBuilder (Airflow 3 without the FAB provider)
        text_widget = {}
    widgets: dict[str, Any] = {}
    for name, spec in CONN_FIELDS.items():
        kind, optional = field_kind(spec["schema"])
        validators: list[Any] = [Optional()] if optional else []
        label, description = lazy_gettext(spec["label"]), spec["description"]
        if kind == "integer":
            if "minimum" in spec["schema"]:
                validators.append(NumberRange(min=spec["schema"]["minimum"]))
            widgets[name] = IntegerField(label, validators=validators, description=description, **text_widget)
        elif kind == "boolean":
            widgets[name] = BooleanField(label, description=description)
        else:
            widgets[name] = StringField(label, validators=validators, description=description, **text_widget)
    return widgets


def provider_info() -> dict[str, Any]:
    """The provider-info mapping returned by :func:`fivetran_provider.get_provider_info`."""
    return {
        "package-name": "airflow-provider-fivetran-connections",
        "name": "Fivetran Connections",
        "description": "Reconfigure Fivetran connections from Airflow: pause, resume, schedule, "
        "historical resync and undo, with validation and safe retries.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Fivetran",
                "external-doc-url": "https://fivetran.com/docs/rest-api",
                "tags": ["service"],
            }
        ],
        "operators": [{"integration-name": "Fivetran", "python-modules": ["fivetran_provider.operators"]}],
        "sensors": [{"integration-name": "Fivetran", "python-modules": ["fivetran_provider.sensors"]}],
        "hooks": [{"integration-name": "Fivetran", "python-modules": ["fivetran_provider.hooks"]}],
        "triggers": [{"integration-name": "Fivetran", "python-modules": ["fivetran_provider.triggers"]}],
        "asset-uris": [{"schemes": ["fivetran"], "handler": "fivetran_provider.assets.normalize_fivetran_uri"}],
        "extra-links": ["fivetran_provider.links.FivetranConnectionLink"],
        "connection-types": [
            {
                "connection-type": "fivetran",
                "hook-class-name": "fivetran_provider.hooks.FivetranHook",
                "hook-name": "Fivetran",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }

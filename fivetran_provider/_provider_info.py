"""What Airflow's ProvidersManager learns about this provider, including the connection form."""

from __future__ import annotations

from typing import Any

from fivetran_provider import __version__

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {"login": "API key", "password": "API secret", "host": "API URL (optional)"},
    "placeholders": {
        "host": "https://api.fivetran.com",
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

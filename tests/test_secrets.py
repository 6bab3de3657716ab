"""Which config values are secrets (``fivetran_provider.secrets``) and what goes to Airflow's masker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fivetran_provider import secrets
from fivetran_provider._compat import redact

ROOT = Path(__file__).resolve().parent.parent


def test_password_keys_follow_the_service_and_fall_back_to_every_service() -> None:
    assert secrets.password_keys("postgres") >= {"password", "client_private_key"}
    assert "host" not in secrets.password_keys("postgres")
    assert secrets.password_keys("stripe") >= {"api_key"}
    assert secrets.password_keys(None) >= secrets.password_keys("postgres") | secrets.password_keys("stripe")
    assert secrets.password_keys("no_such_service") == secrets.password_keys(None)


def test_only_secret_values_of_a_config_are_registered() -> None:
    current = {"service": "postgres", "config": {"keystore": "******", "host": "h"}}
    body = {
        "config": {
            "host": "plain-host.internal",
            "keystore": "only-fivetran-masks-this-key",
            "password": "format-password-value",
            "tunnel": {"private_key": "nested-private-key", "port": "22222"},
            "list_of_hosts": ["one-host.internal"],
        },
        "auth": {"client_id": "write-only-client-id"},
    }
    secrets.register_body(body, current)
    hidden = ("only-fivetran-masks-this-key", "format-password-value", "nested-private-key", "write-only-client-id")
    for secret in hidden:
        assert redact(f"[{secret}]") == "[***]", secret
    for plain in ("plain-host.internal", "22222", "one-host.internal"):
        assert redact(f"[{plain}]") == f"[{plain}]", plain


def test_text_that_is_not_a_config_object_is_a_secret_as_a_whole() -> None:
    assert secrets.secret_strings("whole-unparsed-config-text", set()) == ["whole-unparsed-config-text"]


@pytest.mark.skipif(not os.environ.get("FIVETRAN_OPENAPI_SPEC"), reason="needs FIVETRAN_OPENAPI_SPEC")
def test_the_table_is_what_the_tool_derives_from_the_official_definition() -> None:
    derived = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "derive_password_keys.py"), os.environ["FIVETRAN_OPENAPI_SPEC"]],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    stored = (ROOT / "fivetran_provider" / "secret_keys.json").read_text(encoding="utf-8")
    assert json.loads(derived) == json.loads(stored)


def test_the_client_and_the_simulator_keep_their_own_tables() -> None:
    client = (ROOT / "fivetran_provider" / "secrets.py").read_text(encoding="utf-8")
    assert "testing" not in client and "secret_fields" not in client
    for module in (ROOT / "fivetran_provider" / "testing").glob("*.py"):
        assert "secret_keys" not in module.read_text(encoding="utf-8"), module

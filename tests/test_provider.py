"""The provider registers with Airflow and its connection form is declared both ways."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fivetran_provider import __version__, get_provider_info
from fivetran_provider.hooks import FivetranHook


def test_provider_info_passes_airflows_own_validation() -> None:
    from airflow.providers_manager import (
        _create_customized_form_field_behaviours_schema_validator,
        _create_provider_info_schema_validator,
    )

    info = get_provider_info()
    _create_provider_info_schema_validator().validate(info)
    _create_customized_form_field_behaviours_schema_validator().validate(FivetranHook.get_ui_field_behaviour())
    assert info["package-name"] == "airflow-provider-fivetran-connections"
    assert info["versions"] == [__version__]


def test_every_registered_class_and_module_imports() -> None:
    import importlib

    info = get_provider_info()
    for kind in ("operators", "sensors", "hooks", "triggers"):
        for entry in info[kind]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for dotted in [*info["extra-links"], info["connection-types"][0]["hook-class-name"]]:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


def test_connection_form_is_declared_on_the_hook_too() -> None:
    info = get_provider_info()["connection-types"][0]
    assert info["connection-type"] == FivetranHook.conn_type == "fivetran"
    from_hook = FivetranHook.get_ui_field_behaviour()
    assert from_hook["hidden_fields"] == info["ui-field-behaviour"]["hidden-fields"]
    assert from_hook["relabeling"] == info["ui-field-behaviour"]["relabeling"]
    assert FivetranHook.get_ui_field_behaviour()["relabeling"]["password"] == "API secret"
    assert set(info["conn-fields"]) >= {"connect_timeout", "read_timeout", "max_retries", "max_retry_after"}


def test_airflow_lists_the_provider_with_its_version(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    listed = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list"], capture_output=True, text=True, env=env, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if "airflow-provider-fivetran-connections" in row)
    assert __version__ in line


def test_importing_the_provider_touches_no_network_or_database(tmp_path: Path) -> None:
    # A DAG file imports these at parse time; with no reachable network and no database they must still import.
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('network used at import time')\n"
        "socket.socket.connect = refuse\n"
        "import fivetran_provider.operators as ops, fivetran_provider.hooks, fivetran_provider.sensors\n"
        "import fivetran_provider.triggers\n"
        "print(ops.UpdateFivetranConnectionOperator.__name__)\n"
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////nonexistent/x.db",
    }
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "UpdateFivetranConnectionOperator" in done.stdout


def test_example_dag_discovery_of_airflow_3_3_loads_the_provider_without_an_error(caplog: Any) -> None:
    """Airflow 3.3 imports the module named like the distribution and looks for ``example_dags`` there."""
    import importlib

    module = importlib.import_module(get_provider_info()["package-name"].replace("-", "_"))
    assert not any((Path(folder) / "example_dags").exists() for folder in module.__path__)
    try:
        from airflow.dag_processing.bundles.manager import _add_provider_example_dags_to_bundle
    except ImportError:  # before Airflow 3.3 only Airflow's own example DAGs are loaded
        return
    bundles: list[Any] = []
    with caplog.at_level("ERROR"):
        _add_provider_example_dags_to_bundle(bundles)
    assert "airflow_provider_fivetran_connections" not in caplog.text
    assert not [bundle for bundle in bundles if "fivetran" in str(bundle)]

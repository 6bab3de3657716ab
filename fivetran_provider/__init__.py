"""Apache Airflow provider for reconfiguring Fivetran connections."""

from __future__ import annotations

from typing import Any

from fivetran_provider._clash import check_no_conflicting_distribution

__version__ = "0.1.0"
"""The version of this distribution; ``pyproject.toml`` reads it from here."""

check_no_conflicting_distribution()


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""
    from fivetran_provider._provider_info import provider_info

    return provider_info()

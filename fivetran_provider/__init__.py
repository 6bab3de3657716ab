"""Apache Airflow provider for reconfiguring Fivetran connections."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""
    from fivetran_provider._provider_info import provider_info

    return provider_info()

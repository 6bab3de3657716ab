"""Names of the two earlier Fivetran providers, implemented on this provider.

* ``fivetran_provider.operators.fivetran``, ``fivetran_provider.sensors.fivetran`` and
  ``fivetran_provider.hooks.fivetran``: the classes of the archived ``airflow-provider-fivetran``
  1.x, at the import paths its DAGs use.
* :mod:`fivetran_provider.compat.fivetran_async`: the classes of ``airflow-provider-fivetran-async``
  2.x; ``python -m fivetran_provider.migrate`` rewrites ``fivetran_provider_async`` imports to it.

Each class keeps its old arguments, behaviour and XCom values, calls only the current
``/v1/connections`` API, and warns once per process which of this provider's own classes to use
instead (see ``docs/guides/migrating.md``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FivetranCompatibilityWarning"]


def __getattr__(name: str) -> Any:
    if name == "FivetranCompatibilityWarning":
        from fivetran_provider.compat._legacy import FivetranCompatibilityWarning

        return FivetranCompatibilityWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

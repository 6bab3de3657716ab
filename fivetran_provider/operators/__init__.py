"""Operators that reconfigure Fivetran connections and wait for their syncs.

Names are imported lazily so that ``import fivetran_provider.operators`` stays cheap at DAG-parse time.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "UpdateFivetranConnectionOperator": "fivetran_provider.operators.update",
    "PauseConnectionOperator": "fivetran_provider.operators.pause",
    "ResumeConnectionOperator": "fivetran_provider.operators.pause",
    "RestoreFivetranConnectionOperator": "fivetran_provider.operators.restore",
    "FivetranSyncOperator": "fivetran_provider.operators.sync",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

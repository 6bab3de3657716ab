"""The classes of ``airflow-provider-fivetran-async`` 2.x (``fivetran_provider_async``), on this provider.

``python -m fivetran_provider.migrate DAG_FOLDER --write`` rewrites ``fivetran_provider_async``
imports to this package, whose modules mirror the old ones: ``.operators``
(``FivetranOperator``, ``FivetranResyncOperator``), ``.sensors`` (``FivetranSensor``), ``.hooks``
(``FivetranHook``, ``FivetranHookAsync``) and ``.triggers`` (``FivetranTrigger``). Modules are
imported when first used, so ``import fivetran_provider.compat.fivetran_async as
fivetran_provider_async`` keeps ``fivetran_provider_async.operators.FivetranOperator`` working.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "2.4.0"
"""The ``airflow-provider-fivetran-async`` release whose arguments and behaviour these classes keep."""

_SUBMODULES = ("operators", "sensors", "hooks", "triggers")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The one place that knows where Airflow keeps things in each major version.

Every other module imports Airflow names from here, never from version-specific paths.
Airflow 3 exposes its public authoring API under ``airflow.sdk``; Airflow 2 keeps the same
objects under older module paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import airflow
from airflow.exceptions import AirflowException

try:  # Airflow 3: the class the task SDK's sensors catch
    from airflow.sdk.exceptions import AirflowSensorTimeout
except ImportError:  # pragma: no cover - Airflow 2
    from airflow.exceptions import AirflowSensorTimeout  # type: ignore[no-redef,attr-defined,unused-ignore]

try:  # Airflow 3.2+: where the task SDK's BaseOperator.defer raises it from
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # pragma: no cover - Airflow 2.11 to 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef,attr-defined,unused-ignore]

from fivetran_provider._clash import check_no_conflicting_distribution

# Every module of this package imports this one: a clash with the archived distribution, whose
# files may have replaced ``fivetran_provider/__init__.py``, is still caught here.
check_no_conflicting_distribution()

AIRFLOW_VERSION: str = airflow.__version__
_MAJOR_MINOR: tuple[int, ...] = tuple(int(part) for part in AIRFLOW_VERSION.split(".")[:2] if part.isdigit())
AIRFLOW_V_3_PLUS: bool = _MAJOR_MINOR >= (3,)
#: Airflow 3.1 and later register a DAG's assets when ``dag.test()`` runs it; 3.0 refuses outlet
#: assets that no DAG processor has registered yet (aliases are not checked).
AIRFLOW_V_3_1_PLUS: bool = _MAJOR_MINOR >= (3, 1)

# The base classes our operators, sensor and extra link derive from are needed to define them, so
# they are imported here; ``airflow.sdk`` (or, on Airflow 2, ``from airflow import DAG``) has
# already loaded them in any DAG file. Every other Airflow name is imported on first use, through
# ``__getattr__`` below: ``task`` alone would pull in the standard provider's Python operators.
if AIRFLOW_V_3_PLUS:
    from airflow.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator
else:  # pragma: no cover - exercised only on Airflow 2
    from airflow.models.baseoperator import BaseOperator  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.models.baseoperatorlink import BaseOperatorLink  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.sensors.base import BaseSensorOperator  # type: ignore[no-redef,attr-defined,unused-ignore]

#: Where each lazily imported name lives: ``(module on Airflow 3, module on Airflow 2)``; the first
#: module that has the name wins (Airflow 3.0 keeps ``BaseHook`` in core only).
_LAZY: dict[str, tuple[str, ...]] = {
    "DAG": ("airflow.sdk", "airflow.models.dag"),
    "Param": ("airflow.sdk", "airflow.models.param"),
    "PokeReturnValue": ("airflow.sdk", "airflow.sensors.base"),
    "task": ("airflow.sdk", "airflow.decorators"),
    "BaseHook": ("airflow.sdk", "airflow.hooks.base"),
    # Triggers live outside ``airflow.sdk`` (Airflow 3.3) and at the same path on Airflow 2; only
    # the triggerer needs them.
    "BaseTrigger": ("airflow.triggers.base",),
    "TriggerEvent": ("airflow.triggers.base",),
}

if TYPE_CHECKING:
    from airflow.sdk import DAG, BaseHook, Context, Param, PokeReturnValue, task
    from airflow.triggers.base import BaseTrigger, TriggerEvent
else:
    Context = dict  # only used in annotations


def mask_secret(value: Any, name: str | None = None) -> None:
    """Register ``value`` with Airflow's secret masker so it is redacted from task logs.

    :param value: a string, or a dict/list whose sensitive entries should be masked.
    :param name: optional key name, which lets the masker decide on nested values.
    """
    try:
        from airflow.sdk.log import mask_secret as _mask
    except ImportError:  # pragma: no cover - Airflow 3.0 or Airflow 2
        try:
            from airflow.sdk.execution_time.secrets_masker import (  # type: ignore[no-redef,unused-ignore]
                mask_secret as _mask,
            )
        except ImportError:
            from airflow.utils.log.secrets_masker import mask_secret as _mask  # type: ignore[no-redef,attr-defined,unused-ignore]
    _mask(value, name)


async def amask_secret(value: Any, name: str | None = None) -> None:
    """:func:`mask_secret` for code running on an event loop (triggers), without blocking it.

    Airflow 3.3 has an async ``amask_secret`` that tells the supervisor with a non-blocking
    send. Older versions only have the synchronous one, which may block on the supervisor (and
    raise ``DeadlockImminentError`` while another async call is in flight), so it runs in a
    worker thread there, as :func:`aget_connection` does on those versions.

    :param value: a string, or a dict/list whose sensitive entries should be masked.
    :param name: optional key name, which lets the masker decide on nested values.
    """
    try:
        from airflow.sdk.log import amask_secret as _amask
    except ImportError:  # pragma: no cover - Airflow before 3.3 or Airflow 2
        from asgiref.sync import sync_to_async

        await sync_to_async(mask_secret)(value, name)
        return
    await _amask(value, name)


async def aextra_dejson(conn: Any) -> dict[str, Any]:
    """A connection's extras as a dict (their secrets masked), read without blocking the event loop.

    Uses ``conn.aextra_dejson()`` where the connection has it (Airflow 3.3), which masks the
    secrets with :func:`amask_secret`'s async send. Otherwise it reads ``conn.extra_dejson``,
    whose masking is synchronous, in a worker thread.

    :param conn: an Airflow connection, e.g. from :func:`aget_connection`.
    """
    if hasattr(conn, "aextra_dejson"):
        extras = await conn.aextra_dejson()
    else:  # pragma: no cover - Airflow before 3.3 or Airflow 2
        from asgiref.sync import sync_to_async

        extras = await sync_to_async(lambda: conn.extra_dejson)()
    return extras or {}


def redact(value: Any) -> Any:
    """Return ``value`` with every registered secret replaced by ``***``.

    :param value: any loggable value.
    """
    try:
        from airflow.sdk.log import redact as _redact
    except ImportError:  # pragma: no cover
        try:
            from airflow.sdk.execution_time.secrets_masker import (  # type: ignore[no-redef,unused-ignore]
                redact as _redact,
            )
        except ImportError:
            from airflow.utils.log.secrets_masker import redact as _redact  # type: ignore[no-redef,attr-defined,unused-ignore]
    return _redact(value)


async def aget_connection(conn_id: str) -> Any:
    """Read an Airflow connection from async code without blocking the event loop.

    :param conn_id: the Airflow connection id.
    """
    try:
        from airflow.providers.common.compat.connection import get_async_connection
    except ImportError:  # pragma: no cover - older common-compat or Airflow 2
        from asgiref.sync import sync_to_async

        return await sync_to_async(BaseHook.get_connection)(conn_id)
    return await get_async_connection(conn_id)


def default_deferrable() -> bool:
    """Read ``[operators] default_deferrable`` from the Airflow configuration (False if unset)."""
    from airflow.configuration import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


def dag_bag(dag_folder: str) -> Any:
    """Parse every DAG file of a folder (Airflow's ``DagBag``, without Airflow's own example DAGs).

    :param dag_folder: the folder to parse.
    """
    try:  # Airflow 3.2+
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # pragma: no cover - Airflow 2.11 to 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef,attr-defined,unused-ignore]

        return DagBag(dag_folder=dag_folder, include_examples=False)  # type: ignore[call-arg,unused-ignore]
    return DagBag(dag_folder=dag_folder)


def xcom_table() -> Any:
    """The ORM model of the metadata DB's XCom table (for reading what a run stored, e.g. in tests)."""
    if AIRFLOW_V_3_PLUS:
        from airflow.models.xcom import XComModel
    else:  # pragma: no cover - exercised only on Airflow 2
        from airflow.models.xcom import XCom as XComModel  # type: ignore[no-redef,attr-defined,unused-ignore]
    return XComModel


def import_string(dotted_path: str) -> Any:
    """Import a class or function by its dotted path, as Airflow does with a trigger's class path.

    :param dotted_path: ``package.module.Name``.
    """
    import importlib

    module, _, name = dotted_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def serde() -> tuple[Any, Any]:
    """Airflow's own ``(serialize, deserialize)`` pair, which stores trigger kwargs."""
    try:  # Airflow 3.3
        from airflow.sdk.serde import deserialize, serialize
    except ImportError:  # pragma: no cover - Airflow 2.11 to 3.2
        from airflow.serialization.serde import (  # type: ignore[no-redef,attr-defined,unused-ignore]
            deserialize,
            serialize,
        )
    return serialize, deserialize


def stored_xcom_value(row: Any) -> Any:
    """The value of a row of :func:`xcom_table`, deserialized.

    :param row: an XCom row read from the metadata DB.
    """
    if AIRFLOW_V_3_PLUS:
        return xcom_table().deserialize_value(row)
    return row.value  # pragma: no cover - Airflow 2 deserializes the row when loading it


def get_xcom() -> Any:
    """The configured XCom class, for reading stored values (e.g. in an operator extra link)."""
    if AIRFLOW_V_3_PLUS:
        from airflow.sdk.execution_time.xcom import XCom
    else:  # pragma: no cover - exercised only on Airflow 2
        from airflow.models.xcom import XCom  # type: ignore[no-redef,attr-defined,unused-ignore]
    return XCom


def build_in_process_execution_api_once() -> None:
    """Make ``dag.test()`` build its in-process Execution API once per process, as Airflow 3.3 does.

    Airflow 3.0 to 3.2 build the whole API application again for every task that ``dag.test()``
    runs (seconds each); 3.3 keeps the first one. The test suite calls this before running DAGs;
    nothing a deployment runs uses it. On Airflow 3.0 a rescheduled sensor's first start date is
    parsed too (:func:`_parse_reschedule_start_date`). No effect on Airflow 2 or where it is
    cached already.
    """
    if not AIRFLOW_V_3_PLUS:
        return
    try:
        from airflow.sdk.execution_time import supervisor
    except ImportError:  # pragma: no cover - older task SDK layout
        return
    build = getattr(supervisor, "in_process_api_server", None)
    if build is None or hasattr(build, "cache_info"):
        return
    import functools

    if not AIRFLOW_V_3_1_PLUS:
        _parse_reschedule_start_date()
    supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(build)


def _parse_reschedule_start_date() -> None:
    """Airflow 3.0's client hands a rescheduled sensor its first start date as the answer's text.

    Across a process boundary the date is parsed on the way; ``dag.test()`` runs the task in the
    same process, where the sensor then subtracts a string from a datetime. Parsing it here gives
    the sensor what a deployment's task process gets.
    """
    from airflow.sdk.api.client import TaskInstanceOperations

    read_start_date = TaskInstanceOperations.get_reschedule_start_date

    def parsed_start_date(self: Any, id: Any, try_number: int = 1) -> Any:
        answer = read_start_date(self, id, try_number)
        return type(answer).model_validate({"start_date": answer.start_date})

    TaskInstanceOperations.get_reschedule_start_date = parsed_start_date  # type: ignore[method-assign]


class AirflowFeatureUnavailableError(AirflowException):
    """A feature of this provider needs a newer Airflow than the one installed."""


def require_airflow_3(feature: str) -> None:
    """Fail with a clear message when ``feature`` is used on Airflow 2.

    :param feature: what the user tried to use, e.g. ``"fivetran_connection_asset"``.
    :raises AirflowFeatureUnavailableError: on Airflow 2.
    """
    if not AIRFLOW_V_3_PLUS:
        raise AirflowFeatureUnavailableError(
            f"{feature} needs Airflow 3 (event-driven scheduling with assets and asset watchers); "
            f"this is Airflow {AIRFLOW_VERSION}. Use FivetranSyncSensor to wait for a sync on Airflow 2."
        )


def event_trigger_base() -> type:
    """``BaseEventTrigger`` (Airflow 3), the base of triggers that can watch assets; ``BaseTrigger`` on Airflow 2."""
    from airflow.triggers import base

    return getattr(base, "BaseEventTrigger", base.BaseTrigger)


def asset_classes() -> tuple[Any, Any, Any]:
    """``(Asset, AssetAlias, AssetWatcher)`` of Airflow 3's task SDK.

    :raises AirflowFeatureUnavailableError: on Airflow 2.
    """
    require_airflow_3("Fivetran assets")
    from airflow.sdk import Asset, AssetAlias, AssetWatcher

    return Asset, AssetAlias, AssetWatcher


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_PLUS",
    "DAG",
    "AirflowException",
    "AirflowFeatureUnavailableError",
    "AirflowSensorTimeout",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "Param",
    "PokeReturnValue",
    "TaskDeferred",
    "TriggerEvent",
    "aextra_dejson",
    "aget_connection",
    "amask_secret",
    "asset_classes",
    "build_in_process_execution_api_once",
    "dag_bag",
    "default_deferrable",
    "event_trigger_base",
    "get_xcom",
    "import_string",
    "mask_secret",
    "redact",
    "require_airflow_3",
    "serde",
    "stored_xcom_value",
    "task",
    "xcom_table",
]


def __getattr__(name: str) -> Any:
    """Import an Airflow name of :data:`_LAZY` when first asked for, and keep it in this module.

    :param name: the attribute asked for.
    """
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    modules = _LAZY[name] if AIRFLOW_V_3_PLUS or len(_LAZY[name]) == 1 else _LAZY[name][1:]
    for position, module in enumerate(modules):
        try:
            value = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            if position == len(modules) - 1:
                raise
            continue  # pragma: no cover - Airflow 3.0's BaseHook
        globals()[name] = value
        return value
    raise AttributeError(name)  # pragma: no cover - _LAZY never holds an empty tuple

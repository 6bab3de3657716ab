"""OpenLineage datasets for the operators that run a Fivetran sync.

Only used when ``apache-airflow-providers-openlineage`` is installed (``pip install
airflow-provider-fivetran-connections[openlineage]``); nothing here is imported otherwise.

Naming (Fivetran has no OpenLineage naming convention of its own):

* inputs, one per enabled source table: namespace ``<service>://<connection_id>`` (the
  connector type as Fivetran reports it, e.g. ``postgres``), name ``<source schema>.<table>``;
  a connection whose schema configuration cannot be read gives one input named after the
  connection's ``schema``.
* outputs, one per enabled table: namespace ``fivetran://<group_id>`` (the destination),
  name ``<schema name_in_destination>.<table name_in_destination>``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fivetran_provider.exceptions import FivetranError, short_error

if TYPE_CHECKING:
    from fivetran_provider.hooks import FivetranHook


def openlineage_available() -> bool:
    """Whether the Airflow OpenLineage provider is installed (checked without importing it)."""
    try:
        return importlib.util.find_spec("airflow.providers.openlineage") is not None
    except (ImportError, ValueError):
        return False


def read_sync_lineage(hook: FivetranHook, connection_id: str, log: Any = None) -> dict[str, Any] | None:
    """Read what a sync moved, once, when it has completed: the connection and its schema configuration.

    Returns ``None`` (and reads nothing) without the OpenLineage provider. A schema configuration
    that cannot be read is logged and leaves the tables out; lineage never fails a task.

    :param hook: the task's hook.
    :param connection_id: the Fivetran connection id.
    :param log: where to report a failed read.
    :return: plain data for :func:`operator_lineage` (JSON-serialisable).
    """
    if not openlineage_available():
        return None
    try:
        connection = hook.get_connection_details(connection_id)
    except FivetranError as error:
        if log is not None:
            log.warning("No lineage for Fivetran connection %s: %s", connection_id, short_error(error))
        return None
    source = {
        "connection_id": connection_id,
        "service": connection.get("service"),
        "schema": connection.get("schema"),
        "group_id": connection.get("group_id"),
        "schemas": None,
    }
    try:
        source["schemas"] = hook.get_schema_config(connection_id).get("schemas")
    except FivetranError as error:
        if log is not None:
            log.warning(
                "Lineage of Fivetran connection %s without tables: schema configuration not readable (%s)",
                connection_id,
                short_error(error),
            )
    return source


def enabled_tables(schemas: Any) -> list[tuple[str, str, str, str]]:
    """``(source schema, source table, destination schema, destination table)`` of every enabled table.

    :param schemas: ``schemas`` of ``GET /v1/connections/{id}/schemas``.
    """
    result: list[tuple[str, str, str, str]] = []
    if not isinstance(schemas, Mapping):
        return result
    for schema_name, schema in sorted(schemas.items()):
        if not isinstance(schema, Mapping) or schema.get("enabled") is False:
            continue
        tables = schema.get("tables")
        if not isinstance(tables, Mapping):
            continue
        dest_schema = str(schema.get("name_in_destination") or schema_name)
        for table_name, table in sorted(tables.items()):
            if not isinstance(table, Mapping) or table.get("enabled") is False:
                continue
            result.append((schema_name, table_name, dest_schema, str(table.get("name_in_destination") or table_name)))
    return result


def operator_lineage(source: Mapping[str, Any] | None) -> Any:
    """The ``OperatorLineage`` for :func:`read_sync_lineage`'s data (empty when there is none).

    :param source: what :func:`read_sync_lineage` returned.
    """
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    if not source:
        return OperatorLineage()
    connection_id = source["connection_id"]
    input_namespace = f"{source.get('service') or 'fivetran'}://{connection_id}"
    tables = enabled_tables(source.get("schemas"))
    if not tables:
        return OperatorLineage(inputs=[Dataset(namespace=input_namespace, name=str(source.get("schema")))])
    output_namespace = f"fivetran://{source.get('group_id')}"
    return OperatorLineage(
        inputs=[Dataset(namespace=input_namespace, name=f"{schema}.{table}") for schema, table, _, _ in tables],
        outputs=[Dataset(namespace=output_namespace, name=f"{schema}.{table}") for _, _, schema, table in tables],
    )


class SyncLineageMixin:
    """``get_openlineage_facets_on_complete`` for operators that run a sync.

    The operator stores :func:`read_sync_lineage`'s result in ``self._sync_lineage`` when the
    sync has completed; the OpenLineage listener then asks for the facets.
    """

    _sync_lineage: dict[str, Any] | None = None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The input and output datasets of the sync this task ran (OpenLineage provider hook).

        :param task_instance: the finished task instance.
        """
        return operator_lineage(self._sync_lineage)

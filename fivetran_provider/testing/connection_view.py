"""A connection as ``GET /v1/connections/{id}`` shows it."""

from __future__ import annotations

import copy
from typing import Any

from fivetran_provider.testing.masking import mask_config
from fivetran_provider.testing.model import Connection
from fivetran_provider.testing.schedules import is_overdue
from fivetran_provider.testing.timestamps import format_timestamp, optional_timestamp


def render_connection(conn: Connection, now: float) -> dict[str, Any]:
    """The connection's public fields: status derived from its runs, secrets masked, auth left out.

    :param conn: the stored connection.
    :param now: the simulator's current time.
    """
    sync_state = "scheduled"
    if conn.paused:
        sync_state = "paused"
    elif conn.run is not None:
        sync_state = "syncing"
    elif conn.rescheduled_for is not None:
        sync_state = "rescheduled"
    status: dict[str, Any] = {"setup_state": conn.setup_state}
    if conn.schema_status is not None:
        status["schema_status"] = conn.schema_status
    status["sync_state"] = sync_state
    status["update_state"] = "delayed" if is_overdue(conn, now) else "on_schedule"
    status["is_historical_sync"] = conn.is_historical_sync
    if sync_state == "rescheduled" and conn.rescheduled_for is not None:
        status["rescheduled_for"] = format_timestamp(conn.rescheduled_for)
    status["tasks"] = copy.deepcopy(conn.tasks)
    status["warnings"] = copy.deepcopy(conn.warnings)

    data: dict[str, Any] = {
        "id": conn.id,
        "group_id": conn.group_id,
        "service": conn.service,
        "service_version": conn.service_version,
        "schema": conn.schema,
        "connected_by": conn.connected_by,
        "created_at": format_timestamp(conn.created_at),
        "succeeded_at": optional_timestamp(conn.succeeded_at),
        "failed_at": optional_timestamp(conn.failed_at),
        "paused": conn.paused,
        "pause_after_trial": conn.pause_after_trial,
        "sync_frequency": conn.sync_frequency,
    }
    if conn.sync_frequency == 1440 and conn.daily_sync_time is not None:
        data["daily_sync_time"] = conn.daily_sync_time
    data["schedule_type"] = conn.schedule_type
    if conn.schedule is not None:
        data["schedule"] = copy.deepcopy(conn.schedule)
    data["data_delay_sensitivity"] = conn.data_delay_sensitivity
    data["data_delay_threshold"] = conn.data_delay_threshold
    data["networking_method"] = conn.networking_method
    data["proxy_agent_id"] = conn.proxy_agent_id
    data["private_link_id"] = conn.private_link_id
    if conn.hybrid_deployment_agent_id is not None:
        data["hybrid_deployment_agent_id"] = conn.hybrid_deployment_agent_id
    if conn.destination_configuration is not None:
        data["destination_configuration"] = copy.deepcopy(conn.destination_configuration)
    if conn.external_secrets_manager_id is not None:
        data["external_secrets_manager_id"] = conn.external_secrets_manager_id
    if conn.external_secrets_keys_config is not None:
        data["external_secrets_keys_config"] = copy.deepcopy(conn.external_secrets_keys_config)
    data["status"] = status
    data["config"] = mask_config(conn.config, conn.service)
    if conn.source_sync_details is not None:
        data["source_sync_details"] = copy.deepcopy(conn.source_sync_details)
    elif conn.succeeded_at is not None:
        data["source_sync_details"] = {"last_synced": format_timestamp(conn.succeeded_at)}
    else:
        data["source_sync_details"] = {}
    for key, value in conn.extra.items():
        data.setdefault(key, copy.deepcopy(value))
    return data

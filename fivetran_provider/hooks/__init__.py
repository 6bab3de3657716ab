"""Hooks for the Fivetran REST API.

* :mod:`~fivetran_provider.hooks.core`: what both clients share: the base URL, request bodies,
  the reading of every answer into data or a typed error, the retry waits, the client settings.
* :mod:`~fivetran_provider.hooks.fivetran_hook`: :class:`FivetranHook`, the synchronous client
  used by operators and sensors (one ``requests.Session``, verified re-sends of side effects).
* :mod:`~fivetran_provider.hooks.async_pool`: the pool of HTTP clients shared per event loop.
* :mod:`~fivetran_provider.hooks.async_hook`: :class:`FivetranAsyncHook`, for triggers.
* :mod:`~fivetran_provider.hooks.polling`: one status poller per event loop, shared by waits.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fivetran_provider._clash import check_no_conflicting_distribution

# The package's __init__ may be the archived distribution's (see _clash): check here too.
check_no_conflicting_distribution()

if TYPE_CHECKING:
    from fivetran_provider.hooks.async_hook import FivetranAsyncHook
    from fivetran_provider.hooks.core import (
        ACCEPT,
        DEFAULT_API_URL,
        DEFAULT_CONNECT_TIMEOUT,
        DEFAULT_READ_TIMEOUT,
        USER_AGENT,
        ClientSettings,
        envelope_data,
        raise_for_response,
        resolve_base_url,
        retry_wait,
    )
    from fivetran_provider.hooks.fivetran_hook import FivetranHook

# Imported on first use: a DAG file that builds operators needs neither client, and the async one
# (for triggers) brings its connection pool with it.
_EXPORTS = {
    "FivetranAsyncHook": "fivetran_provider.hooks.async_hook",
    "FivetranHook": "fivetran_provider.hooks.fivetran_hook",
    **dict.fromkeys(
        (
            "ACCEPT",
            "DEFAULT_API_URL",
            "DEFAULT_CONNECT_TIMEOUT",
            "DEFAULT_READ_TIMEOUT",
            "USER_AGENT",
            "ClientSettings",
            "envelope_data",
            "raise_for_response",
            "resolve_base_url",
            "retry_wait",
        ),
        "fivetran_provider.hooks.core",
    ),
}

__all__ = [
    "ACCEPT",
    "DEFAULT_API_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "USER_AGENT",
    "ClientSettings",
    "FivetranAsyncHook",
    "FivetranHook",
    "envelope_data",
    "raise_for_response",
    "resolve_base_url",
    "retry_wait",
]


def __getattr__(name: str) -> Any:
    """Import a hook or a shared client helper when first asked for.

    :param name: the attribute asked for.
    """
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

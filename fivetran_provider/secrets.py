"""Which config values are secrets, by Fivetran's word, and registering them with Airflow's masker.

A value is a secret when it sits under a key that

* Fivetran reads back masked (``"******"``) on the connection,
* Fivetran's official definition marks ``format: password`` for the connection's service (the
  table in ``secret_keys.json``, written by ``tools/derive_password_keys.py``; when the service is
  not known, the keys of every service count), or
* has a name that marks a credential (:func:`fivetran_provider.fields.is_secret_key`), as a fallback.

Only those values, and every string of the write-only fields (``auth``,
``external_secrets_keys_config``), go to the masker. Plain words of ordinary config
(``db.internal``, ``postgres``, ``Directly``) are never registered: the masker would star them
wherever they appear, and change records and log lines would become unreadable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from fivetran_provider import fields

#: Airflow's secret masker ignores (and warns about) values shorter than this.
MIN_MASKED_LENGTH = 5


@cache
def _table() -> dict[str, frozenset[str]]:
    text = resources.files("fivetran_provider").joinpath("secret_keys.json").read_text(encoding="utf-8")
    services = json.loads(text)["services"]
    return {str(service): frozenset(keys) for service, keys in services.items()}


@cache
def _every_service() -> frozenset[str]:
    return frozenset().union(*_table().values())


def password_keys(service: Any) -> frozenset[str]:
    """Config key names Fivetran's definition marks ``format: password`` for a service.

    :param service: the connection's ``service`` (``None`` or unknown text: the keys of every service).
    """
    if isinstance(service, str) and service in _table():
        return _table()[service]
    return _every_service()


def masked_keys(connection: Mapping[str, Any] | None) -> set[str]:
    """Config keys that Fivetran reads back masked (``"******"``) on a connection.

    :param connection: a connection object as Fivetran returned it (or ``None``).
    """
    config = connection.get("config") if isinstance(connection, Mapping) else None
    if not isinstance(config, Mapping):
        return set()
    return {str(key) for key, value in config.items() if value == fields.MASKED_VALUE}


def secret_keys(*connections: Mapping[str, Any] | None) -> set[str]:
    """Every key whose value is a secret on these reads of one connection (masked or ``format: password``).

    :param connections: the connection as read before and/or after a change (``None`` entries skipped).
    """
    known = [item for item in connections if isinstance(item, Mapping)]
    service = next((item.get("service") for item in known if isinstance(item.get("service"), str)), None)
    keys: set[str] = set(password_keys(service))
    for item in known:
        keys |= masked_keys(item)
    return keys


def is_secret(key: Any, keys: Iterable[str]) -> bool:
    """Whether the value under ``key`` is a secret.

    :param key: a config key (at any depth).
    :param keys: the keys known to be secret (:func:`secret_keys`).
    """
    name = str(key)
    return name in set(keys) or fields.is_secret_key(name)


def secret_strings(config: Any, keys: Iterable[str]) -> list[str]:
    """The strings of a config that are secrets: everything under a secret key, at any depth.

    :param config: a connector config (or text: an unparsed value counts as a secret as a whole).
    :param keys: the keys known to be secret (:func:`secret_keys`).
    """
    known = set(keys)
    found: list[str] = []
    stack: list[Any] = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)  # only text that is the config itself, or an item of a list of it
        elif isinstance(item, Mapping):
            for key, value in item.items():
                if is_secret(key, known):
                    found.extend(fields.strings_in(value))
                elif isinstance(value, (Mapping, list, tuple)):
                    stack.append(value)
        elif isinstance(item, (list, tuple)):
            stack.extend(value for value in item if isinstance(value, (Mapping, list, tuple)))
    return found


def register(strings: Iterable[str]) -> None:
    """Register strings with Airflow's secret masker (too short ones and ``"******"`` skipped).

    :param strings: the secret values.
    """
    from fivetran_provider._compat import mask_secret

    for text in strings:
        if len(text) >= MIN_MASKED_LENGTH and text != fields.MASKED_VALUE:
            mask_secret(text)


def register_body(body: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> None:
    """Register the secrets of a PATCH body: write-only fields whole, ``config`` by :func:`secret_keys`.

    :param body: a validated (or raw) PATCH body.
    :param current: the connection as read before the change (its service and masked keys), if known.
    """
    keys = secret_keys(current)
    for name in fields.SENSITIVE_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if fields.FIELDS[name].role == fields.WRITE_ONLY:
            register(fields.strings_in(value))
        else:
            register(secret_strings(value, keys))

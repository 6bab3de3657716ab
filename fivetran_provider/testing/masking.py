"""Which configuration values the simulator masks in reads, and the masking itself."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

#: How secret configuration values are shown in every read.
MASK = "******"

# Secret configuration keys per service: a small table derived at development time from the
# ``"format": "password"`` fields of Fivetran's OpenAPI definition (see tools/derive_secret_fields.py).
# ``secret`` lists a service's password-format keys (dotted paths), ``plain`` its other keys;
# ``any_service`` the names of password-format keys of any service, used for unlisted services and keys.
_SECRET_TABLE: dict[str, Any] = json.loads(
    resources.files("fivetran_provider.testing").joinpath("secret_fields.json").read_text(encoding="utf-8")
)
_SECRET_PATHS_BY_SERVICE: dict[str, frozenset[str]] = {
    service: frozenset(entry["secret"]) for service, entry in _SECRET_TABLE["services"].items()
}
_PLAIN_KEYS_BY_SERVICE: dict[str, frozenset[str]] = {
    service: frozenset(entry["plain"]) for service, entry in _SECRET_TABLE["services"].items()
}
_SECRET_NAMES_ANY_SERVICE: frozenset[str] = frozenset(_SECRET_TABLE["any_service"])


def is_secret_config_key(key: str, service: str | None = None) -> bool:
    """Tell whether a top-level configuration key holds a secret that reads must mask.

    A key the definition marks ``"format": "password"`` for the service is secret, one it defines
    otherwise is not; for other keys and services, any name that is a password field of some
    service counts as secret.

    :param key: configuration key, e.g. ``password`` or ``client_secret``.
    :param service: connector service, e.g. ``postgres``.
    """
    return _is_secret_path(key, key, service)


def _is_secret_path(path: str, key: str, service: str | None) -> bool:
    if service is not None and path in _SECRET_PATHS_BY_SERVICE.get(service, frozenset()):
        return True
    if service is not None and path in _PLAIN_KEYS_BY_SERVICE.get(service, frozenset()):
        return False
    return key in _SECRET_NAMES_ANY_SERVICE


def mask_config(value: Any, service: str | None = None) -> Any:
    """Return a deep copy of a configuration with every secret value replaced by ``"******"``.

    Which keys are secret follows the definition's ``"format": "password"`` fields (see
    :func:`is_secret_config_key`); ``null`` values stay ``null``.

    :param value: a configuration object.
    :param service: connector service the configuration belongs to.
    """
    return _mask(value, service, "")


def _mask(value: Any, service: str | None, prefix: str) -> Any:
    if isinstance(value, dict):
        masked: dict[str, Any] = {}
        for key, item in value.items():
            path = prefix + key
            secret = item is not None and _is_secret_path(path, key, service)
            masked[key] = MASK if secret else _mask(item, service, path + ".")
        return masked
    if isinstance(value, list):
        return [_mask(item, service, prefix.rstrip(".") + "[].") for item in value]
    return copy.deepcopy(value)

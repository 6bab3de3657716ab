"""Which configuration values the simulator masks in reads, and the masking itself."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

#: How secret configuration values are shown in every read.
MASK = "******"

# Secret configuration keys of every connection service Fivetran's OpenAPI definition describes,
# derived at development time from its ``"format": "password"`` fields (tools/derive_secret_fields.py):
# ``services`` maps a service to the dotted paths of its secret keys (every other key of a listed
# service is plain); ``any_service`` holds the names of secret keys of any service, the rule only for
# services the definition does not describe.
_SECRET_TABLE: dict[str, Any] = json.loads(
    resources.files("fivetran_provider.testing").joinpath("secret_fields.json").read_text(encoding="utf-8")
)
_SECRET_PATHS_BY_SERVICE: dict[str, frozenset[str]] = {
    service: frozenset(paths) for service, paths in _SECRET_TABLE["services"].items()
}
_SECRET_NAMES_ANY_SERVICE: frozenset[str] = frozenset(_SECRET_TABLE["any_service"])


def is_described_service(service: str) -> bool:
    """Tell whether the definition describes a service's configuration (then only its own secrets are masked).

    :param service: connector service, e.g. ``postgres``.
    """
    return service in _SECRET_PATHS_BY_SERVICE


def is_secret_config_key(key: str, service: str | None = None) -> bool:
    """Tell whether a top-level configuration key holds a secret that reads must mask.

    For a service the definition describes, exactly the keys it marks ``"format": "password"`` are
    secret; for other services, any name that is a password field of some service counts as secret.

    :param key: configuration key, e.g. ``password`` or ``client_secret``.
    :param service: connector service, e.g. ``postgres``.
    """
    return _is_secret_path(key, key, service)


def _is_secret_path(path: str, key: str, service: str | None) -> bool:
    described = _SECRET_PATHS_BY_SERVICE.get(service) if service is not None else None
    if described is not None:
        return path in described
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

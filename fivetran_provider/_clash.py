"""Refuse to run beside the archived ``airflow-provider-fivetran`` distribution.

That distribution (1.x, no longer maintained) installs its files into the same
``fivetran_provider/`` folder and registers the same ``fivetran`` connection type, so whichever
was installed last silently replaces some of the other's modules. Importing this package with it
present fails at once with a message naming both distributions and the fix.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

THIS_DISTRIBUTION = "airflow-provider-fivetran-connections"
ARCHIVED_DISTRIBUTION = "airflow-provider-fivetran"


class ConflictingDistributionError(ImportError):
    """The archived ``airflow-provider-fivetran`` distribution is installed in the same environment."""


@cache
def check_no_conflicting_distribution() -> None:
    """Raise :class:`ConflictingDistributionError` when ``airflow-provider-fivetran`` is installed.

    The package's ``__init__`` and ``_compat`` both call it; the metadata is looked up once per process.
    """
    try:
        other = version(ARCHIVED_DISTRIBUTION)
    except PackageNotFoundError:
        return
    raise ConflictingDistributionError(
        f"'{ARCHIVED_DISTRIBUTION}' {other} and '{THIS_DISTRIBUTION}' are both installed. They share the "
        "import package 'fivetran_provider' (and the connection type 'fivetran'), so the files of one replace "
        f"the other's. Fix: pip uninstall -y {ARCHIVED_DISTRIBUTION} {THIS_DISTRIBUTION}, then reinstall "
        f"{THIS_DISTRIBUTION} (or, to keep the archived provider, use a separate environment)."
    )

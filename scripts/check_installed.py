"""Run in a clean virtualenv that has only the built wheel and Airflow: the provider must register.

``airflow providers list`` must show the distribution with its version, the connection type must
be known to Airflow, and the operators must import. Run by ``nox -s package``.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

DISTRIBUTION = "airflow-provider-fivetran-connections"


def main() -> int:
    airflow = Path(sys.executable).with_name("airflow")
    listed = subprocess.run([str(airflow), "providers", "list"], capture_output=True, text=True, timeout=300)
    rows = [row for row in listed.stdout.splitlines() if DISTRIBUTION in row]
    print("\n".join(rows) or listed.stdout[-2000:] + listed.stderr[-2000:])
    installed = version(DISTRIBUTION)
    assert listed.returncode == 0, listed.stderr
    assert rows and installed in rows[0], f"airflow providers list does not show {DISTRIBUTION} {installed}"
    import fivetran_provider
    from fivetran_provider.operators import PauseConnectionOperator

    assert "site-packages" in fivetran_provider.__file__, fivetran_provider.__file__  # the wheel, not the repo
    assert (Path(fivetran_provider.__file__).parent / "py.typed").exists()
    from airflow.providers_manager import ProvidersManager

    hooks = ProvidersManager().hooks
    assert "fivetran" in hooks, "connection type fivetran not registered"
    print(
        f"installed wheel OK: {DISTRIBUTION} {installed}, {PauseConnectionOperator.__name__} imports, "
        f"connection type fivetran -> {hooks['fivetran'].hook_class_name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

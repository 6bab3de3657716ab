"""Check the built sdist and wheel: metadata a user or an index reads, and what the wheel contains.

    python scripts/check_dist.py DIST_DIR     # run by ``nox -s package`` after ``python -m build``

The wheel must contain every subpackage of ``fivetran_provider`` (each folder with an
``__init__.py`` in the source tree), ``py.typed``, the simulator's data files and the license, and
nothing of the tests, test DAGs, example DAGs or development scripts. Exits non-zero naming each problem.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "fivetran_provider"
#: Tables the simulator reads at run time (derived from Fivetran's definition, which is not shipped).
SIMULATOR_DATA = (f"{PACKAGE}/testing/documented_operations.json", f"{PACKAGE}/testing/secret_fields.json")
FORBIDDEN = ("tests/", "example_dags/", "scripts/", "benchmarks/", "noxfile.py", "dev.py", "demo.py")


def check_wheel(wheel: Path) -> list[str]:
    problems: list[str] = []
    names = zipfile.ZipFile(wheel).namelist()
    packages = sorted(str(p.parent.relative_to(ROOT)) for p in (ROOT / PACKAGE).rglob("__init__.py"))
    for package in packages:
        if f"{package}/__init__.py" not in names:
            problems.append(f"wheel lacks the subpackage {package}")
    if "airflow_provider_fivetran_connections/__init__.py" not in names:  # for Airflow's example-DAG discovery
        problems.append("wheel lacks the module airflow_provider_fivetran_connections")
    if f"{PACKAGE}/py.typed" not in names:
        problems.append("wheel lacks py.typed")
    problems += [f"wheel lacks the simulator's data file {name}" for name in SIMULATOR_DATA if name not in names]
    problems += [f"wheel contains {name}" for name in names if name.startswith(FORBIDDEN)]
    problems += [f"wheel contains {name}" for name in names if "/__pycache__/" in name]
    info = next(name for name in names if name.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(zipfile.ZipFile(wheel).read(info).decode())
    if not any(name.endswith("LICENSE") for name in names):
        problems.append("wheel lacks the LICENSE file")
    for field in ("Name", "Version", "Summary", "Requires-Python", "Author"):
        if not metadata.get(field):
            problems.append(f"METADATA has no {field}")
    urls = metadata.get_all("Project-URL") or []
    classifiers = metadata.get_all("Classifier") or []
    # Project-URL is left out until the repository has a public address (none is invented).
    # PEP 639: the license is an SPDX expression plus the files it names, not a classifier.
    if metadata.get("License-Expression") != "Apache-2.0":
        problems.append(f"License-Expression is {metadata.get('License-Expression')!r}, not 'Apache-2.0'")
    if "LICENSE" not in (metadata.get_all("License-File") or []):
        problems.append("METADATA names no License-File LICENSE")
    problems += [f"license classifier {c!r} (PEP 639 drops them)" for c in classifiers if c.startswith("License ::")]
    if not any(c.startswith("Programming Language :: Python :: 3.1") for c in classifiers):
        problems.append("no Python version classifiers")
    if metadata.get("Description-Content-Type") != "text/markdown":
        problems.append("the README is not declared as Markdown")
    entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    if "apache_airflow_provider" not in zipfile.ZipFile(wheel).read(entry_points).decode():
        problems.append("no apache_airflow_provider entry point")
    print(
        f"{wheel.name}: {len(names)} files, {len(packages)} packages, {len(urls)} project URLs, "
        f"{len(classifiers)} classifiers"
    )
    return problems


def check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [name for name in ("LICENSE", "README.md", "pyproject.toml", f"{PACKAGE}/py.typed") if name not in names]
    print(f"{sdist.name}: {len(names)} entries")
    return [f"sdist lacks {name}" for name in missing]


def main(dist: Path) -> int:
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
        return 1
    problems = check_wheel(wheels[0]) + check_sdist(sdists[0])
    for problem in problems:
        print("PROBLEM:", problem)
    print("distribution check:", "FAILED" if problems else "OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

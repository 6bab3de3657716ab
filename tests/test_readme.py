"""The README stays short and true: its commands are what CI runs, its links lead somewhere, its
versions are the matrix's, and the generated references cover everything they claim to.

Its Python example runs in ``tests/test_docs_examples.py`` with the documentation's examples.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from dev import AIRFLOW_RELEASES, MINUTES_WHOLE_COMMAND
from fivetran_provider.exceptions import FivetranError
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_fits_on_two_screens() -> None:
    assert len(README.splitlines()) < 150


def test_ci_runs_exactly_the_readme_test_command() -> None:
    first_screen = "\n".join(README.splitlines()[:40])
    commands = re.findall(r"^(python3 dev\.py \w+)", first_screen, flags=re.MULTILINE)
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "python3 dev.py test" in ci_lines


def test_the_readmes_time_estimate_is_the_one_dev_py_prints() -> None:
    test_line = next(line for line in README.splitlines() if line.startswith("python3 dev.py test "))
    assert test_line.endswith(f"(~{MINUTES_WHOLE_COMMAND} min)"), test_line


def test_readme_names_the_supported_airflow_versions() -> None:
    versions = ", ".join(AIRFLOW_RELEASES)  # "2.11, 3.0, 3.1, 3.2, 3.3"
    head, _, last = versions.rpartition(", ")
    assert f"Airflow **{head} and {last}**" in README


def test_every_local_link_of_the_readme_leads_to_a_file() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if "://" not in link]
    assert len(local) >= 15, local
    missing = [link for link in local if not (ROOT / link).exists()]
    assert missing == []


def test_readme_has_no_placeholders() -> None:
    assert not re.search(r"<[a-z ]*(url|URL)[a-z ]*>", README)
    assert "git+<" not in README


def test_the_generated_error_table_lists_every_error_class() -> None:
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import fivetran_tables
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))
    table = fivetran_tables.error_table()
    first_column = [line.split("|")[1] for line in table.splitlines()[2:]]
    found = {re.fullmatch(r" \{py:exc\}`~[\w.]+\.(\w+)` ", cell).group(1) for cell in first_column}  # type: ignore[union-attr]
    expected = {"FivetranError"} | {cls.__name__ for cls in _subclasses(FivetranError)}
    assert found == expected
    # The ones a newcomer found missing from the hand-written table.
    assert {
        "FivetranSyncFailedError",
        "FivetranSyncTimeoutError",
        "FivetranConnectionPausedError",
        "FivetranPartialFailureError",
        "FivetranSensorTimeoutError",
        "FivetranConnectionLookupError",
        "FivetranConnectionBrokenError",
    } <= found


def _subclasses(cls: type) -> set[type]:
    import fivetran_provider.lookup
    import fivetran_provider.setup_tests  # noqa: F401 - define their errors

    direct = {c for c in cls.__subclasses__() if c.__module__.startswith("fivetran_provider.")}
    return direct.union(*(_subclasses(c) for c in direct)) if direct else set()


def test_dev_py_finds_the_official_definition_beside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dev

    # The same place CI looks.
    assert ROOT.parent / "shared/reference/fivetran-openapi.json" == dev.SPEC_BESIDE_REPO
    assert "../shared/reference/fivetran-openapi.json" in (ROOT / ".ci" / "run").read_text()
    beside = tmp_path / "shared" / "reference" / "fivetran-openapi.json"
    monkeypatch.setattr(dev, "SPEC_BESIDE_REPO", beside)
    monkeypatch.delenv("FIVETRAN_OPENAPI_SPEC", raising=False)
    assert dev.openapi_spec() is None
    beside.parent.mkdir(parents=True)
    beside.write_text("{}")
    assert dev.openapi_spec() == str(beside)
    monkeypatch.setenv("FIVETRAN_OPENAPI_SPEC", "/elsewhere/spec.json")
    assert dev.openapi_spec() == "/elsewhere/spec.json"

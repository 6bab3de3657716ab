"""The README stays true: its field table comes from the catalogue, and CI runs its test command."""

from __future__ import annotations

import re

from fivetran_provider.fields import field_table_markdown
from tests.conftest import ROOT


def test_readme_field_table_is_the_catalogues() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- field-table:start -->\n", 1)[1].split("<!-- field-table:end -->", 1)[0]
    assert table.strip() == field_table_markdown().strip(), (
        "README field table is stale: paste the output of fivetran_provider.fields.field_table_markdown()"
    )


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:40])
    commands = re.findall(r"^(python3 dev\.py \w+)", first_screen, flags=re.MULTILINE)
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "python3 dev.py test" in ci_lines

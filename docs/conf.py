"""Sphinx configuration of the documentation site (Markdown pages through MyST, API pages through autodoc).

Build: ``.venv/bin/python -m sphinx -W --keep-going -n -b html docs .artifacts/docs`` (the ``docs``
nox session does this): warnings are errors, and nitpicky mode turns every cross-reference that
resolves nowhere (to a page, a heading or a Python object) into one.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

from fivetran_provider import __version__  # noqa: E402

project = "Fivetran Connections provider for Apache Airflow"
author = "Fivetran Connections provider maintainers"
release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "fivetran_tables",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": True}
autodoc_mock_imports: list[str] = []

intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

nitpicky = True
# Names from outside this project that autodoc's bases and docstrings mention; they have no
# page here, and reading other projects' inventories would need the network.
nitpick_ignore_regex = [
    (r"py:.*", r"(airflow|requests|httpx|pendulum|datetime|collections|typing|pytest|wtforms)\..*"),
    (r"py:.*", r"(AirflowException|AirflowSensorTimeout|BaseOperator|BaseSensorOperator|BaseOperatorLink)"),
    (r"py:.*", r"(BaseHook|BaseTrigger|ImportError|ValueError|KeyError|Exception|dict|list|str|int|float)"),
    # Private helpers (a leading underscore) that public classes derive from or mention.
    (r"py:.*", r"(.*\.)?_[A-Za-z].*"),
]

html_theme = "alabaster"
html_title = "Fivetran Connections provider"
html_static_path: list[str] = []

"""Sphinx extension: the field and error reference tables, generated from the code at build time.

A page asks for a table with an HTML comment on a line of its own, which this extension replaces
with Markdown before MyST parses the page:

* ``<!-- generated: field-table -->`` - the update fields of ``fivetran_provider.fields``;
* ``<!-- generated: error-table -->`` - every error class of the provider, found by walking the
  subclasses of ``FivetranError`` after importing each module that defines errors;
* ``<!-- generated: template-fields -->`` - the templated arguments of each operator and the sensor.

Nothing is copied into the pages by hand, so the reference cannot fall behind the code.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

#: The modules that define the provider's errors; importing them registers every subclass.
ERROR_MODULES = ("fivetran_provider.exceptions", "fivetran_provider.lookup", "fivetran_provider.setup_tests")


def field_table() -> str:
    """The update-field table of the field catalogue, as Markdown."""
    from fivetran_provider.fields import field_table_markdown

    return field_table_markdown()


def _first_paragraph(cls: type) -> str:
    """The first paragraph of a class docstring, its reStructuredText markup turned into MyST's."""
    doc = inspect.getdoc(cls) or ""
    text = " ".join(doc.split("\n\n", 1)[0].split())
    text = re.sub(r":(class|exc|func|meth|mod|attr|data):`", r"{py:\1}`", text)
    return text.replace("``", "`").replace("|", "\\|")


def error_classes() -> list[type]:
    """Every subclass of ``FivetranError`` (and the base itself), parents before their children."""
    for name in ERROR_MODULES:
        importlib.import_module(name)
    from fivetran_provider.exceptions import FivetranError

    ordered: list[type] = []

    def visit(cls: type) -> None:
        if cls not in ordered:
            ordered.append(cls)
        for child in sorted(cls.__subclasses__(), key=lambda c: (c.__module__, c.__name__)):
            if child.__module__.startswith("fivetran_provider."):
                visit(child)

    visit(FivetranError)
    return ordered


def error_table() -> str:
    """The errors, each with its parent, its module and when it is raised, as Markdown."""
    lines = ["| error | is a | when |", "|---|---|---|"]
    for cls in error_classes():
        target = f"{cls.__module__}.{cls.__name__}"
        parents = ", ".join(f"`{base.__name__}`" for base in cls.__bases__)
        lines.append(f"| {{py:exc}}`~{target}` | {parents} | {_first_paragraph(cls)} |")
    return "\n".join(lines)


#: The operators and the sensor whose templated arguments are listed, by import path.
TEMPLATED_CLASSES = (
    "fivetran_provider.operators.PauseConnectionOperator",
    "fivetran_provider.operators.ResumeConnectionOperator",
    "fivetran_provider.operators.UpdateFivetranConnectionOperator",
    "fivetran_provider.operators.RestoreFivetranConnectionOperator",
    "fivetran_provider.operators.FivetranSyncOperator",
    "fivetran_provider.sensors.FivetranSyncSensor",
)


def template_field_table() -> str:
    """Which arguments of each operator and the sensor Jinja renders (their ``template_fields``)."""
    lines = ["| class | templated arguments |", "|---|---|"]
    for path in TEMPLATED_CLASSES:
        module, _, name = path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        names = ", ".join(f"`{field}`" for field in cls.template_fields)
        lines.append(f"| `{name}` | {names} |")
    return "\n".join(lines)


GENERATORS = {"field-table": field_table, "error-table": error_table, "template-fields": template_field_table}


def _replace_markers(app: Any, docname: str, source: list[str]) -> None:
    text = source[0]
    for name, generate in GENERATORS.items():
        marker = f"<!-- generated: {name} -->"
        if marker in text:
            text = text.replace(marker, generate())
    source[0] = text


def setup(app: Any) -> dict[str, Any]:
    """Register the source hook that fills in the generated tables.

    :param app: the Sphinx application.
    """
    app.connect("source-read", _replace_markers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

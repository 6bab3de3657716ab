"""The simulator's module layout: independent of the client, and free of import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import fivetran_provider.testing as testing_package

PACKAGE = "fivetran_provider.testing"
PACKAGE_DIR = Path(testing_package.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every ``fivetran_provider`` module a file imports, at any place (type-checking blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fivetran_provider"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("fivetran_provider"))
    return found


def _graph() -> dict[str, set[str]]:
    return {f"{PACKAGE}.{path.stem}": _imports(path) for path in PACKAGE_DIR.glob("*.py")}


def test_simulator_never_imports_the_client() -> None:
    """The simulator is an independent reading of Fivetran's docs, not a copy of the client's rules."""
    outside = {
        module: sorted(target for target in targets if not target.startswith(PACKAGE))
        for module, targets in _graph().items()
    }
    assert {module: targets for module, targets in outside.items() if targets} == {}


def test_simulator_modules_import_no_circle() -> None:
    imports = _graph()
    graph = {module: {t for t in targets if t in imports} for module, targets in imports.items()}
    graph.pop(PACKAGE + ".__init__", None)
    visiting: list[str] = []
    done: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        if module in done:
            return
        if module in visiting:
            circles.append([*visiting[visiting.index(module) :], module])
            return
        visiting.append(module)
        for target in sorted(graph.get(module, ())):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert circles == []


def test_server_does_not_import_the_demo_seed_circularly() -> None:
    graph = _graph()
    assert f"{PACKAGE}.server" not in graph[f"{PACKAGE}.demo"]

"""Move DAG files from ``airflow-provider-fivetran-async`` to this provider: ``python -m fivetran_provider.migrate``.

Usage::

    python -m fivetran_provider.migrate [--write] PATH...

Every ``*.py`` file under each PATH is read. Imports of ``fivetran_provider_async`` (``from
fivetran_provider_async.operators import FivetranOperator``, ``import fivetran_provider_async.hooks
as h``, ...) are rewritten to :mod:`fivetran_provider.compat.fivetran_async`, which keeps the same
class names, arguments and XCom values. Only the module names inside those import statements
change; the rest of each file stays byte for byte as it was. Imports of the old package's modules
that have no counterpart here (``fivetran_provider_async.utils``) are listed and left alone.

Without ``--write`` the command prints the changes as a unified diff and exits with 1 when a file
needs changing, 0 when none does. With ``--write`` it rewrites the files in place (and exits 0);
running it again then changes nothing. Either way it lists, without touching them, the Airflow 2
to 3 changes it notices (``schedule_interval``, ``airflow.operators.*`` imports, ``days_ago``),
which ruff's ``AIR3`` rules report and partly fix: ``ruff check --select AIR3 PATH``. Files
written for the archived ``airflow-provider-fivetran`` 1.x (``fivetran_provider.operators.fivetran``
and the like) need no change: those modules exist here. A file that cannot be parsed is reported
and left alone (exit status 2).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OLD_PACKAGE = "fivetran_provider_async"
NEW_PACKAGE = "fivetran_provider.compat.fivetran_async"
_FROM_MODULE = re.compile(rb"from[\s\\]+(" + OLD_PACKAGE.encode() + rb"(?:[\s\\]*\.[\s\\]*\w+)*)")
_SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox"}
#: The old package's modules that have a counterpart in the compatibility package.
_MIRRORED = ("operators", "sensors", "hooks", "triggers")

#: Module prefixes that Airflow 3 moved to the ``standard`` provider (ruff AIR312 names them).
_MOVED_MODULES = ("airflow.operators.", "airflow.sensors.")


@dataclass
class FileResult:
    """What the command found in one file.

    :param path: the file.
    :param original: its text before.
    :param migrated: its text after the import rewrite (the same when nothing changes).
    :param notes: Airflow 2-to-3 changes seen, as ``(line, message)``.
    :param error: why the file was left alone (it could not be read or parsed).
    """

    path: Path
    original: str = ""
    migrated: str = ""
    notes: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the import rewrite changes the file."""
        return self.error is None and self.migrated != self.original


def _is_old(module: str | None) -> bool:
    return module is not None and (module == OLD_PACKAGE or module.startswith(OLD_PACKAGE + "."))


def _mirrored(module: str) -> bool:
    """Whether the compatibility package has this module of the old package (the package itself included)."""
    parts = module.split(".")
    return len(parts) == 1 or (len(parts) == 2 and parts[1] in _MIRRORED)


def _renamed(module: str) -> str:
    return NEW_PACKAGE + module[len(OLD_PACKAGE) :]


def _offsets(data: bytes) -> list[int]:
    """Byte offset of the start of each line (index 0 is line 1); ``ast`` columns are UTF-8 bytes."""
    starts = [0]
    for index, byte in enumerate(data):
        if byte == 0x0A:
            starts.append(index + 1)
    return starts


def _edits(tree: ast.AST, data: bytes) -> tuple[list[tuple[int, int, bytes]], list[tuple[int, str]]]:
    """``(start, end, replacement)`` byte spans that move the imports of the old package, and notes on
    imports of its modules that have no counterpart here (left as they are)."""
    starts = _offsets(data)
    edits: list[tuple[int, int, bytes]] = []
    notes: list[tuple[int, str]] = []

    def unmirrored(module: str, line: int) -> bool:
        if _mirrored(module):
            return False
        notes.append((line, f"{module} has no counterpart in {NEW_PACKAGE}; left as it is, change it by hand"))
        return True

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_old(node.module):
            assert node.module is not None
            if unmirrored(node.module, node.lineno):
                continue
            start = starts[node.lineno - 1] + node.col_offset
            match = _FROM_MODULE.match(data, start)
            if match is None:  # pragma: no cover - a from-import always starts with its module
                continue
            edits.append((match.start(1), match.end(1), _renamed(node.module).encode()))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if not _is_old(alias.name) or unmirrored(alias.name, node.lineno):
                    continue
                start = starts[alias.lineno - 1] + alias.col_offset
                end = starts[alias.end_lineno - 1] + alias.end_col_offset  # type: ignore[operator]
                if alias.asname:
                    text = f"{_renamed(alias.name)} as {alias.asname}"
                else:  # keep the name ``fivetran_provider_async`` bound; its submodules load on use
                    text = f"{NEW_PACKAGE} as {OLD_PACKAGE}"
                edits.append((start, end, text.encode()))
    return sorted(edits), notes


def airflow3_notes(tree: ast.AST) -> list[tuple[int, str]]:
    """Airflow 2-to-3 changes in a parsed file, as ``(line, message)``, sorted by line.

    :param tree: the parsed module.
    """
    notes: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "schedule_interval":
            notes.append((node.value.lineno, "Airflow 3: schedule_interval= is gone; use schedule= (ruff AIR301)"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            if module.startswith(_MOVED_MODULES) or module in ("airflow.operators", "airflow.sensors"):
                notes.append((node.lineno, f"Airflow 3: {module} moved to the standard provider (ruff AIR312)"))
            elif module == "airflow.utils.dates" and any(alias.name == "days_ago" for alias in node.names):
                notes.append((node.lineno, "Airflow 3: airflow.utils.dates.days_ago is gone (ruff AIR301)"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(_MOVED_MODULES):
                    notes.append((node.lineno, f"Airflow 3: {alias.name} moved to the standard provider (ruff AIR312)"))
    return sorted(notes)


def migrate_source(source: str) -> tuple[str, list[tuple[int, str]]]:
    """Rewrite the ``fivetran_provider_async`` imports of one file's text.

    :param source: the file's text.
    :return: the new text (the same when nothing needs changing) and the notes: Airflow 2-to-3
        changes, and imports of old modules without a counterpart here, as ``(line, message)``.
    :raises SyntaxError: when the text is not valid Python.
    """
    tree = ast.parse(source)
    data = source.encode("utf-8")
    pieces: list[bytes] = []
    position = 0
    edits, notes = _edits(tree, data)
    for start, end, replacement in edits:
        pieces.append(data[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(data[position:])
    return b"".join(pieces).decode("utf-8"), sorted(notes + airflow3_notes(tree))


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``*.py`` file given, or found under a given folder (sorted; tool and cache folders skipped).

    :param paths: files and folders.
    """
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*.py")):
                if not _SKIPPED_DIRS.intersection(found.relative_to(path).parts[:-1]):
                    yield found
        else:
            yield path


def examine(path: Path) -> FileResult:
    """Read and migrate one file in memory.

    :param path: the file.
    """
    result = FileResult(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            result.original = handle.read()
        result.migrated, result.notes = migrate_source(result.original)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as error:
        result.error = f"{type(error).__name__}: {error}"
    return result


def unified_diff(result: FileResult) -> str:
    """The change to one file as a unified diff (empty when nothing changes).

    :param result: the file's result.
    """
    return "".join(
        difflib.unified_diff(
            result.original.splitlines(keepends=True),
            result.migrated.splitlines(keepends=True),
            fromfile=f"{result.path} (before)",
            tofile=f"{result.path} (after)",
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command.

    :param argv: the arguments (``sys.argv[1:]`` when ``None``).
    :return: 0: nothing needs changing (or ``--write`` changed it); 1: a dry run found changes;
        2: a file could not be read or parsed, or a path does not exist.
    """
    parser = argparse.ArgumentParser(
        prog="python -m fivetran_provider.migrate",
        description="Rewrite fivetran_provider_async imports in DAG files to fivetran_provider.compat.fivetran_async.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="DAG files or folders")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place instead of printing a diff")
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.paths if not path.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    out = sys.stdout
    changed: list[Path] = []
    noted = failed = False
    for path in python_files(args.paths):
        result = examine(path)
        if result.error is not None:
            print(f"{path}: left alone, {result.error}", file=sys.stderr)
            failed = True
            continue
        if result.changed:
            changed.append(path)
            if args.write:
                with path.open("w", encoding="utf-8", newline="") as handle:
                    handle.write(result.migrated)
            else:
                out.write(unified_diff(result))
        for line, message in result.notes:
            noted = noted or message.startswith("Airflow 3")
            print(f"{path}:{line}: {message}", file=sys.stderr)
    verb = "rewrote" if args.write else "would rewrite"
    print(
        f"{verb} {len(changed)} file(s)" + ("" if changed else "; nothing to change"),
        file=sys.stderr,
    )
    if noted:
        print(
            "Airflow 2-to-3 changes are left as they are; ruff reports them: ruff check --select AIR3", file=sys.stderr
        )
    if failed:
        return 2
    return 1 if changed and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())

"""Mutation testing of the provider's core modules: does the suite notice when the code is wrong?

    python3 dev.py mutate                 # every target in mutation/targets.toml
    python3 dev.py mutate retry changes   # some targets
    python3 dev.py mutate --jobs 1 --no-broad retry

Mutants are made by Cosmic Ray's operators (flipped comparisons, ``and``/``or`` swapped, ``not``
added or dropped, numbers and booleans changed, exceptions replaced, loops skipped, ...), one
change at a time. Each mutant runs in a forked child of a process that has already imported the
heavy dependencies (Airflow, requests, httpx), so a mutant costs one pytest session of its
target's *fast* tests, not a fresh interpreter; the mutated module is served to the child from
memory, the file on disk is never touched. Mutants that survive the fast tests run again against
the target's *broad* tests. A mutant is killed when its tests fail, error or time out.

The score is killed / (mutants - reviewed equivalent mutants). Equivalent mutants (no input can
tell them apart from the original) are listed with a reason in ``mutation/equivalent.toml``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import importlib.abc
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
TOOL_REQUIREMENT = "cosmic-ray==8.7.0"
# Operators that need arguments (VariableInserter/Replacer) are not configured, so not used.
SKIPPED_OPERATORS: frozenset[str] = frozenset()
# Only pass or fail matters: no assertion rewriting, no cache, no gc-heavy unraisable-exception hook.
PYTEST_ARGS = ["-x", "-q", "--no-header", "-o", "addopts=", "--assert=plain", "-p", "no:cacheprovider"]
PYTEST_ARGS += ["-p", "no:unraisableexception", "-p", "no:threadexception"]
IMPORT_TIME = "<import>"
BETWEEN_TESTS = "<between tests>"
BITWISE = frozenset({"BitAnd", "BitOr", "BitXor", "LShift", "RShift"})


def ensure_tool() -> None:
    """Install Cosmic Ray into the running environment when it is missing."""
    if importlib.util.find_spec("cosmic_ray") is None:
        print(f"Installing {TOOL_REQUIREMENT} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", TOOL_REQUIREMENT],
            check=True,
        )


# ------------------------------------------------------------------ configuration


@dataclass
class Target:
    """One module to mutate and the tests that judge its mutants."""

    name: str
    path: str
    fast: list[str]
    broad: list[str]
    functions: list[str] = field(default_factory=list)
    skip_functions: list[str] = field(default_factory=list)
    deselect: list[str] = field(default_factory=list)
    minimum: float = 90.0

    @property
    def source(self) -> str:
        """The module's source as read once per run (edits during a run do not mix in)."""
        if not hasattr(self, "_source"):
            self._source = (ROOT / self.path).read_text()
        return self._source

    @property
    def module(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


@dataclass
class Mutant:
    """One mutation of one target."""

    target: Target
    operator: str
    occurrence: int
    line: int
    column: int
    original_line: str
    function: str
    # Lines whose execution by a test means the test can see this mutant; None: every test
    # (module-level code, decorators, signatures and defaults run at import time).
    reach: tuple[int, int] | None = None
    mutated_line: str = ""
    outcome: str = ""  # killed | survived | equivalent
    how: str = ""  # fast | broad | timeout
    equivalent_reason: str = ""


def load_targets() -> dict[str, Target]:
    config = tomllib.loads((HERE / "targets.toml").read_text())
    everywhere = list(config.get("deselect", []))
    return {
        name: Target(
            name=name,
            path=spec["path"],
            fast=list(spec["fast"]),
            broad=list(spec.get("broad", [])),
            functions=list(spec.get("functions", [])),
            skip_functions=list(spec.get("skip_functions", [])),
            deselect=everywhere + list(spec.get("deselect", [])),
            minimum=float(spec.get("minimum", 90)),
        )
        for name, spec in config["targets"].items()
    }


def load_equivalents() -> list[dict[str, Any]]:
    path = HERE / "equivalent.toml"
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = tomllib.loads(path.read_text()).get("equivalent", [])
    for entry in entries:
        for key in ("file", "operator", "line", "mutated", "reason"):
            if not entry.get(key):
                raise SystemExit(f"{path}: an entry lacks {key!r}: {entry}")
    return entries


# ------------------------------------------------------------------ making mutants


def function_ranges(source: str) -> list[tuple[str, int, int]]:
    """``(qualified name, first line, last line)`` of every function and method in a module."""
    return [(name, start, end) for name, start, _body, end in function_spans(source)]


def function_spans(source: str) -> list[tuple[str, int, int, int]]:
    """``(qualified name, first line with decorators, first body line, last line)`` of every function."""
    ranges: list[tuple[str, int, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                ranges.append((name, start, child.body[0].lineno, child.end_lineno or child.lineno))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(ast.parse(source), "")
    return ranges


def enclosing(ranges: list[tuple[str, int, int]], line: int) -> str:
    best = ("<module>", 0, 10**9)
    for name, start, end in ranges:
        if start <= line <= end and end - start <= best[2] - best[1]:
            best = (name, start, end)
    return best[0]


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the module's type annotations are: never evaluated here (``from __future__ import annotations``)."""
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            found.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        for item in found:
            if item is not None:
                end = (item.end_lineno or item.lineno, item.end_col_offset or 0)
                spans.append(((item.lineno, item.col_offset), end))
    return spans


def operators() -> Iterator[tuple[str, Any]]:
    """The Cosmic Ray operators used: all core operators that take no arguments, except that a
    binary operator is only replaced by arithmetic ones (not by bitwise or shift operators)."""
    from cosmic_ray.plugins import get_operator, operator_names

    for name in sorted(operator_names()):
        operator_class = get_operator(name)
        if operator_class.arguments() or name in SKIPPED_OPERATORS:
            continue
        if name.startswith("core/ReplaceBinaryOperator_") and name.rsplit("_", 1)[1] in BITWISE:
            continue
        yield name, operator_class()


def make_mutants(target: Target) -> Iterator[Mutant]:
    from cosmic_ray.ast import ast_nodes, get_ast

    source = target.source
    lines = source.splitlines()
    ranges = function_ranges(source)
    wanted = {name: (start, end) for name, start, end in ranges if name in target.functions}
    skipped = {name: (start, end) for name, start, end in ranges if name in target.skip_functions}
    missing = (set(target.functions) - set(wanted)) | (set(target.skip_functions) - set(skipped))
    if missing:
        raise SystemExit(f"{target.path}: no function(s) {', '.join(sorted(missing))} (see mutation/targets.toml)")
    annotations = annotation_spans(source)
    spans = function_spans(source)
    nodes = list(ast_nodes(get_ast(source)))
    for name, operator in operators():
        positions = [pos for node in nodes for pos in operator.mutation_positions(node)]
        for occurrence, (start, _end) in enumerate(positions):
            line, column = start
            if wanted and not any(first <= line <= last for first, last in wanted.values()):
                continue
            if any(first <= line <= last for first, last in skipped.values()):
                continue
            if any(first <= (line, column) < last for first, last in annotations):
                continue
            yield Mutant(
                target=target,
                operator=name,
                occurrence=occurrence,
                line=line,
                column=column,
                original_line=lines[line - 1],
                function=enclosing(ranges, line),
                reach=body_reach(spans, line),
            )


def body_reach(spans: list[tuple[str, int, int, int]], line: int) -> tuple[int, int] | None:
    """The body of the innermost function whose body holds ``line`` (None: not in any body)."""
    best: tuple[int, int] | None = None
    for _name, _start, body, end in spans:
        if body <= line <= end and (best is None or end - body <= best[1] - best[0]):
            best = (body, end)
    return best


def mutated_source(mutant: Mutant) -> str:
    """The target's source with this one mutation applied."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    source = mutant.target.source
    mutated = mutate_code(source, get_operator(mutant.operator)(), mutant.occurrence)
    if mutated is None:
        raise RuntimeError(f"no mutation {mutant.operator} #{mutant.occurrence} in {mutant.target.path}")
    return str(mutated)


# ------------------------------------------------------------------ running tests in forked children


class _MutantFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serve one module's mutated source from memory, under the module's real file name."""

    def __init__(self, module: str, path: Path, source: str) -> None:
        self.module, self.path, self.source = module, path, source

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.module:
            return None
        return importlib.util.spec_from_file_location(fullname, self.path, loader=self)

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        exec(compile(self.source, str(self.path), "exec"), module.__dict__)


def prepare_parent(workdir: Path) -> None:
    """Import the heavy dependencies once, so that each forked child only imports the provider."""
    os.environ["AIRFLOW_HOME"] = str(workdir / "airflow")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(workdir / "airflow" / "dags")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{workdir / 'airflow' / 'airflow.db'}"
    os.environ.pop("AIRFLOW_CONN_FIVETRAN_DEFAULT", None)
    (workdir / "airflow" / "dags").mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import pytest  # noqa: F401

    for name in ("hooks", "operators", "sensors", "triggers", "testing"):
        __import__(f"fivetran_provider.{name}")
    for name in list(sys.modules):
        if name == "fivetran_provider" or name.startswith(("fivetran_provider.", "tests")):
            del sys.modules[name]
    gc.collect()
    gc.freeze()  # children inherit the heap; their collections then skip it


def _plugins(only: set[str] | None, record: tuple[str, Path] | None) -> list[Any]:
    """pytest plugins for a child: run only some test ids; record which lines of a file each test runs."""
    import threading

    import pytest

    class Only:
        def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
            keep = [item for item in items if item.nodeid in (only or ())]
            config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in (only or ())])
            items[:] = keep

    class Recorder:
        def __init__(self, filename: str, out: Path) -> None:
            self.filename, self.out = filename, out
            self.current = IMPORT_TIME  # until the first test starts: collection imports the module
            self.lines: dict[str, set[int]] = {}
            sys.settrace(self._global)
            threading.settrace(self._global)

        def _local(self, frame: Any, event: str, arg: Any) -> Any:
            if event == "line":
                self.lines.setdefault(self.current, set()).add(frame.f_lineno)
            return self._local

        def _global(self, frame: Any, event: str, arg: Any) -> Any:
            return self._local if frame.f_code.co_filename == self.filename else None

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
            self.current = item.nodeid
            try:
                return (yield)
            finally:
                self.current = BETWEEN_TESTS

        def pytest_sessionfinish(self, session: Any) -> None:
            self.out.write_text(json.dumps({test: sorted(lines) for test, lines in self.lines.items()}))

    plugins: list[Any] = []
    if only is not None:
        plugins.append(Only())
    if record is not None:
        plugins.append(Recorder(*record))
    return plugins


def start_child(
    mutant: Mutant | None,
    tests: list[str],
    log: Path,
    only: set[str] | None = None,
    record: tuple[str, Path] | None = None,
) -> int:
    """Fork a child that runs ``tests`` (only the ids in ``only``, if given) with ``mutant`` in place.

    :return: the child's pid.
    """
    pid = os.fork()
    if pid:
        return pid
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.setpgid(0, 0)
        if mutant is not None:
            source = mutated_source(mutant)
            sys.meta_path.insert(0, _MutantFinder(mutant.target.module, ROOT / mutant.target.path, source))
        import pytest

        code = pytest.main([*tests, *PYTEST_ARGS], plugins=_plugins(only, record))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))
    except BaseException:  # whatever goes wrong in the child is a failed run
        os._exit(99)


@dataclass
class Job:
    mutant: Mutant | None
    tests: list[str]
    only: set[str] | None = None
    record: tuple[str, Path] | None = None
    pid: int = 0
    started: float = 0.0
    code: int | None = None
    timed_out: bool = False


def run_jobs(jobs: list[Job], workers: int, timeout: float, workdir: Path, progress: str = "") -> None:
    """Run every job, ``workers`` at a time; a job over ``timeout`` seconds is killed (and counts as failed)."""
    pending = list(jobs)
    running: dict[int, Job] = {}
    done = 0
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            job.pid = start_child(
                job.mutant, job.tests, workdir / f"child-{len(running)}-{done}.log", job.only, job.record
            )
            job.started = time.monotonic()
            running[job.pid] = job
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for job in list(running.values()):
                if now - job.started > timeout:
                    job.timed_out = True
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(job.pid, signal.SIGKILL)
            time.sleep(0.01)
            continue
        if pid not in running:
            continue
        job = running.pop(pid)
        job.code = os.waitstatus_to_exitcode(status)
        done += 1
        if progress and sys.stdout.isatty():
            print(f"\r{progress}: {done}/{len(jobs)}", end="", flush=True)
    if progress and sys.stdout.isatty():
        print("\r" + " " * (len(progress) + 20) + "\r", end="", flush=True)


# ------------------------------------------------------------------ the run


def classify_equivalents(mutants: list[Mutant], entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark surviving mutants listed in equivalent.toml; return the entries that matched nothing.

    An entry names the file, the operator, the original line and the mutated line (both stripped).
    """

    def key(file: str, operator: str, line: str, mutated: str) -> tuple[str, str, str, str]:
        return (file, operator, " ".join(line.split()), " ".join(mutated.split()))

    by_key = {key(e["file"], e["operator"], e["line"], e["mutated"]): e for e in entries}
    used: set[tuple[str, str, str, str]] = set()
    for mutant in mutants:
        if mutant.outcome != "survived":
            continue
        found = key(mutant.target.path, mutant.operator, mutant.original_line, mutant.mutated_line)
        entry = by_key.get(found)
        if entry is not None:
            used.add(found)
            mutant.outcome = "equivalent"
            mutant.equivalent_reason = entry["reason"]
    targets = {mutant.target.path for mutant in mutants}
    return [entry for found, entry in by_key.items() if found not in used and entry["file"] in targets]


def measure(target: Target, tests: list[str], what: str, workdir: Path) -> tuple[dict[str, set[int]], float]:
    """Run ``tests`` unmutated, recording the lines of the target each test runs; fail if they fail."""
    out = workdir / f"lines-{target.name}-{what}.json"
    job = Job(None, tests, record=(str(ROOT / target.path), out))
    started = time.monotonic()
    run_jobs([job], 1, 900, workdir)
    if job.code != 0:
        raise SystemExit(f"{target.name}: the {what} tests fail without any mutation (exit {job.code}); fix them first")
    lines = {test: set(numbers) for test, numbers in json.loads(out.read_text()).items()}
    return lines, time.monotonic() - started


def select(mutant: Mutant, lines: dict[str, set[int]], everything: set[str]) -> set[str]:
    """The tests that run the mutated code (all of them for code that runs at import or between tests)."""
    if mutant.reach is None:
        return everything
    first, last = mutant.reach
    reached = {test for test, numbers in lines.items() if any(first <= n <= last for n in numbers)}
    if reached & {IMPORT_TIME, BETWEEN_TESTS}:
        return everything
    return reached


def run_stage(
    target: Target, mutants: list[Mutant], tests: list[str], what: str, workers: int, workdir: Path
) -> list[Mutant]:
    """Run each mutant against the tests of ``tests`` that reach it; return the survivors."""
    lines, seconds = measure(target, tests, what, workdir)
    everything = _all_test_ids(tests, workdir)
    jobs: list[Job] = []
    for mutant in mutants:
        chosen = select(mutant, lines, everything)
        if chosen:
            files = sorted({test.split("::", 1)[0] for test in chosen})
            options = [arg for arg in tests if arg.startswith("-")]
            jobs.append(Job(mutant, files + options, only=chosen))
        else:
            mutant.how = "not run by any test"
    run_jobs(jobs, workers, max(30.0, 3 * seconds + 15), workdir, progress=f"{target.name} ({what})")
    for job in jobs:
        assert job.mutant is not None
        if job.code != 0 or job.timed_out:
            job.mutant.outcome, job.mutant.how = "killed", "timeout" if job.timed_out else what
    return [mutant for mutant in mutants if mutant.outcome != "killed"]


def _all_test_ids(tests: list[str], workdir: Path) -> set[str]:
    out = workdir / "collected.json"
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(workdir / "collect.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            import pytest

            class Collect:
                def pytest_collection_finish(self, session: Any) -> None:
                    out.write_text(json.dumps([item.nodeid for item in session.items]))

            os._exit(int(pytest.main([*tests, *PYTEST_ARGS, "--collect-only"], plugins=[Collect()])))
        except BaseException:
            os._exit(99)
    os.waitpid(pid, 0)
    return set(json.loads(out.read_text())) if out.exists() else set()


def run_target(target: Target, workers: int, broad: bool, workdir: Path) -> tuple[list[Mutant], float]:
    started = time.monotonic()
    fast = target.fast + [f"--deselect={test}" for test in target.deselect]
    wide = target.broad + [f"--deselect={test}" for test in target.deselect]
    mutants = list(make_mutants(target))
    for mutant in mutants:
        mutant.outcome = "survived"
    survivors = run_stage(target, mutants, fast, "fast", workers, workdir)
    if broad and target.broad and survivors:
        survivors = run_stage(target, survivors, wide, "broad", workers, workdir)
    for mutant in survivors:
        mutated_lines = mutated_source(mutant).splitlines()
        mutant.mutated_line = mutated_lines[mutant.line - 1] if mutant.line <= len(mutated_lines) else ""
    return mutants, time.monotonic() - started


def print_survivors(survivors: list[Mutant]) -> None:
    """``file:line in function: operator``, then the line before and after the mutation."""
    for m in sorted(survivors, key=lambda m: (m.line, m.operator)):
        note = f" ({m.how})" if m.how else ""
        print(f"  {m.target.path}:{m.line} in {m.function}: {m.operator}{note}")
        print(f"      - {m.original_line.strip()}")
        print(f"      + {m.mutated_line.strip()}")
    sys.stdout.flush()


def report(
    results: dict[str, tuple[list[Mutant], float]], stale: list[dict[str, Any]], targets: dict[str, Target]
) -> int:
    failing = 0
    print()
    print(f"{'target':<12} {'mutants':>8} {'killed':>7} {'equiv':>6} {'survived':>9} {'score':>7} {'time':>7}")
    for name, (mutants, seconds) in results.items():
        killed = sum(m.outcome == "killed" for m in mutants)
        equivalent = sum(m.outcome == "equivalent" for m in mutants)
        survived = sum(m.outcome == "survived" for m in mutants)
        counted = len(mutants) - equivalent
        score = 100.0 * killed / counted if counted else 100.0
        mark = "" if score >= targets[name].minimum else f"  < {targets[name].minimum:g}%"
        failing += bool(mark)
        print(
            f"{name:<12} {len(mutants):>8} {killed:>7} {equivalent:>6} {survived:>9} "
            f"{score:>6.1f}% {seconds:>6.0f}s{mark}"
        )
    for name, (mutants, _seconds) in results.items():
        survivors = [m for m in mutants if m.outcome == "survived"]
        if survivors:
            print(f"\nSurvivors in {targets[name].path}:")
            print_survivors(survivors)
    for entry in stale:
        print(
            f"\nNote: equivalent.toml entry matches no mutant now: "
            f"{entry['file']}: {entry['operator']}: {entry['line']}"
        )
    return 1 if failing else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="targets from mutation/targets.toml (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once")
    parser.add_argument("--no-broad", action="store_true", help="do not re-run survivors against the broad tests")
    parser.add_argument("--list", action="store_true", help="only count the mutants of each target")
    parser.add_argument("-v", "--verbose", action="store_true", help="list survivors as each target finishes")
    args = parser.parse_args(argv)
    ensure_tool()
    targets = load_targets()
    unknown = set(args.targets) - set(targets)
    if unknown:
        parser.error(f"unknown target(s) {', '.join(sorted(unknown))}; known: {', '.join(targets)}")
    chosen = [targets[name] for name in (args.targets or targets)]
    if args.list:
        for target in chosen:
            print(f"{target.name}: {sum(1 for _ in make_mutants(target))} mutants")
        return 0
    entries = load_equivalents()
    workdir = Path(tempfile.mkdtemp(prefix="fivetran-mutation-"))
    started = time.monotonic()
    try:
        prepare_parent(workdir)
        results: dict[str, tuple[list[Mutant], float]] = {}
        for target in chosen:
            print(f"Mutating {target.path} ...", flush=True)
            results[target.name] = run_target(target, max(1, args.jobs), not args.no_broad, workdir)
            left = [m for m in results[target.name][0] if m.outcome == "survived"]
            print(f"  {len(left)} of {len(results[target.name][0])} mutants survived (equivalent ones included)")
            if args.verbose:
                print_survivors(left)
        all_mutants = [m for mutants, _ in results.values() for m in mutants]
        stale = classify_equivalents(all_mutants, entries)
        code = report(results, stale, targets)
        print(f"\nTotal time {time.monotonic() - started:.0f} s with {args.jobs} job(s).")
        return code
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run every benchmark of this folder and write one table: ``.artifacts/bench.md`` (and ``bench.json``).

``python3 dev.py bench`` runs this with the development environment's Python. Each benchmark
measures its baseline in the same run, and the table gives ours, the baseline and their ratio:

* **imports** (``imports.py``), once per Airflow version: the wheel of this checkout, built here,
  installed with that Airflow and ``airflow-provider-fivetran-async`` (the incumbent) into a
  virtualenv of its own under ``.nox/bench-airflow-X`` (made once, our wheel reinstalled each run),
  15 alternating samples each;
* **bulk pause/resume** (``pause_resume.py``): 200 connections through the operators against
  one request after another;
* **shared polling** (``triggers.py``): 1,000 waiting triggers through the shared poller against
  each polling alone (requests per minute) and against a blocking client (poll timeliness);
* **event-trigger polling** (``event_triggers.py``, when present): the asset watchers' triggers
  against one read per connection and interval.

Every row carries the environment: Python, Airflow, cores and the load average when it was measured.

    python benchmarks/run_all.py [--airflow 3.3 --airflow 2.11] [--only imports] [--runs 15]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from dev import AIRFLOW_RELEASES, ARTIFACTS, VERSIONS, load_average  # noqa: E402
from noxfile import PINS  # noqa: E402

HERE = ROOT / "benchmarks"
INCUMBENT = "airflow-provider-fivetran-async==2.4.0"
BENCH = ARTIFACTS / "bench"

Row = dict[str, Any]


def environment_line() -> str:
    """Python, platform, cores, the commit measured and the load average now."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False)
    state = f"{commit}{' + uncommitted changes' if dirty.stdout.strip() else ''}" if commit else "unknown commit"
    return (
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, commit {state}, load average at the start {load_average()}"
    )


def _python(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")


def build_wheel() -> Path:
    """Build this checkout's wheel into ``.artifacts/bench/dist`` (no build isolation download: pip wheel)."""
    dist = BENCH / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps"]
    subprocess.run([*pip, "-w", str(dist), str(ROOT)], check=True)
    return next(dist.glob("*.whl"))


def bench_environment(airflow: str, wheel: Path) -> Path:
    """A virtualenv with Airflow ``airflow``, the incumbent and our wheel (not editable), as users install them.

    Made once per Airflow version (kept while the requirements are unchanged); our wheel is
    reinstalled every run. pip compiles the bytecode of what it installs, as on a scheduler.

    :param airflow: the Airflow line, e.g. ``"3.3"``.
    :param wheel: our wheel.
    """
    location = ROOT / ".nox" / f"bench-airflow-{airflow.replace('.', '-')}"
    requirements = [f"apache-airflow=={AIRFLOW_RELEASES[airflow]}", *PINS.get(airflow, []), INCUMBENT]
    digest = hashlib.sha256(json.dumps(requirements).encode()).hexdigest()
    stamp = location / ".bench-requirements"
    python = _python(location)
    if not (stamp.exists() and stamp.read_text() == digest and python.exists()):
        shutil.rmtree(location, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(location)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, str(wheel), *requirements], check=True)
        stamp.write_text(digest)
    else:
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--force-reinstall", "--no-deps", str(wheel)], check=True)
    return location


def _ratio(ours: float | None, baseline: float | None) -> str:
    if not ours or not baseline:
        return "n/a"
    return f"{ours / baseline:.3g}x"


def run_imports(args: argparse.Namespace) -> list[Row]:
    """The import benchmark on each Airflow version, in a fresh environment with the wheel."""
    wheel = build_wheel()
    rows: list[Row] = []
    for airflow in args.airflow:
        print(f"== imports, Airflow {AIRFLOW_RELEASES[airflow]}: preparing {wheel.name} + the incumbent", flush=True)
        location = bench_environment(airflow, wheel)
        out = BENCH / f"imports-{airflow}.json"
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="fivetran-bench-home-")
        command = [str(_python(location)), str(HERE / "imports.py"), "--runs", str(args.runs), "--json", str(out)]
        subprocess.run(command, check=True, env=env)
        result = json.loads(out.read_text())
        ours, incumbent, described = result["ours"], result["incumbent"] or {}, result["environment"]
        where = f"Airflow {described['airflow']}, {described['ours']}, load {described['load_average']}"
        for key, what in (("median_ms", "median"), ("best_ms", "best")):
            rows.append(
                {
                    "key": f"imports-{airflow}",
                    "benchmark": "import of 4 operators + sensor after airflow.sdk",
                    "measure": f"{what} of {ours['samples']} fresh processes (ms)",
                    "ours": ours[key],
                    "baseline": incumbent.get(key),
                    "baseline_is": "airflow-provider-fivetran-async 2.4.0 (operator + sensor), interleaved",
                    "ratio": _ratio(ours[key], incumbent.get(key)),
                    "environment": where,
                }
            )
    return rows


def _run_script(name: str, extra: list[str]) -> dict[str, Any]:
    out = BENCH / f"{Path(name).stem}.json"
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="fivetran-bench-home-"))
    print(f"== {name} {' '.join(extra)}", flush=True)
    subprocess.run([sys.executable, str(HERE / name), *extra, "--json", str(out)], check=True, env=env, cwd=ROOT)
    return json.loads(out.read_text())


def _here() -> str:
    import airflow

    return f"Airflow {airflow.__version__}, source tree, load {load_average()}"


def run_pause_resume(args: argparse.Namespace) -> list[Row]:
    """Bulk pause and resume through the operators against one request after another."""
    figures = _run_script("pause_resume.py", [])
    return [
        {
            "key": "pause_resume",
            "benchmark": f"pause + resume of {figures['connections']} connections, "
            f"{figures['latency_s'] * 1000:.0f} ms per request",
            "measure": "wall time (s)",
            "ours": figures["operators_s"],
            "baseline": figures["sequential_s"],
            "baseline_is": "GET then PATCH per connection, one after the other",
            "ratio": _ratio(figures["operators_s"], figures["sequential_s"]),
            "environment": _here(),
        }
    ]


def run_shared_polling(args: argparse.Namespace) -> list[Row]:
    """Waiting triggers through the shared poller against polling alone and a blocking client."""
    figures = _run_script("triggers.py", ["--no-trace"])
    passes, settings = figures["passes"], figures["settings"]
    shared, alone, blocking = passes["trigger"], passes.get("alone", {}), passes.get("baseline", {})
    name = f"{settings['triggers']} waiting triggers over {settings['groups']} groups"
    where = _here()
    return [
        {
            "key": "shared_polling",
            "benchmark": name,
            "measure": "requests per minute",
            "ours": shared.get("requests_per_minute"),
            "baseline": alone.get("requests_per_minute"),
            "baseline_is": "the same triggers, each polling its own connection",
            "ratio": _ratio(shared.get("requests_per_minute"), alone.get("requests_per_minute")),
            "environment": where,
        },
        {
            "key": "shared_polling",
            "benchmark": name,
            "measure": "share of poll gaps within 10% of the interval",
            "ours": shared.get("share_within_10pct"),
            "baseline": blocking.get("share_within_10pct"),
            "baseline_is": f"{settings['baseline_waits']} waits polling with a blocking client",
            "ratio": _ratio(shared.get("share_within_10pct"), blocking.get("share_within_10pct")),
            "environment": where,
        },
    ]


def run_event_triggers(args: argparse.Namespace) -> list[Row]:
    """The asset watchers' triggers against one read per connection and interval."""
    if not (HERE / "event_triggers.py").exists():
        return [{"key": "event_triggers", "benchmark": "event-trigger polling", "measure": "not run: no script"}]
    figures = _run_script("event_triggers.py", [])
    return [
        {
            "key": "event_triggers",
            "benchmark": figures.get("benchmark", "event-trigger polling"),
            "measure": figures.get("measure", "requests per minute"),
            "ours": figures.get("ours"),
            "baseline": figures.get("baseline"),
            "baseline_is": figures.get("baseline_is", ""),
            "ratio": _ratio(figures.get("ours"), figures.get("baseline")),
            "environment": _here(),
        }
    ]


#: Every benchmark, by the name ``--only`` takes. A new benchmark script writes its figures with
#: ``--json`` and gets a function here that turns them into rows.
BENCHMARKS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "imports": run_imports,
    "pause_resume": run_pause_resume,
    "shared_polling": run_shared_polling,
    "event_triggers": run_event_triggers,
}


def merge_earlier(rows: list[Row]) -> list[Row]:
    """``rows`` plus the rows of the previous table that this run did not measure again.

    A narrowed run (``--only``, ``--airflow``) then updates its rows and keeps the others, each
    with the environment and load it was measured under.

    :param rows: this run's rows.
    """
    previous = ARTIFACTS / "bench.json"
    if not previous.exists():
        return rows
    measured = {row.get("key") for row in rows}
    earlier = json.loads(previous.read_text()).get("rows", [])
    kept = [row for row in earlier if row.get("key") and row["key"] not in measured]
    order = {name: position for position, name in enumerate(BENCHMARKS)}

    def place(row: Row) -> tuple[int, str]:
        key = str(row.get("key", ""))
        return order.get(key.split("-")[0], len(order)), key

    return sorted([*kept, *rows], key=place)


def table(environment: str, rows: list[Row]) -> str:
    """The Markdown table of every row, under the environment line."""
    lines = [
        f"Environment of the latest run: {environment}",
        "",
        "| benchmark | measure | ours | baseline | ours/baseline | baseline is | measured on |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [row.get(key, "") for key in ("benchmark", "measure", "ours", "baseline", "ratio", "baseline_is")]
        cells.append(row.get("environment", ""))
        lines.append("| " + " | ".join("" if cell is None else str(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--airflow", choices=VERSIONS, action="append", help="Airflow of the import benchmark")
    parser.add_argument("--only", choices=list(BENCHMARKS), action="append", help="run only these benchmarks")
    parser.add_argument("--runs", type=int, default=15, help="samples per candidate of the import benchmark")
    args = parser.parse_args(argv)
    args.airflow = args.airflow or list(VERSIONS)
    BENCH.mkdir(parents=True, exist_ok=True)
    environment = environment_line()
    print(environment, flush=True)
    rows: list[Row] = []
    failed: list[str] = []
    started = time.monotonic()
    for name, run in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        try:
            rows += run(args)
        except (subprocess.CalledProcessError, OSError, KeyError, ValueError) as error:
            failed.append(name)
            rows.append({"key": name, "benchmark": name, "measure": f"failed: {error}"})
    rows = merge_earlier(rows)
    text = (
        table(environment, rows)
        + f"\nTook {time.monotonic() - started:.0f} s; load average at the end {load_average()}.\n"
    )
    (ARTIFACTS / "bench.md").write_text(text)
    (ARTIFACTS / "bench.json").write_text(json.dumps({"environment": environment, "rows": rows}, indent=1))
    print("\n" + text, flush=True)
    print(f"written: {(ARTIFACTS / 'bench.md').relative_to(ROOT)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

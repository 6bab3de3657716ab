"""Benchmark: what a DAG file pays to import our operators and sensor, beside the incumbent provider.

Each sample is a fresh Python process that first does what every DAG file does (``import
airflow.sdk``; ``from airflow import DAG`` on Airflow 2), which is not counted, then times::

    from fivetran_provider.operators import (UpdateFivetranConnectionOperator, PauseConnectionOperator,
                                             ResumeConnectionOperator, FivetranSyncOperator)
    from fivetran_provider.sensors import FivetranSyncSensor

and, when ``airflow-provider-fivetran-async`` is importable (installed, or found on
``--incumbent-path``), the incumbent's operator and sensor in the same way. The samples of both
alternate (ours, incumbent, ours, ...), so that a change of the machine's load hits both alike.
One warm-up process per candidate first makes sure the bytecode caches exist: a wheel installed
by pip has them; for a source checkout they are written into a temporary
``PYTHONPYCACHEPREFIX``. Printed: the environment (Python, Airflow, whether ours is an installed
wheel or the source tree, load average), best, median and worst of ``--runs`` samples, their
ratio, and the modules outside Airflow and ours that our import pulled in.

Target: a median under 20 ms for ours, measured in a fresh virtualenv holding the wheel
(``python3 dev.py bench`` builds one per Airflow version and runs this script there).

Usage::

    python benchmarks/imports.py                  # with the python of the environment to measure
    python benchmarks/imports.py --runs 15 --incumbent-path /tmp/incumbent   # pip install --target
    python benchmarks/imports.py --source         # ours from this checkout instead of the installed one
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

OURS = (
    "from fivetran_provider.operators import UpdateFivetranConnectionOperator, PauseConnectionOperator, "
    "ResumeConnectionOperator, FivetranSyncOperator\n"
    "from fivetran_provider.sensors import FivetranSyncSensor\n"
)
INCUMBENT = (
    "from fivetran_provider_async.operators import FivetranOperator\n"
    "from fivetran_provider_async.sensors import FivetranSensor\n"
)
HEAVY = ("requests", "httpx", "aiohttp", "airflow.triggers.base", "fivetran_provider.sync_status")

SAMPLE = """
import json, sys, time
try:
    import airflow.sdk  # every DAG file imports it; not counted
except ImportError:  # Airflow 2
    from airflow import DAG
before = set(sys.modules)
started = time.perf_counter()
exec(compile({code!r}, "<imports>", "exec"))
took = time.perf_counter() - started
heavy = [name for name in {heavy!r} if name in sys.modules and name not in before]
print(json.dumps({{"seconds": took, "heavy": heavy, "modules": len(set(sys.modules) - before)}}))
"""

DESCRIBE = """
import json, os, sys
import airflow
import fivetran_provider
path = os.path.realpath(fivetran_provider.__file__)
print(json.dumps({"airflow": airflow.__version__, "ours": path,
                  "installed": "site-packages" in path or "dist-packages" in path}))
"""


def sample(code: str, env: dict[str, str]) -> dict[str, object]:
    """Time ``code`` in a fresh process (after the DAG file's own Airflow import).

    :param code: the import statements.
    :param env: the environment of the child.
    """
    result = subprocess.run(
        [sys.executable, "-c", SAMPLE.format(code=code, heavy=HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tempfile.gettempdir(),  # not the checkout: its fivetran_provider/ would shadow the installed one
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "import failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def figures(label: str, samples: list[dict[str, object]]) -> dict[str, object]:
    """Best, median and worst of ``samples`` in milliseconds, with what the first one imported.

    :param label: what was measured.
    :param samples: the samples' results.
    """
    times = [float(s["seconds"]) * 1000 for s in samples]  # type: ignore[arg-type]
    return {
        "label": label,
        "samples": len(times),
        "best_ms": round(min(times), 1),
        "median_ms": round(statistics.median(times), 1),
        "worst_ms": round(max(times), 1),
        "modules_added": samples[0]["modules"],
        "heavy_modules": samples[0]["heavy"],
    }


def environment(env: dict[str, str]) -> dict[str, object]:
    """Python, Airflow, where ours is imported from (an installed wheel or the source tree), load average.

    :param env: the environment of the samples.
    """
    result = subprocess.run(
        [sys.executable, "-c", DESCRIBE], env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    )
    described = json.loads(result.stdout.strip().splitlines()[-1])
    try:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - Windows
        load = "n/a"
    return {
        "python": platform.python_version(),
        "airflow": described["airflow"],
        "ours": "installed wheel" if described["installed"] else "source tree (editable)",
        "ours_path": described["ours"],
        "cores": os.cpu_count(),
        "load_average": load,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="samples per candidate (default 15)")
    parser.add_argument(
        "--incumbent-path",
        default=os.environ.get("FIVETRAN_INCUMBENT_PATH"),
        help="a directory holding airflow-provider-fivetran-async (e.g. from pip install --target)",
    )
    parser.add_argument("--source", action="store_true", help="import ours from this checkout (PYTHONPATH)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="fivetran-imports-"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.source:
        # A source tree has no bytecode caches: written once by the warm-up, into a throwaway directory.
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="fivetran-imports-pycache-")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    incumbent_env = dict(env)
    if args.incumbent_path:
        incumbent_env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), args.incumbent_path]))
    described = environment(env)
    print(
        f"Python {described['python']}, Airflow {described['airflow']}, ours: {described['ours']} "
        f"({described['ours_path']}), {described['cores']} cores, load average {described['load_average']}"
    )
    print(f"{args.runs} samples each, alternating, one process per sample, after the DAG file's Airflow import")
    candidates = {"ours": (OURS, env), "incumbent": (INCUMBENT, incumbent_env)}
    for name, (code, child_env) in list(candidates.items()):
        try:
            sample(code, child_env)  # makes sure the bytecode caches exist
        except RuntimeError as error:
            if name == "ours":
                print(f"ours: not importable ({error})")
                return 1
            print(f"incumbent (airflow-provider-fivetran-async): not importable ({error}); column skipped")
            del candidates[name]
    taken: dict[str, list[dict[str, object]]] = {name: [] for name in candidates}
    for _ in range(args.runs):
        for name, (code, child_env) in candidates.items():
            taken[name].append(sample(code, child_env))
    ours = figures("ours: 4 operators + sensor", taken["ours"])
    incumbent = figures("incumbent: operator + sensor", taken["incumbent"]) if "incumbent" in taken else None
    print(f"{'':<10}{'ours':>10}{'incumbent' if incumbent else '':>12}")
    for key in ("best_ms", "median_ms", "worst_ms"):
        right = f"{incumbent[key]:>12}" if incumbent else ""
        print(f"{key:<10}{ours[key]:>10}{right}")
    if incumbent:
        print(
            f"ours/incumbent: best {float(ours['best_ms']) / float(incumbent['best_ms']):.2f} x, "  # type: ignore[arg-type]
            f"median {float(ours['median_ms']) / float(incumbent['median_ms']):.2f} x"  # type: ignore[arg-type]
        )
    verdict = "met" if float(ours["median_ms"]) < 20 else "missed"  # type: ignore[arg-type]
    heavy = ours["heavy_modules"] or "none"
    print(f"target median under 20 ms: {verdict}; heavy modules imported by ours: {heavy}")
    if args.json:
        args.json.write_text(json.dumps({"environment": described, "ours": ours, "incumbent": incumbent}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: what a DAG file pays to import our operators and sensor, beside the incumbent provider.

Each sample is a fresh Python process that first imports ``airflow.sdk`` (every DAG file does;
it is not counted), then times::

    from fivetran_provider.operators import (UpdateFivetranConnectionOperator, PauseConnectionOperator,
                                             ResumeConnectionOperator, FivetranSyncOperator)
    from fivetran_provider.sensors import FivetranSyncSensor

and, when ``airflow-provider-fivetran-async`` is importable (installed, or found on
``--incumbent-path``), the incumbent's operator and sensor in the same way. One warm-up process
per candidate writes the bytecode caches first (into a temporary ``PYTHONPYCACHEPREFIX``, even
where ``PYTHONDONTWRITEBYTECODE`` is set: a deployed package has them); then the best and the median of ``--runs``
samples are printed, with their ratio, and the heavy modules our import pulled in (there
should be none of ``requests``, ``httpx``, ``airflow.triggers.base``).

Target: under 20 ms for ours.

Usage::

    .venv/bin/python benchmarks/imports.py
    .venv/bin/python benchmarks/imports.py --runs 15 --incumbent-path /tmp/incumbent   # pip install --target
"""

from __future__ import annotations

import argparse
import json
import os
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
import airflow.sdk  # every DAG file imports it; not counted
before = set(sys.modules)
started = time.perf_counter()
exec(compile({code!r}, "<imports>", "exec"))
took = time.perf_counter() - started
heavy = [name for name in {heavy!r} if name in sys.modules and name not in before]
print(json.dumps({{"seconds": took, "heavy": heavy, "modules": len(set(sys.modules) - before)}}))
"""


def sample(code: str, env: dict[str, str]) -> dict[str, object]:
    """Time ``code`` in a fresh process (after ``import airflow.sdk``).

    :param code: the import statements.
    :param env: the environment of the child.
    """
    result = subprocess.run(
        [sys.executable, "-c", SAMPLE.format(code=code, heavy=HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=str(ROOT),
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "import failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(label: str, code: str, env: dict[str, str], runs: int) -> dict[str, object] | None:
    """Warm up once, then take ``runs`` samples; print and return the figures (``None`` if it cannot import).

    :param label: what is measured.
    :param code: the import statements.
    :param env: the environment of the children.
    :param runs: samples to take.
    """
    try:
        sample(code, env)  # writes the bytecode caches
    except RuntimeError as error:
        print(f"{label}: not importable ({error}); column skipped")
        return None
    samples = [sample(code, env) for _ in range(runs)]
    times = [float(s["seconds"]) * 1000 for s in samples]  # type: ignore[arg-type]
    figures = {
        "label": label,
        "best_ms": round(min(times), 1),
        "median_ms": round(statistics.median(times), 1),
        "worst_ms": round(max(times), 1),
        "modules_added": samples[0]["modules"],
        "heavy_modules": samples[0]["heavy"],
    }
    print(json.dumps(figures))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="samples per candidate (default 9)")
    parser.add_argument(
        "--incumbent-path",
        default=os.environ.get("FIVETRAN_INCUMBENT_PATH"),
        help="a directory holding airflow-provider-fivetran-async (e.g. from pip install --target)",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="fivetran-imports-"))
    # As deployed: bytecode caches written once and read after (in a throwaway directory, so the
    # source tree stays clean), even where the environment turns writing them off.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="fivetran-imports-pycache-")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(f"{args.runs} samples each, one process per sample, after 'import airflow.sdk'")
    ours = measure("ours: 4 operators + sensor", OURS, env, args.runs)
    incumbent_env = dict(env)
    if args.incumbent_path:
        incumbent_env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], args.incumbent_path])
    incumbent = measure(
        "incumbent (airflow-provider-fivetran-async): operator + sensor", INCUMBENT, incumbent_env, args.runs
    )
    if ours is None:
        return 1
    print(f"{'':<10}{'ours':>10}{'incumbent' if incumbent else '':>12}")
    for key in ("best_ms", "median_ms", "worst_ms"):
        right = f"{incumbent[key]:>12}" if incumbent else ""
        print(f"{key:<10}{ours[key]:>10}{right}")
    if incumbent:
        print(
            f"incumbent/ours: best {float(incumbent['best_ms']) / float(ours['best_ms']):.1f} x, "  # type: ignore[arg-type]
            f"median {float(incumbent['median_ms']) / float(ours['median_ms']):.1f} x"  # type: ignore[arg-type]
        )
    verdict = "met" if float(ours["best_ms"]) < 20 else "missed"  # type: ignore[arg-type]
    heavy = ours["heavy_modules"] or "none"
    print(f"target under 20 ms (best of {args.runs}): {verdict}; heavy modules imported by ours: {heavy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every Python example of the README and the documentation site runs, against the simulator.

Sybil reads each Markdown page and yields its Python code blocks, visible (```` ```python ````)
and invisible (``<!-- invisible-code-block: python ... -->``, the checks that follow a DAG),
in page order and sharing one namespace per page, as a reader would run them. Each page gets a
fresh simulator with the demo account, the ``fivetran_default`` Airflow connection pointing at it
(exported the way the pages tell you to) and a migrated metadata database, so a DAG on a page
runs with ``dag.test()`` exactly as written.

The simulator is the ``fivetran_simulator`` fixture of the provider's pytest plugin (the one the
testing guide documents), with the demo account. What a page's hidden checks may use:
``fivetran_simulator``; ``DAGS_FOLDER`` (Airflow's DAGs folder, on ``sys.path`` as the fixture
puts it there) and ``previous_block`` (the source of the block before, to save a DAG file there);
``previous_json`` (the last JSON block, parsed) and ``xcom(dag_run, task_id)`` (a task's XCom value);
``AIRFLOW_3`` (whether this Airflow is 3.x), for ``<!-- skip: next if(not AIRFLOW_3, ...) -->``
before an example that needs Airflow 3. A DAG is stored in the metadata DB after the block that
defines it (from Airflow 3.1 on ``dag.test()`` runs only stored DAGs), so a page runs it in a later
block, usually an invisible one. Shell blocks (``bash``) are shown, not run.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any
from unittest import SkipTest

import pytest
from sybil import Sybil
from sybil.parsers.markdown import ClearNamespaceParser, CodeBlockParser, PythonCodeBlockParser, SkipParser

from fivetran_provider._compat import AIRFLOW_V_3_PLUS, DAG
from fivetran_provider._compat import AIRFLOW_VERSION as AIRFLOW_RELEASE
from fivetran_provider.testing import FivetranSimulator
from tests.conftest import DAGS_FOLDER, FAST_RETRIES, ROOT
from tests.test_example_dags import xcom

AIRFLOW_VERSION = tuple(int(part) for part in AIRFLOW_RELEASE.split(".")[:2])
PAGES = [Path("README.md"), *sorted(path.relative_to(ROOT) for path in (ROOT / "docs").rglob("*.md"))]


def keep_json(example: Any) -> None:
    """A JSON block must parse; a later hidden check compares it with what the code produced."""
    example.namespace["previous_json"] = json.loads(str(example.parsed))


SYBIL = Sybil(
    parsers=[
        PythonCodeBlockParser(),
        CodeBlockParser(language="json", evaluator=keep_json),
        SkipParser(),
        ClearNamespaceParser(),
    ]
)


def page_examples(page: Path) -> list[object]:
    """The examples Sybil finds on a page (Python blocks, skips, namespace clears), in order."""
    return list(SYBIL.parse(ROOT / page))


def register_new_dags(namespace: dict[str, object], registered: set[int]) -> None:
    """Store the DAGs a page defined in the metadata DB, as the DAG processor would.

    From Airflow 3.1 on, ``dag.test()`` runs only a DAG it finds stored, or finds by parsing the
    DAGs folder; a DAG defined on a page has no file there. Airflow 2.11 and 3.0 store the DAG
    they run themselves.
    """
    if AIRFLOW_VERSION < (3, 1):
        return
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    try:
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:  # Airflow 3.1 keeps them with the models
        from airflow.models.dagbag import DagBag, sync_bag_to_db  # type: ignore[no-redef,attr-defined,unused-ignore]

    new = [v for v in namespace.values() if isinstance(v, DAG) and id(v) not in registered]
    if not new:
        return
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(DAGS_FOLDER), collect_dags=False)
    for dag in new:
        bag.bag_dag(dag)
        registered.add(id(dag))
    sync_bag_to_db(bag, "dags-folder", None)


@pytest.mark.parametrize("page", [page for page in PAGES if page_examples(page)], ids=str)
@pytest.mark.fivetran_simulator(seed_demo=True, extra=FAST_RETRIES)
def test_every_example_on_the_page_runs(page: Path, fivetran_simulator: FivetranSimulator, airflow_db: None) -> None:
    document = SYBIL.parse(ROOT / page)
    document.namespace.update(
        fivetran_simulator=fivetran_simulator,
        AIRFLOW_3=AIRFLOW_V_3_PLUS,
        DAGS_FOLDER=DAGS_FOLDER,
        xcom=xcom,
        previous_block="",
    )
    modules_before = set(sys.modules)
    files_before = set(DAGS_FOLDER.iterdir())
    ran = skipped = 0
    registered: set[int] = set()
    try:
        for example in document:
            try:
                example.evaluate()
            except SkipTest:
                skipped += 1
            else:
                ran += 1
                document.namespace["previous_block"] = str(example.parsed)
            register_new_dags(document.namespace, registered)
    finally:
        for written in set(DAGS_FOLDER.iterdir()) - files_before:  # DAG files a page saved (and their bytecode)
            if written.is_dir():
                shutil.rmtree(written)
            else:
                written.unlink()
        # Pages that write a DAG file and import it leave the module behind; the next page starts clean.
        for name in set(sys.modules) - modules_before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(str(DAGS_FOLDER)):
                del sys.modules[name]
    print(f"{page}: {ran} examples run, {skipped} skipped")


def test_the_pages_have_examples() -> None:
    """A parser change that found no examples would make the test above pass vacuously."""
    counted = {page: len(page_examples(page)) for page in PAGES}
    assert counted[Path("README.md")] >= 1
    assert counted[Path("docs/getting-started.md")] >= 2
    assert sum(counted.values()) >= 20, counted

"""Pytest plugin: a ``fivetran_simulator`` fixture for testing your own DAGs offline.

Registered through the package's ``pytest11`` entry point, so it is available wherever the provider
is installed; it does nothing unless a test asks for the fixture. The fixture starts a
:class:`~fivetran_provider.testing.FivetranSimulator` on loopback, points the Airflow connection
``fivetran_default`` at it (``AIRFLOW_CONN_FIVETRAN_DEFAULT``, JSON form) for the test's duration,
and stops it afterwards. Options come from the ``fivetran_simulator`` marker::

    @pytest.mark.fivetran_simulator(simulated_time=True, seed="tests/fivetran_account.json")
    def test_my_dag(fivetran_simulator):
        fivetran_simulator.advance(hours=1)

Marker keywords: ``conn_id`` (Airflow connection id, default ``fivetran_default``), ``extra``
(the connection's extra object), ``seed`` (a JSON seed file, see
:mod:`fivetran_provider.testing.seeding`), ``seed_demo`` and the :class:`~fivetran_provider.testing.FivetranSimulator`
keywords ``simulated_time``, ``start_time`` and ``speed``.

The fixture also puts Airflow's DAGs folder (``[core] dags_folder``, e.g. from
``AIRFLOW__CORE__DAGS_FOLDER``) at the front of ``sys.path`` for the test, as Airflow does when it
parses DAG files, so a test can ``from my_dag_file import dag``. Running that DAG with
``dag.test()`` needs a migrated metadata database, and from Airflow 3.1 on the DAG must be in
that folder: ``dag.test()`` stores the DAGs it finds there before it runs one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fivetran_provider.testing.server import FivetranSimulator

_SIMULATOR_KEYWORDS = ("simulated_time", "start_time", "speed", "seed_demo")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``fivetran_simulator`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "fivetran_simulator(**options): options of the fivetran_simulator fixture "
        "(conn_id, extra, seed, seed_demo, simulated_time, start_time, speed)",
    )


@pytest.fixture
def fivetran_simulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FivetranSimulator]:
    """A Fivetran API simulator on loopback, with the Airflow connection already pointing at it.

    :param request: pytest's request (reads the ``fivetran_simulator`` marker).
    :param monkeypatch: sets ``AIRFLOW_CONN_<CONN_ID>`` for the test only.
    """
    from fivetran_provider.testing.seeding import seed_from_file
    from fivetran_provider.testing.server import FivetranSimulator

    marker = request.node.get_closest_marker("fivetran_simulator")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    unknown = set(options) - {*_SIMULATOR_KEYWORDS, "conn_id", "extra", "seed"}
    if unknown:
        raise pytest.UsageError(f"fivetran_simulator marker: unknown options {sorted(unknown)}")
    conn_id = str(options.get("conn_id", "fivetran_default"))
    with FivetranSimulator(**{key: options[key] for key in _SIMULATOR_KEYWORDS if key in options}) as sim:
        if options.get("seed") is not None:
            seed_from_file(sim, options["seed"])
        _put_dags_folder_on_path(monkeypatch)
        env_name = "AIRFLOW_CONN_" + conn_id.upper().replace("-", "_")
        monkeypatch.setenv(env_name, sim.airflow_connection_json(extra=options.get("extra")))
        yield sim


def _put_dags_folder_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the DAG files of Airflow's DAGs folder importable by name, for this test only."""
    from airflow.configuration import conf

    folder = conf.get("core", "dags_folder", fallback="")
    if folder and os.path.isdir(folder) and folder not in sys.path:
        monkeypatch.syspath_prepend(folder)

"""A local, standard-library-only stand-in for the Fivetran REST API, for tests and demos.

Example::

    from fivetran_provider.testing import FivetranSimulator

    with FivetranSimulator() as sim:
        conn = sim.add_connection(service="postgres", config={"password": "s3cret"})
        sim.plan_syncs(conn["id"], "failure", "success", duration=0.1)
        ...  # point a client at sim.url with (sim.api_key, sim.api_secret)

Simulated time: ``FivetranSimulator(simulated_time=True)`` and ``sim.advance(minutes=...)``.
Run ``python -m fivetran_provider.testing`` for a standalone server with a demo account (or
``--seed FILE``); the ``fivetran_simulator`` pytest fixture comes with the installed package.
"""

from __future__ import annotations

from fivetran_provider.testing.clock import SimulatedClock, WallClock
from fivetran_provider.testing.faults import Fault, FaultInjector
from fivetran_provider.testing.handler import RecordedRequest
from fivetran_provider.testing.seeding import SeedError, seed_from_file, seed_from_json
from fivetran_provider.testing.server import FivetranSimulator
from fivetran_provider.testing.state import ApiError, SimulatorState, UnknownConnectionError

__all__ = [
    "ApiError",
    "Fault",
    "FaultInjector",
    "FivetranSimulator",
    "RecordedRequest",
    "SeedError",
    "SimulatedClock",
    "SimulatorState",
    "UnknownConnectionError",
    "WallClock",
    "seed_from_file",
    "seed_from_json",
]

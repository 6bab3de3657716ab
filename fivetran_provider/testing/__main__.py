"""Run the Fivetran API simulator in the foreground: ``python -m fivetran_provider.testing``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from fivetran_provider.testing.server import FivetranSimulator


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fivetran_provider.testing",
        description="Serve a local stand-in for the Fivetran REST API with a seeded demo account.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port, 0 for any free port (default: 8765)")
    parser.add_argument("--api-key", default=None, help="API key clients must send (default: random)")
    parser.add_argument("--api-secret", default=None, help="API secret clients must send (default: random)")
    parser.add_argument(
        "--sync-duration",
        type=float,
        default=5.0,
        help="seconds an unplanned sync takes (default: 5)",
    )
    parser.add_argument("--no-demo", action="store_true", help="start with an empty account")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the simulator, print how to reach it and serve until Ctrl-C or SIGTERM.

    :param argv: command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: process exit status.
    """
    args = _parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Both are handled explicitly: a shell may start background jobs with SIGINT ignored.
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sim = FivetranSimulator(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        api_secret=args.api_secret,
        seed_demo=not args.no_demo,
    )
    sim.default_sync_duration = args.sync_duration
    try:
        print(f"Fivetran API simulator listening on {sim.url}")
        print(f"API key:    {sim.api_key}")
        print(f"API secret: {sim.api_secret}")
        print(f"export AIRFLOW_CONN_FIVETRAN_DEFAULT='{sim.airflow_connection_json()}'")
        if not args.no_demo:
            print("Demo connections:")
            for group in sim.state.list_groups():
                for conn in sim.state.list_connections(group_id=group["id"]):
                    print(
                        f"  {conn['id']:<14} {conn['service']:<14} group={group['id']:<14} "
                        f"sync_state={conn['status']['sync_state']}"
                    )
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        print("Simulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

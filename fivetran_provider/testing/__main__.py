"""Run the Fivetran API simulator in the foreground: ``python -m fivetran_provider.testing``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from types import FrameType

from fivetran_provider.testing.seeding import SeedError, seed_from_file
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
        help="simulated seconds an unplanned sync takes (default: 5)",
    )
    parser.add_argument("--no-demo", action="store_true", help="start without the demo account")
    parser.add_argument(
        "--seed",
        metavar="FILE",
        action="append",
        default=[],
        help="add groups and connections from a JSON file shaped like GET /v1/connections answers "
        "(repeatable; implies --no-demo)",
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="delay every answer by this much (default: 0)"
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="answer 429 once N requests were made in the rolling hour (default: not enforced)",
    )
    parser.add_argument(
        "--fail-next-sync",
        metavar="ID",
        action="append",
        default=[],
        help="the next sync of this connection fails (repeatable)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second; scheduled syncs start by themselves (default: 1)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print a line per request answered")
    args = parser.parse_args(argv)
    if args.latency < 0 or args.sync_duration < 0:
        parser.error("--latency and --sync-duration must not be negative")
    if args.speed <= 0:
        parser.error("--speed must be positive (simulated time would stand still)")
    if args.rate_limit is not None and args.rate_limit < 1:
        parser.error("--rate-limit must be at least 1")
    return args


def _request_line(method: str, target: str, status: int) -> str:
    """One log line per answered request: time, method, path (query values left out) and status."""
    path, _, query = target.partition("?")
    names = ",".join(sorted({part.split("=", 1)[0] for part in query.split("&") if part}))
    shown = f"{path}?{names}" if names else path
    answer = str(status) if status else "dropped"
    return f"{time.strftime('%H:%M:%S')} {method} {shown} {answer}"


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
    demo = not args.no_demo and not args.seed
    try:
        sim = FivetranSimulator(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            api_secret=args.api_secret,
            seed_demo=demo,
            simulated_time=True,
            speed=args.speed,
        )
    except OSError as error:  # most often the port is taken by another process
        print(
            f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}; "
            "choose another --port, or --port 0 for any free one",
            file=sys.stderr,
            flush=True,
        )
        return 2
    try:
        sim.default_sync_duration = args.sync_duration
        for path in args.seed:
            try:
                groups, connections = seed_from_file(sim, path)
            except (SeedError, ValueError, TypeError) as error:
                print(f"error: {error}", file=sys.stderr, flush=True)
                return 2
            print(f"Seeded {connections} connections and {groups} groups from {path}")
        for connection_id in args.fail_next_sync:
            if not sim.state.has_connection(connection_id):
                print(f"error: --fail-next-sync: no connection {connection_id!r}", file=sys.stderr, flush=True)
                return 2
            sim.plan_syncs(connection_id, "failure", duration=args.sync_duration)
        if args.latency:
            sim.faults.latency(args.latency)
        if args.rate_limit is not None:
            sim.rate_limit_per_hour = args.rate_limit
            sim.enforce_rate_limit = True
        if not args.quiet:
            sim.answer_listener = lambda method, target, status: print(
                _request_line(method, target, status), flush=True
            )
        print(f"Fivetran API simulator listening on {sim.url}")
        print(f"API key:    {sim.api_key}")
        print(f"API secret: {sim.api_secret}")
        print(f"export AIRFLOW_CONN_FIVETRAN_DEFAULT='{sim.airflow_connection_json()}'")
        print("Connections (a connection's name is its schema; look it up by group name and schema):")
        for group in sim.state.list_groups():
            print(f"  group {group['id']} name={json.dumps(group['name'])}")
            for conn in sim.state.list_connections(group_id=group["id"]):
                print(
                    f"    {conn['id']:<14} {conn['service']:<14} schema={conn['schema']:<26} "
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

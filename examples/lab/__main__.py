"""``python -m examples.lab`` (``npm run lab --``): run the matrix, write the report.

npm run lab -- --servers gunicorn_sync,gunicorn_gthread --scenarios hello,sleep --duration 4
npm run lab -- --servers all --scenarios all --duration 5 --out docs/lab
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import List, Optional

from examples.lab import nginx, wrk
from examples.lab.matrix import RunConfig, run_matrix
from examples.lab.report import load_results, write_report
from examples.lab.scenarios import parse_scenarios

DEFAULT_SERVERS = (
    "gunicorn_sync",
    "gunicorn_gthread",
    "gunicorn_gevent",
    "uwsgi_processes",
    "uwsgi_threads",
    "mod_wsgi",
    "waitress",
    "cheroot",
    "bjoern",
    "meinheld",
    "granian_wsgi",
    "uvicorn_asgi",
    "gunicorn_uvicorn_worker",
    "uvicorn_wsgi_adapter",
)
MAX_DURATION_S = 60.0


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="npm run lab --", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--servers", default="all", help=f"comma-separated launcher modes, or all ({','.join(DEFAULT_SERVERS)})"
    )
    parser.add_argument("--scenarios", default="all", help="comma-separated scenarios, or all")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per cell (default 5, max 60)")
    parser.add_argument("--connections", type=int, default=16, help="closed-loop connections (default 16)")
    parser.add_argument(
        "--nginx", action="store_true", help="put nginx in front (sets X-Request-Start: real queue time)"
    )
    parser.add_argument(
        "--out", default="docs/lab", help="report folder; the run goes to OUT/RUN_ID (default docs/lab)"
    )
    parser.add_argument("--run-id", help="name of the run's folder (default: a timestamp)")
    parser.add_argument(
        "--rewrite",
        metavar="FOLDER",
        help="only rewrite FOLDER's report and charts from its results.json",
    )
    args = parser.parse_args(argv)
    if not 0.5 <= args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be within 0.5 .. {MAX_DURATION_S:g} s")
    if not 1 <= args.connections <= 256:
        parser.error("--connections must be within 1 .. 256")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.rewrite:
        folder = Path(args.rewrite)
        write_report(folder, *load_results(folder))
        print(f"lab: report rewritten in {folder / 'report.md'}")
        return 0
    if wrk.available() is None:
        print("lab: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    if args.nginx and nginx.available() is None:
        print("lab: --nginx needs nginx (apt-get install nginx)", file=sys.stderr)
        return 2
    servers = (
        list(DEFAULT_SERVERS) if args.servers == "all" else [s.strip() for s in args.servers.split(",") if s.strip()]
    )
    try:
        scenarios = parse_scenarios(args.scenarios)
    except ValueError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2
    config = RunConfig(servers, scenarios, args.duration, args.connections, args.nginx)
    run_id = args.run_id or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = run_matrix(config, log=lambda line: print(line, flush=True))
    folder = write_report(Path(args.out) / run_id, config, results)
    print(f"lab: report in {folder / 'report.md'}", flush=True)
    return 0 if all(r.error is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

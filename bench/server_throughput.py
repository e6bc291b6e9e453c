"""Hello-world throughput under real gunicorn gthread, with the shim and without.

    .venv/bin/python bench/server_throughput.py [--seconds 8] [--repeats 5] [--connections 16]

Starts the real collector, then for each repeat runs gunicorn (2 workers x 4 threads)
once bare and once with `-c python:wsgiscope.gunicorn`, drives it with wrk for the same
time, and reports requests/s. Runs alternate (bare, shim, bare, shim, ...) so drift on
this shared machine hits both alike; the figure that matters is the median ratio.
Loopback only; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                r.read()
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {deadline_s} s")


def start_collector() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        ["node", str(ROOT / "collector/dist/cli.js"), "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r":(\d+)\s*$", line)
    if not match:
        proc.kill()
        raise SystemExit(f"collector did not print its listening line: {line!r}")
    return proc, int(match.group(1))


def gunicorn(port: int, shim: bool, collector_port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads", "4",
            "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    if shim:
        argv += ["-c", "python:wsgiscope.gunicorn"]
    argv.append("bench.apps.hello:application")
    env = dict(os.environ, PYTHONPATH=str(ROOT),
               WSGISCOPE_COLLECTOR_URL=f"http://127.0.0.1:{collector_port}",
               WSGISCOPE_SERVICE_NAME="bench")
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", url],
        capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"could not read wrk output:\n{out}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    collector, collector_port = start_collector()
    results: Dict[str, List[float]] = {"bare": [], "wsgiscope": []}
    server: Optional[subprocess.Popen[bytes]] = None
    try:
        for _ in range(args.repeats):
            for name, runs in results.items():
                port = free_port()
                server = gunicorn(port, name == "wsgiscope", collector_port)
                url = f"http://127.0.0.1:{port}/"
                wait_http(url)
                wrk(url, 1, args.connections)  # warm-up
                runs.append(wrk(url, args.seconds, args.connections))
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
                server = None
    finally:
        if server is not None:
            server.kill()
        collector.send_signal(signal.SIGTERM)
        collector.wait(timeout=10)

    print(f"gunicorn gthread 2x4, wrk -c{args.connections} {args.seconds}s x {args.repeats}")
    for name, values in results.items():
        print(f"{name:<10} median {statistics.median(values):>9.0f} req/s   runs "
              + " ".join(f"{v:.0f}" for v in values))
    ratios = [s / b for b, s in zip(results["bare"], results["wsgiscope"])]
    print(f"with shim / without = {statistics.median(ratios):.3f} (median of paired runs;"
          f" target >= 0.970)")


if __name__ == "__main__":
    main()

"""Hello-world throughput under real gunicorn gthread, with the shim and without.

    .venv/bin/python bench/server_throughput.py [--seconds 8] [--repeats 5] [--connections 16]

Starts the real collector, then for each repeat runs gunicorn (2 workers x 4 threads)
once bare and once with `-c python:wsgiscope.gunicorn`, drives it with wrk for the same
time, and reports requests/s. Runs alternate (bare, shim, bare, shim, ...) so drift on
this shared machine hits both alike; the figure that matters is the median ratio.

Requests/s on a 2-core machine shared with other work is noisy, so the bench also reports
the server's CPU time per request (master + workers, user + system, from /proc): at
saturation throughput is bounded by it, and it is far less sensitive to neighbours. The
ratio bare/shim of CPU per request is the throughput ratio a saturated server would see.
Loopback only; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.support.processes import (  # noqa: E402
    Collector,
    free_port,
    port_accepts,
    stop_process_group,
)
from tests.e2e.support.waiting import wait_for  # noqa: E402


def gunicorn(port: int, shim: bool, collector_url: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads", "4",
            "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    if shim:
        argv += ["-c", "python:wsgiscope.gunicorn"]
    argv.append("bench.apps.hello:application")
    env = dict(os.environ, PYTHONPATH=str(ROOT),
               WSGISCOPE_COLLECTOR_URL=collector_url,
               WSGISCOPE_SERVICE_NAME="bench")
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            start_new_session=True)


def wrk(url: str, seconds: int, connections: int) -> tuple[float, int]:
    """(requests/s, requests completed)."""
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if not rate or not count:
        raise SystemExit(f"could not read wrk output:\n{out}")
    return float(rate.group(1)), int(count.group(1))


def process_tree_cpu_s(root_pid: int) -> float:
    """User + system CPU seconds of root_pid and its direct children (gunicorn's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        if root_pid in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    collector = Collector(Path(tempfile.mkdtemp(prefix="wsgiscope-bench-"))).start()
    results: Dict[str, List[float]] = {"bare": [], "wsgiscope": []}
    cpu_per_request: Dict[str, List[float]] = {"bare": [], "wsgiscope": []}
    server: Optional[subprocess.Popen[bytes]] = None
    try:
        for _ in range(args.repeats):
            for name, runs in results.items():
                port = free_port()
                server = gunicorn(port, name == "wsgiscope", collector.url)
                url = f"http://127.0.0.1:{port}/"
                wait_for(partial(port_accepts, port), 20, f"gunicorn on port {port}")
                wrk(url, 1, args.connections)  # warm-up
                cpu0 = process_tree_cpu_s(server.pid)
                rate, count = wrk(url, args.seconds, args.connections)
                cpu_per_request[name].append((process_tree_cpu_s(server.pid) - cpu0) / count)
                runs.append(rate)
                stop_process_group(server, timeout_s=30)
                server = None
    finally:
        if server is not None:
            stop_process_group(server)
        collector.stop()

    print(f"gunicorn gthread 2x4, wrk -c{args.connections} {args.seconds}s x {args.repeats}")
    for name, values in results.items():
        print(f"{name:<10} median {statistics.median(values):>9.0f} req/s   runs "
              + " ".join(f"{v:.0f}" for v in values))
    for name, values in cpu_per_request.items():
        print(f"{name:<10} median {statistics.median(values) * 1e6:>9.1f} CPU-us/request   runs "
              + " ".join(f"{v * 1e6:.1f}" for v in values))
    ratios = [s / b for b, s in zip(results["bare"], results["wsgiscope"])]
    print(f"with shim / without, req/s            = {statistics.median(ratios):.3f}"
          " (median of paired runs; target >= 0.970)")
    cpu_ratios = [b / s for b, s in zip(cpu_per_request["bare"], cpu_per_request["wsgiscope"])]
    print(f"with shim / without, 1/CPU per request = {statistics.median(cpu_ratios):.3f}"
          " (throughput ratio at saturation; median of paired runs)")


if __name__ == "__main__":
    main()

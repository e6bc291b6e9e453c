"""Where a loaded worker's CPU goes, with the shim and without: threads, switches, GC, py-spy.

    .venv/bin/python -m bench.shim_profile [--server gunicorn_gthread] [--seconds 15]
        [--shim-ref REF] [--py-spy]

Serves bench/apps/ablation.py (the hello-world app; ``BENCH_ABLATE=shim`` without the shim,
empty with the whole shim, its flusher thread named ``wsgiscope-flush`` at the OS level) from
one worker pinned to --server-cpu, drives each variant alone with wrk from --load-cpu, and
reports per request:

- CPU by thread (the server's main thread, its request threads, the shim's flusher), from
  /proc/PID/task/TID/schedstat (ns), and the time those threads waited runnable;
- voluntary and involuntary context switches by thread (a thread that blocks on the GIL or a
  lock switches voluntarily; the GIL hand-offs between request threads and the flusher show
  up here);
- garbage collections per 1,000 requests by generation and their time (``gc.callbacks``);
- the worker's CPU per second while idle (after the load, --idle seconds): the shim's fixed
  cost (its flusher's ticks and one flush a second, even of an empty batch);
- with --py-spy: ``py-spy record --gil --nonblocking`` samples (only the thread holding the GIL
  is sampled) split by the innermost shim frame: middleware, occupancy, record buffer, flusher
  (encoding, JSON, HTTP), sampler; the rest is the server and the app.

Variants run one after the other (not interleaved): these are shares and counts, not the
throughput ratio (bench/server_throughput.py measures that against its noise floor).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from wsgiscope_harness.processes import Collector
from wsgiscope_harness.waiting import wait_for

from bench.server_throughput import (
    Server,
    Setup,
    Variant,
    process_cpu_ns,
    shim_source,
    start_wrk,
    wrk_result,
)

ROOT = Path(__file__).resolve().parent.parent

APP = "bench.apps.ablation:application"


@dataclass
class ThreadStat:
    comm: str
    run_ns: int
    wait_ns: int
    voluntary: int
    involuntary: int
    user_ns: int = 0    # from /proc/PID/task/TID/stat (clock ticks: fine over a whole window)
    system_ns: int = 0


def thread_stats(pid: int) -> Dict[int, ThreadStat]:
    stats = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/comm") as handle:
                comm = handle.read().strip()
            with open(f"{base}/schedstat") as handle:
                run_ns, wait_ns, _ = (int(x) for x in handle.read().split())
            with open(f"{base}/status") as handle:
                status = handle.read()
            with open(f"{base}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        vol = re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M)
        invol = re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M)
        tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
        stats[int(tid)] = ThreadStat(comm, run_ns, wait_ns, int(vol.group(1)) if vol else 0,
                                     int(invol.group(1)) if invol else 0,
                                     int(fields[11]) * tick_ns, int(fields[12]) * tick_ns)
    return stats


def kind(tid: int, pid: int, comm: str) -> str:
    if comm == "wsgiscope-flush":
        return "flusher"
    return "main" if tid == pid else "request threads"


def bucket(stack: str) -> str:
    """The shim part a py-spy stack (outermost first, ';'-separated) is in.

    On the flusher thread (its stack has ``run`` of wsgiscope/flusher.py), everything is the
    flusher's: the process sample (``sample``: occupancy snapshot, /proc reads, gc stats) or the
    rest (draining, encoding, JSON, HTTP, its loop). On request threads, only a shim frame at
    the leaf is the shim's (C calls such as clocks and locks show as their caller's line); the
    app and the server's ``start_response`` run below the middleware but are not the shim.
    """
    modules = re.findall(r"(\w+) \((?:[^;]*/)?wsgiscope/(\w+)\.py:\d+\)", stack)
    if ("run", "flusher") in modules or ("_run", "agent") in modules:  # (agent: before the split)
        if ("sample", "agent") in modules:
            return "flusher: process sample"
        return "flusher: drain, encode, JSON, HTTP, loop"
    leaf = re.search(r"\((?:[^;]*/)?wsgiscope/(\w+)\.py:\d+\)$", stack.rsplit(";", maxsplit=1)[-1])
    if leaf is None:
        return "server + app"
    module = leaf.group(1)
    if module == "occupancy":
        return "request: occupancy enter/leave"
    if module == "buffer":
        return "request: record buffer append"
    return f"request: {module}.py"


def py_spy_split(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if number.isdigit():
            counts[bucket(stack)] += int(number)
    return counts


@dataclass
class Profile:
    requests: int
    threads: Dict[str, ThreadStat]
    gc: Dict[str, object]
    py_spy: Optional[Counter[str]]
    idle_cpu_ms_per_s: float


def profile(setup: Setup, variant: Variant, args: argparse.Namespace, gc_path: Path) -> Profile:
    server = Server(setup, variant)
    spy: Optional[subprocess.Popen[bytes]] = None
    try:
        wait_for(server.listening, 60, f"{variant.name} on port {server.port}")
        warm = wrk_result(start_wrk(server.url, 2, args.connections, args.load_cpu))
        pid = server.find_worker()
        time.sleep(1.5)
        before = thread_stats(pid)
        raw = setup.log_dir / f"py-spy-{variant.name}.txt"
        if args.py_spy:
            spy_argv = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
                        "--duration", str(args.seconds), "--rate", "250", "--gil", "--nonblocking",
                        "--format", "raw", "--output", str(raw)]
            if args.load_cpu is not None:
                spy_argv = ["taskset", "-c", str(args.load_cpu), *spy_argv]
            spy = subprocess.Popen(spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        window = wrk_result(start_wrk(server.url, args.seconds, args.connections, args.load_cpu))
        time.sleep(1.5)
        after = thread_stats(pid)
        if spy is not None:
            spy.wait(timeout=60)
        idle0 = process_cpu_ns(pid)
        time.sleep(args.idle)
        idle_cpu_ms_per_s = (process_cpu_ns(pid) - idle0) / 1e6 / args.idle
    finally:
        server.stop()
    totals: Dict[str, ThreadStat] = {}
    for tid, end in after.items():
        start = before.get(tid, ThreadStat(end.comm, 0, 0, 0, 0))
        name = kind(tid, pid, end.comm)
        acc = totals.setdefault(name, ThreadStat(name, 0, 0, 0, 0))
        acc.run_ns += end.run_ns - start.run_ns
        acc.wait_ns += end.wait_ns - start.wait_ns
        acc.voluntary += end.voluntary - start.voluntary
        acc.involuntary += end.involuntary - start.involuntary
        acc.user_ns += end.user_ns - start.user_ns
        acc.system_ns += end.system_ns - start.system_ns
    gc_stats: Dict[str, object] = {}
    if gc_path.exists():
        gc_stats = json.loads(gc_path.read_text())
        gc_stats["requests"] = warm.requests + window.requests
    split = py_spy_split(raw) if args.py_spy and raw.exists() else None
    return Profile(window.requests, totals, gc_stats, split, idle_cpu_ms_per_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="gunicorn_gthread",
                        choices=("gunicorn_gthread", "uwsgi_threads", "waitress"))
    parser.add_argument("--seconds", type=int, default=15, help="wrk window (default 15)")
    parser.add_argument("--idle", type=float, default=10,
                        help="seconds of idle CPU measured after the load (default 10)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--load-cpu", type=int, default=0)
    parser.add_argument("--shim-ref", help="serve the shim from this git commit (git archive)")
    parser.add_argument("--py-spy", action="store_true",
                        help="also sample with py-spy --gil (pip install py-spy)")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        args.server_cpu = args.load_cpu = None
    else:
        os.sched_setaffinity(0, {args.load_cpu})

    tmp = Path(tempfile.mkdtemp(prefix="wsgiscope-profile-"))
    collector = Collector(tmp).start()
    shim_dir, described = shim_source(args.shim_ref, tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGISCOPE_")}
    env.update(WSGISCOPE_COLLECTOR_URL=collector.url, WSGISCOPE_SERVICE_NAME="bench")
    if shim_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(shim_dir), *filter(None, [env.get("PYTHONPATH")])])
    setup = Setup(args.server, args.threads, args.server_cpu, env, tmp)
    print(f"shim: {described}; {args.server}, 1 worker x {args.threads} threads on CPU "
          f"{args.server_cpu}, wrk -t1 -c{args.connections} {args.seconds} s on CPU {args.load_cpu}; "
          f"load average {os.getloadavg()[0]:.2f}")
    results = {}
    try:
        for name, ablate in (("bare", "shim"), ("shim", "")):
            gc_path = tmp / f"gc-{name}.json"
            variant = Variant(name, False, {"BENCH_ABLATE": ablate, "BENCH_GC_STATS": str(gc_path)},
                              APP)
            results[name] = profile(setup, variant, args, gc_path)
    finally:
        collector.stop()

    print(f"\n{'per request':<32}" + "".join(f"{name:>14}" for name in results))
    kinds = ["main", "request threads", "flusher"]
    rows: List[Tuple[str, str]] = []
    for k in kinds:
        rows += [(f"CPU us, {k}", k), (f"user CPU us, {k}", k), (f"system CPU us, {k}", k),
                 (f"runnable wait us, {k}", k),
                 (f"voluntary switches, {k}", k), (f"involuntary switches, {k}", k)]
    for label, k in rows:
        cells = []
        for result in results.values():
            stat = result.threads.get(k)
            if stat is None:
                cells.append(f"{'-':>14}")
                continue
            value = {"CPU": stat.run_ns / 1000, "runnable": stat.wait_ns / 1000,
                     "user": stat.user_ns / 1000, "system": stat.system_ns / 1000,
                     "voluntary": stat.voluntary, "involuntary": stat.involuntary}[label.split()[0]]
            cells.append(f"{value / result.requests:>14.3f}")
        print(f"{label:<32}" + "".join(cells))
    for generation in ("0", "1", "2"):
        for what, index, scale in (("collections per 1000 req", 0, 1000), ("GC us per req", 1, 1e6)):
            cells = []
            for result in results.values():
                gc_stats = result.gc
                gens = gc_stats.get("generations") if gc_stats else None
                if not isinstance(gens, dict) or not gc_stats.get("requests"):
                    cells.append(f"{'-':>14}")
                    continue
                served = gc_stats["requests"]
                assert isinstance(served, int)
                cells.append(f"{gens[generation][index] * scale / served:>14.3f}")
            print(f"{f'gen {generation} {what}':<32}" + "".join(cells))
    print(f"{'idle CPU ms per second':<32}" + "".join(
        f"{result.idle_cpu_ms_per_s:>14.3f}" for result in results.values()))
    print(f"{'requests/s under load':<32}" + "".join(
        f"{result.requests / args.seconds:>14.0f}" for result in results.values()))
    for name, result in results.items():
        split = result.py_spy
        if split:
            total = sum(split.values())
            print(f"\npy-spy --gil, {name}: {total} samples while holding the GIL")
            for part, count in split.most_common():
                print(f"  {part:<40}{100 * count / total:6.1f} %")


if __name__ == "__main__":
    main()

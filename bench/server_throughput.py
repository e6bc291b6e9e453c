"""Hello-world throughput of one server worker with and without the shim, beside its noise floor.

    .venv/bin/python bench/server_throughput.py [--server gunicorn_gthread] [--rounds 12]
        [--passes 3] [--seconds 2] [--shim-ref HEAD] [--variant bare --variant shim ...]

What it measures: the server's CPU time per request at saturation, from the worker process's
task clock (the kernel's per-process CPU clock, nanoseconds, all threads: live and exited), and
requests/s. At saturation throughput is 1 / (CPU per request), so the ratio of CPU per request
is the throughput ratio, and it is far less sensitive to neighbours on a shared machine than
requests/s.

How (the design asked for by issue 13):
- the server (one worker, --threads threads, started as examples/servers/launch.py starts it, so
  the shim attaches the way users attach it) runs pinned to --server-cpu; wrk, the collector
  and this script run on --load-cpu;
- every round starts a fresh server per variant plus a second copy of the first (reference)
  variant, all at once. After a warm-up, each of --passes passes is one window of --seconds in
  which every server is driven by its own wrk at the same time, so all of them share the server
  CPU and whatever else the machine runs at that instant: the finest interleaving there is.
  (--sequential instead drives one server at a time, in a random order per pass.) A window's
  CPU is read from just before wrk starts to --settle seconds after it ends, so the shim's last
  flush of the window's records is counted in that window;
- per round, each variant's CPU per request (sum of CPU / sum of requests over its windows)
  is divided into the reference's; the rounds give a median, an interquartile range and a
  bootstrap 95 % confidence interval of the median. Fresh processes per round matter: most of
  the spread between identical servers is per process (memory layout, hash seed), not per
  window;
- the same statistics for the reference against its own copy (identical code on both sides,
  same interleaving) are the noise floor, printed beside every result.

Variants are ``bare`` (the app alone), ``shim`` (with wsgiscope, attached as launch.py does) or
``ablate`` (the app wrapped by bench/apps/ablation.py, which can switch parts of the shim off),
each optionally followed by ``:`` and comma-separated settings: ``NAME=VALUE`` is an environment
variable of that variant's servers, ``app=MODULE:CALLABLE`` serves another app, and for
``ablate`` a bare word is a part to switch off (``send``, ``flusher``). E.g.
``shim:WSGISCOPE_CPU_TIME=false``, ``ablate`` (the whole shim), ``ablate:send``.
``--shim-ref REF`` serves the shim from ``git archive REF python-hooks/src`` instead of the
working tree (so a measurement can name the commit it measured while the tree changes), and a
variant's own ``ref=REF`` does so for that variant only: ``--variant shim:ref=HEAD --variant shim``
compares a change in the working tree with the last commit, beside the floor of ``shim:ref=HEAD``.
Loopback only; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from wsgiscope_harness.processes import (
    LAUNCH_MODULE,
    Collector,
    free_port,
    port_accepts,
    stop_process_group,
)
from wsgiscope_harness.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent

APP = "bench.apps.hello:application"
ABLATION_APP = "bench.apps.ablation:application"
SERVERS = ("gunicorn_gthread", "uwsgi_threads", "waitress")
CPUCLOCK_SCHED = 2  # Linux: a process CPU clock id is ((~pid) << 3) | CPUCLOCK_SCHED


def process_cpu_ns(pid: int) -> int:
    """CPU time of every thread of process ``pid`` (live and exited), ns: the kernel's task clock."""
    return time.clock_gettime_ns(((~pid) << 3) | CPUCLOCK_SCHED)


def children(pid: int) -> List[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def pin_all_threads(pid: int, cpus: set[int]) -> None:
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(tid), cpus)


# -- variants and servers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    shim: bool
    env: Dict[str, str]
    app: str = APP
    ref: Optional[str] = None  # serve the shim from this commit (overrides --shim-ref)
    loads_shim: bool = False

    @staticmethod
    def parse(spec: str, name: Optional[str] = None) -> Variant:
        kind, _, settings = spec.partition(":")
        if kind not in ("bare", "shim", "ablate"):
            raise argparse.ArgumentTypeError(f"variant kind must be bare, shim or ablate, got {kind!r}")
        env: Dict[str, str] = {}
        app = ABLATION_APP if kind == "ablate" else APP
        ablated: List[str] = []
        ref: Optional[str] = None
        for item in filter(None, settings.split(",")):
            key, sep, value = item.partition("=")
            if not sep and kind == "ablate":
                ablated.append(item)
            elif not sep:
                raise argparse.ArgumentTypeError(f"expected NAME=VALUE in {spec!r}, got {item!r}")
            elif key == "app":
                app = value
            elif key == "ref":
                ref = value
            else:
                env[key] = value
        if kind == "ablate":
            env["BENCH_ABLATE"] = "+".join(ablated)
        return Variant(name or spec, kind == "shim", env, app, ref, kind in ("shim", "ablate"))


@dataclass(frozen=True)
class Setup:
    """What every server of one measurement shares."""

    mode: str
    threads: int
    cpu: Optional[int]
    env: Dict[str, str]
    log_dir: Path


class Server:
    """One server of one variant, pinned to the server CPU, as examples/servers/launch.py runs it.

    The argv comes from ``launch.py --dry-run``; uWSGI's ``--http-socket`` becomes
    ``--http11-socket`` (the same server with keep-alive), else every request would be a new
    connection and wrk, not the worker, would be the bottleneck.
    """

    def __init__(self, setup: Setup, variant: Variant) -> None:
        self.variant = variant
        self.port = free_port()
        env = {**setup.env, **variant.env}
        argv = [sys.executable, "-m", LAUNCH_MODULE, setup.mode, "--port", str(self.port), "--workers", "1",
                "--threads", str(setup.threads), "--app", variant.app, "--dry-run"]
        if not variant.shim:
            argv.append("--no-shim")
        plan = json.loads(subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                                         check=True).stdout)
        argv = ["--http11-socket" if arg == "--http-socket" else arg for arg in plan["argv"]]
        if setup.cpu is not None:
            argv = ["taskset", "-c", str(setup.cpu), *argv]
        self.log = open(setup.log_dir / f"{setup.mode}-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv, cwd=plan["cwd"], env={**env, **plan["env"]}, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.worker_pid = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def listening(self) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"{self.variant.name}: server exited with {self.process.returncode}; "
                             f"log {self.log.name}")
        return port_accepts(self.port)

    def find_worker(self) -> int:
        """The one worker process: the master's only child (gunicorn, uWSGI), else the process."""
        kids = children(self.process.pid)
        if len(kids) > 1:
            raise SystemExit(f"{self.variant.name}: expected one worker, found pids {kids}")
        self.worker_pid = kids[0] if kids else self.process.pid
        return self.worker_pid

    def stop(self) -> None:
        stop_process_group(self.process, timeout_s=15)
        self.log.close()


# -- load --------------------------------------------------------------------------------------


@dataclass
class Window:
    requests: int
    seconds: float
    errors: int
    cpu_ns: int = 0


def start_wrk(url: str, seconds: int, connections: int, cpu: Optional[int]) -> subprocess.Popen[str]:
    argv = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", url]
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def wrk_result(process: subprocess.Popen[str]) -> Window:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"wrk exited with {process.returncode}:\n{out}")
    count = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if not count:
        raise SystemExit(f"could not read wrk output:\n{out}")
    elapsed = float(count.group(2)) / (1000 if count.group(3) == "ms" else 1)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Window(int(count.group(1)), elapsed, errors + (int(non2xx.group(1)) if non2xx else 0))


def wrk(url: str, seconds: int, connections: int, cpu: Optional[int]) -> Window:
    return wrk_result(start_wrk(url, seconds, connections, cpu))


@dataclass
class Round:
    windows: Dict[str, List[Window]] = field(default_factory=dict)

    def cpu_per_request_us(self, name: str) -> float:
        windows = self.windows[name]
        return sum(w.cpu_ns for w in windows) / 1000 / max(1, sum(w.requests for w in windows))

    def requests_per_s(self, name: str) -> float:
        windows = self.windows[name]
        return sum(w.requests for w in windows) / sum(w.seconds for w in windows)

    def utilisation(self, name: str) -> float:
        windows = self.windows[name]
        return sum(w.cpu_ns for w in windows) / 1e9 / sum(w.seconds for w in windows)


def together(servers: Dict[str, Server], args: argparse.Namespace, result: Round) -> None:
    """One window for every server at the same time: each has its own wrk, all on the load CPU."""
    cpu0 = {name: process_cpu_ns(server.worker_pid) for name, server in servers.items()}
    loads = {name: start_wrk(server.url, args.seconds, args.connections, args.load_cpu)
             for name, server in servers.items()}
    windows = {name: wrk_result(load) for name, load in loads.items()}
    time.sleep(args.settle)
    for name, window in windows.items():
        window.cpu_ns = process_cpu_ns(servers[name].worker_pid) - cpu0[name]
        result.windows[name].append(window)


def one_by_one(servers: Dict[str, Server], args: argparse.Namespace, result: Round,
               rng: random.Random, timers: Dict[str, threading.Thread]) -> None:
    """One window per server in a random order; each window's CPU is read --settle seconds after
    its wrk ended, by a timer, while the next server's window runs."""
    for name in rng.sample(list(servers), len(servers)):
        server = servers[name]
        if name in timers:
            timers.pop(name).join()
        cpu0 = process_cpu_ns(server.worker_pid)
        window = wrk(server.url, args.seconds, args.connections, args.load_cpu)

        def read_end(window: Window = window, pid: int = server.worker_pid, cpu0: int = cpu0) -> None:
            window.cpu_ns = process_cpu_ns(pid) - cpu0

        timers[name] = threading.Timer(args.settle, read_end)
        timers[name].start()
        result.windows[name].append(window)


def run_round(setup: Setup, variants: Sequence[Variant], args: argparse.Namespace,
              rng: random.Random) -> Round:
    servers = {v.name: Server(setup, v) for v in variants}
    result = Round({name: [] for name in servers})
    timers: Dict[str, threading.Thread] = {}
    try:
        for server in servers.values():
            wait_for(server.listening, 60, f"{server.variant.name} on port {server.port}")
        warm_ups = [start_wrk(server.url, 1, args.connections, args.load_cpu)
                    for server in servers.values()]  # imports, threads, caches
        for load in warm_ups:
            wrk_result(load)
        for server in servers.values():
            server.find_worker()
        time.sleep(args.settle)  # the shims flush the warm-up's records before any window starts
        for _ in range(args.passes):
            if args.sequential:
                one_by_one(servers, args, result, rng, timers)
            else:
                together(servers, args, result)
        for timer in timers.values():
            timer.join()
    finally:
        stoppers = [threading.Thread(target=server.stop) for server in servers.values()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
    return result


# -- statistics --------------------------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def bootstrap_median_ci(values: Sequence[float], rng: random.Random,
                        resamples: int = 4000) -> Tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    medians = [statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples)]
    return quantile(medians, 0.025), quantile(medians, 0.975)


def describe(ratios: Sequence[float], rng: random.Random) -> str:
    low, high = bootstrap_median_ci(ratios, rng)
    return (f"median {statistics.median(ratios):.4f}  IQR [{quantile(ratios, 0.25):.4f}, "
            f"{quantile(ratios, 0.75):.4f}]  95% CI of median [{low:.4f}, {high:.4f}]")


# -- main --------------------------------------------------------------------------------------


def shim_source(ref: Optional[str], tmp: Path) -> Tuple[Optional[Path], str]:
    """(directory to put first on PYTHONPATH or None for the working tree, a description)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    if ref is None:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "python-hooks/src"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return None, f"working tree (HEAD {head[:12]}{', python-hooks/src modified' if dirty else ''})"
    commit = subprocess.run(["git", "rev-parse", f"{ref}^{{commit}}"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit, "python-hooks/src"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return tmp / "python-hooks" / "src", f"git archive of {ref} = {commit[:12]}"


def measure(setup: Setup, variants: List[Variant], args: argparse.Namespace,
            shim_dirs: Dict[str, Path]) -> Dict[str, object]:
    mode, env = setup.mode, setup.env
    rng = random.Random(args.seed)
    rounds: List[Round] = []
    started = time.monotonic()
    for number in range(args.rounds):
        rounds.append(run_round(setup, variants, args, rng))
        for name, shim_dir in shim_dirs.items() if number == 0 else ():
            cached = Path(env["PYTHONPYCACHEPREFIX"]) / shim_dir.relative_to("/") / "wsgiscope"
            if not any(cached.glob("middleware.*.pyc")):
                raise SystemExit(f"{name}: the servers did not import the shim from {shim_dir}")
        if args.verbose:
            last = rounds[-1]
            print(f"  round {number + 1}: " + "  ".join(
                f"{v.name} {last.cpu_per_request_us(v.name):.2f}us" for v in variants), flush=True)
    elapsed = time.monotonic() - started

    ref, floor = variants[0].name, variants[-1].name
    how = f"one at a time, random order (seed {args.seed})" if args.sequential else "all at once"
    print(f"\n{mode}: 1 worker x {args.threads} threads on CPU {args.server_cpu}; wrk -t1 "
          f"-c{args.connections} each on CPU {args.load_cpu}; {args.rounds} rounds x {args.passes} "
          f"windows of {args.seconds} s, servers loaded {how}; {elapsed / 60:.1f} min")
    width = max(52, 2 + max(len(v.name) for v in variants))
    print(f"{'variant':<{width}}{'CPU-us/req':>11}{'req/s':>9}{'CPU/s':>7}{'errors':>8}")
    for v in variants:
        errors = sum(w.errors for r in rounds for w in r.windows[v.name])
        print(f"{v.name:<{width}}{statistics.median(r.cpu_per_request_us(v.name) for r in rounds):>11.2f}"
              f"{statistics.median(r.requests_per_s(v.name) for r in rounds):>9.0f}"
              f"{statistics.median(r.utilisation(v.name) for r in rounds):>7.2f}{errors:>8}")
    print(f"throughput ratio at saturation = CPU per request of {ref} / of the variant (per round):")
    stats_rng = random.Random(args.seed + 1)
    summary: Dict[str, object] = {"mode": mode, "rounds": [], "ratios": {}}
    for v in variants[1:]:
        cpu = [r.cpu_per_request_us(ref) / r.cpu_per_request_us(v.name) for r in rounds]
        rps = [r.requests_per_s(v.name) / r.requests_per_s(ref) for r in rounds]
        label = f"{v.name} (A/A noise floor)" if v.name == floor else v.name
        print(f"  {label:<{width - 2}}{describe(cpu, stats_rng)}")
        print(f"  {'':<{width - 2}}by req/s: {describe(rps, stats_rng)}")
        delta_us = statistics.median(r.cpu_per_request_us(v.name) - r.cpu_per_request_us(ref)
                                     for r in rounds)
        print(f"  {'':<{width - 2}}CPU per request {delta_us:+.2f} us (median of per-round differences)")
        ratios = summary["ratios"]
        assert isinstance(ratios, dict)
        ratios[v.name] = {"cpu": cpu, "rps": rps, "delta_us": delta_us}
    if args.steps:
        print("steps: CPU per request of each variant minus the next one's (per round; us):")
        for this, following in zip(variants[:-2], variants[1:-1]):
            steps = [r.cpu_per_request_us(this.name) - r.cpu_per_request_us(following.name)
                     for r in rounds]
            low, high = bootstrap_median_ci(steps, stats_rng)
            print(f"  {this.name} - {following.name}: median {statistics.median(steps):+.2f} "
                  f"95% CI of median [{low:+.2f}, {high:+.2f}]")
    summary["rounds"] = [
        {name: [w.__dict__ for w in windows] for name, windows in r.windows.items()} for r in rounds]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", action="append", choices=(*SERVERS, "all"),
                        help="server mode (repeatable; default gunicorn_gthread; all = "
                             + ", ".join(SERVERS) + ")")
    parser.add_argument("--variant", action="append", metavar="SPEC",
                        help="bare | shim | ablate, then [:SETTING,...] (repeatable; the first is the reference; "
                             "default: bare, shim)")
    parser.add_argument("--rounds", type=int, default=16, help="fresh servers per round (default 16)")
    parser.add_argument("--passes", type=int, default=2, help="windows per server per round (default 2)")
    parser.add_argument("--seconds", type=int, default=3, help="wrk window, whole seconds (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=4, help="server threads (default 4)")
    parser.add_argument("--settle", type=float, default=1.5,
                        help="seconds after a window until its CPU is read: the shim's flush "
                             "interval (1 s) + sampler tick (0.25 s) + margin (default 1.5)")
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--load-cpu", type=int, default=0)
    parser.add_argument("--sequential", action="store_true",
                        help="drive one server at a time (random order per pass) instead of all at "
                             "once; each then has the server CPU to itself, and the neighbours' "
                             "noise differs between windows")
    parser.add_argument("--no-pin", action="store_true", help="do not pin (fewer than 2 CPUs)")
    parser.add_argument("--shim-ref", help="serve the shim from this git commit (git archive) "
                                           "instead of the working tree")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path, help="write every window's figures here")
    parser.add_argument("--steps", action="store_true",
                        help="also print each variant's CPU per request minus the next variant's "
                             "(for a chain of ablations)")
    parser.add_argument("--smoke", action="store_true",
                        help="one short round (checks that the bench runs; figures meaningless)")
    parser.add_argument("--verbose", action="store_true", help="print each round's CPU per request")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.passes, args.seconds, args.settle = 1, 1, 1, 1.3
    modes = list(SERVERS) if "all" in (args.server or []) else list(dict.fromkeys(
        args.server or ["gunicorn_gthread"]))
    if args.no_pin or len(os.sched_getaffinity(0)) < 2:
        args.server_cpu = args.load_cpu = None
    else:
        os.sched_setaffinity(0, {args.load_cpu})

    specs = args.variant or ["bare", "shim"]
    variants = [Variant.parse(spec) for spec in specs]
    if len({v.name for v in variants}) != len(variants):
        parser.error("variants must differ")
    variants.append(Variant.parse(specs[0], name=f"{specs[0]}'"))  # the A/A copy of the reference

    tmp = Path(tempfile.mkdtemp(prefix="wsgiscope-bench-"))
    collector = Collector(tmp).start()
    if args.load_cpu is not None and collector.process is not None:
        pin_all_threads(collector.process.pid, {args.load_cpu})
    shim_dir, described = shim_source(args.shim_ref, tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGISCOPE_")}
    env.update(WSGISCOPE_COLLECTOR_URL=collector.url, WSGISCOPE_SERVICE_NAME="bench")
    python_path = list(filter(None, [env.get("PYTHONPATH")]))
    if shim_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(shim_dir), *python_path])
    print(f"shim: {described}; python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.2f} at start", flush=True)
    exported: Dict[str, Optional[Path]] = {}
    for number, variant in enumerate(variants):
        if variant.ref is None:
            continue
        if variant.ref not in exported:
            dest = tmp / f"ref-{len(exported)}"
            dest.mkdir()
            exported[variant.ref], about = shim_source(variant.ref, dest)
            print(f"shim of variants with ref={variant.ref}: {about}")
        source = exported[variant.ref]
        assert source is not None
        variants[number] = dataclasses.replace(variant, env={
            **variant.env, "PYTHONPATH": os.pathsep.join([str(source), *python_path])})
    shim_dirs: Dict[str, Path] = {}
    for variant in variants:
        source = exported.get(variant.ref or "") if variant.ref else shim_dir
        if variant.loads_shim and source is not None:
            shim_dirs[variant.name] = source
    if shim_dirs:
        # bytecode goes to tmp, where its presence proves which shim the servers imported
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    results = []
    try:
        for mode in modes:
            setup = Setup(mode, args.threads, args.server_cpu, env, tmp)
            results.append(measure(setup, variants, args, shim_dirs))
    finally:
        collector.stop()
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    if args.json:
        args.json.write_text(json.dumps({"shim": described, "argv": sys.argv, "results": results}))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

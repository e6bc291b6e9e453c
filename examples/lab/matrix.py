"""Run servers x scenarios: one collector and one slow back end per run, one server process per
server (optionally behind nginx), a plain-text progress line per cell with an ETA."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence

from wsgiscope_harness.processes import REPO_ROOT, Collector, Server, stop_process_group

from examples.lab import nginx
from examples.lab.cell import CellResult, run_cell
from examples.lab.scenarios import Scenario

CELL_OVERHEAD_S = 2.5  # warm-up and settling, for the first ETA only


@dataclass(frozen=True)
class RunConfig:
    servers: Sequence[str]
    scenarios: Sequence[Scenario]
    duration_s: float = 5.0
    connections: int = 16
    with_nginx: bool = False


@contextlib.contextmanager
def slow_backend(log_dir: Path) -> Iterator[str]:
    log = open(log_dir / "backend.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "examples.app.backend", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if "listening on " not in line:
            raise RuntimeError(f"the slow back end did not start: {line!r}")
        yield line.split("listening on ", 1)[1].strip()
    finally:
        stop_process_group(process)
        log.close()


def _eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def progress_line(index: int, total: int, cell: CellResult, eta_s: float) -> str:
    head = f"[{index:>3}/{total}] {cell.server:<22} {cell.scenario:<13}"
    if cell.error or cell.client is None or cell.shim is None:
        return f"{head} FAILED: {cell.error}  (ETA {_eta(eta_s)})"
    c, s = cell.client, cell.shim
    agree = "agree" if cell.checks.get("agree") else "DIFFER"
    p99 = f"{c.p99_s * 1000:.0f}" if c.p99_s is not None else "-"
    return (
        f"{head} client {c.completed:>6} req {c.rate_per_s:>7.1f}/s p99 {p99:>5} ms | "
        f"shim {s.requests:>6.0f} req | {agree}  (ETA {_eta(eta_s)})"
    )


def run_matrix(
    config: RunConfig, log: Callable[[str], None] = print, work_dir: Optional[Path] = None
) -> List[CellResult]:
    total = len(config.servers) * len(config.scenarios)
    per_cell = config.duration_s + CELL_OVERHEAD_S
    results: List[CellResult] = []
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        work = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wsgiscope-lab-")))
        backend_url = stack.enter_context(slow_backend(work))
        collector = Collector(work).start()
        stack.callback(collector.stop)
        log(
            f"lab: {len(config.servers)} servers x {len(config.scenarios)} scenarios, "
            f"{config.duration_s:g} s each; collector {collector.url}, back end {backend_url}"
        )
        for mode in config.servers:
            service = f"lab-{mode}"
            env = {
                "WSGISCOPE_SERVICE_NAME": service,
                "WSGISCOPE_FLUSH_INTERVAL": "0.2",
                "EXAMPLE_BACKEND_URL": backend_url,
            }
            server = Server(mode, work, collector.url, env=env)
            front: Optional[nginx.Nginx] = None
            try:
                server.start(timeout_s=60)
                url = server.url
                if config.with_nginx:
                    front = nginx.Nginx(server.port, work / f"nginx-{mode}").start()
                    url = front.url
            except Exception as exc:
                server.stop()
                for scenario in config.scenarios:
                    results.append(CellResult(mode, scenario.name, error=f"server did not start: {exc}"[:500]))
                    log(progress_line(len(results), total, results[-1], 0))
                continue
            try:
                for scenario in config.scenarios:
                    cell = run_cell(
                        mode,
                        url=url,
                        collector_url=collector.url,
                        service=service,
                        scenario=scenario,
                        duration_s=config.duration_s,
                        connections=config.connections,
                        work_dir=work,
                    )
                    results.append(cell)
                    # measured pace once cells have run; the estimate only before the first
                    pace = (time.monotonic() - started) / len(results) if results else per_cell
                    eta = (total - len(results)) * max(pace, per_cell)
                    log(progress_line(len(results), total, cell, eta))
            finally:
                if front is not None:
                    front.stop()
                server.stop()
        log(f"lab: {total} cells in {_eta(time.monotonic() - started)}")
    return results

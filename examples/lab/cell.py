"""One cell of the matrix: a running server x one scenario → what the client and the shim saw.

design: the server process lives for all of its scenarios (one start per server keeps the
full matrix short); each cell is the difference between a scrape taken when the server is idle
and everything from the warm-up has reached the collector, and one taken when the load's
records have all arrived. "Arrived" is a condition with a deadline: the service's request count
and busy-thread-seconds stop changing over two scrapes more than a flush interval apart.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from wsgiscope_harness.load import Request, send_one
from wsgiscope_harness.metrics import Scrape, scrape

from examples.lab import paced, slowclient, wrk
from examples.lab.client import ClientView, combine
from examples.lab.scenarios import (
    SLOW_DOWNLOAD_BYTES,
    SLOW_READ_BYTES_PER_S,
    SLOW_UPLOAD_BYTES,
    SLOW_UPLOAD_S,
    Scenario,
)
from examples.lab.shimview import ShimView, shim_view

SETTLE_GAP_S = 0.35  # > the lab's flush interval (0.2 s): two scrapes straddle a flush
SETTLE_TIMEOUT_S = 20.0
LATENCY_SLACK_S = 0.001
TAIL_OFFSET_S = 0.15  # half a flush interval + half a drain poll: how late "drained" is seen on average
DRAIN_POLL_S = 0.1


@dataclass
class CellResult:
    server: str
    scenario: str
    load_s: float = 0.0  # load duration plus the tail (the server's working window)
    tail_s: float = 0.0
    client: Optional[ClientView] = None
    shim: Optional[ShimView] = None
    checks: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    # The collector's findings for this cell's service over the cell's own window (docs/diagnosis.md).
    diagnosis: List[Dict[str, Any]] = field(default_factory=list)
    diagnosis_error: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "server": self.server,
            "scenario": self.scenario,
            "load_s": self.load_s,
            "tail_s": self.tail_s,
            "client": self.client.to_dict() if self.client else None,
            "shim": self.shim.to_dict() if self.shim else None,
            "checks": self.checks,
            "error": self.error,
            "diagnosis": self.diagnosis,
            "diagnosis_error": self.diagnosis_error,
        }


def settled(collector_url: str, service: str, at_least: float = 0.0) -> tuple[Scrape, float]:
    """Scrape until the service's count is >= ``at_least``, nothing is in flight, and count and
    busy time are unchanged across a flush; return that scrape and the monotonic time the
    requests were first seen drained (deadline SETTLE_TIMEOUT_S)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    previous: Optional[tuple[float, float]] = None
    drained_at: Optional[float] = None
    while True:
        now = scrape(collector_url)
        count = now.total("http_server_request_duration_seconds_count", service_name=service)
        busy = now.total("wsgi_worker_busy_thread_seconds_total", service_name=service)
        active = now.total("http_server_active_requests", service_name=service)
        key = (count, busy)
        if drained_at is None and count >= at_least and active == 0:
            drained_at = time.monotonic()
        elif count >= at_least and active == 0 and key == previous:
            return now, drained_at or time.monotonic()
        if time.monotonic() > deadline:
            return now, drained_at or time.monotonic()  # the checks will show what is missing
        previous = key
        time.sleep(SETTLE_GAP_S if drained_at is not None else DRAIN_POLL_S)


def warm_up(url: str, scenario: Scenario) -> None:
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    for _ in range(3):
        send_one(host, port, Request(scenario.method, scenario.path, body_bytes=scenario.body_bytes), 30.0)


def drive(url: str, scenario: Scenario, duration_s: float, connections: int, work_dir: Path) -> ClientView:
    if scenario.driver == "paced":
        return paced.run(
            url,
            rate_per_s=scenario.rate_per_s,
            duration_s=duration_s,
            path=scenario.path,
            long_every=scenario.long_every,
            long_path=scenario.long_path,
        )
    conns = scenario.connections or connections
    slow_result: List[ClientView] = []
    slow_thread: Optional[threading.Thread] = None
    if scenario.slow_clients:

        def slow() -> None:
            slow_result.append(
                slowclient.run(
                    url,
                    clients=scenario.slow_clients,
                    duration_s=duration_s,
                    upload_bytes=SLOW_UPLOAD_BYTES,
                    upload_s=SLOW_UPLOAD_S,
                    download_bytes=SLOW_DOWNLOAD_BYTES,
                    read_bytes_per_s=SLOW_READ_BYTES_PER_S,
                )
            )

        slow_thread = threading.Thread(target=slow, daemon=True)
        slow_thread.start()
    view = wrk.run(
        url + scenario.path,
        method=scenario.method,
        body_bytes=scenario.body_bytes,
        connections=conns,
        duration_s=duration_s,
        work_dir=work_dir,
    )
    if slow_thread is None:
        return view
    slow_thread.join(duration_s + 60)
    if not slow_result:
        raise RuntimeError("the slow-client driver did not finish")
    parts = {"normal": view, **slow_result[0].groups}
    return combine("wrk+slow", view, parts)


def checks(
    client: ClientView, shim: ShimView, load_s: float, in_flight_bound: int, scenario: Scenario
) -> Dict[str, Any]:
    """Do the two views agree? Counts: the shim may see up to ``in_flight_bound`` more (requests
    a closed-loop client abandoned at its deadline) plus the client's errors, never fewer.
    Throughput within 5 %. Mean latency: the shim cannot see more than the client, which also
    counts the network, HTTP parsing and time queued before the app (the gap is reported)."""
    out: Dict[str, Any] = {}
    extra = shim.requests - client.completed
    allowed = in_flight_bound + client.errors
    out["count_diff"] = extra
    out["count_ok"] = 0 <= extra <= allowed
    # both rates over the client's window; the requests it abandoned are the allowed excess
    shim_rate = shim.requests / client.elapsed_s if client.elapsed_s > 0 else 0.0
    client_rate = client.rate_per_s
    out["shim_rate_per_s"] = shim_rate
    out["rate_diff_ratio"] = (shim_rate - client_rate) / client_rate if client_rate else None
    out["rate_ok"] = client_rate > 0 and abs(shim_rate - client_rate) <= (
        0.05 * client_rate + allowed / client.elapsed_s
    )
    out["utilisation"] = (
        shim.busy_thread_s / (shim.capacity_threads * load_s) if shim.capacity_threads and load_s else None
    )
    out["cpu_cores"] = shim.process_cpu_s / load_s if load_s else None
    if client.mean_s is not None and shim.mean_s is not None:
        out["outside_app_mean_s"] = client.mean_s - shim.mean_s
        out["latency_ok"] = shim.mean_s <= client.mean_s * 1.05 + LATENCY_SLACK_S
    else:
        out["latency_ok"] = False
    # Little's law: busy-thread-seconds should be the sum of request durations (threads servers)
    total_s = (shim.mean_s or 0.0) * shim.requests
    out["busy_vs_durations"] = shim.busy_thread_s / total_s if total_s > 0 else None
    app_s = shim.phase_mean_s.get("app")
    if scenario.expected_app_s is not None and app_s is not None:
        out["app_vs_expected"] = app_s / scenario.expected_app_s
    out["agree"] = bool(out["count_ok"] and out["rate_ok"] and out["latency_ok"])
    return out


def diagnose(collector_url: str, service: str, window_s: float, end_unix_s: float) -> List[Dict[str, Any]]:
    """The collector's findings for ``service`` over the ``window_s`` before ``end_unix_s``
    (GET /api/diagnosis?window=&end=; the collector runs on this host, so the clocks agree)."""
    query = f"window={max(1.0, window_s):.2f}&end={end_unix_s * 1000:.0f}"
    with urllib.request.urlopen(f"{collector_url}/api/diagnosis?{query}", timeout=10) as answer:
        body = json.load(answer)
    found = body.get("findings") if isinstance(body, dict) else None
    if not isinstance(found, list):
        raise ValueError(f"not a diagnosis: {str(body)[:200]}")
    return [f for f in found if isinstance(f, dict) and f.get("service_name") == service]


def run_cell(
    server: str,
    *,
    url: str,
    collector_url: str,
    service: str,
    scenario: Scenario,
    duration_s: float,
    connections: int,
    work_dir: Path,
) -> CellResult:
    result = CellResult(server, scenario.name)
    try:
        warm_up(url, scenario)
        before, _ = settled(collector_url, service)
        started = time.perf_counter()
        client = drive(url, scenario, duration_s, connections, work_dir)
        load_end = time.monotonic()
        after, drained_at = settled(
            collector_url,
            service,
            at_least=before.total("http_server_request_duration_seconds_count", service_name=service)
            + client.completed,
        )
        # Requests a closed-loop client left queued are served after it stopped: the window the
        # server worked is the load plus that tail (seen at scrape resolution, ~ +-0.2 s).
        result.tail_s = max(0.0, drained_at - load_end - TAIL_OFFSET_S)
        result.load_s = (client.elapsed_s or (time.perf_counter() - started)) + result.tail_s
        shim = shim_view(before, after, service)
        result.client, result.shim = client, shim
        bound = (scenario.connections or connections) + scenario.slow_clients if scenario.driver == "wrk" else 0
        result.checks = checks(client, shim, result.load_s, bound, scenario)
    except Exception as exc:  # one broken cell must not end the run
        result.error = f"{type(exc).__name__}: {exc}"[:500]
        return result
    try:
        # The cell's own window: the load and its tail (load_s), ending when its last request was served.
        end_unix_s = time.time() - (time.monotonic() - drained_at)
        result.diagnosis = diagnose(collector_url, service, result.load_s, end_unix_s)
    except Exception as exc:  # an older collector without /api/diagnosis: the cell still counts
        result.diagnosis_error = f"{type(exc).__name__}: {exc}"[:300]
    return result

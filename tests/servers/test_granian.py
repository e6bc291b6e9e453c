"""Granian --interface wsgi, the app wrapped in its module: workers and blocking threads detected
from Granian's defaults, its flags and its GRANIAN_* variables; busy time against Granian's own
metrics exporter; a list body keeps Granian's fast path (sent whole, with its length)."""

from __future__ import annotations

import http.client
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from wsgiscope_harness.load import Request, run_load
from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import Collector, Command, ServerFactory, free_port
from wsgiscope_harness.waiting import poll_until, wait_for

from .matrix import Case, check_case, count, distribution_version, skip_unless_available

VERSION = distribution_version("granian")
CASES = [
    # Granian's defaults: 1 worker, blocking threads up to backlog 1024 // 1 worker // 2 = 512
    Case("granian_wsgi", capacity=512, processes=1, version=VERSION, concurrency=4, requests=8),
    # flags: --workers 2 --blocking-threads 3
    Case("granian_wsgi", capacity=3, processes=2, version=VERSION, workers=2, threads=3,
         concurrency=6, requests=12),
    # variables: 2 workers, backlog 256 -> backpressure 128 per worker -> 64 blocking threads
    Case("granian_wsgi", capacity=64, processes=2, version=VERSION, concurrency=6, requests=12,
         env={"GRANIAN_WORKERS": "2", "GRANIAN_BACKLOG": "256"}),
]
IDS = ["defaults", "flags", "variables"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_granian_reports_capacity_counts_and_busy_time(
        case: Case, collector: Collector, start_server: ServerFactory) -> None:
    check_case(case, collector, start_server)


# --- Granian's own metrics (--metrics): the same busy time, and its GIL-wait counter ---------
#
# Each worker's blocking threads add, per task (one request: build the environ, call the app,
# iterate and close its response): ``granian_py_wait_cumulative`` the microseconds between
# receiving the task and holding the GIL, and ``granian_blocking_busy_cumulative`` the
# microseconds from receiving it to its end (GIL wait included). The shim's clock starts when
# the app is called, so it holds the GIL already: ours = busy - py_wait. Workers push their
# counters to the exporter every scrape interval (1 s, Granian's minimum here). Granian types
# them as counters without the ``_total`` suffix; the parser (prometheus_client) adds it.

SCRAPE_INTERVAL_S = 1


def granian_metrics(port: int) -> Scrape:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return Scrape(answer.read().decode("utf-8"))


def settled_granian_metrics(port: int, requests: int) -> Scrape:
    """Granian's counters once every request is in and a later push changed nothing."""
    first: List[Tuple[float, float]] = []

    def probe() -> Optional[Scrape]:
        s = granian_metrics(port)
        if s.total("granian_requests_handled_total") != requests:
            return None
        busy, now = s.total("granian_blocking_busy_cumulative_total"), time.monotonic()
        if not first or first[0][1] != busy:
            first[:] = [(now, busy)]
            return None
        return s if now - first[0][0] > SCRAPE_INTERVAL_S + 0.2 else None

    return wait_for(probe, 20, f"Granian's metrics to count {requests} requests and settle")


def our_settled_busy_s(collector: Collector, requests: int, expected_s: float) -> float:
    def counted() -> Optional[Scrape]:
        s = scrape(collector.url)
        return s if count(s) == requests and s.total("http_server_active_requests") == 0 else None

    wait_for(counted, 20, f"{requests} requests counted")
    last = poll_until(lambda: scrape(collector.url),
                      lambda s: abs(busy_s(s) - expected_s) <= 0.05 * expected_s, 10)
    return busy_s(last)


def busy_s(s: Scrape) -> float:
    return s.total("wsgi_worker_busy_thread_seconds_total")


@pytest.mark.parametrize(
    ("path", "requests", "gil_bound"),
    [("/sleep?ms=100", 24, False), ("/cpu?ms=20", 40, True)],
    ids=["sleep", "cpu-gil-contention"],
)
def test_busy_time_agrees_with_granians_own_metrics(
        path: str, requests: int, gil_bound: bool, collector: Collector,
        start_server: ServerFactory) -> None:
    skip_unless_available("granian_wsgi")
    metrics_port = free_port()
    server = start_server("granian_wsgi", collector.url, workers=1, threads=4, env={
        "GRANIAN_METRICS_ENABLED": "true", "GRANIAN_METRICS_ADDRESS": "127.0.0.1",
        "GRANIAN_METRICS_PORT": str(metrics_port),
        "GRANIAN_METRICS_SCRAPE_INTERVAL": str(SCRAPE_INTERVAL_S)})
    result = run_load(server.url, [Request("GET", path)], concurrency=4, max_requests=requests)
    assert result.status_counts() == {200: requests}, result.errors

    theirs = settled_granian_metrics(metrics_port, requests)
    busy_theirs_s = theirs.total("granian_blocking_busy_cumulative_total") / 1e6
    gil_wait_s = theirs.total("granian_py_wait_cumulative_total") / 1e6
    assert theirs.total("granian_blocking_threads") <= 4   # the pool's maximum, grown on demand
    ours_s = our_settled_busy_s(collector, requests, busy_theirs_s - gil_wait_s)

    assert abs(ours_s - (busy_theirs_s - gil_wait_s)) <= 0.05 * busy_theirs_s, \
        (ours_s, busy_theirs_s, gil_wait_s)
    if gil_bound:
        # 4 threads burning CPU take turns on the GIL: a task waits for it before it starts,
        # which Granian counts as busy and the shim (inside the app call) cannot see.
        assert gil_wait_s > 0, theirs.text
    else:
        # sleeping threads leave the GIL free: both busy times agree as they are
        assert abs(ours_s - busy_theirs_s) <= 0.05 * busy_theirs_s, (ours_s, busy_theirs_s)


# --- a list body: Granian joins it and sends it whole (Content-Length); any other iterable it
# streams block by block through a channel, chunked when the app set no Content-Length. The shim
# hands Granian the app's own list, so the response is framed as without the shim.

LIST_APP = """import wsgiscope
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])  # no Content-Length
    return [b"hello ", b"world"]
application = wsgiscope.wrap(app, service_name="granian-list")
"""


def framing(port: int) -> Tuple[Optional[str], Optional[str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/")
        answer = connection.getresponse()
        body = answer.read()
        return answer.getheader("content-length"), answer.getheader("transfer-encoding"), body
    finally:
        connection.close()


def test_a_list_body_keeps_granians_fast_path(collector: Collector, tmp_path: Path) -> None:
    skip_unless_available("granian_wsgi")
    (tmp_path / "listapp.py").write_text(LIST_APP)
    granian = str(Path(sys.executable).parent / "granian")
    servers: Dict[bool, Command] = {}
    try:
        for shim in (True, False):
            port = free_port()
            env = {"WSGISCOPE_COLLECTOR_URL": collector.url}
            if not shim:
                env["WSGISCOPE_DISABLED"] = "true"
            servers[shim] = Command(
                f"granian-list{'' if shim else '-noshim'}",
                [granian, "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", "1", "listapp:application"],
                port, tmp_path, cwd=tmp_path, env=env).start(timeout_s=60)
        answers = {shim: [framing(server.port) for _ in range(3)]
                   for shim, server in servers.items()}
        counted = poll_until(lambda: scrape(collector.url), lambda s: count(s) >= 3, 20)
    finally:
        for server in servers.values():
            server.stop()
    assert answers[False] == [("11", None, b"hello world")] * 3  # Granian's own framing
    assert answers[True] == answers[False]
    assert count(counted) == 3
    assert counted.total("http_server_response_body_size_bytes_sum",
                         service_name="granian-list") == 33

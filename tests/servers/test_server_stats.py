"""wsgiscope against the servers' own statistics, per worker process: uWSGI's stats server and
mod_wsgi's metrics API count the same requests (exactly) and the same busy time (within 5 %).

uWSGI's ``running_time`` (read in ``core/utils.c`` of the uwsgi-2.0 branch, ``uwsgi_close_request``;
the venv runs 2.0.31): per worker, the sum over the requests it closed of ``end_of_request -
start_of_request``, in microseconds of wall clock. ``start_of_request`` is taken in
``wsgi_req_recv`` just after ``accept()``, before the request is read and parsed; the end is
taken once the response is written and the app's iterable closed. Every thread of the worker
adds to that one sum, so it is the worker's busy thread-time: it should equal
``wsgi_worker_busy_thread_seconds_total{worker="host:pid"}`` (seconds; ``running_time`` / 1e6),
plus the reading, parsing and GIL waits before the app is called, which the shim cannot see.
``requests`` counts the same closed requests (also per thread, in ``cores``), ``exceptions`` the
app's exceptions. The stats server (``--stats``, ``--stats-http``) is the master's.

mod_wsgi's ``process_metrics()`` (read in ``src/server/wsgi_metrics.c`` at 6.0.5; the venv runs
6.1.1): ``None`` until ``mod_wsgi.start_recording_metrics()`` has run in the process; then
``request_count`` is the requests the daemon process completed since it started and
``request_busy_time`` the integral of its requests in flight over time (seconds), each from
``wsgi_start_request`` to ``wsgi_end_request`` (app called, body written, iterable closed): the
same busy thread-seconds, requests still in flight included. It describes the process that
calls it, so the test app (``mod_wsgi_metrics_app``) answers it at a side endpoint, outside the
wrap, saying what its own requests added, and the test asks until every daemon process answered.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
from wsgiscope_harness.load import Request, run_load
from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import REPO_ROOT, Collector, Command, free_port
from wsgiscope_harness.waiting import poll_until, wait_for

from examples.servers import _uwsgi
from examples.servers import mod_wsgi as mod_wsgi_mode
from examples.servers._api import DEFAULT_APP, Launch, LaunchOptions

from .matrix import skip_unless_available

SLEEPS = 40
SLEEP_MS = 100
CPU_REQUESTS = 8
CPU_MS = 20
PROCESSES = 2
THREADS = 3
TOLERANCE = 0.05
MOD_WSGI_APP = "tests.servers.mod_wsgi_metrics_app:application"

# run(name, launch, port, collector_url) -> a started Command (the ``run`` fixture)
Runner = Callable[[str, Launch, int, str], Command]


def send_known_load(url: str) -> int:
    """SLEEPS sleeps of SLEEP_MS then CPU_REQUESTS burns of CPU_MS; returns the request count."""
    for path, requests in ((f"/sleep?ms={SLEEP_MS}", SLEEPS), (f"/cpu?ms={CPU_MS}", CPU_REQUESTS)):
        result = run_load(url, [Request("GET", path)], concurrency=PROCESSES * THREADS,
                          max_requests=requests)
        assert result.status_counts() == {200: requests}, result.errors
    return SLEEPS + CPU_REQUESTS


def launch_options(port: int, app: str = DEFAULT_APP, shim: bool = True) -> LaunchOptions:
    return LaunchOptions(host="127.0.0.1", port=port, workers=PROCESSES, threads=THREADS, app=app,
                         shim=shim, python=sys.executable, repo_root=str(REPO_ROOT))


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Runner]:
    """``run(name, launch, port, collector_url)`` → a started :class:`Command`, stopped after the test."""
    started: List[Command] = []

    def start(name: str, launch: Launch, port: int, collector_url: str) -> Command:
        env = {**launch.env, "PYTHONPATH": str(REPO_ROOT), "WSGISCOPE_COLLECTOR_URL": collector_url,
               "WSGISCOPE_FLUSH_INTERVAL": "0.2", "WSGISCOPE_SERVICE_NAME": "e2e"}
        command = Command(name, launch.argv, port, tmp_path, cwd=Path(launch.cwd or REPO_ROOT), env=env)
        started.append(command)
        return command.start(timeout_s=60)

    yield start
    for command in started:
        command.stop()


def settled_scrape(collector: Collector, requests: int) -> Scrape:
    """Our numbers once every request is counted, none is in flight and a later flush changed nothing."""
    def counted() -> Scrape:
        s = scrape(collector.url)
        seen, active = s.total("http_server_request_duration_seconds_count"), s.total("http_server_active_requests")
        if seen < requests or active != 0:
            raise AssertionError(f"counted {seen:g}, {active:g} in flight")
        return s

    first = wait_for(counted, 20, f"{requests} requests counted")
    assert first.total("http_server_request_duration_seconds_count") == requests
    previous = [first.total("wsgi_worker_busy_thread_seconds_total")]

    def unchanged(s: Scrape) -> bool:
        busy = s.total("wsgi_worker_busy_thread_seconds_total")
        same = busy == previous[0]
        previous[0] = busy
        return same

    poll_until(lambda: scrape(collector.url), unchanged, 5, interval_s=0.5)
    return scrape(collector.url)


def busy_by_pid(s: Scrape) -> Dict[int, float]:
    """``wsgi_worker_busy_thread_seconds_total`` per worker pid (the label is ``host:pid``)."""
    return {int(worker.rsplit(":", 1)[1]): value
            for worker, value in s.by_worker("wsgi_worker_busy_thread_seconds_total").items()}


def assert_within(ours_s: float, theirs_s: float, what: str) -> None:
    assert abs(ours_s - theirs_s) <= TOLERANCE * theirs_s, \
        f"{what}: ours {ours_s:.4f} s vs the server's {theirs_s:.4f} s"


# --- uWSGI's stats server -----------------------------------------------------------------


def uwsgi_stats(port: int) -> Dict[str, Any]:
    """The stats server's JSON (``--stats-http``: served over HTTP)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        stats: Dict[str, Any] = json.loads(answer.read().decode("utf-8"))
    return stats


def other_free_port(taken: int) -> int:
    """A free port other than ``taken`` (the kernel may hand the same one out twice in a row)."""
    for _ in range(100):
        port = free_port()
        if port != taken:
            return port
    raise AssertionError(f"the kernel handed out only port {taken}")


def uwsgi_workers_once_counted(port: int, requests: int) -> List[Dict[str, Any]]:
    def counted() -> List[Dict[str, Any]]:
        workers: List[Dict[str, Any]] = uwsgi_stats(port)["workers"]
        if sum(w["requests"] for w in workers) < requests:
            raise AssertionError(f"requests per worker so far: {[(w['pid'], w['requests']) for w in workers]}")
        return workers

    return wait_for(counted, 10, f"uWSGI's stats server to count {requests} requests")


def test_uwsgi_counts_and_busy_time_agree_with_its_stats_server(
        collector: Collector, run: Runner) -> None:
    skip_unless_available("uwsgi_threads")
    port = free_port()
    stats_port = other_free_port(port)
    launch = _uwsgi.build(launch_options(port), threads=THREADS, extra=[
        "--lazy-apps", "--stats", f"127.0.0.1:{stats_port}", "--stats-http"])
    server = run("uwsgi-stats", launch, port, collector.url)
    requests = send_known_load(server.url)

    ours = settled_scrape(collector, requests)
    workers = uwsgi_workers_once_counted(stats_port, requests)
    assert len(workers) == PROCESSES, workers

    # the counts: ours (per service) against uWSGI's, and uWSGI's per worker against its threads'
    assert ours.total("http_server_request_duration_seconds_count") == sum(w["requests"] for w in workers)
    for worker in workers:
        assert worker["requests"] == sum(core["requests"] for core in worker["cores"]), worker
        assert worker["exceptions"] == 0, worker

    # the busy time, per worker pid
    ours_by_pid = busy_by_pid(ours)
    served = {w["pid"]: w for w in workers if w["requests"] > 0}
    assert set(ours_by_pid) == set(served), (ours_by_pid, served)
    for pid, worker in served.items():
        assert_within(ours_by_pid[pid], worker["running_time"] / 1e6,
                      f"worker {pid} ({worker['requests']} requests) busy time")
    assert_within(sum(ours_by_pid.values()), sum(w["running_time"] for w in workers) / 1e6, "all workers")


# --- mod_wsgi's metrics API ---------------------------------------------------------------


def mod_wsgi_metrics(url: str) -> Dict[str, Any]:
    with urllib.request.urlopen(f"{url}/__mod_wsgi_metrics", timeout=5) as answer:
        metrics: Dict[str, Any] = json.loads(answer.read().decode("utf-8"))
    return metrics


def load_requests(answer: Dict[str, Any]) -> int:
    """Requests of the load a daemon process completed: mod_wsgi's count minus the side requests."""
    return int(answer["process_metrics"]["request_count"]) - int(answer["side_requests_completed"])


def load_busy_s(answer: Dict[str, Any]) -> float:
    return float(answer["process_metrics"]["request_busy_time"]) - float(answer["side_busy_s"])


def mod_wsgi_by_pid(url: str, pids: List[int], requests: int) -> Dict[int, Dict[str, Any]]:
    """The latest side-endpoint answer of each daemon process, once every process in ``pids`` has
    answered and their load requests add up to ``requests``. Each ask lands on one process."""
    latest: Dict[int, Dict[str, Any]] = {}

    def probe() -> Dict[int, Dict[str, Any]]:
        answer = mod_wsgi_metrics(url)
        latest[int(answer["process_metrics"]["pid"])] = answer
        counted = {pid: load_requests(a) for pid, a in latest.items()}
        if not set(pids) <= set(latest) or sum(counted.values()) < requests:
            raise AssertionError(f"load requests per daemon process so far: {counted}")
        return latest

    return wait_for(probe, 30, f"every mod_wsgi daemon process {pids} to answer, adding up to {requests} "
                    "requests", interval_s=0.02)


def test_mod_wsgi_counts_and_busy_time_agree_with_its_metrics_api(
        collector: Collector, run: Runner) -> None:
    skip_unless_available("mod_wsgi")
    port = free_port()
    launch = mod_wsgi_mode.build(launch_options(port, app=MOD_WSGI_APP, shim=False))
    server = run("mod_wsgi-metrics", launch, port, collector.url)
    requests = send_known_load(server.url)

    ours = settled_scrape(collector, requests)
    ours_by_pid = busy_by_pid(ours)
    theirs = mod_wsgi_by_pid(server.url, sorted(ours_by_pid), requests)

    for answer in theirs.values():
        assert answer["answered_before_start"] is False, answer   # None until start_recording_metrics()
    assert ours.total("http_server_request_duration_seconds_count") == sum(map(load_requests, theirs.values()))
    served = {pid: answer for pid, answer in theirs.items() if load_requests(answer) > 0}
    assert set(ours_by_pid) == set(served), (ours_by_pid, theirs)
    for pid, answer in served.items():
        assert_within(ours_by_pid[pid], load_busy_s(answer),
                      f"daemon process {pid} ({load_requests(answer)} requests) busy time")
    assert_within(sum(ours_by_pid.values()), sum(map(load_busy_s, served.values())), "all daemon processes")

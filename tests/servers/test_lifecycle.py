"""Fork safety (gunicorn --preload, uWSGI forking after import) and the flush on graceful exit."""

from __future__ import annotations

import pytest
from wsgiscope_harness.load import Request, run_load
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import Collector, ServerFactory
from wsgiscope_harness.waiting import wait_for

from .matrix import Case, check_case, count, distribution_version, skip_unless_available


def test_gunicorn_preload_reports_one_worker_per_process(collector: Collector, start_server: ServerFactory) -> None:
    # --preload imports the app in the master before fork; the hook still starts one shim per worker
    case = Case("gunicorn_sync", capacity=1, processes=2, version=distribution_version("gunicorn"),
                workers=2, concurrency=2, requests=6, env={"GUNICORN_CMD_ARGS": "--preload"})
    check_case(case, collector, start_server)


def test_uwsgi_fork_after_import_reports_one_worker_per_process(
        collector: Collector, start_server: ServerFactory) -> None:
    # without --lazy-apps the shim is built in the master and uWSGI forks in C (no Python
    # at-fork hooks): each worker must still report under its own pid
    case = Case("uwsgi_processes", capacity=1, processes=2, version=distribution_version("uwsgi"),
                workers=2, concurrency=2, requests=6)
    last = check_case(case, collector, start_server)
    assert len({w.split(":")[1] for w in last.workers()}) == 2


EXIT_REQUESTS = 5


@pytest.mark.parametrize("mode", ["gunicorn_sync", "gunicorn_gthread", "uwsgi_processes",
                                  "uwsgi_threads", "uwsgi_nothreads", "waitress", "mod_wsgi"])
def test_records_buffered_at_graceful_exit_reach_the_collector(
        mode: str, collector: Collector, start_server: ServerFactory) -> None:
    skip_unless_available(mode)
    # a flush interval far beyond the test: only the exit flush can deliver these records
    server = start_server(mode, collector.url, workers=1,
                          env={"WSGISCOPE_FLUSH_INTERVAL": "120"})
    result = run_load(server.url, [Request("GET", "/hello")], concurrency=1,
                      max_requests=EXIT_REQUESTS)
    assert result.status_counts() == {200: EXIT_REQUESTS}, result.errors
    assert count(scrape(collector.url)) == 0
    server.stop()
    wait_for(lambda: count(scrape(collector.url)) == EXIT_REQUESTS, 10,
             f"{EXIT_REQUESTS} requests delivered by the exit flush")

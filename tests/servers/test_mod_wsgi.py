"""mod_wsgi-express daemon mode: threads_per_process and maximum_processes from the mod_wsgi module."""

from __future__ import annotations

from wsgiscope_harness.processes import Collector, ServerFactory

from .matrix import Case, check_case, distribution_version


def test_mod_wsgi_daemon_reports_capacity_counts_and_busy_time(
        collector: Collector, start_server: ServerFactory) -> None:
    case = Case("mod_wsgi", capacity=3, processes=2, version=distribution_version("mod_wsgi"),
                workers=2, threads=3, concurrency=6, requests=12)
    last = check_case(case, collector, start_server)
    # mod_wsgi stamps the request when Apache accepted it: a queue time without a front end
    assert last.total("wsgi_request_queue_duration_seconds_count") == case.requests

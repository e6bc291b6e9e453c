"""uWSGI: processes (fork after import), threads (lazy-apps), and 2.0.26 without thread support."""

from __future__ import annotations

import pytest
from wsgiscope_harness.processes import Collector, ServerFactory

from .matrix import Case, check_case, distribution_version

VERSION = distribution_version("uwsgi")
CASES = [
    Case("uwsgi_processes", capacity=1, processes=2, version=VERSION, workers=2, concurrency=2,
         requests=6),
    Case("uwsgi_threads", capacity=3, processes=2, version=VERSION, workers=2, threads=3,
         concurrency=6, requests=12),
    # Without --enable-threads (uWSGI <= 2.0.26) the worker keeps the GIL while it waits for a
    # request, so no background thread can flush: the shim sees uwsgi.has_threads == 0 and
    # flushes from the request path, at most once per flush interval. Records of requests that
    # ended less than an interval after the last flush wait for the next request: after an
    # idle second, one more request (one worker, so it reaches it) delivers them all.
    Case("uwsgi_nothreads", capacity=1, processes=1, version="2.0.26", workers=1, concurrency=1,
         requests=4, poke_after_idle_s=1.0,
         log_says="Python threads support is disabled"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_uwsgi_mode_reports_capacity_counts_and_busy_time(
        case: Case, collector: Collector, start_server: ServerFactory) -> None:
    check_case(case, collector, start_server)

"""uWSGI: processes (fork after import), threads (lazy-apps), and 2.0.26 without thread support."""

from __future__ import annotations

import pytest

from .matrix import Case, check_case, distribution_version

VERSION = distribution_version("uwsgi")
CASES = [
    Case("uwsgi_processes", capacity=1, processes=2, version=VERSION, workers=2, concurrency=2,
         requests=6),
    Case("uwsgi_threads", capacity=3, processes=2, version=VERSION, workers=2, threads=3,
         concurrency=6, requests=12),
    # Without --enable-threads (uWSGI <= 2.0.26) the worker keeps the GIL while it waits for a
    # request: the flusher thread stalls, and the last records wait. After an idle period longer
    # than the flusher's staleness limit (2 x 0.2 s flush + 0.25 s sample), the next request's
    # end sees the stale heartbeat and flushes inline. One worker, so one request reaches it.
    Case("uwsgi_nothreads", capacity=1, processes=1, version="2.0.26", workers=1, concurrency=1,
         requests=4, poke_after_idle_s=1.0),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_uwsgi_mode_reports_capacity_counts_and_busy_time(case, collector, start_server):
    check_case(case, collector, start_server)

"""gunicorn sync, gthread and gevent: capacity from the worker object via -c python:wsgiscope.gunicorn."""

from __future__ import annotations

import pytest
from wsgiscope_harness.processes import Collector, ServerFactory

from .matrix import Case, check_case, distribution_version

VERSION = distribution_version("gunicorn")
CASES = [
    Case("gunicorn_sync", capacity=1, processes=2, version=VERSION, workers=2, concurrency=2,
         requests=6),
    Case("gunicorn_gthread", capacity=3, processes=2, version=VERSION, workers=2, threads=3,
         concurrency=6, requests=12),
    # gevent: capacity is worker_connections greenlets; CPU is not attributable
    Case("gunicorn_gevent", capacity=10, processes=2, version=VERSION, workers=2, threads=10,
         concurrency=8, requests=16, cpu_attributable=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gunicorn_mode_reports_capacity_counts_and_busy_time(
        case: Case, collector: Collector, start_server: ServerFactory) -> None:
    check_case(case, collector, start_server)

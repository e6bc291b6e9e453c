"""Granian --interface wsgi, the app wrapped in its module: workers and blocking threads detected
from Granian's defaults, its flags and its GRANIAN_* variables."""

from __future__ import annotations

import pytest

from tests.e2e.support.processes import Collector, ServerFactory

from .matrix import Case, check_case, distribution_version

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

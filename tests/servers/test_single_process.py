"""waitress, cheroot (capacity configured), bjoern, meinheld (one thread, CPU not attributable), wsgiref."""

from __future__ import annotations

import pytest
from wsgiscope_harness.processes import Collector, ServerFactory

from .matrix import Case, check_case, distribution_version

CASES = [
    # waitress and cheroot do not tell an app their pool size: the launcher sets WSGISCOPE_CAPACITY
    Case("waitress", capacity=3, processes=1, version=distribution_version("waitress"), threads=3,
         concurrency=3, requests=9, source="configured"),
    Case("cheroot", capacity=3, processes=1, version=distribution_version("cheroot"), threads=3,
         concurrency=3, requests=9, source="configured"),
    # one OS thread: the app's time.sleep blocks the loop, so requests run one after another
    Case("bjoern", capacity=1, processes=1, version=distribution_version("bjoern"), concurrency=2,
         requests=4, cpu_attributable=False, busy_is_sleeps=True),
    Case("meinheld", capacity=1, processes=1, version=distribution_version("meinheld"),
         concurrency=2, requests=4, cpu_attributable=False, busy_is_sleeps=True),
    Case("wsgiref", capacity=1, processes=1, version="0.2", concurrency=1, requests=3),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_single_process_server_reports_capacity_counts_and_busy_time(
        case: Case, collector: Collector, start_server: ServerFactory) -> None:
    check_case(case, collector, start_server)

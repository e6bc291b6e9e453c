"""Fixtures: the e2e helpers (real collector, servers through launch.py, always torn down), plus a
collector started with extra options and a fault injector in front of it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from wsgiscope_harness.processes import Collector, CollectorFactory

from tests.e2e.conftest import start_server  # noqa: F401

from .faults import FaultFactory, FaultyCollector

ENV_PREFIX = "WSGISCOPE_COLLECTOR_"


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator[CollectorFactory]:
    """``start_collector(worker_expiry_s=60, TOKEN="t", MAX_BODY_BYTES=4096, ...)``: a real collector;
    the upper-case options are its WSGISCOPE_COLLECTOR_* variables, ``node_options`` NODE_OPTIONS."""
    started: List[Collector] = []

    def start(worker_expiry_s: float = 60.0, node_options: str = "", **options: object) -> Collector:
        collector = Collector(tmp_path, worker_expiry_s=worker_expiry_s)
        started.append(collector)
        with pytest.MonkeyPatch.context() as patch:
            for name in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
                patch.delenv(name)
            for name, value in options.items():
                patch.setenv(ENV_PREFIX + name, str(value))
            if node_options:
                patch.setenv("NODE_OPTIONS", node_options)
            return collector.start()

    yield start
    for collector in started:
        collector.stop()


@pytest.fixture
def start_fault() -> Iterator[FaultFactory]:
    """``start_fault(upstream_url, mode, ...)``: a FaultyCollector, closed after the test."""
    started: List[FaultyCollector] = []

    def start(upstream: str, mode: str = "forward", **kwargs: Any) -> FaultyCollector:
        fault = FaultyCollector(upstream, mode, **kwargs)
        started.append(fault)
        return fault

    yield start
    for fault in started:
        fault.close()

"""Fixtures for the end-to-end tests: collectors and servers that are always torn down."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List

import pytest
from wsgiscope_harness.processes import Collector, CollectorFactory, Server, ServerFactory


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator[CollectorFactory]:
    """Start a real collector: ``start_collector(worker_expiry_s=60)`` → a started Collector."""
    started: List[Collector] = []

    def start(worker_expiry_s: float = 60.0) -> Collector:
        collector = Collector(tmp_path, worker_expiry_s=worker_expiry_s)
        started.append(collector)
        return collector.start()

    yield start
    for collector in started:
        collector.stop()


@pytest.fixture
def collector(start_collector: CollectorFactory) -> Collector:
    return start_collector()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start a real server through launch.py: ``start_server("gunicorn_gthread", collector.url, workers=2)``."""
    started: List[Server] = []

    def start(mode: str, collector_url: Any, **kwargs: Any) -> Server:
        server = Server(mode, tmp_path, collector_url, **kwargs)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()

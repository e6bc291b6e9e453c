"""Fixtures: the generated dashboards, and a real Prometheus that is always stopped.

The collector and server processes come from the harness (wsgiscope_harness.processes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest

from .dashboard_queries import load_dashboards
from .prometheus_server import Prometheus

PrometheusFactory = Callable[[str], Prometheus]


@pytest.fixture(scope="session")
def dashboards() -> Dict[str, dict]:
    found = load_dashboards()
    assert found, "grafana/dashboards/ holds no dashboard: run npm run -w packages/dashboards generate"
    return found


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[PrometheusFactory]:
    """``start_prometheus(config_text)`` → a ready Prometheus on a free loopback port."""
    started: List[Prometheus] = []

    def start(config_text: str) -> Prometheus:
        workdir = tmp_path / f"prometheus-{len(started)}"
        workdir.mkdir()
        prometheus = Prometheus(workdir, config_text)
        started.append(prometheus)
        return prometheus.start()

    yield start
    for prometheus in started:
        prometheus.stop()

"""Fixtures: the generated dashboards, and a real Prometheus that is always stopped.

The collector and server processes come from tests/e2e/support (the end-to-end helpers).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # tests.e2e.support, examples.load

from .dashboard_queries import load_dashboards  # noqa: E402
from .prometheus_server import Prometheus  # noqa: E402

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

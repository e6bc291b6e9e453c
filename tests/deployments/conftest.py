"""Fixtures: a real collector (from the e2e fixtures) and servers started by their own commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator, List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # tests.e2e, examples.servers

from tests.deployments.deploy import Deployment  # noqa: E402
from tests.e2e.conftest import collector, start_collector  # noqa: E402,F401
from tests.e2e.support.processes import Command  # noqa: E402


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """``serve(deployment, collector_url)`` → a started :class:`Command`, stopped after the test."""
    started: List[Command] = []

    def start(deployment: Deployment, collector_url: str, **kwargs: Any) -> Command:
        command = deployment.command(tmp_path, collector_url, **kwargs)
        started.append(command)
        return command.start(timeout_s=60)

    yield start
    for command in started:
        command.stop()

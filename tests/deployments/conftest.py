"""Fixtures: a real collector (from the e2e fixtures) and servers started by their own commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List

import pytest
from wsgiscope_harness.processes import Command

from tests.deployments.deploy import Deployment
from tests.e2e.conftest import collector, start_collector  # noqa: F401


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """``serve(deployment, collector_url)`` → a started :class:`Command`, stopped after the test;
    skips the test when the deployment cannot run here (:meth:`Deployment.unavailable_reason`)."""
    started: List[Command] = []

    def start(deployment: Deployment, collector_url: str, **kwargs: Any) -> Command:
        reason = deployment.unavailable_reason()
        if reason:
            pytest.skip(reason)
        command = deployment.command(tmp_path, collector_url, **kwargs)
        started.append(command)
        return command.start(timeout_s=60)

    yield start
    for command in started:
        command.stop()

"""Every panel of the generated dashboards shows data from a real stack.

gunicorn (gthread, the shim through its config hook) serves the example app under a short
mixed load that stamps X-Request-Start; the shim feeds a real collector; a real Prometheus
scrapes the collector every second with the shipped prometheus.yml. Then every panel query,
with its template variables resolved the way Grafana resolves them, is sent to Prometheus'
HTTP API and must parse and return at least one series with a finite value.
"""

from __future__ import annotations

import math
import socket
import subprocess
import urllib.request
from dataclasses import dataclass
from typing import Dict, Iterator, List

import pytest
from wsgiscope_harness.load import LoadResult, run_load
from wsgiscope_harness.processes import Collector, Server
from wsgiscope_harness.waiting import poll_until

from .dashboard_queries import (
    LabelValuesVariable,
    PanelQuery,
    as_regex,
    label_values_variables,
    load_dashboards,
    panel_queries,
    substitute,
)
from .panel_load import PANEL_MIX
from .prometheus_server import Prometheus, prometheus_binary, render_test_config

SERVICE = "dashboards-live"
JOB = "wsgiscope-collector"
DASHBOARDS = load_dashboards()
QUERIES = panel_queries(DASHBOARDS)
VARIABLES = label_values_variables(DASHBOARDS)

LOAD_DURATION_S = 6.0
LOAD_MAX_REQUESTS = 3000


@dataclass
class LiveStack:
    collector: Collector
    server: Server
    prometheus: Prometheus
    load: LoadResult


def _served_requests(prometheus: Prometheus) -> float:
    return prometheus.scalar(f'sum(http_server_request_duration_seconds_count{{service_name="{SERVICE}"}})')


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    workdir = tmp_path_factory.mktemp("live")
    collector = Collector(workdir)
    server = None
    prometheus = None
    try:
        collector.start()
        server = Server(
            "gunicorn_gthread",
            workdir,
            collector.url,
            workers=2,
            threads=4,
            env={"WSGISCOPE_SERVICE_NAME": SERVICE},
        ).start()
        prometheus = Prometheus(workdir, render_test_config(f"127.0.0.1:{collector.port}"))
        prometheus.start()
        poll_until(lambda: prometheus.query(f'up{{job="{JOB}"}} == 1'), bool, timeout_s=15)
        load = run_load(server.url, PANEL_MIX, concurrency=3, duration_s=LOAD_DURATION_S,
                        max_requests=LOAD_MAX_REQUESTS)
        assert not load.errors, load.errors[:5]
        completed = len(load.statuses)
        # Every response is in Prometheus once a scrape after the shim's last flush has landed.
        seen = poll_until(lambda: _served_requests(prometheus), lambda n: n >= completed, timeout_s=20)
        assert seen == completed, f"Prometheus saw {seen} requests, the client completed {completed}"
        yield LiveStack(collector, server, prometheus, load)
    finally:
        if prometheus is not None:
            prometheus.stop()
        if server is not None:
            server.stop()
        collector.stop()


@pytest.fixture(scope="module")
def variable_values(stack: LiveStack) -> Dict[str, List[str]]:
    """Each dashboard variable resolved through Prometheus, in dependency order (service → server → worker)."""
    resolved: Dict[str, List[str]] = {}
    for variable in VARIABLES:
        selection = {name: as_regex(values) for name, values in resolved.items() if values}
        values = stack.prometheus.label_values(variable.label, substitute(variable.selector, selection))
        resolved.setdefault(variable.name, values)
    return resolved


def test_prometheus_scrapes_the_collector_with_the_shipped_job(stack: LiveStack) -> None:
    assert stack.prometheus.query(f'up{{job="{JOB}"}} == 1')


def test_the_load_covered_successes_and_server_errors(stack: LiveStack) -> None:
    counts = stack.load.status_counts()
    assert counts.get(200, 0) > 0 and counts.get(500, 0) > 0, counts


def test_collector_metrics_pass_promtool_check_metrics(stack: LiveStack) -> None:
    with urllib.request.urlopen(f"{stack.collector.url}/metrics", timeout=10) as answer:
        exposition = answer.read()
    result = subprocess.run(
        [prometheus_binary("promtool"), "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=60,
        check=False,
    )
    report = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0 and report.strip() == "", report


@pytest.mark.parametrize("variable", VARIABLES, ids=lambda v: f"{v.dashboard}:${v.name}")
def test_dashboard_variable_finds_values(variable_values: Dict[str, List[str]], variable: LabelValuesVariable) -> None:
    assert variable_values[variable.name], f"label_values for ${variable.name} found nothing"
    if variable.name == "service":
        assert SERVICE in variable_values["service"]
    if variable.name == "server":
        assert variable_values["server"] == ["gunicorn"]
    if variable.name == "host":
        assert variable_values["host"] == [socket.gethostname()]  # the shim's default host
    if variable.name == "worker":
        assert len(variable_values["worker"]) == 2  # --workers 2


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.id)
def test_panel_query_returns_data(stack: LiveStack, variable_values: Dict[str, List[str]], query: PanelQuery) -> None:
    selection = {name: as_regex(values) for name, values in variable_values.items()}
    expr = substitute(query.expr, selection)
    series = stack.prometheus.query(expr)
    assert series, f"no series for {query.panel!r}: {expr}"
    values = [float(s["value"][1]) for s in series]
    assert any(math.isfinite(v) for v in values), f"only NaN/Inf for {query.panel!r}: {expr} → {series}"


def test_all_value_selects_the_same_series_as_the_resolved_values(stack: LiveStack) -> None:
    """The "All" option is the regex .* (allValue), which must match what the listed values match."""
    expr = next(q.expr for q in QUERIES if q.panel == "Request rate")
    values = {"service": SERVICE, "server": ".*", "host": ".*", "worker": ".*"}
    everything = stack.prometheus.query(substitute(expr, values))
    assert [s["metric"] for s in everything] == [{"server": "gunicorn"}]

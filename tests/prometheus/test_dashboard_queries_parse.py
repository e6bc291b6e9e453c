"""Every panel query of the generated dashboards is valid PromQL (checked by promtool, no server).

Each query, with its template variables substituted, becomes a recording rule; `promtool check
rules` parses every expression. The live test (test_dashboards_live.py) also runs them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from .dashboard_queries import PanelQuery, label_values_variables, load_dashboards, panel_queries, substitute
from .prometheus_server import prometheus_binary

ALL = {"service": ".*", "server": ".*", "host": ".*", "worker": ".*"}
QUERIES = panel_queries(load_dashboards())


def promtool_check_rules(tmp_path: Path, exprs: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    # JSON is YAML: no YAML library needed to write the rules file.
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:query_{index}", "expr": expr} for index, expr in enumerate(exprs.values())
                ],
            }
        ]
    }
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps(rules, indent=2))
    return subprocess.run(
        [prometheus_binary("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_dashboards_have_queries() -> None:
    assert len(QUERIES) >= 20
    assert {q.dashboard for q in QUERIES} == {"wsgiscope-overview", "wsgiscope-workers"}


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.id)
def test_panel_query_parses_as_promql(tmp_path: Path, query: PanelQuery) -> None:
    result = promtool_check_rules(tmp_path, {query.id: substitute(query.expr, ALL)})
    assert result.returncode == 0, f"{query.expr}\n{result.stdout}{result.stderr}"


def test_promtool_check_rules_rejects_invalid_promql(tmp_path: Path) -> None:
    unbalanced = "sum by (server) (rate(http_server_request_duration_seconds_count[1m])"
    result = promtool_check_rules(tmp_path, {"broken": unbalanced})
    assert result.returncode != 0


def test_variable_selectors_parse_as_promql(tmp_path: Path) -> None:
    selectors = {v.name: substitute(v.selector, ALL) for v in label_values_variables(load_dashboards()) if v.selector}
    assert selectors
    result = promtool_check_rules(tmp_path, selectors)
    assert result.returncode == 0, result.stdout + result.stderr

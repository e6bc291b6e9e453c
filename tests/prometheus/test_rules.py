"""The Prometheus rules generated from the diagnosis thresholds (prometheus/rules/wsgiscope.rules.yml):
promtool accepts them, their unit tests (rules.test.yml: every alert firing on series that should
fire it, silent on series that should not) pass and would catch a changed rule, prometheus.yml
references them, and a real Prometheus loads and evaluates them against a real collector fed by
a real gunicorn: the recording rules return data.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from functools import partial
from pathlib import Path
from typing import Any, Dict, List

from wsgiscope_harness.load import Request, run_load
from wsgiscope_harness.processes import Collector, Server
from wsgiscope_harness.waiting import poll_until

from .conftest import PrometheusFactory
from .prometheus_server import SHIPPED_CONFIG, SHIPPED_RULES, prometheus_binary, render_test_config

HERE = Path(__file__).resolve().parent
UNIT_TESTS = HERE / "rules.test.yml"
FINDING_IDS = {
    "capacity_exhausted", "slow_clients", "gil_contention", "cpu_saturated", "long_requests_block_short",
    "blocking_io", "event_loop_blocked", "stuck_requests", "memory_growth", "shim_drops", "unknown_capacity",
}


def promtool(*args: str, cwd: Path = HERE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([prometheus_binary("promtool"), *args], capture_output=True, text=True, timeout=120,
                          check=False, cwd=cwd)


def alerts_in(path: Path) -> List[str]:
    return re.findall(r'^\s+- alert: "(\w+)"$', path.read_text(), re.M)


def test_promtool_check_rules_passes() -> None:
    result = promtool("check", "rules", str(SHIPPED_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_finding_id_that_promql_can_express_has_an_alert() -> None:
    ids = set(re.findall(r'^\s+finding_id: "(\w+)"$', SHIPPED_RULES.read_text(), re.M))
    assert ids == FINDING_IDS


def test_promtool_unit_tests_pass_and_cover_every_alert() -> None:
    result = promtool("test", "rules", str(UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"^\s+alertname: (\w+)$", UNIT_TESTS.read_text(), re.M))
    assert tested == set(alerts_in(SHIPPED_RULES))


def test_the_unit_tests_catch_a_changed_threshold(tmp_path: Path) -> None:
    rules = tmp_path / "prometheus" / "rules" / "wsgiscope.rules.yml"
    rules.parent.mkdir(parents=True)
    text = SHIPPED_RULES.read_text()
    assert text.count(">= 30\n") == 1  # the stuck-request threshold
    rules.write_text(text.replace(">= 30\n", ">= 60\n"))
    tests = tmp_path / "tests" / "prometheus" / "rules.test.yml"
    tests.parent.mkdir(parents=True)
    shutil.copy(UNIT_TESTS, tests)
    result = promtool("test", "rules", str(tests), cwd=tests.parent)
    assert result.returncode != 0
    assert "WsgiscopeStuckRequests" in result.stdout + result.stderr


def test_prometheus_yml_references_the_rules() -> None:
    assert "  - rules/wsgiscope.rules.yml\n" in SHIPPED_CONFIG.read_text()
    assert (SHIPPED_CONFIG.parent / "rules" / "wsgiscope.rules.yml").is_file()


def _finite(result: List[Dict[str, Any]]) -> bool:
    return any(math.isfinite(float(r["value"][1])) for r in result)


def test_a_real_prometheus_loads_and_evaluates_the_rules(tmp_path: Path, start_prometheus: PrometheusFactory) -> None:
    collector = Collector(tmp_path)
    server = None
    try:
        collector.start()
        server = Server("gunicorn_gthread", tmp_path, collector.url, workers=1, threads=2,
                        env={"WSGISCOPE_SERVICE_NAME": "rules-live"}).start()
        prometheus = start_prometheus(render_test_config(f"127.0.0.1:{collector.port}"))
        groups = poll_until(prometheus.rule_groups, lambda g: len(g) == 2, timeout_s=15)
        by_name = {g["name"]: g for g in groups}
        assert sorted(by_name) == ["wsgiscope.alerts", "wsgiscope.recording"]
        assert [r["name"] for r in by_name["wsgiscope.alerts"]["rules"]] == alerts_in(SHIPPED_RULES)
        load = run_load(server.url, [Request("GET", "/sleep?ms=50"), Request("GET", "/cpu?ms=5")],
                        concurrency=2, duration_s=8)
        assert not load.errors, load.errors[:5]
        for record in ("wsgiscope:utilization:ratio_rate1m", "wsgiscope:request_phase_share:ratio_rate1m",
                       "wsgiscope:request_cpu_share:ratio_rate1m", "wsgiscope:worker_cpu_cores:rate1m"):
            expr = f'{record}{{service_name="rules-live"}}'
            seen = poll_until(partial(prometheus.query, expr), _finite, timeout_s=20)
            assert _finite(seen), (record, seen)
        # Every rule was evaluated without an error.
        for group in prometheus.rule_groups():
            for rule in group["rules"]:
                assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    finally:
        if server is not None:
            server.stop()
        collector.stop()

"""A real Prometheus (Debian's ``prometheus``) on loopback, with its own temporary storage.

Prometheus cannot listen on port 0, so a free port is picked by the kernel, closed, and
handed to Prometheus; if another process takes it in between, Prometheus exits with
"address already in use" and the start is retried on a new port.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

from wsgiscope_harness.processes import REPO_ROOT, free_port, log_tail, stop_process_group
from wsgiscope_harness.waiting import wait_for

SHIPPED_CONFIG = REPO_ROOT / "prometheus" / "prometheus.yml"
SHIPPED_RULES = REPO_ROOT / "prometheus" / "rules" / "wsgiscope.rules.yml"
RULE_FILE_ENTRY = "- rules/wsgiscope.rules.yml"
COMPOSE_TARGET = "collector:9464"
PORT_ATTEMPTS = 5


def prometheus_binary(name: str = "prometheus") -> str:
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not on PATH: install Debian's prometheus package (scripts/bootstrap.sh)")
    return path


def render_test_config(collector_address: str, scrape_interval: str = "1s") -> str:
    """The shipped prometheus.yml (and its rules), pointed at a local collector, scraping every second."""
    text = SHIPPED_CONFIG.read_text()
    replacements = [
        (COMPOSE_TARGET, collector_address),
        ("scrape_interval: 5s", f"scrape_interval: {scrape_interval}"),
        ("evaluation_interval: 5s", f"evaluation_interval: {scrape_interval}"),
        # The rendered file lives in a temporary folder: name the shipped rules absolutely.
        (RULE_FILE_ENTRY, f"- {SHIPPED_RULES}"),
    ]
    for old, new in replacements:
        if text.count(old) != 1:
            raise AssertionError(f"{SHIPPED_CONFIG} should contain {old!r} exactly once (the test renders it)")
        text = text.replace(old, new)
    return text


class QueryError(AssertionError):
    pass


class Prometheus:
    def __init__(self, workdir: Path, config_text: str) -> None:
        self.workdir = workdir
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(config_text)
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.port: Optional[int] = None
        self.log_path = workdir / "prometheus.log"

    @property
    def url(self) -> str:
        assert self.port is not None, "prometheus not started"
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> Prometheus:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if self._start_on(free_port(), attempt, timeout_s):
                return self
        raise AssertionError(f"prometheus found no free port in {PORT_ATTEMPTS} attempts:\n{log_tail(self.log_path)}")

    def _start_on(self, port: int, attempt: int, timeout_s: float) -> bool:
        self.port = port
        self.log_path = self.workdir / f"prometheus-{attempt}.log"
        argv = [
            prometheus_binary(),
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.workdir / f'data-{attempt}'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=info",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready_or_exited() -> Optional[str]:
            assert self.process is not None
            if self.process.poll() is not None:
                return "exited"
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:
                return "ready" if answer.status == 200 else None

        state = wait_for(ready_or_exited, timeout_s, f"prometheus to be ready on port {port}", interval_s=0.1)
        if state == "ready":
            return True
        if "address already in use" in log_tail(self.log_path):
            return False  # lost the race for the port: try another one
        raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{log_tail(self.log_path)}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None

    def _get(self, path: str, params: List[tuple]) -> Any:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                body = json.load(answer)
        except urllib.error.HTTPError as exc:  # 400/422 carry the parse error as JSON
            body = json.loads(exc.read() or b"{}")
        if body.get("status") != "success":
            raise QueryError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> List[Dict[str, Any]]:
        """An instant query at "now"; the vector's series as [{"metric": …, "value": [t, "v"]}]."""
        data = self._get("/api/v1/query", [("query", expr)])
        if data["resultType"] != "vector":
            raise QueryError(f"expected a vector, got {data['resultType']} for {expr}")
        return list(data["result"])

    def rule_groups(self) -> List[Dict[str, Any]]:
        """The loaded rule groups (GET /api/v1/rules): name, rules with health and lastError."""
        return list(self._get("/api/v1/rules", [])["groups"])

    def label_values(self, label: str, selector: str) -> List[str]:
        params = [("match[]", selector)] if selector else []
        return list(self._get(f"/api/v1/label/{label}/values", params))

    def scalar(self, expr: str) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else 0.0

"""`npm run demo` in --once mode: it starts everything, drives load, and /metrics gets populated."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from wsgiscope_harness.metrics import Scrape
from wsgiscope_harness.processes import REPO_ROOT, port_accepts


def test_demo_once_populates_the_metrics_and_cleans_up(tmp_path: Path) -> None:
    metrics_file = tmp_path / "metrics.txt"
    env = dict(os.environ, DEMO_DURATION="3", DEMO_COLLECTOR_PORT="0", DEMO_METRICS_FILE=str(metrics_file))
    done = subprocess.run(
        ["bash", "scripts/demo.sh", "--once"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=180, check=False, start_new_session=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "live page   http://127.0.0.1:" in done.stdout
    app_port = re.search(r"app +http://127\.0\.0\.1:(\d+)/", done.stdout)
    assert app_port is not None, done.stdout
    assert not port_accepts(int(app_port.group(1))), "the demo left its server running"
    scrape = Scrape(metrics_file.read_text())
    assert scrape.total("http_server_request_duration_seconds_count", service_name="demo") > 0
    assert set(scrape.by_worker("wsgi_worker_threads").values()) == {4.0}
    assert len(scrape.by_worker("wsgi_worker_threads")) == 2

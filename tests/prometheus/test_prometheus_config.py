"""promtool accepts the shipped prometheus.yml, and the local rendering the live test uses."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .prometheus_server import SHIPPED_CONFIG, prometheus_binary, render_test_config


def promtool_check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [prometheus_binary("promtool"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_shipped_prometheus_config_passes_promtool_check_config() -> None:
    result = promtool_check_config(SHIPPED_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rendered_test_config_passes_promtool_check_config(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(render_test_config("127.0.0.1:12345"))
    result = promtool_check_config(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_config_rejects_a_broken_config(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(render_test_config("127.0.0.1:12345").replace("scrape_interval: 1s", "scrape_interval: soon"))
    assert promtool_check_config(path).returncode != 0

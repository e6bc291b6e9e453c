"""The configurations in docs/scaling.md are valid: Prometheus ones by promtool, the
OpenTelemetry Collector gateway by the real collector's ``validate`` (when it is built).

A block is a Prometheus configuration when its first line is ``# prometheus.yml…``, the
gateway when it is ``# otelcol gateway…``.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List

import pytest
from wsgiscope_harness.processes import REPO_ROOT

from .prometheus_server import prometheus_binary

SCALING = REPO_ROOT / "docs" / "scaling.md"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-otelcol.sh"
_YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(first_line: str) -> List[str]:
    return [b for b in _YAML_BLOCK.findall(SCALING.read_text()) if b.startswith(first_line)]


PROMETHEUS_CONFIGS = blocks("# prometheus.yml")
GATEWAY_CONFIGS = blocks("# otelcol gateway")


def test_the_page_has_the_configurations() -> None:
    assert len(PROMETHEUS_CONFIGS) == 4  # static, Kubernetes, federation, remote write
    assert len(GATEWAY_CONFIGS) == 1
    text = SCALING.read_text()
    assert "remote_write" in text and "/federate" in text and "OTEL_EXPORTER_OTLP_ENDPOINT" in text


@pytest.mark.parametrize("config", PROMETHEUS_CONFIGS, ids=lambda c: c.splitlines()[0])
def test_prometheus_configuration_passes_promtool(tmp_path: Path, config: str) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(config)
    # --syntax-only: the Kubernetes example names a credentials file that does not exist here.
    result = subprocess.run([prometheus_binary("promtool"), "check", "config", "--syntax-only", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    if "field kubernetes_sd_configs not found" in result.stdout + result.stderr:
        pytest.skip("this promtool is built without Kubernetes service discovery (Debian's package leaves it out)")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_refuses_a_broken_configuration(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(PROMETHEUS_CONFIGS[0].replace("static_configs", "static_config"))
    result = subprocess.run([prometheus_binary("promtool"), "check", "config", "--syntax-only", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0


def otelcol() -> Path:
    """The collector scripts/build-otelcol.sh built for tests/otlp; never builds one here."""
    found = subprocess.run(["bash", str(BUILD_SCRIPT), "--path"], capture_output=True, text=True,
                           timeout=30, check=False, stdin=subprocess.DEVNULL)
    path = Path(found.stdout.strip().splitlines()[-1]) if found.returncode == 0 and found.stdout.strip() else None
    if path is None or not os.access(path, os.X_OK):
        pytest.skip(f"the OpenTelemetry Collector is not built ({found.stdout.strip() or found.stderr.strip()}): "
                    "run scripts/build-otelcol.sh (Go, about 4 minutes)")
    return path


@pytest.mark.parametrize("config", GATEWAY_CONFIGS, ids=lambda c: c.splitlines()[0])
def test_gateway_configuration_passes_the_real_collectors_validate(tmp_path: Path, config: str) -> None:
    binary = otelcol()
    path = tmp_path / "gateway.yaml"
    path.write_text(config)
    result = subprocess.run([str(binary), "validate", f"--config={path}"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(config.replace("exporters: [otlphttp/mimir]", "exporters: [otlphttp/nowhere]"))
    refused = subprocess.run([str(binary), "validate", f"--config={broken}"], capture_output=True, text=True,
                             timeout=60, check=False)
    assert refused.returncode != 0, "validate accepted a pipeline naming an undefined exporter"

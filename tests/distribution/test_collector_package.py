"""The collector installed as users install it without the repository: ``npm pack`` of the
protocol and collector workspaces (``prepack`` builds), both tarballs installed into an empty
folder outside the repository, then ``npx wsgiscope-collector`` listens, answers /healthz with
its version, ingests a protocol vector and serves it on /metrics."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tarfile
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

import pytest
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import Collector
from wsgiscope_harness.waiting import wait_for

from .tools import REPO_ROOT, collector_version, get_json, post_vector, run

pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")


def npm_env() -> Dict[str, str]:
    """The caller's environment minus npm settings a parent ``npm run`` exports (a workspace,
    a prefix) that would point the install back at the repository."""
    return {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_")}


@pytest.fixture(scope="module")
def tarballs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """``npm pack -w packages/protocol -w collector`` from the repository root."""
    out = tmp_path_factory.mktemp("tarballs")
    packed: List[Dict[str, Any]] = json.loads(run(
        ["npm", "pack", "-w", "packages/protocol", "-w", "collector", "--json",
         "--pack-destination", out], cwd=REPO_ROOT, env=npm_env(), timeout_s=600).stdout)
    return {entry["name"]: out / entry["filename"] for entry in packed}


def members(tarball: Path) -> List[str]:
    with tarfile.open(tarball) as archive:
        return archive.getnames()


def test_tarballs_hold_the_built_code_and_the_live_page_not_the_sources(
    tarballs: Dict[str, Path],
) -> None:
    assert set(tarballs) == {"@wsgiscope/protocol", "@wsgiscope/collector"}
    collector = members(tarballs["@wsgiscope/collector"])
    for needed in ("package/package.json", "package/dist/cli.js", "package/dist/server.js",
                   "package/dist/version.js", "package/src/live/static/index.html",
                   "package/src/live/static/app.js",
                   "package/vendor/opentelemetry-proto/README.md",
                   "package/vendor/opentelemetry-proto/opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
                   "package/vendor/opentelemetry-proto/opentelemetry/proto/collector/trace/v1/trace_service.proto"):
        assert needed in collector, needed
    protocol = members(tarballs["@wsgiscope/protocol"])
    for needed in ("package/package.json", "package/dist/index.js",
                   "package/schema/batch.v1.schema.json"):
        assert needed in protocol, needed
    for name in collector + protocol:
        assert not name.endswith((".tsbuildinfo", ".test.ts")), name
        assert not (name.startswith("package/src/") and name.endswith(".ts")), name


@pytest.fixture(scope="module")
def installed(tarballs: Dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder outside the repository with both tarballs installed (npm's registry
    supplies express, prom-client, ...; the repository supplies nothing)."""
    folder = tmp_path_factory.mktemp("collector-machine")
    assert not folder.resolve().is_relative_to(REPO_ROOT)
    for tarball in tarballs.values():
        shutil.copy(tarball, folder)
    run(["npm", "install", "--no-audit", "--no-fund", "--omit=dev",
         *(f"./{t.name}" for t in tarballs.values())], cwd=folder, env=npm_env(), timeout_s=600)
    return folder


def test_both_packages_are_installed_from_the_tarballs_not_linked(installed: Path) -> None:
    for name in ("protocol", "collector"):
        path = installed / "node_modules" / "@wsgiscope" / name
        assert path.is_dir() and not path.is_symlink(), path
        assert not path.resolve().is_relative_to(REPO_ROOT)
    ls = json.loads(run(["npm", "ls", "--all", "--json"], cwd=installed, env=npm_env()).stdout)
    collector = ls["dependencies"]["@wsgiscope/collector"]
    assert collector["version"] == collector_version()
    assert collector["dependencies"]["@wsgiscope/protocol"]["version"] == "0.1.0"


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def test_npx_runs_the_installed_collector(installed: Path, tmp_path: Path) -> None:
    collector = Collector(tmp_path, command=["npx", "--no-install", "wsgiscope-collector"],
                          cwd=installed)
    collector.start(timeout_s=60)  # the listening line, then /healthz answering 200
    assert collector.process is not None
    npx, group = collector.process, collector.process.pid
    try:
        health = get_json(f"{collector.url}/healthz")
        assert health["status"] == "ok"
        assert health["version"] == collector_version()
        assert post_vector(collector.url, "batch-basic")["accepted"] == 3
        metrics = scrape(collector.url)
        assert metrics.total("http_server_request_duration_seconds_count", service_name="shop") == 3
        # The live page and its files come from the tarball (src/live/static) and uplot.
        for path, needle in (("/", "<html"), ("/live/app.js", "function"),
                             ("/live/vendor/uplot.js", "uplot")):
            with urllib.request.urlopen(f"{collector.url}{path}", timeout=10) as answer:
                assert needle in answer.read().decode().lower(), path
        # Ctrl-C in a terminal signals the whole foreground group: npx, its shell, the collector.
        # (A SIGTERM to npx alone is not passed on past npm's `sh -c`: the collector would be
        # orphaned, which is why the README runs it without npx under a process manager.)
        os.killpg(group, signal.SIGINT)
        npx.wait(timeout=15)
        wait_for(lambda: not group_alive(group), 15, "the collector to exit on Ctrl-C")
    finally:
        if group_alive(group):
            os.killpg(group, signal.SIGKILL)
        collector.stop()


def test_the_installed_bin_exits_0_on_sigterm_as_a_process_manager_sends_it(
    installed: Path, tmp_path: Path,
) -> None:
    """What the README tells systemd and Docker users to start instead of npx."""
    bin_path = installed / "node_modules" / ".bin" / "wsgiscope-collector"
    collector = Collector(tmp_path, command=[str(bin_path)], cwd=installed)
    collector.start(timeout_s=60)
    try:
        assert get_json(f"{collector.url}/healthz")["version"] == collector_version()
    finally:
        assert collector.stop() == 0  # SIGTERM to the process itself: closes and exits 0


def test_sigterm_to_npx_alone_is_not_passed_on_to_the_collector(
    installed: Path, tmp_path: Path,
) -> None:
    """Why the README says not to run the collector through npx under a process manager: npm
    exec forwards SIGTERM to its `sh -c`, which dies without passing it on. When npm changes
    this, this test fails and the README's advice can go."""
    collector = Collector(tmp_path, command=["npx", "--no-install", "wsgiscope-collector"],
                          cwd=installed)
    collector.start(timeout_s=60)
    assert collector.process is not None
    npx, group = collector.process, collector.process.pid
    try:
        npx.send_signal(signal.SIGTERM)
        npx.wait(timeout=15)
        # npx is gone; the collector, orphaned, still answers.
        assert get_json(f"{collector.url}/healthz")["status"] == "ok"
        assert group_alive(group)
    finally:
        if group_alive(group):
            os.killpg(group, signal.SIGKILL)
        collector.stop()

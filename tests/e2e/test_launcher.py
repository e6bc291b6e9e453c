"""examples/servers/launch.py: mode discovery, argv building, and every mode serving the app."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from wsgiscope_harness.load import MIXES, run_load
from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import LAUNCH_MODULE, REPO_ROOT, Collector, ServerFactory
from wsgiscope_harness.waiting import poll_until

MY_MODES = ("gunicorn_gevent", "gunicorn_gthread", "gunicorn_sync", "wsgiref")


def _launcher(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", LAUNCH_MODULE, *args], check=False, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=30,
    )


def _modes() -> list[tuple[str, str, str]]:
    """(mode, server, unavailable reason or "") for every mode launch.py discovers."""
    out = []
    for line in _launcher("--list").stdout.splitlines():
        mode, server, status, _ = line.split("\t", 3)
        out.append((mode, server, "" if status == "available" else status.split(": ", 1)[1]))
    return out


def test_list_names_every_mode_module() -> None:
    assert set(MY_MODES) <= {mode for mode, _, _ in _modes()}


def test_the_modes_table_names_every_mode_module_and_nothing_else() -> None:
    """The launcher's MODES table is the list of modes: a new mode module must be entered."""
    from examples.servers.launch import MODES  # noqa: PLC0415 - the table under test

    folder = REPO_ROOT / "examples" / "servers"
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")} - {"launch"}
    assert set(MODES) == modules


@pytest.mark.parametrize(
    ("args", "expected_in_argv"),
    [
        (["gunicorn_gthread", "--workers", "3", "--threads", "5"], ["--workers", "3", "--threads", "5",
                                                                    "-c", "python:wsgiscope.gunicorn"]),
        (["gunicorn-sync"], ["--worker-class", "sync"]),
        (["gunicorn_gevent", "--threads", "50"], ["--worker-connections", "50"]),
        (["wsgiref"], ["examples.app.instrumented:application"]),
        (["wsgiref", "--app", "tests.e2e.fixture_apps:hello"], ["examples.servers._shimmed:application"]),
        (["wsgiref", "--no-shim"], ["examples.app.wsgi:application"]),
    ],
)
def test_dry_run_builds_the_servers_argv(args: list[str], expected_in_argv: list[str]) -> None:
    done = _launcher(*args, "--port", "8123", "--dry-run")
    assert done.returncode == 0, done.stderr
    argv = json.loads(done.stdout)["argv"]
    joined = " ".join(argv)
    assert " ".join(expected_in_argv) in joined or all(part in argv for part in expected_in_argv), argv


def test_no_shim_leaves_gunicorn_unhooked_and_disables_the_shim() -> None:
    plan = json.loads(_launcher("gunicorn_gthread", "--port", "8123", "--no-shim", "--dry-run").stdout)
    assert "python:wsgiscope.gunicorn" not in plan["argv"]
    assert plan["env"]["WSGISCOPE_DISABLED"] == "1"


def test_unknown_mode_is_refused_with_the_known_modes() -> None:
    done = _launcher("no_such_server", "--port", "8123")
    assert done.returncode != 0
    assert "gunicorn_gthread" in done.stderr


@pytest.mark.parametrize(("mode", "server", "reason"), _modes(), ids=[m for m, _, _ in _modes()])
def test_every_mode_serves_the_app_and_reports_to_the_collector(
        mode: str, server: str, reason: str, collector: Collector, start_server: ServerFactory) -> None:
    if reason:
        pytest.skip(f"{mode}: {reason}")
    app = start_server(mode, collector.url, workers=2, threads=2)
    requests = 20
    # Two rounds a second apart: where no background thread runs (uWSGI without --enable-threads)
    # the shim sends from a request thread once its flusher looks stale, so traffic must continue.
    for _ in range(2):
        result = run_load(app.url, MIXES["hello"], concurrency=2, max_requests=requests // 2)
        assert result.status_counts() == {200: requests // 2}, result.errors[:3]
        time.sleep(1.0)

    def count(s: Scrape) -> float:
        return s.total("http_server_request_duration_seconds_count", server=server)

    live = poll_until(lambda: scrape(collector.url), lambda s: count(s) >= requests, 15)
    assert count(live) >= 1, "no request reached the collector while the server ran"
    assert live.select("wsgi_worker_threads", server=server)
    # Records still buffered (no background thread, or the last flush not yet due) go out with the
    # exit flush: a graceful stop must deliver every one of them.
    app.stop()
    final = poll_until(lambda: scrape(collector.url), lambda s: count(s) >= requests, 10)
    assert count(final) == requests

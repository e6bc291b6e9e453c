"""A tiny lab matrix end to end (2 servers x 2 scenarios, 3 s each), through ``npm run lab``'s
entry point: the report exists, the client and the shim agree, the numbers are sane, and every
cell carries the collector's diagnosis over its own window."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict

import pytest

from examples.lab.__main__ import main

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    out = tmp_path_factory.mktemp("lab")
    code = main(
        [
            "--servers",
            "gunicorn_sync,gunicorn_gthread",
            "--scenarios",
            "hello,sleep",
            "--duration",
            "3",
            "--out",
            str(out),
            "--run-id",
            "tiny",
        ]
    )
    folder = out / "tiny"
    data: Dict[str, Any] = json.loads((folder / "results.json").read_text())
    data["exit_code"], data["folder"] = code, folder
    data["by"] = {(c["server"], c["scenario"]): c for c in data["cells"]}
    return data


def test_the_run_writes_a_report_with_every_chart(run: Dict[str, Any]) -> None:
    folder: Path = run["folder"]
    assert run["exit_code"] == 0
    report = (folder / "report.md").read_text()
    for chart in ("throughput", "latency", "phases", "utilisation", "cpu", "rss"):
        png = folder / f"{chart}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert 0 < png.stat().st_size < 200_000
        assert f"({chart}.png)" in report
    assert "## hello" in report and "## sleep" in report


def test_every_cell_ran_and_the_client_and_the_shim_agree(run: Dict[str, Any]) -> None:
    assert len(run["cells"]) == 4
    for cell in run["cells"]:
        assert cell["error"] is None, cell
        checks = cell["checks"]
        assert checks["count_ok"] and checks["rate_ok"] and checks["latency_ok"], (
            cell["server"],
            cell["scenario"],
            checks,
        )
        assert cell["client"]["completed"] > 0 and cell["client"]["errors"] == 0


@pytest.mark.parametrize("server", ["gunicorn_sync", "gunicorn_gthread"])
def test_sleep_app_phase_is_the_sleep_and_busy_time_matches_durations(run: Dict[str, Any], server: str) -> None:
    cell = run["by"][(server, "sleep")]
    assert cell["shim"]["phase_mean_s"]["app"] == pytest.approx(0.100, rel=0.10)
    assert cell["checks"]["busy_vs_durations"] == pytest.approx(1.0, rel=0.05)
    # CPU per request is a sliver of the 100 ms: the thread slept
    assert cell["shim"]["cpu_mean_s"] < 0.01


def test_threads_serve_more_sleeping_requests_than_processes_alone(run: Dict[str, Any]) -> None:
    sync = run["by"][("gunicorn_sync", "sleep")]
    gthread = run["by"][("gunicorn_gthread", "sleep")]
    # 2 workers x 1 thread vs 2 x 4 threads, 100 ms each: ~20/s vs ~80/s when wrk's keep-alive
    # connections spread over both gthread workers. The kernel may instead hand all of them to
    # one worker (seen in CI: 38.6/s vs 19.3/s), leaving 4 busy threads against 2 processes:
    # 2x is the guaranteed floor, so the bound sits just under it.
    assert gthread["client"]["rate_per_s"] > 1.8 * sync["client"]["rate_per_s"]
    assert sync["checks"]["utilisation"] > 0.85  # every sync worker busy all the time


def test_every_cell_carries_the_diagnosis_of_its_own_window(run: Dict[str, Any]) -> None:
    for cell in run["cells"]:
        assert cell["diagnosis_error"] is None, cell
        for finding in cell["diagnosis"]:
            assert finding["service_name"] == f"lab-{cell['server']}"
            assert finding["severity"] in {"info", "warning", "critical"}
    # 16 connections on 2 sync workers sleeping 100 ms each: every lane is taken, waiting. The
    # diagnosis looked at the cell's own window: its utilisation is the lab's, within 10 %.
    cell = run["by"][("gunicorn_sync", "sleep")]
    found = {f["id"]: {e["name"]: e["value"] for e in f["evidence"]} for f in cell["diagnosis"]}
    assert {"capacity_exhausted", "blocking_io"} & set(found), cell["diagnosis"]
    for evidence in found.values():
        if "utilization" in evidence:
            assert evidence["utilization"] == pytest.approx(cell["checks"]["utilisation"], rel=0.10)
    if cell["checks"]["utilisation"] >= 0.95:
        assert "capacity_exhausted" in found
    report = (run["folder"] / "report.md").read_text()
    assert "| agree | diagnosis |" in report
    assert "- gunicorn_sync: **" in report

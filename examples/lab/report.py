"""The run's report: report.md (tables, findings, charts) and results.json, in one folder."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from examples.lab.cell import CellResult
from examples.lab.charts import Grid, write_charts
from examples.lab.client import ClientView
from examples.lab.findings import findings
from examples.lab.matrix import RunConfig
from examples.lab.scenarios import parse_scenarios
from examples.lab.shimview import ShimView


def _ms(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value * 1000:.{digits}f}"


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value * 100:.0f} %"


def _row(c: CellResult) -> str:
    if c.error or c.client is None or c.shim is None:
        return f"| {c.server} | failed: {(c.error or '').splitlines()[0][:120]} |" + " |" * 13
    cl, s, k = c.client, c.shim, c.checks
    phases = "/".join(_ms(s.phase_mean_s.get(p)) for p in ("read_body", "app", "generate", "write"))
    queue = _ms(s.queue_mean_s) if s.queue_requests else "-"
    cores = k.get("cpu_cores")
    return (
        f"| {c.server} | {cl.rate_per_s:.1f} / {k.get('shim_rate_per_s', 0):.1f} | {cl.completed} / {s.requests:.0f} "
        f"| {_ms(cl.p50_s)} / {_ms(s.p50_s)} | {_ms(cl.p99_s)} / {_ms(s.p99_s)} | {_ms(cl.mean_s)} / {_ms(s.mean_s)} "
        f"| {phases} | {queue} | {_pct(k.get('utilisation'))} | {_ms(s.cpu_mean_s, 2)} "
        f"| {'-' if cores is None else f'{cores:.2f}'} | {s.rss_bytes / 1e6:.0f} "
        f"| {'yes' if k.get('agree') else 'NO'} | {diagnosis_cell(c)} |"
    )


def diagnosis_cell(c: CellResult) -> str:
    """The cell's finding ids with their severity, most severe first; what the collector said."""
    if c.diagnosis_error:
        return "?"
    if not c.diagnosis:
        return "-"
    return ", ".join(f"{f.get('id')} ({f.get('severity')})" for f in c.diagnosis)


FRONT_NGINX = "nginx in front (X-Request-Start: real queue time)"
FRONT_NONE = "no front end (no queue stamp: see the time outside the app)"
HEADER = (
    "| server | req/s client / shim | requests client / shim | p50 ms client / shim | p99 ms client / shim "
    "| mean ms client / shim | shim read / app / generate / write ms | queue ms | utilisation | CPU/req ms "
    "| cores | RSS MB | agree | diagnosis |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _groups(cells: List[CellResult]) -> List[str]:
    lines: List[str] = []
    for c in cells:
        if c.client is None or not c.client.groups:
            continue
        parts = ", ".join(
            f"{name}: {g.completed} req, p50 {_ms(g.p50_s)} ms, p99 {_ms(g.p99_s)} ms"
            for name, g in c.client.groups.items()
        )
        lines.append(f"- {c.server} — {parts}")
    return lines


def _disagreements(results: List[CellResult]) -> List[str]:
    out = []
    for c in results:
        if c.error:
            out.append(f"- {c.server} x {c.scenario}: failed — {c.error.splitlines()[0][:200]}")
        elif not c.checks.get("agree"):
            k = c.checks
            why = [name for name in ("count_ok", "rate_ok", "latency_ok") if not k.get(name)]
            out.append(
                f"- {c.server} x {c.scenario}: {', '.join(why)} (count diff {k.get('count_diff')}, "
                f"rate diff {_pct(k.get('rate_diff_ratio'))})"
            )
    return out


def write_report(folder: Path, config: RunConfig, results: List[CellResult]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    grid: Grid = {}
    for c in results:
        grid.setdefault(c.scenario, {})[c.server] = c
    servers = list(dict.fromkeys(c.server for c in results))
    charts = write_charts(folder, grid, servers, config.with_nginx)
    (folder / "results.json").write_text(
        json.dumps(
            {
                "config": {
                    "servers": list(config.servers),
                    "scenarios": [s.name for s in config.scenarios],
                    "duration_s": config.duration_s,
                    "connections": config.connections,
                    "nginx": config.with_nginx,
                },
                "cells": [c.to_dict() for c in results],
            },
            indent=1,
            default=str,
        )
    )
    agree = sum(1 for c in results if c.error is None and c.checks.get("agree"))
    md: List[str] = [
        f"# wsgiscope lab: {folder.name}",
        "",
        f"{len(servers)} servers x {len(grid)} scenarios, {config.duration_s:g} s of load per cell, "
        f"{config.connections} closed-loop connections (wrk) unless a scenario says otherwise; "
        f"{FRONT_NGINX if config.with_nginx else FRONT_NONE}. Machine: {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}.",
        "",
        "Each cell: the load generator's view (left of each `/`) next to the shim's, from two scrapes of the "
        "collector's `/metrics` (see docs/lab.md for what every column means and the agreement rules).",
        "",
        f"**Agreement:** {agree} of {len(results)} cells agree "
        "(counts, throughput within 5 %, shim mean <= client mean).",
    ]
    bad = _disagreements(results)
    if bad:
        md += ["", *bad]
    md += ["", "Charts: " + " · ".join(f"[{p.stem}]({p.name})" for p in charts), ""]
    for scenario in config.scenarios:
        cells = [grid.get(scenario.name, {}).get(s) for s in servers]
        present = [c for c in cells if c is not None]
        md += [
            f"## {scenario.name}",
            "",
            f"*{scenario.shows}* (`{scenario.method} {scenario.path}`, driver {scenario.driver})",
            "",
        ]
        lines = findings(scenario.name, {c.server: c for c in present}, grid)
        md += [f"- {line}" for line in lines] + ([""] if lines else [])
        md += [HEADER, *[_row(c) for c in present], ""]
        groups = _groups(present)
        if groups:
            md += ["Client latency by kind of request:", "", *groups, ""]
    md += ["## Charts", ""] + [f"![{p.stem}]({p.name})" for p in charts] + [""]
    (folder / "report.md").write_text("\n".join(md))
    return folder


def _client(data: Optional[Dict[str, Any]]) -> Optional[ClientView]:
    if data is None:
        return None
    fields = {k: v for k, v in data.items() if k not in ("groups", "rate_per_s")}
    groups = {
        k: ClientView(**{f: x for f, x in v.items() if f not in ("groups", "rate_per_s")})
        for k, v in (data.get("groups") or {}).items()
    }
    return ClientView(**fields, groups=groups)


def load_results(folder: Path) -> Tuple[RunConfig, List[CellResult]]:
    """A run's config and cells from its results.json (to rewrite a report without re-running)."""
    data = json.loads((folder / "results.json").read_text())
    cfg = data["config"]
    config = RunConfig(
        cfg["servers"], parse_scenarios(",".join(cfg["scenarios"])), cfg["duration_s"], cfg["connections"], cfg["nginx"]
    )
    cells = []
    for c in data["cells"]:
        shim = ShimView(**c["shim"]) if c["shim"] else None
        cells.append(
            CellResult(
                c["server"],
                c["scenario"],
                c["load_s"],
                c.get("tail_s", 0.0),
                _client(c["client"]),
                shim,
                c["checks"],
                c["error"],
                c.get("diagnosis") or [],
                c.get("diagnosis_error"),
            )
        )
    return config, cells

"""PNG charts of a run (matplotlib, Agg backend): one subplot per scenario, one bar group per server."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from examples.lab.cell import CellResult

Grid = Dict[str, Dict[str, CellResult]]  # scenario -> server -> cell
Series = Tuple[str, Callable[[CellResult], Optional[float]]]
DPI = 72


def _grid_axes(n: int) -> Tuple[plt.Figure, List[plt.Axes]]:
    cols = min(2, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 2.9 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n]


def _bars(
    path: Path,
    grid: Grid,
    servers: Sequence[str],
    series: Sequence[Series],
    *,
    ylabel: str,
    title: str,
    stacked: bool = False,
    log: bool = False,
) -> Path:
    scenarios = list(grid)
    fig, axes = _grid_axes(len(scenarios))
    width = 0.8 / (1 if stacked else len(series))
    for ax, scenario in zip(axes, scenarios):
        xs = list(range(len(servers)))
        bottoms = [0.0] * len(servers)
        for i, (label, get) in enumerate(series):
            values = []
            for server in servers:
                cell = grid[scenario].get(server)
                value = get(cell) if cell is not None and cell.error is None else None
                values.append(value if value is not None and value >= 0 else 0.0)
            if stacked:
                ax.bar(xs, values, width, bottom=bottoms, label=label)
                bottoms = [b + v for b, v in zip(bottoms, values)]
            else:
                ax.bar([x - 0.4 + width * (i + 0.5) for x in xs], values, width, label=label)
        ax.set_title(scenario, fontsize=9)
        ax.set_xticks(list(range(len(servers))))
        ax.set_xticklabels(
            [s.replace("gunicorn_", "gu_").replace("uvicorn_", "uv_") for s in servers],
            rotation=45,
            ha="right",
            fontsize=7,
        )
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel(ylabel, fontsize=7)
        if log:
            ax.set_yscale("log")
    if series and len(series) > 1:
        axes[0].legend(fontsize=6, loc="upper right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _ms(get: Callable[[CellResult], Optional[float]]) -> Callable[[CellResult], Optional[float]]:
    def inner(cell: CellResult) -> Optional[float]:
        value = get(cell)
        return None if value is None else value * 1000

    return inner


def _phase(name: str) -> Callable[[CellResult], Optional[float]]:
    return lambda c: c.shim.phase_mean_s.get(name) if c.shim else None


def _app_excl_read(c: CellResult) -> Optional[float]:
    if c.shim is None:
        return None
    app, read = c.shim.phase_mean_s.get("app"), c.shim.phase_mean_s.get("read_body") or 0.0
    if c.shim.phase_mean_s.get("generate") is not None:
        return app  # protocol v2: app already excludes the body reads
    return None if app is None else max(0.0, app - read)


def _outside(c: CellResult) -> Optional[float]:
    value = c.checks.get("outside_app_mean_s")
    return max(0.0, value) if value is not None else None


def write_charts(folder: Path, grid: Grid, servers: Sequence[str], with_queue: bool) -> List[Path]:
    paths = [
        _bars(
            folder / "throughput.png",
            grid,
            servers,
            [
                ("client", lambda c: c.client.rate_per_s if c.client else None),
                ("shim", lambda c: c.checks.get("shim_rate_per_s")),
            ],
            ylabel="requests/s",
            title="Throughput: load generator vs shim",
            log=False,
        ),
        _bars(
            folder / "latency.png",
            grid,
            servers,
            [
                ("client p50", _ms(lambda c: c.client.p50_s if c.client else None)),
                ("shim p50", _ms(lambda c: c.shim.p50_s if c.shim else None)),
                ("client p99", _ms(lambda c: c.client.p99_s if c.client else None)),
                ("shim p99", _ms(lambda c: c.shim.p99_s if c.shim else None)),
            ],
            ylabel="ms (log)",
            title="Latency percentiles: client vs shim (shim: histogram buckets)",
            log=True,
        ),
        _bars(
            folder / "phases.png",
            grid,
            servers,
            [
                ("read_body", _ms(_phase("read_body"))),
                ("app (excl. read)", _ms(_app_excl_read)),
                ("write", _ms(_phase("write"))),
                ("outside the app (client - shim)", _ms(_outside)),
            ],
            ylabel="ms per request (mean)",
            title="Where a request's time goes (means)",
            stacked=True,
        ),
        _bars(
            folder / "utilisation.png",
            grid,
            servers,
            [("utilisation", lambda c: c.checks.get("utilisation"))],
            ylabel="busy threads / capacity",
            title="Utilisation: Δbusy-thread-seconds / (capacity x window)",
        ),
        _bars(
            folder / "cpu.png",
            grid,
            servers,
            [("process CPU (cores)", lambda c: c.checks.get("cpu_cores"))],
            ylabel="cores",
            title="Process CPU of all workers (2 cores here)",
        ),
        _bars(
            folder / "rss.png",
            grid,
            servers,
            [("RSS MB", lambda c: c.shim.rss_bytes / 1e6 if c.shim else None)],
            ylabel="MB",
            title="Resident memory, all workers, end of cell",
        ),
    ]
    if with_queue:
        paths.append(
            _bars(
                folder / "queue.png",
                grid,
                servers,
                [
                    ("queue mean", _ms(lambda c: c.shim.queue_mean_s if c.shim else None)),
                    ("queue p99", _ms(lambda c: c.shim.queue_p99_s if c.shim else None)),
                ],
                ylabel="ms",
                title="Queue time (nginx X-Request-Start → app start)",
            )
        )
    return paths

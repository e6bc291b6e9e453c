"""Findings per scenario: a one-line human summary of what the scenario is about, then what the
collector's diagnosis said about each cell (GET /api/diagnosis over the cell's own window,
docs/diagnosis.md), then comparisons between servers computed from the numbers (each sentence
quotes the values it rests on; when the needed cells are missing they say nothing). Nothing here
is copied by hand: every line is regenerated on every run.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

from examples.lab.cell import CellResult

Cells = Dict[str, CellResult]  # server -> cell of one scenario


def _ok(cells: Cells) -> Cells:
    return {k: c for k, c in cells.items() if c.error is None and c.client and c.shim}


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def _rate(c: CellResult) -> float:
    return c.client.rate_per_s if c.client else 0.0


def _phase(c: CellResult, name: str) -> Optional[float]:
    return c.shim.phase_mean_s.get(name) if c.shim else None


def _throughput(cells: Cells) -> List[str]:
    ranked = sorted(cells.values(), key=_rate, reverse=True)
    if len(ranked) < 2:
        return []
    best, worst = ranked[0], ranked[-1]
    return [f"Throughput ranges from {_rate(worst):.0f}/s ({worst.server}) to {_rate(best):.0f}/s ({best.server})."]


def _outside_app(cells: Cells) -> List[str]:
    gaps = {k: c.checks.get("outside_app_mean_s") for k, c in cells.items()}
    known = {k: v for k, v in gaps.items() if v is not None}
    if not known:
        return []
    worst = max(known, key=lambda k: known[k])
    c = cells[worst]
    return [
        f"Largest time outside the app (client mean - shim mean, i.e. waiting for a worker, in the "
        f"backlog or in a busy loop): {worst}, {_ms(known[worst])} of {_ms(c.client.mean_s if c.client else None)}."
    ]


def hello(cells: Cells) -> List[str]:
    out = _throughput(cells)
    apps = {k: (c.shim.mean_s or 0.0) for k, c in cells.items() if c.shim}
    if apps:
        out.append(
            f"The shim's mean request time stays below {_ms(max(apps.values()))} everywhere: "
            "almost all of the client's latency is the server's own HTTP and connection handling."
        )
    return out


def _threads_per_worker(c: CellResult) -> float:
    return c.shim.capacity_threads / c.shim.workers if c.shim and c.shim.workers else 0.0


def cpu(cells: Cells) -> List[str]:
    out = _throughput(cells)
    for k, c in sorted(cells.items()):
        app, cpu_s = _phase(c, "app"), c.shim.cpu_mean_s if c.shim else None
        if not (app and cpu_s and app > 1.3 * cpu_s):
            continue
        if _threads_per_worker(c) > 1:
            why = "waiting for the GIL (held by the other threads of its process) or for a core"
        else:
            why = "one thread per process, so not the GIL: waiting for a core"
        out.append(f"{k}: app phase {_ms(app)} for {_ms(cpu_s)} of CPU per request, {app / cpu_s:.1f}x; {why}.")
    cores = {k: c.checks.get("cpu_cores") for k, c in cells.items() if c.checks.get("cpu_cores") is not None}
    if cores:
        top = max(cores, key=lambda k: cores[k] or 0.0)
        out.append(f"Most process CPU: {top} at {cores[top]:.2f} cores (this machine has 2, shared with the load).")
    return out


def sleep(cells: Cells) -> List[str]:
    out = _throughput(cells)
    full = [k for k, c in cells.items() if (c.checks.get("utilisation") or 0) >= 0.9]
    if full:
        out.append(
            f"Utilisation ≥ 90 % (every thread busy, the rest queue outside the app): {', '.join(sorted(full))}."
        )
    out += _outside_app(cells)
    return out


def mixed(cells: Cells) -> List[str]:
    short = {
        k: c.client.groups["short"].p99_s
        for k, c in cells.items()
        if c.client and "short" in c.client.groups and c.client.groups["short"].p99_s is not None
    }
    if len(short) < 2:
        return _throughput(cells)
    best, worst = min(short, key=lambda k: short[k] or 0.0), max(short, key=lambda k: short[k] or 0.0)
    return [
        f"Short (10 ms) requests, client p99: {_ms(short[best])} on {best} vs {_ms(short[worst])} on "
        f"{worst} — on the latter they wait behind the 1 s ones.",
        *_outside_app(cells),
    ]


def upload(cells: Cells) -> List[str]:
    reads = {k: _phase(c, "read_body") for k, c in cells.items() if _phase(c, "read_body") is not None}
    out = _throughput(cells)
    if len(reads) >= 2:
        high = max(reads, key=lambda k: reads[k] or 0.0)
        low = min(reads, key=lambda k: reads[k] or 0.0)
        out.append(f"read_body per 1 MB body: from {_ms(reads[low])} ({low}) to {_ms(reads[high])} ({high}).")
    return out


def download(cells: Cells) -> List[str]:
    writes = {k: _phase(c, "write") for k, c in cells.items() if _phase(c, "write") is not None}
    out = _throughput(cells)
    if writes:
        high = max(writes, key=lambda k: writes[k] or 0.0)
        out.append(f"Longest write phase: {high}, {_ms(writes[high])} per 1 MB response.")
    return out


def backend(cells: Cells) -> List[str]:
    out = _throughput(cells)
    ratios = {
        k: (c.shim.cpu_mean_s or 0) / (c.shim.mean_s or 1)
        for k, c in cells.items()
        if c.shim and c.shim.cpu_mean_s is not None and c.shim.mean_s
    }
    if ratios:
        out.append(
            f"CPU is at most {max(ratios.values()) * 100:.1f} % of the request's wall time "
            "where it is attributable: threads are busy while idle, waiting for the back end."
        )
    return out + _outside_app(cells)


def slow_clients(cells: Cells, baseline: Optional[Cells] = None) -> List[str]:
    out: List[str] = []
    for k, c in sorted(cells.items()):
        normal = c.client.groups.get("normal") if c.client else None
        read, write = _phase(c, "read_body"), _phase(c, "write")
        if normal is None:
            continue
        line = f"{k}: /hello next to 4 slow clients {normal.rate_per_s:.0f}/s, p99 {_ms(normal.p99_s)}"
        base = (baseline or {}).get(k)
        if base is not None and _rate(base) > 0:
            line += f" ({normal.rate_per_s / _rate(base) * 100:.0f} % of its hello throughput)"
        out.append(line + f"; shim read_body mean {_ms(read)}, write mean {_ms(write)}.")
    return out


#: What each scenario is about, and which finding the diagnosis should give where it bites.
SUMMARY: Dict[str, str] = {
    "hello": "Baseline: tiny requests, the server's own overhead. Expect no warning.",
    "cpu": "CPU-bound requests: gil_contention on threads of one process, cpu_saturated when the cores run out.",
    "sleep": "Long waits: capacity_exhausted where the lanes are few, blocking_io (threads busy, CPU idle).",
    "mixed": "Short requests behind long ones: long_requests_block_short on few lanes.",
    "upload": "Large bodies in: read_body time; slow_clients only when the reads are slow.",
    "download": "Large bodies out: write time; slow_clients only when the client reads slowly.",
    "backend": "Waiting on a slow back end: blocking_io, capacity_exhausted once every thread waits.",
    "slow_clients": "Slow clients hold sync and threaded workers (slow_clients); async servers shrug them off.",
}


def diagnosed(cells: Cells) -> List[str]:
    """One line per cell with findings (most severe first), then the cells the diagnosis found healthy."""
    out: List[str] = []
    quiet: List[str] = []
    for k, c in sorted(cells.items()):
        if c.diagnosis_error:
            out.append(f"{k}: no diagnosis ({c.diagnosis_error}).")
            continue
        if not c.diagnosis:
            quiet.append(k)
            continue
        parts = [f"**{f.get('id')}** ({f.get('severity')}): {f.get('summary')}" for f in c.diagnosis]
        out.append(f"{k}: " + "; ".join(parts) + ".")
    if quiet:
        out.append(f"No finding: {', '.join(quiet)}.")
    return out


RULES: Dict[str, Callable[[Cells], List[str]]] = {
    "hello": hello,
    "cpu": cpu,
    "sleep": sleep,
    "mixed": mixed,
    "upload": upload,
    "download": download,
    "backend": backend,
}


def findings(scenario: str, cells: Cells, by_scenario: Dict[str, Cells]) -> List[str]:
    cells = _ok(cells)
    head = [SUMMARY[scenario]] if scenario in SUMMARY else []
    head += diagnosed(cells)
    if scenario == "slow_clients":
        return head + slow_clients(cells, _ok(by_scenario.get("hello", {})))
    rule = RULES.get(scenario, _throughput)
    return head + rule(cells)

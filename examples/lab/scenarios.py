"""The lab's scenarios: what load each one sends, and what it is meant to show (BRIEF.md's table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Scenario:
    """One cell's load. ``driver``: ``wrk`` (closed loop, keep-alive connections) or ``paced``
    (our open-loop driver: a fixed arrival rate, fresh connection per request)."""

    name: str
    shows: str
    path: str
    method: str = "GET"
    body_bytes: int = 0
    driver: str = "wrk"
    connections: Optional[int] = None  # None: the run's --connections
    # paced driver: requests per second, and every ``long_every``-th request goes to ``long_path``
    rate_per_s: float = 0.0
    long_every: int = 0
    long_path: str = ""
    # slow clients (our driver) running next to the normal load
    slow_clients: int = 0
    expected_app_s: Optional[float] = None  # what the app phase should be, for the sanity checks


SLOW_UPLOAD_BYTES = 64 * 1024
SLOW_UPLOAD_S = 1.0
SLOW_DOWNLOAD_BYTES = 2 * 1024 * 1024
SLOW_READ_BYTES_PER_S = 2 * 1024 * 1024

SCENARIOS: Dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("hello", "raw per-request overhead of each server", "/hello"),
        Scenario(
            "cpu",
            "CPU time per request vs wall time; threads contending for the GIL",
            "/cpu?ms=20",
            expected_app_s=0.020,
        ),
        Scenario(
            "sleep",
            "long requests: occupancy pinned at capacity, everyone else queues",
            "/sleep?ms=100",
            expected_app_s=0.100,
        ),
        Scenario(
            "mixed",
            "5 % of 1 s requests among 10 ms ones, open loop at a fixed rate: short requests stuck behind long ones",
            "/sleep?ms=10",
            driver="paced",
            rate_per_s=20.0,
            long_every=20,
            long_path="/sleep?ms=1000",
        ),
        Scenario(
            "upload",
            "1 MB request bodies: time reading wsgi.input, bytes in",
            "/upload",
            method="POST",
            body_bytes=1024 * 1024,
            connections=8,
        ),
        Scenario(
            "download",
            "1 MB streamed responses: write time, bytes out",
            "/download?bytes=1048576&chunk=65536",
            connections=8,
        ),
        Scenario(
            "backend",
            "blocking on a 100 ms back end: wall time >> CPU time, threads busy while idle",
            "/backend?ms=100",
            expected_app_s=0.100,
        ),
        Scenario(
            "slow_clients",
            "4 slow clients (trickled 64 KB uploads over 1 s, 2 MB downloads read at "
            "2 MB/s) next to /hello load: sync workers held hostage, async servers not",
            "/hello",
            connections=8,
            slow_clients=4,
        ),
    )
}

DEFAULT_ORDER: Tuple[str, ...] = tuple(SCENARIOS)


def parse_scenarios(text: str) -> Tuple[Scenario, ...]:
    names = [n.strip() for n in text.split(",") if n.strip()] if text != "all" else list(DEFAULT_ORDER)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return tuple(SCENARIOS[n] for n in names)

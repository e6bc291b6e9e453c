"""Open-loop load: requests leave on a fixed schedule whether or not earlier ones were answered.

wrk is closed loop (a connection waits for its answer before sending again), so when a server
stalls, wrk simply sends less and its latencies hide the stall (coordinated omission). Here
request i is due at ``start + i / rate``; its latency is measured from that due time, on a fresh
connection per request. Bounded: ``duration_s`` of arrivals, at most ``max_outstanding`` in
flight (more are counted as errors, not sent), ``timeout_s`` per request. Loopback only.
"""

from __future__ import annotations

import asyncio
import time
from typing import Dict, List, Tuple

from examples.lab.client import ClientView, combine, from_latencies


async def _one(host: str, port: int, path: str, timeout_s: float) -> int:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


async def _run(
    host: str,
    port: int,
    *,
    rate_per_s: float,
    duration_s: float,
    paths: List[Tuple[str, str]],
    timeout_s: float,
    max_outstanding: int,
) -> Dict[str, Tuple[List[float], int, int]]:
    latencies: Dict[str, List[float]] = {kind: [] for kind, _ in paths}
    errors: Dict[str, int] = dict.fromkeys(latencies, 0)
    non_2xx: Dict[str, int] = dict.fromkeys(latencies, 0)
    outstanding = 0
    tasks = []

    async def fire(kind: str, path: str, due: float) -> None:
        nonlocal outstanding
        try:
            status = await _one(host, port, path, timeout_s)
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            errors[kind] += 1
        else:
            latencies[kind].append(time.perf_counter() - due)
            if not 200 <= status < 300:
                non_2xx[kind] += 1
        finally:
            outstanding -= 1

    start = time.perf_counter()
    for i in range(int(rate_per_s * duration_s)):
        due = start + i / rate_per_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        kind, path = paths[i % len(paths)]
        if outstanding >= max_outstanding:
            errors[kind] += 1  # not sent: the server is too far behind
            continue
        outstanding += 1
        tasks.append(asyncio.ensure_future(fire(kind, path, due)))
    if tasks:
        await asyncio.wait(tasks, timeout=timeout_s + 1)
    return {kind: (latencies[kind], errors[kind], non_2xx[kind]) for kind in latencies}


def run(
    url: str,
    *,
    rate_per_s: float,
    duration_s: float,
    path: str,
    long_every: int = 0,
    long_path: str = "",
    timeout_s: float = 15.0,
    max_outstanding: int = 256,
) -> ClientView:
    """Send ``path`` at ``rate_per_s``; every ``long_every``-th request goes to ``long_path``.
    Latencies are reported for all requests and separately for "short" and "long" ones."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the lab only loads loopback servers; got {url}")
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    paths = [("short", path)]
    if long_every > 1:
        paths = [("short", path)] * (long_every - 1) + [("long", long_path)]
    started = time.perf_counter()
    raw = asyncio.run(
        _run(
            host,
            port,
            rate_per_s=rate_per_s,
            duration_s=duration_s,
            paths=paths,
            timeout_s=timeout_s,
            max_outstanding=max_outstanding,
        )
    )
    elapsed = max(duration_s, time.perf_counter() - started) if raw else duration_s
    parts = {kind: from_latencies("paced", lat, err, bad, elapsed) for kind, (lat, err, bad) in raw.items()}
    every: List[float] = [x for lat, _, _ in raw.values() for x in lat]
    total = from_latencies(
        "paced", every, sum(p.errors for p in parts.values()), sum(p.non_2xx for p in parts.values()), elapsed
    )
    if len(parts) == 1:
        return total
    return combine("paced", total, parts)

"""A small, bounded load driver for the example app (standard library only, loopback only).

    python -m wsgiscope_harness.load --url http://127.0.0.1:8000 --concurrency 8 --duration 20 --requests 5000
    python -m wsgiscope_harness.load --url http://127.0.0.1:8000 --mix hello --requests 500

Every run stops at whichever bound comes first: --duration seconds or --requests requests.
Each request uses a fresh connection, so a multi-process server spreads them over its workers.
Import it to drive load from tests: ``run_load(url, MIXES["default"], concurrency=8, max_requests=500)``.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_DURATION_S = 600.0
MAX_REQUESTS = 1_000_000
MAX_CONCURRENCY = 256


@dataclass(frozen=True)
class Request:
    """One kind of request: method, path with query, body size, and optional queue-time stamp."""

    method: str
    path: str
    body_bytes: int = 0
    stamp_queue_start: bool = False


@dataclass
class LoadResult:
    """What the client saw: one latency (seconds) and status per completed request, and errors."""

    latencies_s: List[float] = field(default_factory=list)
    statuses: List[int] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def sent(self) -> int:
        return len(self.statuses) + len(self.errors)

    def status_counts(self) -> Dict[int, int]:
        counts: Dict[int, int] = {}
        for status in self.statuses:
            counts[status] = counts.get(status, 0) + 1
        return counts

    def percentile_s(self, q: float) -> float:
        if not self.latencies_s:
            return 0.0
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> str:
        if not self.latencies_s:
            return f"0 requests completed, {len(self.errors)} errors"
        rate = len(self.statuses) / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (
            f"{len(self.statuses)} requests in {self.elapsed_s:.1f} s ({rate:.0f}/s), "
            f"{len(self.errors)} errors; statuses {dict(sorted(self.status_counts().items()))}; "
            f"latency p50 {statistics.median(self.latencies_s) * 1000:.1f} ms, "
            f"p99 {self.percentile_s(0.99) * 1000:.1f} ms"
        )


MIXES: Dict[str, Tuple[Request, ...]] = {
    "hello": (Request("GET", "/hello"),),
    "sleep": (Request("GET", "/sleep?ms=200"),),
    # The lab's scenarios in one stream; weights are repetitions.
    "default": (
        *[Request("GET", "/hello")] * 6,
        Request("GET", "/hello", stamp_queue_start=True),
        Request("GET", "/cpu?ms=5"),
        Request("GET", "/sleep?ms=50"),
        Request("GET", "/mixed?every=10&long_ms=300&short_ms=5"),
        Request("POST", "/upload", body_bytes=64 * 1024),
        Request("GET", "/download?bytes=262144&chunk=16384"),
        Request("GET", "/backend?ms=30"),
        Request("GET", "/error"),
    ),
}


def _check_loopback(url: str) -> Tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"the load driver only targets http://127.0.0.1 (loopback); got {url!r}")
    return parts.hostname, parts.port or 80


def send_one(host: str, port: int, request: Request, timeout_s: float = 30.0) -> Tuple[int, float]:
    """Send one request on a fresh connection; return (status, seconds until the body was read)."""
    headers = {"Connection": "close"}
    body: Optional[bytes] = None
    if request.body_bytes:
        body = b"u" * request.body_bytes
        headers["Content-Type"] = "application/octet-stream"
    started = time.perf_counter()
    if request.stamp_queue_start:
        headers["X-Request-Start"] = f"t={int(time.time() * 1_000_000)}"
    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        connection.request(request.method, request.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def run_load(
    url: str,
    mix: Sequence[Request],
    *,
    concurrency: int = 4,
    max_requests: Optional[int] = None,
    duration_s: Optional[float] = None,
    timeout_s: float = 30.0,
) -> LoadResult:
    """Send the mix round-robin from ``concurrency`` threads until a bound is reached.

    ``max_requests`` is exact: exactly that many requests are sent (unless the duration ends first).
    """
    host, port = _check_loopback(url)
    if max_requests is None and duration_s is None:
        raise ValueError("give max_requests or duration_s: the load must be bounded")
    limit = min(max_requests if max_requests is not None else MAX_REQUESTS, MAX_REQUESTS)
    deadline = time.monotonic() + min(duration_s if duration_s is not None else MAX_DURATION_S, MAX_DURATION_S)
    tickets = itertools.count()
    result = LoadResult()
    lock = threading.Lock()

    def worker() -> None:
        while time.monotonic() < deadline:
            n = next(tickets)  # itertools.count is atomic under the GIL
            if n >= limit:
                return
            request = mix[n % len(mix)]
            try:
                status, latency_s = send_one(host, port, request, timeout_s)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    result.errors.append(f"{request.method} {request.path}: {exc!r}")
                continue
            with lock:
                result.statuses.append(status)
                result.latencies_s.append(latency_s)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(concurrency, MAX_CONCURRENCY)))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed_s = time.perf_counter() - started
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="base URL of the app (loopback only)")
    parser.add_argument("--mix", choices=sorted(MIXES), default="default", help="request mix (default: default)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds at most (default 20)")
    parser.add_argument("--requests", type=int, default=10_000, help="requests at most (default 10000)")
    args = parser.parse_args(argv)
    try:
        result = run_load(
            args.url, MIXES[args.mix], concurrency=args.concurrency,
            max_requests=args.requests, duration_s=args.duration,
        )
    except ValueError as exc:
        print(f"load.py: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0 if result.statuses else 1


if __name__ == "__main__":
    sys.exit(main())

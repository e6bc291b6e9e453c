"""The shim's view of one cell: differences between two scrapes of the collector's /metrics.

Request metrics are summed over every label set of the cell's service; per-worker counters over
its workers. Quantiles come from the classic histogram buckets, interpolated linearly inside a
bucket the way PromQL's ``histogram_quantile`` does (so they are only as fine as the buckets).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from wsgiscope_harness.metrics import Scrape

#: read_body, app, generate and write partition a request (protocol v2; a v1 shim sends no generate);
#: first_byte is a point in time.
PHASES = ("read_body", "app", "generate", "first_byte", "write")


@dataclass
class ShimView:
    requests: float = 0.0
    errors_5xx: float = 0.0
    mean_s: Optional[float] = None
    p50_s: Optional[float] = None
    p99_s: Optional[float] = None
    phase_mean_s: Dict[str, Optional[float]] = field(default_factory=dict)
    queue_requests: float = 0.0
    queue_mean_s: Optional[float] = None
    queue_p99_s: Optional[float] = None
    cpu_mean_s: Optional[float] = None
    bytes_in_mean: Optional[float] = None
    bytes_out_mean: Optional[float] = None
    busy_thread_s: float = 0.0
    capacity_threads: float = 0.0
    workers: int = 0
    process_cpu_s: float = 0.0
    rss_bytes: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _buckets(scrape: Scrape, name: str, **labels: str) -> Dict[float, float]:
    out: Dict[float, float] = {}
    for s in scrape.select(f"{name}_bucket", **labels):
        le = float(s.labels["le"])
        out[le] = out.get(le, 0.0) + s.value
    return out


def quantile(q: float, cumulative: List[Tuple[float, float]]) -> Optional[float]:
    """``histogram_quantile`` over (upper bound, cumulative count) pairs sorted by bound."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    rank = q * cumulative[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if bound == float("inf"):
                return lower  # beyond the last finite bucket: its bound is all we know
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside > 0 else 1.0)
        lower, below = bound, count
    return lower


class Delta:
    """``after - before`` for one service."""

    def __init__(self, before: Scrape, after: Scrape, service: str) -> None:
        self.before, self.after, self.labels = before, after, {"service_name": service}

    def total(self, name: str, **labels: str) -> float:
        return self.after.total(name, **self.labels, **labels) - self.before.total(name, **self.labels, **labels)

    def mean(self, name: str, **labels: str) -> Optional[float]:
        count = self.total(f"{name}_count", **labels)
        return self.total(f"{name}_sum", **labels) / count if count > 0 else None

    def quantile(self, q: float, name: str, **labels: str) -> Optional[float]:
        after = _buckets(self.after, name, **self.labels, **labels)
        before = _buckets(self.before, name, **self.labels, **labels)
        pairs = sorted((le, count - before.get(le, 0.0)) for le, count in after.items())
        return quantile(q, pairs)


def shim_view(before: Scrape, after: Scrape, service: str) -> ShimView:
    d = Delta(before, after, service)
    duration = "http_server_request_duration_seconds"
    queue = "wsgi_request_queue_duration_seconds"
    errors = sum(
        s.value
        for s in after.select(f"{duration}_count", service_name=service)
        if s.labels.get("http_response_status_code", "").startswith("5")
    ) - sum(
        s.value
        for s in before.select(f"{duration}_count", service_name=service)
        if s.labels.get("http_response_status_code", "").startswith("5")
    )
    workers = after.workers(service_name=service)
    return ShimView(
        requests=d.total(f"{duration}_count"),
        errors_5xx=errors,
        mean_s=d.mean(duration),
        p50_s=d.quantile(0.50, duration),
        p99_s=d.quantile(0.99, duration),
        phase_mean_s={p: d.mean("wsgi_request_phase_duration_seconds", phase=p) for p in PHASES},
        queue_requests=d.total(f"{queue}_count"),
        queue_mean_s=d.mean(queue),
        queue_p99_s=d.quantile(0.99, queue),
        cpu_mean_s=d.mean("wsgi_request_cpu_seconds"),
        bytes_in_mean=d.mean("http_server_request_body_size_bytes"),
        bytes_out_mean=d.mean("http_server_response_body_size_bytes"),
        busy_thread_s=d.total("wsgi_worker_busy_thread_seconds_total"),
        capacity_threads=after.total("wsgi_worker_threads", service_name=service),
        workers=len(workers),
        process_cpu_s=d.total("wsgi_worker_cpu_seconds_total"),
        rss_bytes=after.total("wsgi_worker_resident_memory_bytes", service_name=service),
    )

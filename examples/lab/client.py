"""What a load driver saw, in one shape for every driver (wrk, paced, slow clients)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class ClientView:
    """Completed requests, errors, and latency statistics in seconds (None when unknown)."""

    driver: str
    completed: int = 0
    errors: int = 0
    non_2xx: int = 0
    elapsed_s: float = 0.0
    mean_s: Optional[float] = None
    p50_s: Optional[float] = None
    p90_s: Optional[float] = None
    p99_s: Optional[float] = None
    max_s: Optional[float] = None
    # per kind of request where a driver tells them apart (paced: short/long; slow clients)
    groups: Dict[str, ClientView] = field(default_factory=dict)

    @property
    def rate_per_s(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out["rate_per_s"] = self.rate_per_s
        return out


def percentile(ordered: List[float], q: float) -> Optional[float]:
    """Nearest-rank percentile of a sorted list (None when empty)."""
    if not ordered:
        return None
    rank = max(1, round(q * len(ordered) + 0.5))
    return ordered[min(len(ordered), rank) - 1]


def from_latencies(driver: str, latencies_s: List[float], errors: int, non_2xx: int, elapsed_s: float) -> ClientView:
    ordered = sorted(latencies_s)
    return ClientView(
        driver=driver,
        completed=len(ordered),
        errors=errors,
        non_2xx=non_2xx,
        elapsed_s=elapsed_s,
        mean_s=sum(ordered) / len(ordered) if ordered else None,
        p50_s=percentile(ordered, 0.50),
        p90_s=percentile(ordered, 0.90),
        p99_s=percentile(ordered, 0.99),
        max_s=ordered[-1] if ordered else None,
    )


def combine(driver: str, main: ClientView, parts: Dict[str, ClientView]) -> ClientView:
    """Totals of several kinds of request: counts add up, the mean is weighted by count,
    percentiles are ``main``'s (say which in the report)."""
    views = list(parts.values())
    completed = sum(v.completed for v in views)
    weighted = sum((v.mean_s or 0.0) * v.completed for v in views)
    return ClientView(
        driver=driver,
        completed=completed,
        errors=sum(v.errors for v in views),
        non_2xx=sum(v.non_2xx for v in views),
        elapsed_s=main.elapsed_s,
        mean_s=weighted / completed if completed else None,
        p50_s=main.p50_s,
        p90_s=main.p90_s,
        p99_s=main.p99_s,
        max_s=main.max_s,
        groups=dict(parts),
    )

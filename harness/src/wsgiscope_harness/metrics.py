"""Scrape a collector's /metrics and query the parsed series (prometheus_client's parser)."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from typing import Dict, List, Mapping, Set

from prometheus_client.parser import text_string_to_metric_families

from .waiting import poll_until


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


class Scrape:
    """One parsed exposition: every sample, with filters by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: List[Sample] = [
            Sample(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]

    def names(self) -> Set[str]:
        return {s.name for s in self.samples}

    def select(self, name: str, **labels: str) -> List[Sample]:
        return [
            s for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def total(self, name: str, **labels: str) -> float:
        """Sum of every series of ``name`` matching ``labels`` (0.0 when there is none)."""
        return sum(s.value for s in self.select(name, **labels))

    def by_worker(self, name: str, **labels: str) -> Dict[str, float]:
        out: Dict[str, float] = {}
        for s in self.select(name, **labels):
            worker = s.labels.get("worker", "")
            out[worker] = out.get(worker, 0.0) + s.value
        return out

    def workers(self, **labels: str) -> Set[str]:
        """Every worker label value among the samples matching ``labels``."""
        return {
            s.labels["worker"] for s in self.samples
            if "worker" in s.labels and all(s.labels.get(k) == v for k, v in labels.items())
        }


def scrape(base_url: str, timeout_s: float = 5.0) -> Scrape:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=timeout_s) as answer:
        return Scrape(answer.read().decode("utf-8"))


def wait_for_requests(base_url: str, count: int, timeout_s: float = 20.0, **labels: str) -> Scrape:
    """Scrape until the collector has counted at least ``count`` requests
    (http_server_request_duration_seconds_count summed over the series matching ``labels``) or
    the deadline passes; return the last scrape, for the caller to assert on."""

    def seen(s: Scrape) -> bool:
        return s.total("http_server_request_duration_seconds_count", **labels) >= count

    return poll_until(lambda: scrape(base_url), seen, timeout_s=timeout_s)


# The public interface (BRIEF.md's catalogue): (name, type).
CATALOGUE = (
    ("http_server_request_duration_seconds", "histogram"),
    ("http_server_active_requests", "gauge"),
    ("http_server_request_body_size_bytes", "histogram"),
    ("http_server_response_body_size_bytes", "histogram"),
    ("wsgi_request_queue_duration_seconds", "histogram"),
    ("wsgi_request_phase_duration_seconds", "histogram"),
    ("wsgi_request_cpu_seconds", "histogram"),
    ("wsgi_worker_threads", "gauge"),
    ("wsgi_worker_busy_threads", "gauge"),
    ("wsgi_worker_busy_thread_seconds_total", "counter"),
    ("wsgi_worker_utilization_ratio", "gauge"),
    ("wsgi_worker_oldest_request_age_seconds", "gauge"),
    ("wsgi_worker_cpu_seconds_total", "counter"),
    ("wsgi_worker_resident_memory_bytes", "gauge"),
    ("wsgi_worker_sampler_lag_seconds", "histogram"),
    ("wsgi_worker_info", "gauge"),
    ("wsgi_shim_dropped_records_total", "counter"),
)


def sample_name_for(name: str, kind: str) -> str:
    """The sample name that proves a metric is exposed: histograms by their ``_count``."""
    return f"{name}_count" if kind == "histogram" else name

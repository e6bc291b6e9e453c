"""Soak: a steady load through a real server with the shim into a real collector, for minutes or
hours, sampling the collector's RSS and event-loop lag; at the end every request the client
sent must be counted by the collector or reported dropped by the shim.

    python bench/soak.py --minutes 60 --rate 200          # the long run (prints the series)
    python bench/soak.py --minutes 10 --json soak.json    # also keep the samples

Loopback only; every process it starts is stopped. tests/reliability/test_soak.py runs a
two-minute version of the same thing in the gate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

from wsgiscope_harness.load import Request, send_one
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import Collector, Server
from wsgiscope_harness.waiting import poll_until

HELLO = Request("GET", "/hello")


@dataclass
class Sample:
    elapsed_s: float
    rss_mib: float
    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    records: float
    series: float


@dataclass
class SoakResult:
    samples: List[Sample] = field(default_factory=list)
    sent: int = 0
    errors: int = 0
    counted: float = 0.0
    dropped: float = 0.0

    def third_medians(self, attr: str) -> tuple[float, float]:
        """Median of the first and of the last third of the samples (after a warm-up sample)."""
        values = [getattr(s, attr) for s in self.samples[1:]]
        third = max(1, len(values) // 3)
        return statistics.median(values[:third]), statistics.median(values[-third:])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PacedLoad:
    """``rate`` requests per second from ``threads`` threads, on a fixed schedule (open loop)."""

    def __init__(self, url: str, rate: float, threads: int = 4) -> None:
        self.port = int(url.rsplit(":", 1)[1])
        self.period_s = threads / rate
        self.sent = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def _run(self, index: int) -> None:
        next_at = time.monotonic() + index * self.period_s / len(self._threads)
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.period_s
            try:
                status, _ = send_one("127.0.0.1", self.port, HELLO, timeout_s=10)
                ok = status == 200
            except OSError:
                ok = False
            with self._lock:
                self.sent += 1
                self.errors += 0 if ok else 1

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def run_soak(duration_s: float, rate: float = 150.0, sample_every_s: float = 5.0, log_dir: Optional[Path] = None,
             progress: bool = False) -> SoakResult:
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="wsgiscope-soak-"))
    collector = Collector(log_dir, worker_expiry_s=60).start()
    server: Optional[Server] = None
    result = SoakResult()
    try:
        assert collector.process is not None
        server = Server("gunicorn_gthread", log_dir, collector.url, workers=2, threads=4,
                        env={"WSGISCOPE_FLUSH_INTERVAL": "0.5"}).start()
        load = PacedLoad(server.url, rate)
        started = time.monotonic()
        load.start()
        try:
            while time.monotonic() - started < duration_s:
                time.sleep(min(sample_every_s, max(0.0, duration_s - (time.monotonic() - started))))
                s = scrape(collector.url)  # also resets the lag window: lag since the previous sample
                sample = Sample(
                    round(time.monotonic() - started, 1), round(_rss_mib(collector.process.pid), 1),
                    round(s.total("wsgiscope_collector_event_loop_lag_p99_seconds") * 1000, 2),
                    round(s.total("wsgiscope_collector_event_loop_lag_max_seconds") * 1000, 2),
                    s.total("wsgiscope_collector_ingested_records_total"),
                    s.total("wsgiscope_collector_series"),
                )
                result.samples.append(sample)
                if progress:
                    print(json.dumps(asdict(sample)), flush=True)
        finally:
            load.stop()
        result.sent, result.errors = load.sent, load.errors

        def accounted() -> tuple[float, float]:
            s = scrape(collector.url)
            return s.total("http_server_request_duration_seconds_count"), s.total("wsgi_shim_dropped_records_total")

        result.counted, result.dropped = poll_until(accounted, lambda a: sum(a) >= result.sent, 30)
    finally:
        if server is not None:
            server.stop()
        collector.stop()
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="duration (default 10)")
    parser.add_argument("--rate", type=float, default=150.0, help="requests per second (default 150)")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples (default 10)")
    parser.add_argument("--json", type=Path, help="write the samples and totals to this file")
    args = parser.parse_args(argv)
    result = run_soak(args.minutes * 60, args.rate, args.every, progress=True)
    rss, lag = result.third_medians("rss_mib"), result.third_medians("loop_lag_p99_ms")
    print(f"sent {result.sent} ({result.errors} errors), counted {result.counted:.0f} + dropped "
          f"{result.dropped:.0f}; collector RSS median first third {rss[0]:.1f} MiB, last third {rss[1]:.1f} MiB; "
          f"event-loop lag p99 median {lag[0]:.2f} ms -> {lag[1]:.2f} ms")
    if args.json:
        args.json.write_text(json.dumps({**asdict(result)}, indent=1))
    return 0 if result.counted + result.dropped == result.sent and result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

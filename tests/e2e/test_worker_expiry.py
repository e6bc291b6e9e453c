"""A worker killed with SIGKILL: its series expire after --worker-expiry-seconds, others stay."""

from __future__ import annotations

import os
import signal
import time

from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import CollectorFactory, ServerFactory
from wsgiscope_harness.waiting import wait_for

EXPIRY_S = 3.0


def test_killed_workers_series_expire_while_the_others_remain(
        start_collector: CollectorFactory, start_server: ServerFactory) -> None:
    collector = start_collector(worker_expiry_s=EXPIRY_S)
    start_server("gunicorn_gthread", collector.url, workers=2, threads=2)

    def two_workers() -> Scrape | None:
        s = scrape(collector.url)
        return s if len(s.workers()) == 2 else None

    original = wait_for(two_workers, 30, "two workers reporting").workers()
    victim = sorted(original)[0]
    survivor = (original - {victim}).pop()
    os.kill(int(victim.rsplit(":", 1)[1]), signal.SIGKILL)
    killed_at = time.monotonic()

    def victim_gone_and_replaced() -> Scrape | None:
        s = scrape(collector.url)
        workers = s.workers()
        return s if victim not in workers and survivor in workers and len(workers) == 2 else None

    final = wait_for(victim_gone_and_replaced, EXPIRY_S + 20, f"{victim}'s series to expire")
    gone_after_s = time.monotonic() - killed_at
    # Its last batch left at most one flush (0.2 s) before the kill; expiry counts from there.
    assert gone_after_s >= EXPIRY_S - 0.5
    assert not [s for s in final.samples if s.labels.get("worker") == victim]
    assert final.select("wsgi_worker_threads", worker=survivor)

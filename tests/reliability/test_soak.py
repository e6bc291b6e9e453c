"""A compressed soak (two minutes at a steady 150 requests/s through gunicorn gthread with the
shim): the collector's RSS and event-loop lag stay flat, and no record is lost. The hour-scale
version is ``python bench/soak.py --minutes 60``; figures in docs/reliability.md."""

from __future__ import annotations

from pathlib import Path

from bench.soak import run_soak  # the repository root is on sys.path (conftest.py)

DURATION_S, RATE = 120.0, 150.0


def test_collector_memory_and_loop_lag_stay_flat_and_no_record_is_lost(tmp_path: Path) -> None:
    result = run_soak(DURATION_S, RATE, sample_every_s=5.0, log_dir=tmp_path)
    assert result.errors == 0
    assert result.sent >= 0.8 * DURATION_S * RATE, result.sent  # the load really was steady
    # Every request the client sent is counted by the collector or reported dropped by the shim.
    assert result.counted + result.dropped == result.sent, (result.counted, result.dropped, result.sent)
    rss_first, rss_last = result.third_medians("rss_mib")
    assert rss_last <= rss_first * 1.10 + 8, [s.rss_mib for s in result.samples]
    lag_first, lag_last = result.third_medians("loop_lag_p99_ms")
    assert lag_last <= lag_first * 2 + 20, [s.loop_lag_p99_ms for s in result.samples]
    assert max(s.series for s in result.samples[1:]) == min(s.series for s in result.samples[1:])

"""The process sampler reads an injected /proc and clocks."""

from __future__ import annotations

import os
from pathlib import Path

from support import fake_proc

from wsgiscope.sampler import ProcessSampler


def test_reads_rss_threads_and_counts_cpu_and_gc_since_start(tmp_path: Path) -> None:
    proc = fake_proc(str(tmp_path), rss_pages=100, threads=7)
    cpu = iter([(2.0, 1.0), (2.5, 1.25)])
    gcs = iter([40, 45])
    sampler = ProcessSampler(proc, cpu_times=lambda: next(cpu), gc_count=lambda: next(gcs),
                             page_size=4096)
    reading = sampler.read()
    assert (reading.rss_bytes, reading.os_threads) == (409600, 7)
    assert (reading.cpu_user_us, reading.cpu_system_us, reading.gc_collections) == (
        500_000, 250_000, 5)


def test_missing_proc_falls_back_without_raising(tmp_path: Path) -> None:
    reading = ProcessSampler(str(tmp_path / "nope")).read()
    assert reading.rss_bytes == 0 and reading.os_threads >= 1


def test_real_process_reading_is_plausible() -> None:
    reading = ProcessSampler().read()
    if os.path.exists("/proc/self/statm"):
        assert reading.rss_bytes > 1_000_000
    assert reading.os_threads >= 1


def test_listen_backlog_from_proc_net_tcp(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt\n"
    (tmp_path / "net" / "tcp").write_text(
        header
        + "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000\n"
        + "   1: 0100007F:1F90 0100007F:D431 01 00000000:00000009 00:00000000 00000000\n"
    )
    sampler = ProcessSampler(str(tmp_path))
    assert sampler.listen_backlog(8080) == 3
    assert sampler.listen_backlog(9999) is None


def test_listen_backlog_streams_a_large_table_and_sums_ipv4_and_ipv6(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt\n"
    time_wait = "".join(
        f"{i:4d}: 0100007F:1F90 0100007F:{i % 60000 + 1024:04X} 06 00000000:00000000 00:0 0\n"
        for i in range(20000)
    )
    (tmp_path / "net" / "tcp").write_text(
        header + time_wait
        + "20000: 00000000:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000\n"
    )
    (tmp_path / "net" / "tcp6").write_text(
        header
        + "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000"
          " 0A 00000000:00000004 00:00000000 00000000\n"
    )
    assert ProcessSampler(str(tmp_path)).listen_backlog(8080) == 6

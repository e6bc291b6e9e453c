"""Download a file from a server with the shim and without it, side by side, under strace.

Used by the deployments (each server's own command line) and by tests/servers (servers that
only run through the launcher: bjoern, meinheld, wsgiref). Downloads alternate between the two
servers, so machine noise hits both alike; strace is limited to ``sendfile`` by a seccomp
filter, so it costs both sides the same and shows whether the server's fast path ran.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import Command
from wsgiscope_harness.waiting import poll_until

STRACE = shutil.which("strace")
DOWNLOADS = 9


def strace_prefix(log: Path) -> List[str]:
    assert STRACE is not None, "strace is not installed (apt-get install strace)"
    return [STRACE, "-f", "--seccomp-bpf", "-qq", "-e", "trace=sendfile", "-o", str(log)]


def sendfile_calls(log: Path) -> int:
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum(1 for line in text.splitlines() if "sendfile(" in line and "= -1" not in line)


def download(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        body = bytes(answer.read())
    return time.perf_counter() - started, body


@dataclass
class Comparison:
    median_s: Dict[bool, float]   # by shim on/off
    sendfile_calls: Dict[bool, int]
    downloads: int
    median_ratio: float           # of each pair's times (with / without), taken back to back


def compare(servers: Dict[bool, Command], logs: Dict[bool, Path], path: str,
            expected: bytes) -> Comparison:
    """Alternate downloads of ``path`` (the first of each warms up); exact bytes every time."""
    digest = hashlib.sha256(expected).hexdigest()
    times: Dict[bool, List[float]] = {True: [], False: []}
    for number in range(DOWNLOADS + 1):
        for shim in (True, False):
            seconds, body = download(f"{servers[shim].url}{path}")
            assert hashlib.sha256(body).hexdigest() == digest, (
                f"bytes differ (shim={shim}): {len(body)} of {len(expected)}")
            if number:
                times[shim].append(seconds)
    ratios = [a / b for a, b in zip(times[True], times[False]) if b > 0]
    return Comparison({shim: statistics.median(t) for shim, t in times.items()},
                      {shim: sendfile_calls(log) for shim, log in logs.items()}, DOWNLOADS + 1,
                      statistics.median(ratios))


def check(name: str, result: Comparison, expect_sendfile: bool) -> None:
    """At most twice as long with the shim (the median of the back-to-back pairs' ratios, which
    machine noise hits alike); sendfile as often with it as without (or never)."""
    with_shim, without = result.median_s[True], result.median_s[False]
    assert result.median_ratio <= 2, (
        f"{name}: a download takes {result.median_ratio:.2f}x as long with the shim (medians "
        f"{with_shim * 1e3:.1f} ms with, {without * 1e3:.1f} ms without)")
    calls = result.sendfile_calls
    if expect_sendfile:
        assert calls[False] >= result.downloads, f"the server itself never used sendfile: {calls}"
        assert calls[True] >= result.downloads, f"the shim took {name} off sendfile: {calls}"
    else:
        assert calls == {True: 0, False: 0}, calls


def counted_bytes(collector_url: str, service: str, downloads: int,
                  timeout_s: float = 20) -> Optional[float]:
    """The response bytes the shim counted for ``service`` once ``downloads`` arrived."""
    def arrived(s: Scrape) -> bool:
        return s.total("http_server_response_body_size_bytes_count",
                       service_name=service) >= downloads

    s = poll_until(lambda: scrape(collector_url), arrived, timeout_s=timeout_s)
    return s.total("http_server_response_body_size_bytes_sum", service_name=service)

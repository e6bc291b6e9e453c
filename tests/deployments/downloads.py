"""Download a file from a server with the shim and without it, side by side, under strace.

Used by the deployments (each server's own command line) and by tests/servers (servers that
only run through the launcher: bjoern, meinheld, wsgiref). Downloads alternate between the two
servers, so machine noise hits both alike; strace is limited to ``sendfile`` by a seccomp
filter, so it costs both sides the same and shows whether the server's fast path ran.

The seccomp filter spares only the process strace starts: strace 6.1 stops every thread and
worker process created after it (every server's request threads) on *every* system call, about
15 us each on this 2-core host and 100 us when strace shares their CPU (1.2 us untraced). A
sendfile download makes a handful of calls, so the tracer costs little (and a shim that took
the server off sendfile makes thousands: strace only magnifies that failure); a download
streamed in blocks (Granian, waitress, cheroot: no sendfile path) makes two or more per block,
1,000-2,000 per 4 MiB, and its time is then mostly the tracer's, at the mercy of where the
scheduler puts strace (Granian: 19-160 ms per download against 7-13 ms untraced, one side slow
for a whole run, either side). Those servers are timed as a second pair run without strace
(``timed``); the traced pair still answers twice each, for the bytes and the sendfile count.
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
TRACED_DOWNLOADS = 2  # per traced server, when the timing is taken on an untraced pair


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
    downloads: int                # per traced server (what its sendfile count is checked against)
    median_ratio: float           # of each pair's times (with / without), taken back to back
    shim_downloads: int           # answered by servers with the shim (what it must have counted)


def compare(servers: Dict[bool, Command], logs: Dict[bool, Path], path: str,
            expected: bytes, timed: Optional[Dict[bool, Command]] = None) -> Comparison:
    """Alternate downloads of ``path`` (the first of each warms up); exact bytes every time.

    With ``timed`` (the same servers run without strace) the timed downloads go to those, and
    the traced ``servers`` answer :data:`TRACED_DOWNLOADS` each, for their sendfile count."""
    digest = hashlib.sha256(expected).hexdigest()

    def fetch(server: Command, shim: bool) -> float:
        seconds, body = download(f"{server.url}{path}")
        assert hashlib.sha256(body).hexdigest() == digest, (
            f"bytes differ (shim={shim}, {server.mode}): {len(body)} of {len(expected)}")
        return seconds

    traced_downloads = DOWNLOADS + 1
    if timed is not None:
        traced_downloads = TRACED_DOWNLOADS
        for _ in range(TRACED_DOWNLOADS):
            for shim in (True, False):
                fetch(servers[shim], shim)
    clocked = timed or servers
    times: Dict[bool, List[float]] = {True: [], False: []}
    for number in range(DOWNLOADS + 1):
        for shim in (True, False):
            seconds = fetch(clocked[shim], shim)
            if number:
                times[shim].append(seconds)
    ratios = [a / b for a, b in zip(times[True], times[False]) if b > 0]
    return Comparison({shim: statistics.median(t) for shim, t in times.items()},
                      {shim: sendfile_calls(log) for shim, log in logs.items()}, traced_downloads,
                      statistics.median(ratios),
                      traced_downloads + (DOWNLOADS + 1 if timed is not None else 0))


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

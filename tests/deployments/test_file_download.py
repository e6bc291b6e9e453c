"""File downloads keep each server's fast path under the shim (Django ``FileResponse`` and Flask
``send_file`` through the server's ``wsgi.file_wrapper``).

The same project is served twice side by side, with the shim and without it
(``WSGISCOPE_DISABLED``), each under ``strace -e trace=sendfile``; downloads alternate between
the two. With the shim a download takes at most twice as long, its bytes are exact, the shim
counted them, and where the server has a sendfile path (gunicorn, uWSGI) strace saw it taken
as often with the shim as without. waitress and cheroot have none: they read the file in
Python either way, and strace confirms that neither side called sendfile.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, List

import pytest

from tests.deployments.deploy import ALL, DOWNLOAD_BYTES, SERVICES, Deployment, download_file
from tests.e2e.support.metrics import Scrape, scrape
from tests.e2e.support.processes import Collector, Command
from tests.e2e.support.waiting import poll_until

DOWNLOADS = 9
SENDFILE_SERVERS = {"gunicorn-gthread", "gunicorn-sync", "uwsgi-threads", "mod_wsgi-express"}
CASES = [d for d in ALL if d.name in SENDFILE_SERVERS | {"waitress", "cheroot", "granian"}]
STRACE = shutil.which("strace")


def download(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        body = bytes(answer.read())
    return time.perf_counter() - started, body


def sendfile_calls(log: Path) -> int:
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum(1 for line in text.splitlines() if "sendfile(" in line and "= -1" not in line)


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("deployment", CASES, ids=lambda d: d.id)
def test_file_download_keeps_the_servers_fast_path(
        deployment: Deployment, collector: Collector, serve: Callable[..., Command],
        tmp_path: Path) -> None:
    reason = deployment.unavailable_reason()
    if reason:
        pytest.skip(reason)
    assert STRACE is not None
    servers = {}
    for shim in (True, False):
        log = tmp_path / f"strace-{'shim' if shim else 'bare'}.log"
        prefix: List[Any] = [STRACE, "-f", "--seccomp-bpf", "-qq", "-e", "trace=sendfile",
                             "-o", str(log)]
        servers[shim] = (serve(deployment, collector.url, shim=shim, prefix=prefix), log)
    expected = download_file().read_bytes()
    assert len(expected) == DOWNLOAD_BYTES
    digest = hashlib.sha256(expected).hexdigest()
    times: dict[bool, list[float]] = {True: [], False: []}
    for number in range(DOWNLOADS + 1):
        for shim in (True, False):
            seconds, body = download(f"{servers[shim][0].url}/file")
            assert hashlib.sha256(body).hexdigest() == digest, f"bytes differ (shim={shim})"
            if number:  # the first download of each warms up the worker
                times[shim].append(seconds)
    with_shim, without = statistics.median(times[True]), statistics.median(times[False])
    assert with_shim <= 2 * without, (
        f"{deployment.id}: median download {with_shim * 1e3:.1f} ms with the shim vs "
        f"{without * 1e3:.1f} ms without")

    calls = {shim: sendfile_calls(log) for shim, (_, log) in servers.items()}
    if deployment.name in SENDFILE_SERVERS:
        assert calls[False] >= DOWNLOADS + 1, f"the server itself never used sendfile: {calls}"
        assert calls[True] >= DOWNLOADS + 1, f"the shim took {deployment.name} off sendfile: {calls}"
    else:
        assert calls == {True: 0, False: 0}, calls

    service = SERVICES[deployment.framework]

    def counted(s: Scrape) -> bool:
        return s.total("http_server_response_body_size_bytes_count", service_name=service) >= (
            DOWNLOADS + 1)

    s = poll_until(lambda: scrape(collector.url), counted, timeout_s=20)
    assert s.total("http_server_response_body_size_bytes_sum", service_name=service) == (
        (DOWNLOADS + 1) * DOWNLOAD_BYTES)

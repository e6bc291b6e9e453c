"""File downloads keep each server's fast path under the shim (Django ``FileResponse`` and Flask
``send_file`` through the server's ``wsgi.file_wrapper``).

The same project is served twice side by side, with the shim and without it
(``WSGISCOPE_DISABLED``), each under ``strace -e trace=sendfile`` (see downloads.py). With the
shim a download takes at most twice as long, its bytes are exact, the shim counted them, and
where the server has a sendfile path (gunicorn, uWSGI, mod_wsgi with ``--enable-sendfile``)
strace saw it taken as often with the shim as without. waitress, cheroot and Granian have
none: they read the file in Python either way, and strace confirms neither side called it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from wsgiscope_harness.processes import Collector, Command

from tests.deployments.deploy import ALL, DOWNLOAD_BYTES, SERVICES, Deployment, download_file
from tests.deployments.downloads import STRACE, check, compare, counted_bytes, strace_prefix

SENDFILE_SERVERS = {"gunicorn-gthread", "gunicorn-sync", "uwsgi-threads", "mod_wsgi-express"}
SERVERS = sorted(SENDFILE_SERVERS | {"waitress", "cheroot", "granian"})
# Django's FileResponse and Flask's send_file on gunicorn gthread; elsewhere the frameworks take
# turns (each server once: a server's file path does not depend on the framework above it).
CASES = [d for d in ALL if d.name == "gunicorn-gthread"] + [
    d for number, name in enumerate(SERVERS) if name != "gunicorn-gthread"
    for d in ALL if d.name == name and d.framework == ("django" if number % 2 else "flask")]


# Known, open (issue 10 point 3): Granian has no wsgi.file_wrapper, so a framework streams the
# file in 4-8 KiB blocks through the shim's iterator, and with the shim a download took 2.3x
# (Django, 128.7 vs 55.0 ms, quiet machine) to 6x (Flask, loaded) as long; the cause is not
# found yet (the shim's own per-block work is about 1 us). Recorded, not hidden: XPASS says
# when it is fixed.
GRANIAN_SLOWER = pytest.mark.xfail(
    reason="open: the shim slows Granian's streamed file downloads 2.3-6x (cause not found)",
    strict=False)
PARAMS = [pytest.param(d, marks=GRANIAN_SLOWER) if d.name == "granian" else d for d in CASES]


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("deployment", PARAMS, ids=lambda d: d.id)
def test_file_download_keeps_the_servers_fast_path(
        deployment: Deployment, collector: Collector, serve: Callable[..., Command],
        tmp_path: Path) -> None:
    logs = {shim: tmp_path / f"strace-{'shim' if shim else 'bare'}.log" for shim in (True, False)}
    servers = {shim: serve(deployment, collector.url, shim=shim, prefix=strace_prefix(logs[shim]))
               for shim in (True, False)}
    expected = download_file().read_bytes()
    assert len(expected) == DOWNLOAD_BYTES
    result = compare(servers, logs, "/file", expected)
    check(deployment.id, result, deployment.name in SENDFILE_SERVERS)
    counted = counted_bytes(collector.url, SERVICES[deployment.framework], result.downloads)
    assert counted == result.downloads * DOWNLOAD_BYTES

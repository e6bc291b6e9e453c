"""File downloads keep each server's fast path under the shim (Django ``FileResponse`` and Flask
``send_file`` through the server's ``wsgi.file_wrapper``).

The same project is served twice side by side, with the shim and without it
(``WSGISCOPE_DISABLED``), each under ``strace -e trace=sendfile`` (see downloads.py). With the
shim a download takes at most twice as long, its bytes are exact, the shim counted them, and
where the server has a sendfile path (gunicorn, uWSGI, mod_wsgi with ``--enable-sendfile``)
strace saw it taken as often with the shim as without. waitress, cheroot and Granian have
none: they read the file in Python either way, and strace confirms neither side called it;
their downloads make a few system calls per block, each stopped by strace, so they are timed
on a second pair of the same servers run without strace (see downloads.py).
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


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("deployment", CASES, ids=lambda d: d.id)
def test_file_download_keeps_the_servers_fast_path(
        deployment: Deployment, collector: Collector, serve: Callable[..., Command],
        tmp_path: Path) -> None:
    logs = {shim: tmp_path / f"strace-{'shim' if shim else 'bare'}.log" for shim in (True, False)}
    servers = {shim: serve(deployment, collector.url, shim=shim, prefix=strace_prefix(logs[shim]))
               for shim in (True, False)}
    sendfile = deployment.name in SENDFILE_SERVERS
    timed = None if sendfile else {shim: serve(deployment, collector.url, shim=shim)
                                   for shim in (True, False)}
    expected = download_file().read_bytes()
    assert len(expected) == DOWNLOAD_BYTES
    result = compare(servers, logs, "/file", expected, timed)
    check(deployment.id, result, sendfile)
    counted = counted_bytes(collector.url, SERVICES[deployment.framework], result.shim_downloads)
    assert counted == result.shim_downloads * DOWNLOAD_BYTES

"""File downloads through ``wsgi.file_wrapper`` on servers started through the launcher (bjoern
has no command line of its own): the example app's ``/file`` with and without the shim, side by
side under strace (tests/deployments/downloads.py). bjoern and uWSGI send with sendfile
(bjoern's wrapper is a C type that shows nothing of itself: the shim hooks the file on its way
into it); wsgiref and gunicorn's gevent worker read the file in Python either way.

meinheld 1.0.2 is left out: its own sendfile path truncates responses without the shim
(3,932,160 of 4,194,304 bytes on the second download of the same file), so no exact-bytes
comparison can pass; docs/servers.md says so."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest
from wsgiscope_harness.processes import Collector, Server

from tests.deployments.deploy import DOWNLOAD_BYTES, download_file
from tests.deployments.downloads import STRACE, check, compare, counted_bytes, strace_prefix

from .matrix import skip_unless_available

MODES = {"bjoern": True, "wsgiref": False, "gunicorn_gevent": False, "uwsgi_processes": True}


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize(("mode", "sendfile"), sorted(MODES.items()))
def test_file_download_keeps_the_servers_fast_path(mode: str, sendfile: bool, collector: Collector,
                                                   tmp_path: Path) -> None:
    skip_unless_available(mode)
    path = download_file()
    logs = {shim: tmp_path / f"strace-{'shim' if shim else 'bare'}.log" for shim in (True, False)}
    servers: Dict[bool, Server] = {}
    try:
        for shim in (True, False):
            server = Server(mode, tmp_path, collector.url, workers=1, shim=shim,
                            env={"EXAMPLE_DOWNLOAD_FILE": str(path)})
            server.argv = [*strace_prefix(logs[shim]), *server.argv]
            server.term_group = True  # strace -o blocks SIGTERM: the server must get it
            servers[shim] = server.start()
        result = compare({k: v for k, v in servers.items()}, logs, "/file", path.read_bytes())
        check(mode, result, sendfile)
        # while the servers run: their flushers deliver every record (stopping is not a flush)
        counted = counted_bytes(collector.url, "e2e", result.downloads)
        assert counted == result.downloads * DOWNLOAD_BYTES
    finally:
        for server in servers.values():
            server.stop()

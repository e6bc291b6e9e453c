"""HTTP transport against a real receiver on port 0; it never raises."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import SCHEMA_PATH, BatchReceiver

from wsgiscope.transport import HttpTransport, Outcome, classify, retry_after_s


@pytest.fixture
def collector() -> Iterator[BatchReceiver]:
    receiver = BatchReceiver()
    yield receiver
    receiver.close()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.DELIVERED), (202, Outcome.DELIVERED), (400, Outcome.REFUSED),
     (401, Outcome.REFUSED), (413, Outcome.REFUSED), (429, Outcome.RETRY),
     (500, Outcome.RETRY), (503, Outcome.RETRY)],
)
def test_answers_are_classified(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


@pytest.mark.parametrize("use_gzip", [False, True])
def test_delivers_json_plain_or_gzipped(collector: BatchReceiver, use_gzip: bool) -> None:
    body = (SCHEMA_PATH.parents[1] / "vectors" / "valid" / "batch-basic.json").read_bytes()
    transport = HttpTransport(collector.url + "/v1/batches", token="t", gzip=use_gzip)
    assert transport.send(body, 2.0) is Outcome.DELIVERED
    assert collector.batches == [json.loads(body)]


def test_server_error_means_retry(collector: BatchReceiver) -> None:
    collector.status = 503
    assert HttpTransport(collector.url).send(b"{}", 2.0) is Outcome.RETRY


def test_unreachable_collector_means_retry_without_raising() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert HttpTransport(f"http://127.0.0.1:{port}").send(b"{}", 0.5) is Outcome.RETRY


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("7", 7.0), (" 0 ", 0.0), ("100000", 300.0), ("-3", None),
     ("soon", None), ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
     ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0)],
)
def test_retry_after_is_read_as_seconds_or_a_date_and_capped(header: str, seconds: float) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after_s(header, now_unix_s=now) == seconds


@pytest.mark.parametrize(
    ("status", "header", "kept"),
    [(503, "3", 3.0), (429, "1", 1.0), (500, None, None), (202, "5", None), (400, "5", None)],
)
def test_retry_after_is_kept_only_for_retryable_answers(
        status: int, header: str, kept: float) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(status)
            if header is not None:
                self.send_header("Retry-After", header)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        transport = HttpTransport(f"http://127.0.0.1:{server.server_address[1]}/v1/batches")
        transport.send(b"{}", 2.0)
        assert transport.retry_after_s == kept
    finally:
        server.shutdown()
        server.server_close()

"""HTTP transport against a real receiver on port 0; it never raises."""

from __future__ import annotations

import json
import socket
import threading
import time
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


class KeepAliveReceiver:
    """An HTTP/1.1 receiver that counts connections; ``close_after`` answers without saying it
    closes, then closes (like a server's idle keep-alive timeout)."""

    def __init__(self) -> None:
        self.connections = 0
        self.batches = 0
        self.close_after = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                receiver.connections += 1
                super().setup()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.batches += 1
                self.send_response(202)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                self.close_connection = receiver.close_after

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/batches"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_one_connection_is_kept_alive_across_batches() -> None:
    receiver = KeepAliveReceiver()
    try:
        transport = HttpTransport(receiver.url)
        for _ in range(5):
            assert transport.send(b"{}", 2.0) is Outcome.DELIVERED
        assert (receiver.batches, receiver.connections, transport.connections) == (5, 1, 1)
    finally:
        receiver.close()


def test_a_connection_closed_while_idle_is_replaced_and_the_batch_delivered() -> None:
    receiver = KeepAliveReceiver()
    receiver.close_after = True
    try:
        transport = HttpTransport(receiver.url)
        assert transport.send(b"{}", 2.0) is Outcome.DELIVERED
        time.sleep(0.2)  # the receiver has closed it by now
        assert transport.send(b"{}", 2.0) is Outcome.DELIVERED
        assert (receiver.batches, receiver.connections) == (2, 2)
    finally:
        receiver.close()


def test_a_forked_child_opens_its_own_connection() -> None:
    receiver = KeepAliveReceiver()
    try:
        transport = HttpTransport(receiver.url)
        assert transport.send(b"{}", 2.0) is Outcome.DELIVERED
        transport._pid = -1  # as seen from a child: the connection is its parent's
        assert transport.send(b"{}", 2.0) is Outcome.DELIVERED
        assert (receiver.batches, receiver.connections, transport.connections) == (2, 2, 2)
    finally:
        receiver.close()

"""A fake collector that misbehaves on demand, in front of a real one (loopback, port 0).

design: one listening port the shim is pointed at, and a ``mode`` that can change while the
shim runs. ``forward`` relays each batch to the real collector (``upstream``) and relays its
answer, so what the shim delivers is really counted; every other mode is a fault:

* ``refuse``: the port is closed (connection refused); leaving it re-binds the same port.
* ``blackhole``: connections are accepted and never read nor answered (until healed).
* ``slow``: the batch is forwarded after ``delay_s``, so a shim that gave up may re-send it
  (same seq: the real collector counts it once).
* ``error``: answered with ``status`` (500, 503, ...) and, if set, ``Retry-After``.
* ``reset``: accepted, then closed with SO_LINGER 0: the client sees a connection reset.

``attempts`` counts connections per mode, to see how often the shim tried.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, List, Optional
from urllib.parse import urlsplit

MODES = ("forward", "refuse", "blackhole", "slow", "error", "reset")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FaultyCollector:
    def __init__(self, upstream: str, mode: str = "forward", *, delay_s: float = 3.0,
                 status: int = 503, retry_after: Optional[str] = None) -> None:
        self.upstream = urlsplit(upstream)
        if self.upstream.hostname is None:
            raise ValueError(f"no host in upstream {upstream!r}")
        self.upstream_host: str = self.upstream.hostname
        self.delay_s = delay_s
        self.status = status
        self.retry_after = retry_after
        self.attempts: Counter[str] = Counter()
        self._healed = threading.Event()
        self._held: List[socket.socket] = []
        self._lock = threading.Lock()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._bind(0)
        assert self._server is not None
        self.port: int = self._server.server_address[1]
        self.mode: str = "forward"
        self._serve()
        self.set_mode(mode)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- control ---------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {MODES}")
        self.mode = mode
        if mode == "refuse":
            self._close_server()
        elif self._server is None:
            self._bind(self.port)
            self._serve()
        self._healed.set()  # release held connections of the previous mode
        self._healed = threading.Event()

    def close(self) -> None:
        self._healed.set()
        self._close_server()
        with self._lock:
            for sock in self._held:
                with contextlib.suppress(OSError):
                    sock.close()
            self._held.clear()

    # -- plumbing --------------------------------------------------------------------------

    def _bind(self, port: int) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self._server = _Server(("127.0.0.1", port), self._handler_class())
                return
            except OSError:
                if port == 0 or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _serve(self) -> None:
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-accept", daemon=True)
        self._thread.start()

    def _close_server(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
            self._server.server_close()
        self._server, self._thread = None, None

    def _hold(self, sock: socket.socket, healed: threading.Event) -> None:
        with self._lock:
            self._held.append(sock)
        healed.wait(60)

    def _forward(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, List[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream.port, timeout=10)
        try:
            keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection", "content-length")}
            conn.request(method, path, body=body, headers=keep)
            answer = conn.getresponse()
            return answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() == "content-type"], answer.read()
        finally:
            conn.close()

    def _handler_class(self) -> type:
        fault = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                mode, healed = fault.mode, fault._healed
                fault.attempts[mode] += 1
                if mode == "blackhole":
                    fault._hold(self.connection, healed)
                    return
                if mode == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                self.close_connection = True
                self.handle_one_request()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                mode = fault.mode
                if mode == "error":
                    self.send_response(fault.status)
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", fault.retry_after)
                    self._answer([("Content-Type", "application/json")], b'{"error":"fault"}')
                    return
                if mode == "slow":
                    fault._healed.wait(fault.delay_s)
                status, headers, payload = fault._forward("POST", self.path, self.headers, body)
                self.send_response(status)
                self._answer(headers, payload)

            def _answer(self, headers: List[tuple[str, str]], payload: bytes) -> None:
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                with contextlib.suppress(OSError):  # the shim gave up: its retry will be a duplicate
                    self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


# What the start_fault fixture (tests/reliability/conftest.py) returns.
FaultFactory = Callable[..., FaultyCollector]

"""Slow HTTP clients: trickle request bodies, read responses slowly. Loopback, bounded.

Each client thread alternates until the deadline: (1) POST /upload with a body sent in small
pieces spread over ``upload_s``; (2) GET /download of ``download_bytes`` read at
``read_bytes_per_s`` through a small receive buffer, so the server's writes back up. A request
started before the deadline is finished (or times out), so the tail is bounded by one request.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Dict, List

from examples.lab.client import ClientView, combine, from_latencies

PIECES = 16
READ_BYTES = 16 * 1024


def _status(head: bytes) -> int:
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def _connect(port: int, timeout_s: float, rcvbuf: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: sets the window
    sock.settimeout(timeout_s)
    sock.connect(("127.0.0.1", port))
    return sock


def trickle_upload(port: int, body_bytes: int, upload_s: float, timeout_s: float) -> int:
    with _connect(port, timeout_s) as sock:
        sock.sendall(
            f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {body_bytes}\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n".encode()
        )
        piece = b"u" * (body_bytes // PIECES)
        sent = 0
        for i in range(PIECES):
            data = piece if i < PIECES - 1 else b"u" * (body_bytes - sent)
            sock.sendall(data)
            sent += len(data)
            time.sleep(upload_s / PIECES)
        answer = b""
        while True:
            block = sock.recv(65536)
            if not block:
                break
            answer += block
        return _status(answer)


def slow_download(port: int, size: int, read_bytes_per_s: float, timeout_s: float) -> int:
    with _connect(port, timeout_s, rcvbuf=8192) as sock:
        sock.sendall(
            f"GET /download?bytes={size}&chunk=65536 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        first = b""
        started = time.perf_counter()
        received = 0
        while True:
            block = sock.recv(READ_BYTES)
            if not block:
                break
            if not first:
                first = block
            received += len(block)
            ahead = received / read_bytes_per_s - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)
        return _status(first)


def run(
    url: str,
    *,
    clients: int,
    duration_s: float,
    upload_bytes: int,
    upload_s: float,
    download_bytes: int,
    read_bytes_per_s: float,
    timeout_s: float = 20.0,
) -> ClientView:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the lab only loads loopback servers; got {url}")
    port = int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    deadline = time.monotonic() + duration_s
    lock = threading.Lock()
    latencies: Dict[str, List[float]] = {"slow_upload": [], "slow_download": []}
    errors = {"slow_upload": 0, "slow_download": 0}
    bad = {"slow_upload": 0, "slow_download": 0}

    def client() -> None:
        turn = 0
        while time.monotonic() < deadline:
            kind = "slow_upload" if turn % 2 == 0 else "slow_download"
            turn += 1
            started = time.perf_counter()
            try:
                if kind == "slow_upload":
                    status = trickle_upload(port, upload_bytes, upload_s, timeout_s)
                else:
                    status = slow_download(port, download_bytes, read_bytes_per_s, timeout_s)
            except OSError:
                with lock:
                    errors[kind] += 1
                continue
            with lock:
                latencies[kind].append(time.perf_counter() - started)
                if not 200 <= status < 300:
                    bad[kind] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration_s + 2 * timeout_s)
    elapsed = time.perf_counter() - started
    parts = {k: from_latencies("slow", latencies[k], errors[k], bad[k], elapsed) for k in latencies}
    every = [x for values in latencies.values() for x in values]
    total = from_latencies("slow", every, sum(errors.values()), sum(bad.values()), elapsed)
    return combine("slow", total, parts)

"""Thin HTTP transport: POST one encoded batch, classify the answer. Never raises.

DELIVERED on 2xx; RETRY (same batch, same seq, later) on network errors, timeouts, 5xx and
429; REFUSED on any other answer, which would never be accepted. A ``Retry-After`` on a RETRY
answer (seconds or an HTTP date, capped at :data:`MAX_RETRY_AFTER_S`) is kept in
``retry_after_s`` so the agent waits that long before sending again.
"""

from __future__ import annotations

import contextlib
import enum
import gzip as gzip_module
import http.client
import os
import time
from email.utils import parsedate_to_datetime
from typing import Optional, Protocol
from urllib.parse import urlsplit


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


class Transport(Protocol):
    def send(self, body: bytes, timeout_s: float) -> Outcome: ...


MAX_RETRY_AFTER_S = 300.0


def retry_after_s(value: Optional[str], now_unix_s: Optional[float] = None) -> Optional[float]:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or HTTP date), within
    ``[0, MAX_RETRY_AFTER_S]``; None when absent or unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when - (time.time() if now_unix_s is None else now_unix_s)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 429 or status >= 500:
        return Outcome.RETRY
    return Outcome.REFUSED


class HttpTransport:
    """POSTs JSON batches with ``http.client`` over one connection kept alive between batches
    (a new TCP connection, with its handshake and teardown, cost a flush as much CPU as the
    rest of an idle flush). A connection the collector closed while idle fails on reuse: the
    batch is then sent once more on a new connection (the collector drops a batch it already
    has, by worker and seq). A forked child never uses its parent's connection."""

    def __init__(self, url: str, token: Optional[str] = None, gzip: bool = False) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json", "User-Agent": "wsgiscope-shim"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._gzip = gzip
        self.retry_after_s: Optional[float] = None
        if gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._conn: Optional[http.client.HTTPConnection] = None
        self._pid = 0
        self.connections = 0  # opened so far (tests)

    def _connect(self, timeout_s: float) -> tuple[http.client.HTTPConnection, bool]:
        """The kept-alive connection (True) or a new one (False), with this send's timeout."""
        conn = self._conn
        if conn is not None and self._pid == os.getpid() and conn.sock is not None:
            conn.sock.settimeout(timeout_s)
            return conn, True
        self._conn = None  # after fork the socket is the parent's: leave it alone
        conn = (http.client.HTTPSConnection(self._host, self._port, timeout=timeout_s)
                if self._https else
                http.client.HTTPConnection(self._host, self._port, timeout=timeout_s))
        self._conn, self._pid = conn, os.getpid()
        self.connections += 1
        return conn, False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                conn.close()

    def send(self, body: bytes, timeout_s: float) -> Outcome:
        payload = gzip_module.compress(body, compresslevel=5) if self._gzip else body
        self.retry_after_s = None
        deadline = time.monotonic() + timeout_s
        for _attempt in range(2):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Outcome.RETRY
            try:
                conn, reused = self._connect(remaining)
            except Exception:
                return Outcome.RETRY
            try:
                conn.request("POST", self._path, body=payload, headers=self._headers)
                response = conn.getresponse()
                response.read()
            except Exception:
                self._drop()
                if reused:
                    continue  # closed by the collector while idle: once more, on a new one
                return Outcome.RETRY
            if response.will_close:
                self._drop()
            outcome = classify(response.status)
            if outcome is Outcome.RETRY:
                self.retry_after_s = retry_after_s(response.getheader("Retry-After"))
            return outcome
        return Outcome.RETRY

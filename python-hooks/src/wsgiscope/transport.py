"""Thin HTTP transport: POST one encoded batch, classify the answer. Never raises.

DELIVERED on 2xx; RETRY (same batch, same seq, later) on network errors, timeouts, 5xx and
429; REFUSED on any other answer, which would never be accepted. A ``Retry-After`` on a RETRY
answer (seconds or an HTTP date, capped at :data:`MAX_RETRY_AFTER_S`) is kept in
``retry_after_s`` so the agent waits that long before sending again.
"""

from __future__ import annotations

import enum
import gzip as gzip_module
import http.client
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
    """POSTs JSON batches with ``http.client``; a new connection per batch (one per second)."""

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

    def send(self, body: bytes, timeout_s: float) -> Outcome:
        payload = gzip_module.compress(body, compresslevel=5) if self._gzip else body
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=timeout_s)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)
        self.retry_after_s = None
        try:
            conn.request("POST", self._path, body=payload, headers=self._headers)
            response = conn.getresponse()
            response.read()
            outcome = classify(response.status)
            if outcome is Outcome.RETRY:
                self.retry_after_s = retry_after_s(response.getheader("Retry-After"))
            return outcome
        except Exception:
            return Outcome.RETRY
        finally:
            conn.close()

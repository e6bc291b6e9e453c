"""POST bodies to a collector's ingest endpoint and read its answer (loopback, no retries)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _connect(url: str, timeout_s: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"no host in {url!r}")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)


def post(url: str, body: bytes, headers: Optional[Dict[str, str]] = None, path: str = "/v1/batches",
         timeout_s: float = 10.0) -> Answer:
    conn = _connect(url, timeout_s)
    try:
        sent = {"Content-Type": "application/json", **(headers or {})}
        conn.request("POST", path, body=body, headers=sent)
        answer = conn.getresponse()
        return Answer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    finally:
        conn.close()


def get(url: str, path: str, headers: Optional[Dict[str, str]] = None, timeout_s: float = 10.0) -> Answer:
    conn = _connect(url, timeout_s)
    try:
        conn.request("GET", path, headers=headers or {})
        answer = conn.getresponse()
        return Answer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    finally:
        conn.close()


def batch_body(batch: Any) -> bytes:
    return json.dumps(batch, separators=(",", ":")).encode()

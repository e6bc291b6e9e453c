"""The request mix the live dashboard tests send: one of every scenario the panels are about
(queueing, sleeping, CPU, a long tail, uploads, streamed downloads, and /error, a 500), light
enough for a shared 2-core machine."""

from __future__ import annotations

from wsgiscope_harness.load import Request

PANEL_MIX = (
    Request("GET", "/hello", stamp_queue_start=True),
    Request("GET", "/sleep?ms=20", stamp_queue_start=True),
    Request("GET", "/cpu?ms=3"),
    Request("GET", "/mixed?every=4&long_ms=60&short_ms=2", stamp_queue_start=True),
    Request("POST", "/upload", body_bytes=32 * 1024),
    Request("GET", "/download?bytes=131072&chunk=16384"),
    Request("GET", "/error"),
)

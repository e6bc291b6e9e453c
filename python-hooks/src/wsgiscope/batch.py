"""Pure conversion of records and samples into a protocol v1 batch (see docs/protocol.md).

Values are clamped into what the schema accepts, so one odd request can never get a whole
batch refused: negative durations become 0, a status outside 100-599 becomes 500, an empty
or oversized method is folded to ``_OTHER``, long strings are cut.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

from .queue_time import queue_us
from .record import Record

PROTOCOL_VERSION = 1

COLUMNS = (
    "start_unix_us", "method", "status", "duration_us", "queue_us", "read_us", "app_us",
    "first_byte_us", "write_us", "cpu_us", "bytes_in", "bytes_out", "error", "thread",
)


def _cut(value: Optional[str], limit: int) -> Optional[str]:
    return None if value is None else value[:limit]


def encode_requests(
    records: Sequence[Record], anchor_perf_ns: int, anchor_unix_us: int, routes: bool
) -> dict[str, list[Any]]:
    """Columnar ``requests`` object; ``anchor_*`` maps perf_ns stamps to Unix time."""
    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    if routes:
        cols["route"] = []
    for (t0, method, route, status, t_app, t_first, t_end, read_ns, write_ns, cpu_ns,
         bytes_in, bytes_out, error, lane, queue_raw) in records:
        start_us = max(0, anchor_unix_us + (t0 - anchor_perf_ns) // 1000)
        duration = max(0, t_end - t0) // 1000
        cols["start_unix_us"].append(start_us)
        cols["method"].append(method if 0 < len(method) <= 32 else "_OTHER")
        cols["status"].append(status if 100 <= status <= 599 else 500)
        cols["duration_us"].append(duration)
        cols["queue_us"].append(queue_us(queue_raw, start_us))
        cols["read_us"].append(max(0, read_ns) // 1000)
        cols["app_us"].append(min(duration, max(0, t_app - t0) // 1000))
        cols["first_byte_us"].append(
            min(duration, max(0, t_first - t0) // 1000) if t_first else None
        )
        cols["write_us"].append(max(0, write_ns) // 1000)
        cols["cpu_us"].append(max(0, cpu_ns) // 1000 if cpu_ns >= 0 else None)
        cols["bytes_in"].append(max(0, bytes_in))
        cols["bytes_out"].append(max(0, bytes_out))
        cols["error"].append(_cut(error, 128))
        cols["thread"].append(min(lane, 1_000_000))
        if routes:
            cols["route"].append(_cut(route, 256))
    return cols


def make_batch(
    resource: dict[str, Any], seq: int, requests: dict[str, list[Any]],
    samples: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "protocol_version": PROTOCOL_VERSION,
        "resource": resource,
        "seq": seq,
        "requests": requests,
        "samples": samples,
    }


def to_json(batch: dict[str, Any]) -> bytes:
    return json.dumps(batch, separators=(",", ":"), allow_nan=False).encode("utf-8")

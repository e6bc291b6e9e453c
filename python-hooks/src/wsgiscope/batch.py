"""Pure conversion of records and samples into a protocol v1 batch (see docs/protocol.md).

Values are clamped into what the schema accepts, so one odd request can never get a whole
batch refused: negative durations become 0, a status outside 100-599 becomes 500, an empty
or oversized method is folded to ``_OTHER``, long strings are cut.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from .queue_time import queue_us
from .record import Record

PROTOCOL_VERSION = 1

COLUMNS = (
    "start_unix_us", "method", "status", "duration_us", "queue_us", "read_us", "app_us",
    "first_byte_us", "write_us", "cpu_us", "bytes_in", "bytes_out", "error", "thread",
)


def _within(elapsed_ns: int, duration_us: int) -> int:
    """``elapsed_ns`` in microseconds, clamped to ``0 .. duration_us``."""
    us = elapsed_ns // 1000 if elapsed_ns > 0 else 0
    return us if us < duration_us else duration_us


def encode_requests(
    records: Sequence[Record], anchor_perf_ns: int, anchor_unix_us: int, routes: bool
) -> dict[str, list[Any]]:
    """Columnar ``requests`` object; ``anchor_*`` maps perf_ns stamps to Unix time.

    Built column by column (``zip(*records)`` transposes in C): this runs on the flusher
    thread, which shares the GIL with the request threads, so its cost per record matters.
    """
    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    if routes:
        cols["route"] = []
    if not records:
        return cols
    (t0s, methods, route_col, statuses, t_apps, t_firsts, t_ends, read_ns, write_ns, cpu_ns,
     bytes_in, bytes_out, errors, lanes, queue_raw) = zip(*records)
    # Conditional expressions rather than max()/min(): builtin calls dominate this loop.
    starts = [s if s > 0 else 0
              for s in [anchor_unix_us + (t0 - anchor_perf_ns) // 1000 for t0 in t0s]]
    durations = [(end - t0) // 1000 if end > t0 else 0 for t0, end in zip(t0s, t_ends)]
    cols["start_unix_us"] = starts
    cols["method"] = [m if 0 < len(m) <= 32 else "_OTHER" for m in methods]
    cols["status"] = [s if 100 <= s <= 599 else 500 for s in statuses]
    cols["duration_us"] = durations
    cols["queue_us"] = [None if raw is None else queue_us(raw, start)
                        for raw, start in zip(queue_raw, starts)]
    cols["read_us"] = [ns // 1000 if ns > 0 else 0 for ns in read_ns]
    cols["app_us"] = [_within(t - t0, d) for d, t, t0 in zip(durations, t_apps, t0s)]
    cols["first_byte_us"] = [_within(t - t0, d) if t else None
                             for d, t, t0 in zip(durations, t_firsts, t0s)]
    cols["write_us"] = [ns // 1000 if ns > 0 else 0 for ns in write_ns]
    cols["cpu_us"] = [ns // 1000 if ns >= 0 else None for ns in cpu_ns]
    cols["bytes_in"] = [n if n > 0 else 0 for n in bytes_in]
    cols["bytes_out"] = [n if n > 0 else 0 for n in bytes_out]
    cols["error"] = [None if e is None else e[:128] for e in errors]
    cols["thread"] = [lane if lane < 1_000_000 else 1_000_000 for lane in lanes]
    if routes:
        cols["route"] = [None if r is None else r[:256] for r in route_col]
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

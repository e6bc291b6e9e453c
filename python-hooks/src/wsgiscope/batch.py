"""Pure conversion of records and samples into a protocol v2 batch (see docs/protocol.md).

Values are clamped into what the schema accepts, so one odd request can never get a whole
batch refused: negative durations become 0, a status outside 100-599 becomes 500, an empty
or oversized method is folded to ``_OTHER``, long strings are cut.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from .queue_time import queue_us
from .record import Record

PROTOCOL_VERSION = 2

COLUMNS = (
    "start_unix_us", "method", "status", "duration_us", "queue_us", "read_us", "app_us",
    "gen_us", "first_byte_us", "write_us", "cpu_us", "bytes_in", "bytes_out", "error", "thread",
)


def _within(elapsed_ns: int, duration_us: int) -> int:
    """``elapsed_ns`` in microseconds, clamped to ``0 .. duration_us``."""
    us = elapsed_ns // 1000 if elapsed_ns > 0 else 0
    return us if us < duration_us else duration_us


def encode_requests(
    records: Sequence[Record], anchor_perf_ns: int, anchor_unix_us: int
) -> dict[str, list[Any]]:
    """Columnar ``requests`` object; ``anchor_*`` maps perf_ns stamps to Unix time. The
    ``route`` column is sent when a record has a route.

    Built column by column (``zip(*records)`` transposes in C): this runs on the flusher
    thread, which shares the GIL with the request threads, so its cost per record matters.
    """
    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    if not records:
        return cols
    # in wsgiscope.record.FIELDS order
    (t0s, methods, route_col, statuses, t_apps, t_firsts, t_ends, read_ns, write_ns, cpu_ns,
     bytes_in, bytes_out, errors, lanes, queue_raw, app_io_ns, gen_ns) = zip(*records)
    # Conditional expressions rather than max()/min() or a helper: calls dominate these loops.
    starts = [anchor_unix_us + (t0 - anchor_perf_ns) // 1000 for t0 in t0s]
    if min(starts) < 0:  # only with odd anchors
        starts = [s if s > 0 else 0 for s in starts]
    durations = [(end - t0) // 1000 if end > t0 else 0 for t0, end in zip(t0s, t_ends)]
    # Columns that are constant in most batches (no body, no error, no queue header, names and
    # statuses in range) are checked in C (any, count, set) and built without a per-record step.
    n = len(records)
    cols["start_unix_us"] = starts
    cols["method"] = (list(methods) if all(0 < len(m) <= 32 for m in set(methods))
                      else [m if 0 < len(m) <= 32 else "_OTHER" for m in methods])
    cols["status"] = (list(statuses) if all(100 <= s <= 599 for s in set(statuses))
                      else [s if 100 <= s <= 599 else 500 for s in statuses])
    cols["duration_us"] = durations
    cols["queue_us"] = ([None] * n if queue_raw.count(None) == n else
                        [None if raw is None else queue_us(raw, start)
                         for raw, start in zip(queue_raw, starts)])
    cols["read_us"] = [ns // 1000 if ns > 0 else 0 for ns in read_ns] if any(read_ns) else [0] * n
    app_io = any(app_io_ns)
    if app_io:
        cols["app_us"] = [_within(t - t0 - io, d)
                          for d, t, t0, io in zip(durations, t_apps, t0s, app_io_ns)]
    else:  # _within(t - t0, d), inline
        cols["app_us"] = [(us if us < d else d) if (us := (t - t0) // 1000) > 0 else 0
                          for d, t, t0 in zip(durations, t_apps, t0s)]
    cols["gen_us"] = ([_within(ns, d) for d, ns in zip(durations, gen_ns)] if any(gen_ns)
                      else [0] * n)
    if not app_io and t_firsts == t_apps and 0 not in t_firsts:
        # every body was ready at the app's return (lists, files): the same values as app_us
        cols["first_byte_us"] = list(cols["app_us"])
    else:
        cols["first_byte_us"] = [_within(t - t0, d) if t else None
                                 for d, t, t0 in zip(durations, t_firsts, t0s)]
    cols["write_us"] = [ns // 1000 if ns > 0 else 0 for ns in write_ns]
    cols["cpu_us"] = [ns // 1000 if ns >= 0 else None for ns in cpu_ns]
    cols["bytes_in"] = [b if b > 0 else 0 for b in bytes_in] if any(bytes_in) else [0] * n
    cols["bytes_out"] = [b if b > 0 else 0 for b in bytes_out]
    cols["error"] = ([None] * n if errors.count(None) == n
                     else [None if e is None else e[:128] for e in errors])
    cols["thread"] = (list(lanes) if max(lanes) < 1_000_000
                      else [lane if lane < 1_000_000 else 1_000_000 for lane in lanes])
    if any(r is not None for r in route_col):
        cols["route"] = [None if r is None else r[:256] for r in route_col]
    return cols


def encode_traces(traces: Sequence[dict[str, Any]], anchor_perf_ns: int,
                  anchor_unix_us: int) -> list[dict[str, Any]]:
    """Requests captured whole (see :mod:`wsgiscope.traces`) as protocol-v2 ``traces``."""
    out = []
    for t in traces:
        start = max(0, anchor_unix_us + (t["perf_ns"] - anchor_perf_ns) // 1000)
        queue = None if t["queue_raw"] is None else queue_us(t["queue_raw"], start)
        method = t["method"]
        out.append({
            "start_unix_us": start,
            "duration_us": max(0, t["duration_ns"] // 1000),
            "method": method if 0 < len(method) <= 32 else "_OTHER",
            "route": None if t["route"] is None else t["route"][:256],
            "status": t["status"] if 100 <= t["status"] <= 599 else 500,
            "thread": min(t["thread"], 1_000_000),
            "reason": t["reason"],
            "traceparent": t["traceparent"],
            "error": None if t["error"] is None else t["error"][:128],
            "phases": {
                "queue": [-queue, 0, queue] if queue else None,
                "read_body": t["read_body"],
                "app": t["app"],
                "generate": t["generate"],
                "write": t["write"],
            },
        })
    return out


def make_batch(
    resource: dict[str, Any], seq: int, requests: dict[str, list[Any]],
    samples: list[dict[str, Any]], traces: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    batch = {
        "protocol_version": PROTOCOL_VERSION,
        "resource": resource,
        "seq": seq,
        "requests": requests,
        "samples": samples,
    }
    if traces:
        batch["traces"] = list(traces)
    return batch


_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _column_json(values: Any) -> str:
    """One column as JSON. A constant column (no body, no error, no queue header: most of a
    typical batch's read, generate, bytes-in, queue and error columns) is written as one value
    repeated by ``str.join`` in C, ~5 ns a value instead of the encoder's 20-80."""
    if isinstance(values, list) and len(values) > 1:
        first = values[0]
        kind = type(first)
        # most varying columns differ at their ends: no count() scan for them
        if ((kind is int or kind is str or first is None) and values[-1] == first
                and values.count(first) == len(values)):
            return "[" + ",".join([_dumps(first)] * len(values)) + "]"
    return _dumps(values)


def to_json(batch: dict[str, Any]) -> bytes:
    """The batch as compact JSON: the same bytes as ``json.dumps(batch, separators=(",", ":"),
    allow_nan=False)``, with the request columns written by :func:`_column_json`."""
    requests = batch.get("requests")
    if not isinstance(requests, dict):
        return _dumps(batch).encode("utf-8")
    parts = []
    for key, value in batch.items():
        if key == "requests":
            text = "{" + ",".join(f"{_dumps(name)}:{_column_json(column)}"
                                  for name, column in requests.items()) + "}"
        else:
            text = _dumps(value)
        parts.append(f"{_dumps(key)}:{text}")
    return ("{" + ",".join(parts) + "}").encode("utf-8")

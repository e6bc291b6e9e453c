"""Encoding keeps every value inside the schema, so one odd request never spoils a batch."""

from __future__ import annotations

import json
import random
from typing import Any

from support import validate_batch

from wsgiscope.batch import encode_requests, make_batch, to_json
from wsgiscope.queue_time import queue_us
from wsgiscope.record import FIELDS, Record

RESOURCE = {
    "service_name": "s", "server": "unknown", "server_version": "", "worker_class": "",
    "python_version": "3", "shim_version": "0", "host": "h", "pid": 1, "worker": "h:1",
    "started_unix_us": 0, "capacity_threads": 1, "capacity_processes": None,
    "capacity_source": "default", "detected_capacity_threads": None, "cpu_attributable": True,
}


def test_out_of_range_values_are_clamped() -> None:
    odd = (1000, "", "r" * 300, 999, 500, 9000, 100, -5, -1, -1, 0, 0, "E" * 200, 3, "junk",
           -7, -3)
    cols = encode_requests([odd], anchor_perf_ns=0, anchor_unix_us=10)
    assert cols["method"] == ["_OTHER"] and cols["status"] == [500]
    assert cols["duration_us"] == [0] and cols["first_byte_us"] == [0]
    assert cols["read_us"] == [0] and cols["cpu_us"] == [None]
    assert len(cols["route"][0]) == 256 and len(cols["error"][0]) == 128
    assert cols["queue_us"] == [None] and cols["app_us"] == [0] and cols["gen_us"] == [0]
    validate_batch(make_batch(RESOURCE, 0, cols, []))


def test_record_fields_are_named_once_and_encoded_in_that_order() -> None:
    values = {"start_ns": 2_000_000, "method": "PUT", "route": "/r", "status": 204,
              "app_end_ns": 5_000_000, "first_byte_ns": 6_000_000, "end_ns": 9_000_000,
              "read_ns": 1_000_000, "write_ns": 500_000, "cpu_ns": 700_000, "bytes_in": 3,
              "bytes_out": 4, "error": "E", "lane": 2, "queue_raw": None,
              "app_io_ns": 1_000_000, "gen_ns": 1_500_000}
    assert tuple(values) == FIELDS and len(Record.__args__) == len(FIELDS)  # type: ignore[attr-defined]
    record: Record = tuple(values.values())  # type: ignore[assignment]
    cols = encode_requests([record], anchor_perf_ns=0, anchor_unix_us=0)
    assert {name: column[0] for name, column in cols.items()} == {
        "start_unix_us": 2000, "method": "PUT", "route": "/r", "status": 204,
        "duration_us": 7000, "queue_us": None, "read_us": 1000, "app_us": 2000, "gen_us": 1500,
        "first_byte_us": 4000, "write_us": 500, "cpu_us": 700, "bytes_in": 3, "bytes_out": 4,
        "error": "E", "thread": 2}


def test_json_is_the_standard_encoders_bytes_with_constant_columns_written_fast() -> None:
    def record(i: int) -> Record:
        return (1000 * i, ["GET", "PÖST"][i % 2], None, 200, 1000 * i + 50, 0, 1000 * i + 90,
                0, 40, -1 if i % 3 else 7, 0, 13 * i, None, i % 4, None, 0, 0)

    for n in (0, 1, 2, 500):
        cols = encode_requests([record(i) for i in range(n)], anchor_perf_ns=0,
                               anchor_unix_us=10)
        batch = make_batch(RESOURCE, 4, cols, [{"sample": 1.5, "lags": []}],
                           [{"route": "/é\"\\\n"}])
        expected = json.dumps(batch, separators=(",", ":"), allow_nan=False).encode("utf-8")
        assert to_json(batch) == expected
    assert to_json({"no": "requests"}) == b'{"no":"requests"}'


def _reference_columns(records: list[Record], anchor_perf_ns: int,
                       anchor_unix_us: int) -> dict[str, list[Any]]:
    """The encoding written plainly, record by record: the oracle for the column-wise one."""
    def within(elapsed_ns: int, duration_us: int) -> int:
        return min(max(elapsed_ns // 1000, 0), duration_us)

    cols: dict[str, list[Any]] = {}
    for r in records:
        (t0, method, route, status, t_app, t_first, t_end, read_ns, write_ns, cpu_ns, b_in,
         b_out, error, lane, queue_raw, app_io_ns, gen_ns) = r
        start = max(anchor_unix_us + (t0 - anchor_perf_ns) // 1000, 0)
        duration = max((t_end - t0) // 1000, 0)
        values = {
            "start_unix_us": start,
            "method": method if 0 < len(method) <= 32 else "_OTHER",
            "status": status if 100 <= status <= 599 else 500,
            "duration_us": duration,
            "queue_us": None if queue_raw is None else queue_us(queue_raw, start),
            "read_us": max(read_ns // 1000, 0),
            "app_us": within(t_app - t0 - app_io_ns, duration),
            "gen_us": within(gen_ns, duration),
            "first_byte_us": within(t_first - t0, duration) if t_first else None,
            "write_us": max(write_ns // 1000, 0),
            "cpu_us": cpu_ns // 1000 if cpu_ns >= 0 else None,
            "bytes_in": max(b_in, 0),
            "bytes_out": max(b_out, 0),
            "error": None if error is None else error[:128],
            "thread": min(lane, 1_000_000),
            "route": None if route is None else route[:256],
        }
        for name, value in values.items():
            cols.setdefault(name, []).append(value)
    if all(r is None for r in cols.get("route", [])):
        cols.pop("route", None)
    return cols


def _random_record(rng: random.Random, odd: bool, ready: bool, app_io: bool) -> Record:
    t0 = rng.randrange(1, 10**13)
    if odd:  # short, with stamps out of order: every clamp is needed
        t_end = t0 + rng.randrange(-2000, 20_000)
        t_app = t0 + rng.randrange(-1500, max(1, t_end - t0 + 3000))
    else:
        t_end = t0 + rng.randrange(0, 10**8)
        t_app = t0 + rng.randrange(0, t_end - t0 + 1)
    t_first = t_app if ready else rng.choice([0, t_app + rng.randrange(0, 10**6)])
    low = -5000 if odd else 0

    def small() -> int:
        return rng.randrange(low, 10**6)

    return (
        t0, rng.choice(["GET", "POST", "", "X" * 40] if odd else ["GET", "POST"]),
        rng.choice([None, "/a/<id>", "r" * 300] if odd else [None, "/a/<id>"]),
        rng.choice([200, 404, 99, 600] if odd else [200, 204, 500]), t_app, t_first, t_end,
        rng.choice([0, small()]), small(), rng.choice([-1, small()]), rng.choice([0, small()]),
        small(), rng.choice([None, "E" * rng.randrange(1, 200)]),
        rng.choice([0, 3, 2_000_000] if odd else [0, 1, 2, 3]),
        rng.choice([None, "t=1767225601.123", "junk"]) if odd else None,
        rng.choice([0, small()]) if app_io else 0, rng.choice([0, small()]),
    )


def test_column_wise_encoding_equals_the_plain_one_record_by_record() -> None:
    rng = random.Random(1307)
    for batch_no in range(400):
        odd, ready, app_io = batch_no % 2 == 0, batch_no % 4 < 2, batch_no % 8 < 4
        records = [_random_record(rng, odd, ready, app_io) for _ in range(rng.randrange(1, 40))]
        anchor_perf, anchor_unix = rng.randrange(0, 10**13), rng.choice([10, 1_780_000_000 * 10**6])
        assert encode_requests(records, anchor_perf, anchor_unix) == _reference_columns(
            records, anchor_perf, anchor_unix), (batch_no, records)

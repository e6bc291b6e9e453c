"""Encoding keeps every value inside the schema, so one odd request never spoils a batch."""

from __future__ import annotations

import json

from support import validate_batch

from wsgiscope.batch import encode_requests, make_batch, to_json
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

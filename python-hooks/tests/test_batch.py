"""Encoding keeps every value inside the schema, so one odd request never spoils a batch."""

from __future__ import annotations

from support import validate_batch

from wsgiscope.batch import encode_requests, make_batch

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

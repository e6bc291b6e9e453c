"""Regenerate the hand-designed protocol test vectors.

    python3 packages/protocol/scripts/make_vectors.py

Valid vectors are complete batches. Invalid vectors are
``{"description", "status", "field", "body" | "raw"}``: the collector must answer
``status`` with a JSON body whose ``field`` starts with the vector's ``field``.
Vectors named ``shim-*.json`` are written by the Python test-suite's own generator
(python-hooks/tests/vectors.py), not by this script.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent.parent / "vectors"

RESOURCE: dict[str, Any] = {
    "service_name": "shop",
    "server": "gunicorn",
    "server_version": "23.0.0",
    "worker_class": "gthread",
    "python_version": "3.11.7",
    "shim_version": "0.1.0",
    "host": "web-1",
    "pid": 4242,
    "worker": "web-1:4242",
    "started_unix_us": 1767225600000000,
    "capacity_threads": 4,
    "capacity_processes": 2,
    "capacity_source": "detected",
    "cpu_attributable": True,
}

REQUESTS: dict[str, list[Any]] = {
    "start_unix_us": [1767225601000000, 1767225601000500, 1767225601200000],
    "method": ["GET", "POST", "GET"],
    "status": [200, 201, 500],
    "duration_us": [201000, 5300, 1200],
    "queue_us": [1500, None, 0],
    "read_us": [0, 4100, 0],
    "app_us": [200500, 5000, 1100],
    "first_byte_us": [200600, 5100, None],
    "write_us": [400, 200, 0],
    "cpu_us": [900, 4800, 300],
    "bytes_in": [0, 65536, 0],
    "bytes_out": [13, 2, 0],
    "error": [None, None, "ZeroDivisionError"],
    "thread": [0, 1, 0],
}

SAMPLE: dict[str, Any] = {
    "time_unix_us": 1767225602000000,
    "active_requests": 1,
    "busy_threads": 1,
    "busy_thread_us": 206200,
    "oldest_request_age_us": 3000,
    "cpu_user_us": 120000,
    "cpu_system_us": 30000,
    "rss_bytes": 41943040,
    "os_threads": 6,
    "gc_collections": 12,
    "sampler_lag_us": [120, 95, 4000],
    "dropped_records": 0,
}


def base() -> dict[str, Any]:
    return {
        "protocol_version": 1,
        "resource": copy.deepcopy(RESOURCE),
        "seq": 0,
        "requests": copy.deepcopy(REQUESTS),
        "samples": [copy.deepcopy(SAMPLE)],
    }


def empty_requests() -> dict[str, list[Any]]:
    return {k: [] for k in REQUESTS}


def variant(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = base()
    change(body)
    return body


def valid() -> dict[str, dict[str, Any]]:
    def samples_only(b: dict[str, Any]) -> None:
        b["requests"] = empty_requests()
        b["seq"] = 7

    def with_routes(b: dict[str, Any]) -> None:
        b["requests"]["route"] = ["/items/{id}", None, "/checkout"]

    def greenlets(b: dict[str, Any]) -> None:
        b["resource"].update(
            worker_class="gevent", capacity_threads=1000, cpu_attributable=False
        )
        b["requests"]["cpu_us"] = [None, None, None]

    def configured(b: dict[str, Any]) -> None:
        b["resource"].update(
            server="waitress",
            server_version="3.0.2",
            worker_class="",
            capacity_threads=4,
            capacity_processes=None,
            capacity_source="configured",
        )
        b["samples"][0]["listen_backlog"] = 3
        b["samples"][0]["dropped_records"] = 250

    def requests_only(b: dict[str, Any]) -> None:
        b["samples"] = []

    return {
        "batch-basic": base(),
        "batch-samples-only": variant(samples_only),
        "batch-with-routes": variant(with_routes),
        "batch-greenlets-no-cpu": variant(greenlets),
        "batch-configured-capacity": variant(configured),
        "batch-requests-only": variant(requests_only),
    }


def invalid() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def add(name: str, description: str, field: str, change: Callable[[dict[str, Any]], None],
            status: int = 400) -> None:
        out[name] = {
            "description": description,
            "status": status,
            "field": field,
            "body": variant(change),
        }

    def set_path(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
        def change(b: dict[str, Any]) -> None:
            node: Any = b
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        return change

    def delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
        def change(b: dict[str, Any]) -> None:
            node: Any = b
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]
        return change

    add("unknown-version", "protocol version 2 is not supported", "protocol_version",
        set_path(["protocol_version"], 2))
    add("version-as-string", "protocol_version must be the number 1", "protocol_version",
        set_path(["protocol_version"], "1"))
    add("missing-resource", "resource is required", "resource", delete(["resource"]))
    add("missing-service-name", "resource.service_name is required", "resource.service_name",
        delete(["resource", "service_name"]))
    add("empty-service-name", "service_name may not be empty", "resource.service_name",
        set_path(["resource", "service_name"], ""))
    add("capacity-zero", "capacity_threads must be at least 1", "resource.capacity_threads",
        set_path(["resource", "capacity_threads"], 0))
    add("bad-capacity-source", "capacity_source is an enum", "resource.capacity_source",
        set_path(["resource", "capacity_source"], "guessed"))
    add("negative-seq", "seq must not be negative", "seq", set_path(["seq"], -1))
    add("unknown-top-level-field", "unknown fields are refused (typos must not pass silently)",
        "extra", set_path(["extra"], 1))
    add("missing-column", "every request column is required", "requests.status",
        delete(["requests", "status"]))
    add("negative-duration", "durations must not be negative", "requests.duration_us[1]",
        set_path(["requests", "duration_us", 1], -5))
    add("fractional-duration", "durations are integer microseconds", "requests.app_us[0]",
        set_path(["requests", "app_us", 0], 1.5))
    add("status-out-of-range", "status must be 100-599", "requests.status[2]",
        set_path(["requests", "status", 2], 999))
    add("status-as-string", "status must be an integer", "requests.status[0]",
        set_path(["requests", "status", 0], "200"))
    add("column-length-mismatch", "all request columns must have the same length",
        "requests.method", set_path(["requests", "method"], ["GET", "POST"]))
    add("first-byte-after-end", "first_byte_us cannot exceed duration_us",
        "requests.first_byte_us[0]", set_path(["requests", "first_byte_us", 0], 999999))
    add("null-in-non-nullable-column", "read_us may not be null", "requests.read_us[0]",
        set_path(["requests", "read_us", 0], None))
    add("samples-not-array", "samples must be an array", "samples",
        set_path(["samples"], {"busy_threads": 1}))
    add("sample-missing-field", "each sample needs busy_thread_us", "samples[0].busy_thread_us",
        delete(["samples", 0, "busy_thread_us"]))
    add("sample-negative-rss", "rss_bytes must not be negative", "samples[0].rss_bytes",
        set_path(["samples", 0, "rss_bytes"], -1))
    add("empty-object", "an empty object lacks protocol_version", "protocol_version",
        lambda b: b.clear())
    out["body-is-array"] = {
        "description": "the body must be a JSON object, not an array",
        "status": 400,
        "field": "",
        "body": [base()],
    }
    out["malformed-json"] = {
        "description": "a body that is not JSON",
        "status": 400,
        "field": "",
        "raw": '{"protocol_version": 1, "resource": ',
    }
    return out


def main() -> None:
    for kind, vectors in (("valid", valid()), ("invalid", invalid())):
        folder = HERE / kind
        folder.mkdir(parents=True, exist_ok=True)
        for name, body in vectors.items():
            (folder / f"{name}.json").write_text(json.dumps(body, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Regenerate the hand-designed protocol test vectors.

    python3 packages/protocol/scripts/make_vectors.py

Valid vectors are complete batches: ``batch-*`` of protocol version 1 (still accepted),
``v2-*`` of version 2. Invalid vectors are
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


# Version 2: app_us excludes body reads, gen_us is the time producing the body.
GEN_US = [0, 0, 0]
APP_US_V2 = [200500, 900, 1100]

TRACE: dict[str, Any] = {
    "start_unix_us": 1767225601000000,
    "duration_us": 201000,
    "method": "GET",
    "route": "/items/<int:id>",
    "status": 200,
    "thread": 0,
    "reason": "slow",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "error": None,
    "phases": {
        "queue": [-1500, 0, 1500],
        "read_body": None,
        "app": [0, 200500, 200500],
        "generate": [200500, 200600, 100],
        "write": [200600, 201000, 400],
    },
}


def base(version: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {
        "protocol_version": version,
        "resource": copy.deepcopy(RESOURCE),
        "seq": 0,
        "requests": copy.deepcopy(REQUESTS),
        "samples": [copy.deepcopy(SAMPLE)],
    }
    if version == 2:
        body["resource"]["detected_capacity_threads"] = None
        requests: dict[str, list[Any]] = {}
        for name, column in body["requests"].items():
            requests[name] = APP_US_V2[:] if name == "app_us" else column
            if name == "app_us":
                requests["gen_us"] = GEN_US[:]
        body["requests"] = requests
    return body


def empty_requests(version: int = 1) -> dict[str, list[Any]]:
    return {k: [] for k in base(version)["requests"]}


def variant(change: Callable[[dict[str, Any]], None], version: int = 1) -> dict[str, Any]:
    body = base(version)
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

    def v2_samples_only(b: dict[str, Any]) -> None:
        b["requests"] = empty_requests(2)
        b["seq"] = 7

    def v2_streamed(b: dict[str, Any]) -> None:
        # 10 chunks x 50 ms produced inside the iterable: the time is gen_us, not app_us
        b["requests"]["app_us"][0] = 300
        b["requests"]["gen_us"][0] = 500000
        b["requests"]["duration_us"][0] = 501000
        b["requests"]["first_byte_us"][0] = 50400
        b["requests"]["write_us"][0] = 700

    def unbounded(b: dict[str, Any]) -> None:
        b["resource"].update(server="django", server_version="5.2.19", worker_class="runserver",
                             capacity_threads=None, capacity_processes=1,
                             capacity_source="unbounded")

    def configured_over_detected(b: dict[str, Any]) -> None:
        b["resource"].update(capacity_threads=8, capacity_source="configured",
                             detected_capacity_threads=4)

    def traced(b: dict[str, Any]) -> None:
        sampled = copy.deepcopy(TRACE)
        sampled.update(reason="sampled", traceparent=None, route=None, duration_us=5300,
                       method="POST", status=201, thread=1, start_unix_us=1767225601000500)
        sampled["phases"] = {"queue": None, "read_body": [10, 4110, 4100], "app": [0, 5000, 900],
                             "generate": None, "write": [5100, 5300, 200]}
        b["traces"] = [copy.deepcopy(TRACE), sampled]
        b["requests"]["route"] = ["/items/<int:id>", None, None]

    def scheduler_and_sockets(b: dict[str, Any]) -> None:
        b["samples"][0].update(
            sched_run_us=150000, sched_wait_us=2200, dropped_traces=0,
            listen=[{"address": "127.0.0.1:8000", "queued": 3, "limit": 2048},
                    {"address": "[::1]:8000", "queued": 0, "limit": None}])

    return {
        "batch-basic": base(),
        "batch-samples-only": variant(samples_only),
        "batch-with-routes": variant(with_routes),
        "batch-greenlets-no-cpu": variant(greenlets),
        "batch-configured-capacity": variant(configured),
        "batch-requests-only": variant(requests_only),
        "v2-basic": base(2),
        "v2-samples-only": variant(v2_samples_only, 2),
        "v2-streamed-body": variant(v2_streamed, 2),
        "v2-unbounded-capacity": variant(unbounded, 2),
        "v2-configured-over-detected": variant(configured_over_detected, 2),
        "v2-traces": variant(traced, 2),
        "v2-scheduler-and-sockets": variant(scheduler_and_sockets, 2),
    }


def invalid() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def add(name: str, description: str, field: str, change: Callable[[dict[str, Any]], None],
            status: int = 400, version: int = 1) -> None:
        out[name] = {
            "description": description,
            "status": status,
            "field": field,
            "body": variant(change, version),
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

    add("unknown-version", "protocol version 3 is not supported", "protocol_version",
        set_path(["protocol_version"], 3))
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
    add("v1-with-gen-us", "gen_us is not a field of protocol version 1", "requests.gen_us",
        set_path(["requests", "gen_us"], [0, 0, 0]))
    add("v2-missing-gen-us", "version 2 batches carry gen_us", "requests.gen_us",
        delete(["requests", "gen_us"]), version=2)
    add("v2-gen-us-length-mismatch", "gen_us has as many elements as the other columns",
        "requests.gen_us", set_path(["requests", "gen_us"], [0]), version=2)
    add("v2-missing-detected-capacity", "version 2 resources carry detected_capacity_threads",
        "resource.detected_capacity_threads",
        delete(["resource", "detected_capacity_threads"]), version=2)
    add("v2-null-capacity-not-unbounded", "capacity_threads is null only when unbounded",
        "resource.capacity_threads", set_path(["resource", "capacity_threads"], None),
        version=2)

    def unbounded_with_number(b: dict[str, Any]) -> None:
        b["resource"]["capacity_source"] = "unbounded"

    add("v2-unbounded-with-capacity", "an unbounded capacity has no number",
        "resource.capacity_threads", unbounded_with_number, version=2)

    def trace_with(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
        def change(b: dict[str, Any]) -> None:
            b["traces"] = [copy.deepcopy(TRACE)]
            set_path(["traces", 0, *path], value)(b)
        return change

    add("v2-trace-phase-not-a-triple", "a trace phase is [start, end, total] or null",
        "traces[0].phases.app", trace_with(["phases", "app"], [0, 200500]), version=2)
    add("v2-trace-unknown-reason", "a trace's reason is slow or sampled", "traces[0].reason",
        trace_with(["reason"], "curious"), version=2)
    add("v2-trace-missing-phase", "every phase is present (null when it did not happen)",
        "traces[0].phases.generate", lambda b: (trace_with(["phases", "app"], None)(b),
                                                b["traces"][0]["phases"].pop("generate")),
        version=2)
    add("v2-listen-negative-queue", "a listening socket's queue is a count",
        "samples[0].listen[0].queued",
        set_path(["samples", 0, "listen"], [{"address": "127.0.0.1:80", "queued": -1,
                                             "limit": None}]), version=2)
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

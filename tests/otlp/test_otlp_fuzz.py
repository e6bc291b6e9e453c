"""Bad OTLP input to a real collector, fuzzed with hypothesis over HTTP (protobuf and JSON) and
gRPC: truncated protobuf, wrong wire types, unknown fields, huge repeated fields, deep nesting,
NaN and infinities, gzip bombs, missing resources, random values everywhere.

Every answer is a 200 (an Export*ServiceResponse, possibly a partial success with a message) or a
400 with a google.rpc.Status message (413 for a body over the limit), never a 5xx, and the
process survives. Valid control requests sent between the cases (spans and delta histogram
points of their own services) are counted exactly.

Cases are derandomized (same examples every run) to keep the gate stable; set
WSGISCOPE_FUZZ_SCALE=10 for a ten times longer, randomized run.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import os
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

import grpc
from google.protobuf import json_format
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from wsgiscope_harness.metrics import scrape

from tests.reliability.ingest_client import Answer, post

from .conftest import OtlpCollector

SCALE = float(os.environ.get("WSGISCOPE_FUZZ_SCALE", "1"))
MAX_BODY_BYTES = 4 * 2**20
PB = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
T0_NS = 1_800_000_000 * 10**9


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=max(1, int(examples * SCALE)), derandomize=SCALE == 1, deadline=None,
                    database=None, suppress_health_check=list(HealthCheck))


def kv(key: str, value: Any) -> common_pb2.KeyValue:
    any_value = common_pb2.AnyValue()
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    else:
        any_value.string_value = str(value)
    return common_pb2.KeyValue(key=key, value=any_value)


def to_json(message: Any) -> bytes:
    """OTLP/JSON: proto3 JSON with camelCase names, integer enums and hex ids."""
    def hex_ids(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
                    else hex_ids(v) for k, v in node.items()}
        if isinstance(node, list):
            return [hex_ids(v) for v in node]
        return node
    return json.dumps(hex_ids(json_format.MessageToDict(message, use_integers_for_enums=True))).encode()


# ---- the valid control requests -------------------------------------------------------------------

CONTROL_STATUSES = [200, 200, 404, 500]


def control_traces(n: int) -> trace_service_pb2.ExportTraceServiceRequest:
    spans = [trace_pb2.Span(
        trace_id=bytes(16 * [n % 256 or 1]), span_id=(i + 1).to_bytes(8, "big"), name="GET /c",
        kind=trace_pb2.Span.SPAN_KIND_SERVER, start_time_unix_nano=T0_NS, end_time_unix_nano=T0_NS + 3_000_000,
        attributes=[kv("http.request.method", "GET"), kv("http.response.status_code", status)],
    ) for i, status in enumerate(CONTROL_STATUSES)]
    resource = resource_pb2.Resource(attributes=[kv("service.name", "control-spans"), kv("service.instance.id", "c")])
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource=resource, scope_spans=[trace_pb2.ScopeSpans(spans=spans)])])


def control_metrics() -> metrics_service_pb2.ExportMetricsServiceRequest:
    point = metrics_pb2.HistogramDataPoint(
        attributes=[kv("http.request.method", "POST"), kv("http.response.status_code", 201)],
        start_time_unix_nano=T0_NS, time_unix_nano=T0_NS + 1, count=3, sum=0.3,
        bucket_counts=[1, 2, 0], explicit_bounds=[0.05, 0.5])
    metric = metrics_pb2.Metric(name="http.server.request.duration", unit="s", histogram=metrics_pb2.Histogram(
        data_points=[point], aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_DELTA))
    resource = resource_pb2.Resource(attributes=[kv("service.name", "control-metrics")])
    return metrics_service_pb2.ExportMetricsServiceRequest(resource_metrics=[metrics_pb2.ResourceMetrics(
        resource=resource, scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[metric])])])


# ---- fuzzed requests ------------------------------------------------------------------------------

u64 = st.integers(0, 2**64 - 1)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308])
attr_values = st.one_of(st.text(max_size=30), st.integers(-(2**63), 2**63 - 1), floats, st.booleans(),
                        st.sampled_from(["GET", "POST", "_OTHER", "get", "200", "9999", ""]))
attr_keys = st.sampled_from(["http.request.method", "http.method", "http.response.status_code", "http.status_code",
                             "http.route", "service.name", "service.instance.id", "webengine.name", "x"])
attributes = st.lists(st.tuples(attr_keys, attr_values).map(lambda p: kv(*p)), max_size=6)


@st.composite
def fuzz_resource(draw: st.DrawFn) -> Optional[resource_pb2.Resource]:
    if draw(st.booleans()):
        return None  # missing resource
    return resource_pb2.Resource(attributes=[kv("service.name", "fuzz"), *draw(attributes)])


@st.composite
def fuzz_traces(draw: st.DrawFn) -> trace_service_pb2.ExportTraceServiceRequest:
    request = trace_service_pb2.ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 3))):
        rs = request.resource_spans.add()
        resource = draw(fuzz_resource())
        if resource is not None:
            rs.resource.CopyFrom(resource)
        ss = rs.scope_spans.add()
        for _ in range(draw(st.integers(0, 4))):
            ss.spans.append(trace_pb2.Span(
                trace_id=draw(st.binary(min_size=16, max_size=16)), span_id=draw(st.binary(min_size=8, max_size=8)),
                kind=cast(Any, draw(st.integers(0, 5))), start_time_unix_nano=draw(u64), end_time_unix_nano=draw(u64),
                attributes=draw(attributes)))
    return request


@st.composite
def fuzz_metrics(draw: st.DrawFn) -> metrics_service_pb2.ExportMetricsServiceRequest:
    request = metrics_service_pb2.ExportMetricsServiceRequest()
    for _ in range(draw(st.integers(0, 3))):
        rm = request.resource_metrics.add()
        resource = draw(fuzz_resource())
        if resource is not None:
            rm.resource.CopyFrom(resource)
        sm = rm.scope_metrics.add()
        for _ in range(draw(st.integers(0, 3))):
            metric = sm.metrics.add()
            metric.name = draw(st.sampled_from(["http.server.request.duration", "http.server.duration", "other"]))
            metric.unit = draw(st.sampled_from(["s", "ms", "", "By", "us"]))
            metric.histogram.aggregation_temporality = draw(st.integers(0, 3))
            for _ in range(draw(st.integers(0, 3))):
                bounds = draw(st.lists(floats, max_size=5))
                counts = draw(st.lists(st.integers(0, 2**40), min_size=0, max_size=7))
                point = metric.histogram.data_points.add()
                point.attributes.extend(draw(attributes))
                point.start_time_unix_nano = draw(u64)
                point.time_unix_nano = draw(u64)
                point.count = draw(st.sampled_from([sum(counts), draw(u64)]))
                point.sum = draw(floats)
                point.bucket_counts.extend(counts)
                point.explicit_bounds.extend(bounds)
                point.flags = draw(st.integers(0, 3))
    return request


def mutate(data: bytes, how: str, where: int, junk: bytes) -> bytes:
    if not data:
        return junk
    i = where % len(data)
    ways: Dict[str, Callable[[], bytes]] = {
        "truncate": lambda: data[:i],
        "flip": lambda: data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:],
        # the first tag's wire type changed (e.g. length-delimited → 64-bit)
        "wire-type": lambda: bytes([(data[0] & ~0x07) | (where % 8)]) + data[1:],
        # field 1000, varint: must be skipped
        "unknown-field": lambda: data + b"\xc0\x3e" + bytes([where % 128]),
        "splice": lambda: data[:i] + junk + data[i:],
    }
    return ways[how]() if how in ways else data


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def nested_attribute_request(depth: int) -> bytes:
    """ExportTraceServiceRequest{resource_spans{resource{attributes{key, value: AnyValue nested
    `depth` times through array_value}}}} as protobuf bytes (too deep for the python classes)."""
    def field(number: int, payload: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(payload)) + payload
    # Built outside in from the lengths (no copying of the growing message at each level).
    inner = field(1, b"x")  # AnyValue.string_value
    prefixes: List[bytes] = []
    length = len(inner)
    for _ in range(depth):
        values = varint(1 << 3 | 2) + varint(length)  # ArrayValue.values
        length += len(values)
        array = varint(5 << 3 | 2) + varint(length)  # AnyValue.array_value
        length += len(array)
        prefixes.append(array + values)
    value = b"".join(reversed(prefixes)) + inner
    key_value = field(1, b"k") + field(2, value)
    return field(1, field(1, field(1, key_value)))


def is_status(answer: Answer, encoding: str) -> bool:
    """A refusal body: google.rpc.Status in the request's encoding, with a message."""
    if encoding == "json":
        body = answer.json()
        return isinstance(body, dict) and isinstance(body.get("message"), str) and bool(body["message"])
    status = status_pb2.Status()
    status.ParseFromString(answer.body)
    return bool(status.message)


def check_answer(answer: Answer, signal: str, encoding: str, allowed: Tuple[int, ...] = (200, 400)) -> None:
    assert answer.status in allowed, (answer.status, answer.body[:300])
    if answer.status == 200:
        response: Any = (metrics_service_pb2.ExportMetricsServiceResponse() if signal == "metrics"
                         else trace_service_pb2.ExportTraceServiceResponse())
        if encoding == "json":
            json_format.Parse(answer.body, response, ignore_unknown_fields=False)
        else:
            response.ParseFromString(answer.body)
        if response.HasField("partial_success"):
            rejected = (response.partial_success.rejected_data_points if signal == "metrics"
                        else response.partial_success.rejected_spans)
            assert rejected > 0 and response.partial_success.error_message, answer.body
    else:
        assert is_status(answer, encoding), answer.body[:300]


def test_fuzzed_otlp_is_refused_or_partly_accepted_and_valid_requests_in_between_count_exactly(
        start_otlp_collector: Callable[..., OtlpCollector]) -> None:
    collector = start_otlp_collector("--max-body-bytes", str(MAX_BODY_BYTES), "--max-series-per-metric", "5000")
    url = collector.url
    answers: Counter[int] = Counter()
    controls = {"rounds": 0}
    channel = grpc.insecure_channel(f"127.0.0.1:{collector.grpc_port}")
    grpc_calls: Dict[str, Any] = {
        "traces": channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
        "metrics": channel.unary_unary("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"),
    }
    grpc_codes: Counter[str] = Counter()

    def send(signal: str, body: bytes, encoding: str, gzipped: bool = False,
             allowed: Tuple[int, ...] = (200, 400)) -> Answer:
        headers = dict(PB if encoding == "protobuf" else JSON)
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        answer = post(url, body, headers, path=f"/v1/{signal}", timeout_s=60)
        answers[answer.status] += 1
        check_answer(answer, signal, encoding, allowed)
        # Alongside every case, valid requests: always accepted in full.
        controls["rounds"] += 1
        traces = post(url, control_traces(controls["rounds"]).SerializeToString(), PB, path="/v1/traces")
        metrics = post(url, to_json(control_metrics()), JSON, path="/v1/metrics")
        assert (traces.status, traces.body, metrics.status, metrics.body) == (200, b"", 200, b"{}")
        return answer

    def send_grpc(signal: str, body: bytes) -> None:
        try:
            grpc_calls[signal](body, timeout=30)
            grpc_codes["OK"] += 1
        except grpc.RpcError as err:
            code = err.code()
            assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED), err
            assert err.details(), err
            grpc_codes[code.name] += 1

    mutations = st.sampled_from(["none", "truncate", "flip", "wire-type", "unknown-field", "splice"])

    @fuzz_settings(800)
    @given(st.sampled_from(["traces", "metrics"]), st.data(),
           st.tuples(mutations, st.integers(0, 2**31), st.binary(max_size=40)),
           st.sampled_from(["protobuf", "json", "grpc"]))
    def requests(signal: str, data: st.DataObject, mutation: Tuple[str, int, bytes], transport: str) -> None:
        how, where, junk = mutation
        message: Any = data.draw(fuzz_traces() if signal == "traces" else fuzz_metrics())
        if transport == "json":
            text = to_json(message)
            if how != "none":  # break the JSON text the same ways
                text = mutate(text, how if how != "wire-type" else "flip", where, junk)
            send(signal, text, "json")
            return
        body = mutate(message.SerializeToString(), how, where, junk)
        if transport == "grpc":
            send_grpc(signal, body)
        else:
            send(signal, body, "protobuf", gzipped=where % 3 == 0 and how == "none")

    @fuzz_settings(300)
    @given(st.sampled_from(["traces", "metrics"]), st.binary(max_size=2000), st.sampled_from(["protobuf", "json"]))
    def garbage(signal: str, body: bytes, encoding: str) -> None:
        send(signal, body, encoding)

    requests()
    garbage()

    # NaN and infinities where OTLP/JSON spells them, and in protobuf doubles: refused points.
    nan_json = json.loads(to_json(control_metrics()))
    point = nan_json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["histogram"]["dataPoints"][0]
    nan_json["resourceMetrics"][0]["resource"]["attributes"][0]["value"]["stringValue"] = "fuzz-nan"
    for field, value in [("sum", "NaN"), ("sum", "Infinity"), ("sum", "-Infinity"), ("explicitBounds", ["NaN", 1])]:
        bad = json.loads(json.dumps(nan_json))
        bad["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["histogram"]["dataPoints"][0][field] = value
        answer = send("metrics", json.dumps(bad).encode(), "json")
        assert answer.status == 200 and answer.json()["partialSuccess"]["rejectedDataPoints"] == "1", answer
    assert point["sum"] == 0.3

    # Deep nesting: refused with a message, over HTTP and gRPC.
    for depth in (10, 1_000, 100_000):
        body = nested_attribute_request(depth)
        # protobufjs has a nesting limit of its own; 1 000 levels may or may not be under it.
        expected = {10: (200,), 1_000: (200, 400)}.get(depth, (400,))
        answer = send("traces", body, "protobuf")
        assert answer.status in expected, (depth, answer)
        send_grpc("traces", body)
        json_body = ('{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":'
                     + '{"arrayValue":{"values":[' * depth + '{"stringValue":"x"}' + "]}}" * depth + "}]}}]}")
        answer = send("traces", json_body.encode(), "json", allowed=(200, 400, 413))
        assert answer.status in (expected if len(json_body) <= MAX_BODY_BYTES else (413,)), (depth, answer)

    # Huge repeated fields: 200 000 empty ResourceSpans; 20 000 spans of one valid request (counted).
    send("traces", b"\x0a\x00" * 200_000, "protobuf")
    many = control_traces(0)
    template = many.resource_spans[0].scope_spans[0].spans[0]
    many.resource_spans[0].resource.attributes[0].value.string_value = "huge"
    del many.resource_spans[0].scope_spans[0].spans[:]
    many.resource_spans[0].scope_spans[0].spans.extend([template] * 20_000)
    answer = send("traces", many.SerializeToString(), "protobuf")
    assert (answer.status, answer.body) == (200, b"")

    # gzip: bombs are 413 (the limit applies after decompression), a truncated stream 400.
    for size in (MAX_BODY_BYTES + 1, 256 * 2**20):
        send("metrics", gzip.compress(b"\0" * size, 9), "protobuf", gzipped=True, allowed=(413,))
    valid = gzip.compress(control_metrics().SerializeToString())
    send("metrics", valid[: len(valid) // 2], "protobuf", gzipped=True, allowed=(400,))

    channel.close()
    assert collector.collector.process is not None and collector.collector.process.poll() is None, "collector died"
    assert set(answers) <= {200, 400, 413}, answers
    page = scrape(url)
    rounds = controls["rounds"]
    spans = page.select("http_server_request_duration_seconds_count", service_name="control-spans")
    by_status = {s.labels["http_response_status_code"]: s.value for s in spans}
    assert by_status == {"200": 2.0 * rounds, "404": 1.0 * rounds, "500": 1.0 * rounds}, (by_status, rounds)
    assert page.total("http_server_request_duration_seconds_count", service_name="control-metrics",
                      http_request_method="POST", http_response_status_code="201") == 3.0 * rounds
    assert page.total("http_server_request_duration_seconds_count", service_name="huge") == 20_000.0
    not_finite = [s for s in page.samples if not math.isfinite(s.value)]
    assert not_finite == [], not_finite[:5]
    print(f"otlp fuzz: {sum(answers.values())} HTTP answers {dict(answers)}, gRPC {dict(grpc_codes)}, "
          f"{rounds} control rounds counted exactly")



def test_the_cardinality_guard_holds_for_otlp_series(start_otlp_collector: Callable[..., OtlpCollector]) -> None:
    """OTLP label sets share the shim's guard: past --max-series-per-metric, new label sets go to
    the `_overflow` series and are counted as overflows; nothing is lost from the totals."""
    collector = start_otlp_collector("--max-series-per-metric", "3")
    request = control_traces(1)
    spans = request.resource_spans[0].scope_spans[0].spans
    template = trace_pb2.Span()
    template.CopyFrom(spans[0])
    del spans[:]
    for status in range(200, 210):
        span = spans.add()
        span.CopyFrom(template)
        span.attributes[1].value.int_value = status
    for transport in ("protobuf", "json"):
        body = request.SerializeToString() if transport == "protobuf" else to_json(request)
        answer = post(collector.url, body, PB if transport == "protobuf" else JSON, path="/v1/traces")
        assert answer.status == 200, answer
    page = scrape(collector.url)
    counts = {s.labels["http_response_status_code"]: s.value
              for s in page.select("http_server_request_duration_seconds_count", service_name="control-spans")}
    assert counts == {"200": 2.0, "201": 2.0, "202": 2.0, "_overflow": 14.0}, counts
    assert page.total("wsgiscope_collector_cardinality_overflows_total", kind="request_records") == 14.0

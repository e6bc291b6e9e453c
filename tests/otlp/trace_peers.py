"""Real peers for the trace export tests: a Python OTLP/HTTP traces receiver decoding with the
official opentelemetry-proto classes (trace_service_pb2), and the real OpenTelemetry Collector
(scripts/build-otelcol.sh, through export_peers.otelcol_binary) with a traces pipeline: OTLP
receiver (HTTP and gRPC, loopback, free ports) → OTLP/HTTP exporter to the receiver, and debug.

Every process is started on free loopback ports and stopped by the fixtures; every wait is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from .export_peers import (
    LoopbackReceiver,
    Otelcol,
    QuietHandler,
    ReceiverServer,
    Scalar,
    attributes,
    read_message,
    send_answer,
)


@dataclass
class ReceivedSpan:
    """One span with its resource and scope, ids as lowercase hex."""

    resource: Dict[str, Scalar]
    scope: str
    scope_version: str
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root span
    flags: int
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: Dict[str, Scalar]
    status_code: int
    status_message: str

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


def spans_of(message: ExportTraceServiceRequest) -> List[ReceivedSpan]:
    out: List[ReceivedSpan] = []
    for rs in message.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(ReceivedSpan(
                    resource=resource, scope=ss.scope.name, scope_version=ss.scope.version,
                    trace_id=s.trace_id.hex(), span_id=s.span_id.hex(), parent_span_id=s.parent_span_id.hex(),
                    flags=s.flags, name=s.name, kind=s.kind, start_ns=s.start_time_unix_nano,
                    end_ns=s.end_time_unix_nano, attributes=attributes(s.attributes),
                    status_code=s.status.code, status_message=s.status.message))
    return out


SERVER = Span.SpanKind.SPAN_KIND_SERVER
INTERNAL = Span.SpanKind.SPAN_KIND_INTERNAL


class _Handler(QuietHandler):
    server: ReceiverServer

    def do_POST(self) -> None:
        receiver: TraceReceiver = self.server.receiver
        receiver.record(self.path, read_message(self, ExportTraceServiceRequest()))
        send_answer(self, 200, ExportTraceServiceResponse().SerializeToString())


class TraceReceiver(LoopbackReceiver):
    """An OTLP/HTTP traces receiver on a free loopback port: every request decoded with the
    official classes (protobuf or OTLP/JSON, gzip or not), answered 200."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self._spans: List[ReceivedSpan] = []
        self.paths: List[str] = []

    def record(self, path: str, message: ExportTraceServiceRequest) -> None:
        with self._lock:
            self.paths.append(path)
            self._spans.extend(spans_of(message))

    @property
    def spans(self) -> List[ReceivedSpan]:
        with self._lock:
            return list(self._spans)


class TracesOtelcol(Otelcol):
    """The real OpenTelemetry Collector with a traces pipeline: OTLP in (HTTP and gRPC) → OTLP/HTTP
    protobuf to ``forward_to``/v1/traces (no queue, no retries) and the debug exporter."""

    def __init__(self, binary: Path, log_dir: Path, forward_to: str) -> None:
        super().__init__(binary, log_dir, forward_to, signal="traces")

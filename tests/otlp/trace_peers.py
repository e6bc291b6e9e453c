"""Real peers for the trace export tests: a Python OTLP/HTTP traces receiver decoding with the
official opentelemetry-proto classes (trace_service_pb2), and the real OpenTelemetry Collector
(scripts/build-otelcol.sh, through export_peers.otelcol_binary) with a traces pipeline: OTLP
receiver (HTTP and gRPC, loopback, free ports) → OTLP/HTTP exporter to the receiver, and debug.

Every process is started on free loopback ports and stopped by the fixtures; every wait is bounded.
"""

from __future__ import annotations

import gzip
import http.server
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from .export_peers import Otelcol, Scalar, attributes


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


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if (self.headers.get("Content-Encoding") or "") == "gzip":
            body = gzip.decompress(body)
        message = ExportTraceServiceRequest()
        if "json" in (self.headers.get("Content-Type") or ""):
            json_format.Parse(body.decode("utf-8"), message)
        else:
            message.ParseFromString(body)
        self.server.receiver.record(self.path, message)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    receiver: TraceReceiver


class TraceReceiver:
    """An OTLP/HTTP traces receiver on a free loopback port: every request decoded with the
    official classes (protobuf or OTLP/JSON, gzip or not), answered 200."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: List[ReceivedSpan] = []
        self.paths: List[str] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> TraceReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

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
        super().__init__(binary, log_dir, forward_to)
        self.config.write_text(f"""\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{self.http_port}
      grpc:
        endpoint: 127.0.0.1:{self.grpc_port}
exporters:
  otlp_http:
    traces_endpoint: {forward_to}/v1/traces
    encoding: proto
    compression: none
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: false
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_http, debug]
""")

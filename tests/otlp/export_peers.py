"""Real peers for the OTLP export tests: a Python OTLP/HTTP metrics receiver that decodes with the
official opentelemetry-proto classes, the real OpenTelemetry Collector built by
scripts/build-otelcol.sh, and a wsgiscope collector started with OTLP export settings.

Every process is started on free loopback ports and stopped by the fixtures; every wait is bounded.
"""

from __future__ import annotations

import gzip
import http.server
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from wsgiscope_harness.processes import REPO_ROOT, Collector, free_port, log_tail, port_accepts, stop_process_group
from wsgiscope_harness.waiting import wait_for

BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-otelcol.sh"
# A cold build takes 3-4 minutes on an idle machine (9 on a loaded one) and 2 GB of module cache.
BUILD_TIMEOUT_S = 1500
CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE

Scalar = Union[str, int, float, bool]

M = TypeVar("M", bound=Message)
R = TypeVar("R", bound="LoopbackReceiver")


_built: Dict[str, Union[Path, str]] = {}


def otelcol_binary() -> Path:
    """The built collector, building it if needed (bounded, once per session); skips the test
    with the script's reason when there is none."""
    if "result" not in _built:
        try:
            done = subprocess.run(["bash", str(BUILD_SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            _built["result"] = f"scripts/build-otelcol.sh did not finish within {BUILD_TIMEOUT_S} s"
        else:
            if done.returncode == 0:
                _built["result"] = Path(done.stdout.strip().splitlines()[-1])
            else:
                reason = " ".join(done.stderr.strip().splitlines()[-6:])
                _built["result"] = f"scripts/build-otelcol.sh exited {done.returncode}: {reason}"
    result = _built["result"]
    if isinstance(result, str):
        pytest.skip(f"no OpenTelemetry Collector to export to: {result}")
    return result


def value_of(value: AnyValue) -> Scalar:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    raise AssertionError(f"unexpected attribute value kind {kind!r}")


def attributes(items: Sequence[KeyValue]) -> Dict[str, Scalar]:
    return {kv.key: value_of(kv.value) for kv in items}


@dataclass
class Point:
    """One data point with everything around it, flattened."""

    resource: Dict[str, Scalar]
    scope: str
    metric: str
    unit: str
    kind: str  # histogram, sum, gauge
    attributes: Dict[str, Scalar]
    temporality: int = 0
    monotonic: bool = False
    count: int = 0
    bucket_counts: List[int] = field(default_factory=list)
    bounds: List[float] = field(default_factory=list)
    sum: float = 0.0
    value: float = 0.0
    start_ns: int = 0
    time_ns: int = 0


def points(message: ExportMetricsServiceRequest) -> List[Point]:
    out: List[Point] = []
    for rm in message.resource_metrics:
        resource = attributes(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                common = dict(resource=resource, scope=sm.scope.name, metric=m.name, unit=m.unit)
                if kind == "histogram":
                    for h in m.histogram.data_points:
                        out.append(Point(**common, kind=kind, attributes=attributes(h.attributes),
                                         temporality=m.histogram.aggregation_temporality, count=h.count,
                                         bucket_counts=list(h.bucket_counts), bounds=list(h.explicit_bounds),
                                         sum=h.sum, start_ns=h.start_time_unix_nano, time_ns=h.time_unix_nano))
                elif kind in ("sum", "gauge"):
                    data = m.sum if kind == "sum" else m.gauge
                    for n in data.data_points:
                        number = n.as_int if n.WhichOneof("value") == "as_int" else n.as_double
                        out.append(Point(**common, kind=kind, attributes=attributes(n.attributes),
                                         temporality=m.sum.aggregation_temporality if kind == "sum" else 0,
                                         monotonic=m.sum.is_monotonic if kind == "sum" else False,
                                         value=float(number), start_ns=n.start_time_unix_nano,
                                         time_ns=n.time_unix_nano))
                else:
                    raise AssertionError(f"{m.name}: unexpected data kind {kind!r}")
    return out


def data_point_count(message: ExportMetricsServiceRequest) -> int:
    return len(points(message))


@dataclass
class Received:
    at: float  # time.monotonic()
    path: str
    headers: Dict[str, str]
    message: ExportMetricsServiceRequest
    status: int


def read_message(handler: http.server.BaseHTTPRequestHandler, message: M) -> M:
    """Parse the request body into ``message``: protobuf or OTLP/JSON by Content-Type, gunzipped
    when Content-Encoding says gzip."""
    body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    if (handler.headers.get("Content-Encoding") or "") == "gzip":
        body = gzip.decompress(body)
    if "json" in (handler.headers.get("Content-Type") or ""):
        json_format.Parse(body.decode("utf-8"), message)
    else:
        message.ParseFromString(body)
    return message


def send_answer(handler: http.server.BaseHTTPRequestHandler, status: int, answer: bytes,
                extra: Mapping[str, str] = {}) -> None:
    """Answer with ``status``, the ``extra`` headers and ``answer`` as an application/x-protobuf body."""
    handler.send_response(status)
    for name, value in extra.items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", "application/x-protobuf")
    handler.send_header("Content-Length", str(len(answer)))
    handler.end_headers()
    handler.wfile.write(answer)


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class LoopbackReceiver:
    """An HTTP server on a free loopback port serving ``handler`` in a daemon thread; the handler
    reaches this object as ``self.server.receiver``."""

    def __init__(self, handler: Type[http.server.BaseHTTPRequestHandler]) -> None:
        self._lock = threading.Lock()
        self._server = ReceiverServer(("127.0.0.1", 0), handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self: R) -> R:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ReceiverServer(http.server.ThreadingHTTPServer):
    receiver: Any  # the LoopbackReceiver subclass that owns it


class _Handler(QuietHandler):
    server: ReceiverServer

    def do_POST(self) -> None:
        receiver: OtlpReceiver = self.server.receiver
        headers = {k.lower(): v for k, v in self.headers.items()}
        message = read_message(self, ExportMetricsServiceRequest())
        status, extra = receiver.next_answer()
        receiver.record(Received(time.monotonic(), self.path, headers, message, status))
        answer = ExportMetricsServiceResponse().SerializeToString() if status == 200 else b""
        send_answer(self, status, answer, extra)


class OtlpReceiver(LoopbackReceiver):
    """An OTLP/HTTP metrics receiver on a free loopback port: it decodes every request with the
    official classes (protobuf or OTLP/JSON, gzip or not) and answers from a script (status and
    headers for the first requests), then 200 with an empty ExportMetricsServiceResponse."""

    def __init__(self, answers: Sequence[Tuple[int, Mapping[str, str]]] = (), *, always: int = 200) -> None:
        super().__init__(_Handler)
        self._answers = list(answers)
        self._always = always
        self._received: List[Received] = []

    def next_answer(self) -> Tuple[int, Mapping[str, str]]:
        with self._lock:
            return self._answers.pop(0) if self._answers else (self._always, {})

    def record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    @property
    def received(self) -> List[Received]:
        with self._lock:
            return list(self._received)


class Otelcol:
    """The real OpenTelemetry Collector with one ``signal`` pipeline (metrics or traces): OTLP
    receiver (HTTP and gRPC, loopback, free ports) → OTLP/HTTP exporter (protobuf, no queue, no
    retries) to ``forward_to``/v1/<signal> and the debug exporter."""

    def __init__(self, binary: Path, log_dir: Path, forward_to: str, signal: str = "metrics") -> None:
        self.binary = binary
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.config = log_dir / "otelcol.yaml"
        self.log = log_dir / "otelcol.log"
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
    {signal}_endpoint: {forward_to}/v1/{signal}
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
    {signal}:
      receivers: [otlp]
      exporters: [otlp_http, debug]
""")
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def start(self, timeout_s: float = 30.0) -> Otelcol:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([str(self.binary), "--config", str(self.config)], env=env,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"otelcol exited with {self.process.returncode}:\n{log_tail(self.log)}")
            return port_accepts(self.http_port) and port_accepts(self.grpc_port)

        wait_for(ready, timeout_s, "the OpenTelemetry Collector to listen")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, timeout_s=10)
            self.process = None


def start_exporting_collector(log_dir: Path, env: Mapping[str, str], *, worker_expiry_s: float = 60.0) -> Collector:
    """A real wsgiscope collector whose environment holds ``env`` (OTEL_* / WSGISCOPE_COLLECTOR_*)
    and nothing else of either kind from the outside."""
    collector = Collector(log_dir, worker_expiry_s=worker_expiry_s)
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith(("OTEL_", "WSGISCOPE_COLLECTOR_"))]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        collector.start()
    return collector


def latest(receiver: OtlpReceiver, ok: bool = True) -> Optional[Received]:
    """The newest request received (answered 200 when ``ok``)."""
    found = [r for r in receiver.received if r.status == 200 or not ok]
    return found[-1] if found else None


def counts_by_status(message: ExportMetricsServiceRequest, service: str) -> Dict[int, int]:
    """http.server.request.duration counts of one service, by http.response.status_code."""
    out: Dict[int, int] = {}
    for p in points(message):
        if p.metric == "http.server.request.duration" and p.resource.get("service.name") == service:
            status = int(p.attributes["http.response.status_code"])
            out[status] = out.get(status, 0) + p.count
    return out


def wait_for_message(receiver: OtlpReceiver, check: Callable[[ExportMetricsServiceRequest], bool], timeout_s: float,
                     what: str) -> Received:
    def found() -> Optional[Received]:
        last = latest(receiver)
        return last if last is not None and check(last.message) else None

    return wait_for(found, timeout_s, what)


def process_ancestors(pid: int) -> Iterator[int]:
    """``pid``'s parent, grandparent … (Linux /proc)."""
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        yield pid

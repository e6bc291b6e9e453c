"""Fixtures: a real collector with OTLP/gRPC turned on, and apps instrumented by the real
OpenTelemetry Python SDK (sdk_app.py) exporting to it; everything is torn down after the test."""

from __future__ import annotations

import http.client
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest
from wsgiscope_harness.processes import COLLECTOR_CLI, Collector, free_port, log_tail, stop_process_group

SDK_APP = Path(__file__).resolve().parent / "sdk_app.py"


@dataclass
class OtlpCollector:
    collector: Collector
    grpc_port: int

    @property
    def url(self) -> str:
        return self.collector.url


@pytest.fixture
def start_otlp_collector(tmp_path: Path) -> Iterator[Callable[..., OtlpCollector]]:
    """``start_otlp_collector(*extra_flags, worker_expiry_s=60)``: a collector with --otlp-grpc-port."""
    started: List[Collector] = []

    def start(*flags: str, worker_expiry_s: float = 60.0) -> OtlpCollector:
        grpc_port = free_port()
        collector = Collector(tmp_path, worker_expiry_s=worker_expiry_s,
                              command=["node", str(COLLECTOR_CLI), "--otlp-grpc-port", str(grpc_port), *flags])
        started.append(collector)
        with pytest.MonkeyPatch.context() as patch:
            for name in [k for k in os.environ if k.startswith("WSGISCOPE_COLLECTOR_")]:
                patch.delenv(name)
            collector.start()
        return OtlpCollector(collector, grpc_port)

    yield start
    for collector in started:
        collector.stop()


class SdkApp:
    """One sdk_app.py process: GET/POST it, then flush its SDK (spans, then metrics)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    def request(self, method: str, path: str, body: Optional[bytes] = None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body)
            answer = conn.getresponse()
            answer.read()
            return answer.status
        finally:
            conn.close()

    def flush(self) -> None:
        status = self.request("GET", "/__flush")
        assert status == 200, f"the SDK could not export (status {status}); app log:\n{log_tail(self.log)}"

    def stop(self) -> None:
        stop_process_group(self.process, timeout_s=5)


@pytest.fixture
def start_sdk_app(tmp_path: Path) -> Iterator[Callable[..., SdkApp]]:
    """``start_sdk_app(transport, endpoint, resource, signals=..., temporality=..., semconv=None)``."""
    started: List[SdkApp] = []

    def start(transport: str, endpoint: str, resource: Dict[str, str], *, signals: str = "traces,metrics",
              temporality: str = "cumulative", semconv: Optional[str] = None) -> SdkApp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(f"{k}={v}" for k, v in resource.items())
        if semconv is not None:
            env["OTEL_SEMCONV_STABILITY_OPT_IN"] = semconv
        log = tmp_path / f"sdk-app-{len(started)}.log"
        with open(log, "wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, str(SDK_APP), "--transport", transport, "--endpoint", endpoint,
                 "--signals", signals, "--temporality", temporality],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True,
            )
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert process.stdout is not None
            for raw in process.stdout:
                lines.put(raw.decode(errors="replace").strip())

        threading.Thread(target=pump, daemon=True).start()
        try:
            first = lines.get(timeout=30)
        except queue.Empty:
            first = ""
        if not first.startswith("listening on "):
            stop_process_group(process, timeout_s=5)
            raise AssertionError(f"sdk_app.py did not start (first line {first!r}); log:\n{log_tail(log)}")
        app = SdkApp(process, int(first.split()[-1]), log)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()

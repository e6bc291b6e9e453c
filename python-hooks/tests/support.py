"""Test doubles and a tiny in-process "server" for calling WSGI apps directly."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any, Callable, Iterable, Optional
from wsgiref.util import setup_testing_defaults

import jsonschema

from wsgiscope.agent import Agent, Identity
from wsgiscope.config import Config
from wsgiscope.detect import ServerInfo
from wsgiscope.sampler import ProcessSampler
from wsgiscope.transport import Outcome

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

IDENTITY = Identity("test-host", 4242, "3.11.7", "0.1.0")
SERVER = ServerInfo("wsgiref", "0.2", "", 1, 1, "detected", True)


SCHEMA_DIR = Path(__file__).resolve().parents[2] / "packages" / "protocol" / "schema"
SCHEMA_PATH = SCHEMA_DIR / "batch.v2.schema.json"  # what the shim sends
_VALIDATORS: dict[int, Any] = {}


def validate_batch(batch: Any) -> None:
    """Every batch validates against its protocol version's schema (jsonschema, dev only): the
    shim's against v2, the v1 vectors against v1 (collectors still accept them)."""
    version = batch.get("protocol_version") if isinstance(batch, dict) else None
    assert isinstance(version, int), f"protocol_version {version!r}"
    if version not in _VALIDATORS:
        path = SCHEMA_DIR / f"batch.v{version}.schema.json"
        assert path.exists(), f"no schema for protocol_version {version!r}"
        _VALIDATORS[version] = jsonschema.Draft202012Validator(json.loads(path.read_text()))
    _VALIDATORS[version].validate(batch)
    columns = batch["requests"]
    assert len({len(column) for column in columns.values()}) == 1, "column lengths differ"
    for first, total in zip(columns["first_byte_us"], columns["duration_us"]):
        assert first is None or first <= total
    resource = batch["resource"]
    assert (resource["capacity_threads"] is None) == (resource["capacity_source"] == "unbounded")


class FakeClock:
    """Scripted time: ``advance()`` moves the monotonic and wall clocks (and CPU, if asked)."""

    def __init__(self, unix_ns: int = 1_767_225_600_000_000_000) -> None:
        self._perf = 1_000_000_000
        self._unix0 = unix_ns - self._perf
        self._cpu = 0
        self.thread_cpu_reads = 0

    def perf_ns(self) -> int:
        return self._perf

    def unix_ns(self) -> int:
        return self._unix0 + self._perf

    def thread_cpu_ns(self) -> int:
        self.thread_cpu_reads += 1
        return self._cpu

    def advance(self, ms: float, cpu_ms: float = 0.0) -> None:
        self._perf += int(ms * 1_000_000)
        self._cpu += int(cpu_ms * 1_000_000)


class FakeTransport:
    """Keeps every body it is given; answers with ``outcomes`` (then DELIVERED)."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.bodies: list[dict[str, Any]] = []

    def send(self, body: bytes, timeout_s: float) -> Outcome:
        batch = json.loads(body)
        validate_batch(batch)
        self.bodies.append(batch)
        return self.outcomes.pop(0) if self.outcomes else Outcome.DELIVERED


class NoThread:
    """A flusher "thread" that never runs, like uWSGI without --enable-threads."""

    def __init__(self, target: Callable[[], None]) -> None:
        self.target = target

    def start(self) -> None:
        pass


def fake_proc(directory: str, rss_pages: int = 10240, threads: int = 6) -> str:
    os.makedirs(os.path.join(directory, "self"), exist_ok=True)
    with open(os.path.join(directory, "self", "statm"), "w") as f:
        f.write(f"50000 {rss_pages} 900 10 0 2000 0\n")
    with open(os.path.join(directory, "self", "status"), "w") as f:
        f.write(f"Name:\tpython\nThreads:\t{threads}\nVmRSS:\t1 kB\n")
    return directory


def fake_sampler(proc_dir: Optional[str] = None) -> ProcessSampler:
    proc = proc_dir or fake_proc(tempfile.mkdtemp(prefix="wsgiscope-proc-"))
    cpu = iter([(1.0, 0.5)] + [(1.12, 0.53)] * 1000)
    gc = iter([10] + [22] * 1000)
    return ProcessSampler(proc_path=proc, cpu_times=lambda: next(cpu), gc_count=lambda: next(gc),
                          page_size=4096)


def make_agent(
    clock: Optional[FakeClock] = None,
    transport: Optional[FakeTransport] = None,
    server_info: Optional[ServerInfo] = SERVER,
    thread_factory: Callable[[Callable[[], None]], Any] = NoThread,
    **options: Any,
) -> Agent:
    return Agent(
        Config.load({}, **options),
        clock=clock or FakeClock(),
        transport=transport or FakeTransport(),
        sampler=fake_sampler(),
        identity=lambda: IDENTITY,
        thread_factory=thread_factory,
        server_info=server_info,
    )


class Response:
    def __init__(self) -> None:
        self.status: Optional[str] = None
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.returned: Any = None


def make_environ(method: str = "GET", body: bytes = b"", **extra: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "QUERY_STRING": ""}
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = BytesIO(body)
    environ.update(extra)
    setup_testing_defaults(environ)
    return environ


def call(app: App, environ: Optional[dict[str, Any]] = None, abort_after: Optional[int] = None,
         on_block: Optional[Callable[[bytes], None]] = None) -> Response:
    """Act as a server: call, iterate (stop early after ``abort_after`` blocks), close."""
    response = Response()
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and response.status is not None and written:
            raise exc_info[1].with_traceback(exc_info[2])
        response.status, response.headers = status, headers
        return written.append

    result = app(environ or make_environ(), start_response)
    response.returned = result
    try:
        for count, block in enumerate(result):
            if abort_after is not None and count >= abort_after:
                break
            written.append(block)
            if on_block is not None:
                on_block(block)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    response.body = b"".join(written)
    return response


class BatchReceiver:
    """A real HTTP receiver on 127.0.0.1:0 standing in for the collector (the real collector
    process is wsgiscope_harness.processes.Collector)."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.batches: list[dict[str, Any]] = []
        self.invalid: list[str] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                status = collector.status
                if status == 202:
                    batch = json.loads(body)
                    try:
                        validate_batch(batch)
                    except Exception as exc:
                        collector.invalid.append(repr(exc))
                        status = 400
                    else:
                        with collector.lock:
                            collector.batches.append(batch)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests(self) -> int:
        assert self.invalid == [], self.invalid
        with self.lock:
            return sum(len(b["requests"]["status"]) for b in self.batches)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()



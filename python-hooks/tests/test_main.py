"""``python -m wsgiscope check``: the configuration, then whether the collector answers and its
version, against a tiny real HTTP server on 127.0.0.1:0."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from wsgiscope.__main__ import check, healthz_url, main

SRC = Path(__file__).resolve().parents[1] / "src"


class HealthServer:
    """Answers GET /healthz with ``status`` and ``body``; counts the requests it got."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                code = status if self.path == "/healthz" else 404
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[HealthServer] = []

    def start(status: int, body: Any, content_type: str = "application/json") -> HealthServer:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        started.append(HealthServer(status, raw, content_type))
        return started[-1]

    yield start
    for server in started:
        server.close()


def closed_port() -> int:
    """A loopback port nothing listens on (the kernel's pick, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("collector_url", "expected"), [
    ("http://127.0.0.1:9464", "http://127.0.0.1:9464/healthz"),
    ("http://127.0.0.1:9464/", "http://127.0.0.1:9464/healthz"),
    ("http://collector:9464/v1/batches", "http://collector:9464/healthz"),
    ("https://edge.example/wsgiscope/v1/batches", "https://edge.example/wsgiscope/healthz"),
    ("http://user:secret@[::1]:9464", "http://[::1]:9464/healthz"),
])
def test_healthz_url_sits_beside_the_ingest_path(collector_url: str, expected: str) -> None:
    assert healthz_url(collector_url) == expected


def test_check_names_the_collector_version(serve: Any, capsys: pytest.CaptureFixture[str]) -> None:
    server = serve(200, {"status": "ok", "version": "1.2.3", "workers": 0})
    assert check({"WSGISCOPE_COLLECTOR_URL": server.url}) == 0
    out = capsys.readouterr().out
    assert "configuration is valid" in out
    assert f"the collector at {server.url}/healthz answers: wsgiscope-collector 1.2.3" in out
    assert server.paths == ["/healthz"]


def test_check_finds_healthz_beside_a_full_ingest_url(
    serve: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    server = serve(200, {"status": "ok", "version": "0.1.0", "workers": 3})
    assert check({"WSGISCOPE_COLLECTOR_URL": f"{server.url}/v1/batches"}) == 0
    assert "wsgiscope-collector 0.1.0" in capsys.readouterr().out
    assert server.paths == ["/healthz"]


def test_check_fails_with_a_sentence_when_no_collector_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert check({"WSGISCOPE_COLLECTOR_URL": url}) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"wsgiscope: no collector answers at {url}/healthz (")
    assert "npx wsgiscope-collector" in err and "WSGISCOPE_COLLECTOR_URL" in err


def test_check_gives_up_after_the_send_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    # Listening but never accepting: the connection completes in the kernel, no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        code = check({"WSGISCOPE_COLLECTOR_URL": url, "WSGISCOPE_SEND_TIMEOUT_SECONDS": "0.3"})
        elapsed = time.monotonic() - started
    assert code == 1
    assert elapsed < 5
    assert "no collector answers" in capsys.readouterr().err


@pytest.mark.parametrize(("status", "body", "content_type"), [
    (404, b"<h1>not found</h1>", "text/html"),
    (200, b"OK", "text/plain"),
    (503, {"status": "starting"}, "application/json"),
    (200, ["ok"], "application/json"),
])
def test_check_fails_when_something_else_answers(
    serve: Any, capsys: pytest.CaptureFixture[str], status: int, body: Any, content_type: str,
) -> None:
    server = serve(status, body, content_type)
    assert check({"WSGISCOPE_COLLECTOR_URL": server.url}) == 1
    err = capsys.readouterr().err
    assert f"{server.url}/healthz answered HTTP {status} but not as a wsgiscope collector" in err


def test_check_accepts_a_collector_that_does_not_report_its_version(
    serve: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    server = serve(200, {"status": "ok", "workers": 0})
    assert check({"WSGISCOPE_COLLECTOR_URL": server.url}) == 0
    assert "does not report its version" in capsys.readouterr().out


def test_check_stops_at_a_bad_variable_without_asking_the_collector(
    serve: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    server = serve(200, {"status": "ok", "version": "0.1.0"})
    environ = {"WSGISCOPE_COLLECTOR_URL": server.url, "WSGISCOPE_FLUSH_INTERVAL_SECONDS": "soon"}
    assert check(environ) == 2
    assert "WSGISCOPE_FLUSH_INTERVAL_SECONDS='soon' is invalid" in capsys.readouterr().err
    assert server.paths == []


def run_module(
    *args: str, env: Optional[dict[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WSGISCOPE_")}
    clean["PYTHONPATH"] = str(SRC)
    return subprocess.run([sys.executable, "-m", "wsgiscope", *args], env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=60, check=False)


def test_python_m_wsgiscope_check_probes_the_configured_collector(serve: Any) -> None:
    server = serve(200, {"status": "ok", "version": "4.5.6", "workers": 0})
    done = run_module("check", env={"WSGISCOPE_COLLECTOR_URL": server.url})
    assert done.returncode == 0, done.stderr
    assert "answers: wsgiscope-collector 4.5.6" in done.stdout
    down = run_module("check", env={"WSGISCOPE_COLLECTOR_URL": f"http://127.0.0.1:{closed_port()}"})
    assert down.returncode == 1
    assert "no collector answers" in down.stderr


def test_help_says_what_check_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "check:" in out and "/healthz" in out and "WSGISCOPE_COLLECTOR_URL" in out

"""The phases partition the request (protocol v2): read_body + app + generate + write equals
the duration, for iterables, the write() callable and file responses."""

from __future__ import annotations

import os
import tempfile
from io import BytesIO
from typing import Any, Iterable, Iterator
from wsgiref.util import FileWrapper

import pytest
from support import FakeClock, FakeTransport, call, make_agent, make_environ

from wsgiscope.middleware import Middleware

PHASES = ("read_us", "app_us", "gen_us", "write_us")


def run(app: Any, clock: FakeClock, environ: Any = None, write_ms: float = 0.0,
        **options: Any) -> tuple[dict[str, Any], FakeTransport]:
    transport = FakeTransport()
    mw = Middleware(app, make_agent(clock, transport, **options))
    call(mw, environ or make_environ(), on_block=lambda block: clock.advance(write_ms))
    assert mw.agent.flush(1.0)
    cols = transport.bodies[-1]["requests"]
    return {name: values[0] for name, values in cols.items()}, transport


def assert_partition(rec: dict[str, Any]) -> None:
    assert sum(rec[p] for p in PHASES) == rec["duration_us"], rec


def test_streamed_body_generation_is_its_own_phase() -> None:
    """10 chunks x 50 ms computed inside the generator: 0.5 s of generate, not a lost 0.5 s."""
    clock = FakeClock()

    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        clock.advance(3)
        start_response("200 OK", [])
        for number in range(10):
            clock.advance(50)
            yield b"chunk %d" % number

    rec, _ = run(app, clock, write_ms=1)
    assert (rec["app_us"], rec["gen_us"], rec["write_us"]) == (0, 503_000, 10_000)
    assert_partition(rec)


def test_app_time_excludes_body_reads_and_write_calls() -> None:
    clock = FakeClock()

    class SlowInput:
        def read(self, *args: Any) -> bytes:
            clock.advance(40)
            return b"x" * 10

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        environ["wsgi.input"].read()
        clock.advance(7)
        write = start_response("200 OK", [])
        write(b"early")  # the server writes it: 5 ms
        clock.advance(2)
        return [b"late"]

    environ = make_environ("POST", b"x" * 10)
    environ["wsgi.input"] = SlowInput()
    transport = FakeTransport()
    mw = Middleware(app, make_agent(clock, transport))
    response: Any = None

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        def write(data: bytes) -> None:
            clock.advance(5)
        return write

    response = mw(environ, start_response)
    for _ in response:
        clock.advance(1)
    response.close()
    assert mw.agent.flush(1.0)
    rec = {k: v[0] for k, v in transport.bodies[-1]["requests"].items()}
    assert (rec["read_us"], rec["app_us"], rec["write_us"]) == (40_000, 9_000, 6_000)
    assert_partition(rec)


class ContainerResponse:
    """Like Django's HttpResponse: iterates over a list it holds, and must be closed."""

    def __init__(self, blocks: list[bytes]) -> None:
        self.blocks, self.closed = blocks, 0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.blocks)

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize("kind", ["list", "tuple", "container"])
def test_a_body_that_exists_whole_is_written_from_the_app_return(kind: str) -> None:
    """No generation to time: the server iterates the blocks itself; write time runs from
    the app's return to close, the first byte is ready at the app's return."""
    clock = FakeClock()
    blocks = [b"first", b"", b"second"]
    response = ContainerResponse(blocks)

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        clock.advance(3)
        start_response("200 OK", [])
        bodies: dict[str, Iterable[bytes]] = {
            "list": blocks, "tuple": tuple(blocks), "container": response}
        return bodies[kind]

    transport = FakeTransport()
    mw = Middleware(app, make_agent(clock, transport))
    result: Any = mw(make_environ(), lambda status, headers, exc_info=None: None)
    if kind == "container":  # no len(): the server must not take it for a list
        assert not hasattr(result, "__len__")
    else:
        assert len(result) == 3
    body = b""
    for block in result:
        clock.advance(2)  # the server writing
        body += block
    assert body == b"firstsecond"
    result.close()
    result.close()
    assert response.closed == (kind == "container")
    assert mw.agent.flush(1.0)
    rec = {k: v[0] for k, v in transport.bodies[-1]["requests"].items()}
    assert (rec["app_us"], rec["gen_us"], rec["write_us"]) == (3_000, 0, 6_000)
    assert (rec["first_byte_us"], rec["bytes_out"]) == (3_000, 11)
    assert_partition(rec)


def test_file_response_time_is_write_time() -> None:
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(b"f" * 3000)
    clock = FakeClock()

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        clock.advance(4)
        start_response("200 OK", [])
        wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](open(handle.name, "rb"))  # noqa: SIM115
        return wrapper

    environ = make_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    rec, _ = run(app, clock, environ, write_ms=2)
    os.unlink(handle.name)
    assert rec["app_us"] == 4_000 and rec["gen_us"] == 0 and rec["write_us"] > 0
    assert_partition(rec)


def test_slow_request_is_captured_whole_with_its_traceparent() -> None:
    clock = FakeClock()
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        environ["wsgi.input"].read()
        clock.advance(600)
        start_response("200 OK", [])
        for _ in range(3):
            clock.advance(200)
            yield b"x"

    environ = make_environ("POST", b"body", HTTP_TRACEPARENT=parent)
    environ["wsgi.input"] = BytesIO(b"body")
    rec, transport = run(app, clock, environ, write_ms=1)
    (trace,) = transport.bodies[-1]["traces"]
    assert (trace["reason"], trace["traceparent"], trace["method"]) == ("slow", parent, "POST")
    assert trace["duration_us"] == rec["duration_us"] == 1_203_000
    phases = trace["phases"]
    # a generator app: calling it returns at once, everything happens inside the iterable
    assert phases["app"] == [0, 0, 0]
    assert phases["generate"] == [0, 1_203_000, 1_200_000]
    assert phases["write"] == [800_000, 1_203_000, 3_000]
    assert phases["queue"] is None and phases["read_body"] is None  # BytesIO reads take no time


@pytest.mark.parametrize(("ratio", "slow_s", "expected"), [(0.0, 1.0, 0), (1.0, 1.0, 1),
                                                           (0.0, 0.0, 0)])
def test_fast_requests_are_captured_only_when_sampled(ratio: float, slow_s: float,
                                                      expected: int) -> None:
    clock = FakeClock()

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        clock.advance(5)
        start_response("200 OK", [])
        return [b"ok"]

    _, transport = run(app, clock, trace_sample_ratio=ratio, slow_request_s=slow_s)
    assert len(transport.bodies[-1].get("traces", [])) == expected


def test_captured_requests_are_bounded_per_flush_and_drops_counted() -> None:
    clock = FakeClock()
    transport = FakeTransport()

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        clock.advance(2)
        start_response("200 OK", [])
        return [b"ok"]

    mw = Middleware(app, make_agent(clock, transport, trace_sample_ratio=1.0,
                                    max_traces_per_batch=3))
    for _ in range(5):
        call(mw)
    assert mw.agent.flush(1.0)
    body = transport.bodies[-1]
    assert len(body["traces"]) == 3 and body["samples"][0]["dropped_traces"] == 2

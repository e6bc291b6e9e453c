"""The middleware, called directly as a server would, with a scripted clock."""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import threading
import weakref
from io import BytesIO
from typing import Any, Iterable, Iterator
from wsgiref.util import FileWrapper
from wsgiref.validate import validator

import fixtureapps
import pytest
from support import FakeClock, FakeTransport, call, make_agent, make_environ

import wsgiscope
from wsgiscope import middleware
from wsgiscope.middleware import Middleware


def instrumented(app: Any, **options: Any) -> tuple[Middleware, FakeClock, FakeTransport]:
    clock, transport = FakeClock(), FakeTransport()
    agent = make_agent(clock, transport, **options)
    return Middleware(app, agent), clock, transport


def columns(mw: Middleware, transport: FakeTransport) -> dict[str, list[Any]]:
    assert mw.agent.flush(1.0)
    requests: dict[str, list[Any]] = transport.bodies[-1]["requests"]
    return requests


def test_close_called_once_when_response_ends_normally() -> None:
    body = fixtureapps.Counted([b"a", b"b"])
    mw, _, transport = instrumented(fixtureapps.returning(body))
    response = call(mw)
    response.returned.close()  # a second close from a sloppy server is ignored
    assert (response.body, body.closed) == (b"ab", 1)
    assert columns(mw, transport)["error"] == [None]


def test_close_called_once_when_client_aborts() -> None:
    body = fixtureapps.Counted([b"a", b"b", b"c"])
    mw, _, transport = instrumented(fixtureapps.returning(body))
    response = call(mw, abort_after=1)
    assert (response.body, body.closed) == (b"a", 1)
    cols = columns(mw, transport)
    assert (cols["bytes_out"], cols["status"], cols["error"]) == ([2], [200], [None])


def test_close_called_once_and_error_recorded_when_iterable_raises_mid_stream() -> None:
    body = fixtureapps.Counted([b"a", b"b"], raise_at=1)
    mw, _, transport = instrumented(fixtureapps.returning(body))
    with pytest.raises(ValueError, match="broken stream"):
        call(mw)
    assert body.closed == 1
    cols = columns(mw, transport)
    assert (cols["error"], cols["status"], cols["bytes_out"]) == (["ValueError"], [200], [1])


def test_generator_closed_early_sees_generator_exit_once() -> None:
    exits: list[str] = []

    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        try:
            yield b"first"
            yield b"second"
        except GeneratorExit:
            exits.append("exit")
            raise

    mw, _, transport = instrumented(app)
    call(mw, abort_after=1)
    assert exits == ["exit"]
    assert columns(mw, transport)["error"] == [None]


def test_app_exception_before_start_response_propagates_as_500() -> None:
    mw, _, transport = instrumented(fixtureapps.raising_before_start)
    with pytest.raises(ZeroDivisionError):
        call(mw)
    cols = columns(mw, transport)
    assert (cols["status"], cols["error"], cols["first_byte_us"]) == (
        [500], ["ZeroDivisionError"], [None])


def test_exc_info_before_body_replaces_status() -> None:
    mw, _, transport = instrumented(fixtureapps.error_page_after_failure)
    response = call(mw)
    assert (response.status, response.body) == ("500 Internal Server Error", b"sorry")
    assert columns(mw, transport)["status"] == [500]


def test_exc_info_after_headers_sent_reraises_the_original_exception() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"partial"
        try:
            raise KeyError("late")
        except KeyError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        yield b"never"

    mw, _, transport = instrumented(app)
    with pytest.raises(KeyError, match="late"):
        call(mw)
    cols = columns(mw, transport)
    assert (cols["status"], cols["error"], cols["bytes_out"]) == ([200], ["KeyError"], [7])


def test_write_callable_bytes_and_time_are_counted() -> None:
    mw, _, transport = instrumented(fixtureapps.with_write)
    assert call(mw).body == b"legacy write!"
    assert columns(mw, transport)["bytes_out"] == [13]


@pytest.mark.parametrize("method", ["HEAD", "GET", "OPTIONS"])
def test_empty_bodies_have_no_first_byte(method: str) -> None:
    mw, _, transport = instrumented(fixtureapps.empty)
    response = call(mw, make_environ(method))
    assert (response.status, response.body) == ("204 No Content", b"")
    cols = columns(mw, transport)
    assert (cols["method"], cols["bytes_out"], cols["first_byte_us"]) == ([method], [0], [None])


def test_phases_follow_the_scripted_clock() -> None:
    clock = FakeClock()

    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        environ["wsgi.input"].read()  # 4 ms, see the stream below
        clock.advance(200, cpu_ms=150)
        start_response("200 OK", [])
        yield b"x" * 10
        clock.advance(5)
        yield b"y" * 5

    class SlowStream(BytesIO):
        def read(self, *args: Any) -> bytes:
            clock.advance(4)
            return super().read(*args)

    transport = FakeTransport()
    mw = Middleware(app, make_agent(clock, transport))
    environ = make_environ("POST", b"abcdef", HTTP_X_REQUEST_START="t=1767225599500000")
    environ["wsgi.input"] = SlowStream(b"abcdef")
    call(mw, environ, on_block=lambda block: clock.advance(3))  # the server writes for 3 ms
    cols = columns(mw, transport)
    assert cols["read_us"] == [4000] and cols["bytes_in"] == [6]
    assert cols["app_us"] == [0]  # a generator: the work happens while iterating
    assert cols["first_byte_us"] == [204000]
    assert cols["write_us"] == [6000]
    assert cols["duration_us"] == [215000]
    assert cols["cpu_us"] == [150000]
    assert cols["bytes_out"] == [15]
    assert cols["queue_us"] == [500000]


def test_app_time_ends_when_the_app_returns_its_iterable() -> None:
    clock = FakeClock()

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        clock.advance(200)
        start_response("200 OK", [])
        return [b"done"]

    transport = FakeTransport()
    mw = Middleware(app, make_agent(clock, transport))
    call(mw, on_block=lambda block: clock.advance(7))
    cols = columns(mw, transport)
    assert (cols["app_us"], cols["first_byte_us"], cols["write_us"], cols["duration_us"]) == (
        [200000], [200000], [7000], [207000])


def test_file_wrapper_is_returned_unchanged_and_measured() -> None:
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(b"z" * 5000)

    class Wrapper(FileWrapper):
        pass

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](open(handle.name, "rb"))  # noqa: SIM115
        return wrapper

    mw, _, transport = instrumented(app)
    environ = make_environ()
    environ["wsgi.file_wrapper"] = Wrapper
    response = call(mw, environ)
    os.unlink(handle.name)
    assert type(response.returned) is Wrapper  # the server can still use sendfile
    assert len(response.body) == 5000 and response.returned.filelike.closed
    cols = columns(mw, transport)
    assert cols["bytes_out"] == [5000] and cols["error"] == [None]


def uwsgi_file_wrapper(filelike: Any, block_size: int = 8192) -> Any:
    """uWSGI's wsgi.file_wrapper: a function that hands back the file itself; uWSGI sends it
    with sendfile() only when the app returns that very object."""
    return filelike


def test_uwsgi_style_file_wrapper_function_keeps_the_file_object() -> None:
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(b"z" * 7000)
    opened = open(handle.name, "rb")  # noqa: SIM115

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        wrapped: Iterable[bytes] = environ["wsgi.file_wrapper"](opened, 4096)
        return wrapped

    mw, _, transport = instrumented(app)
    environ = make_environ()
    environ["wsgi.file_wrapper"] = uwsgi_file_wrapper
    response = call(mw, environ)
    os.unlink(handle.name)
    assert response.returned is opened  # uWSGI compares identity before its sendfile path
    assert len(response.body) == 7000 and opened.closed
    cols = columns(mw, transport)
    assert cols["bytes_out"] == [7000] and cols["error"] == [None]


class SlotStream:
    """Like mod_wsgi's C Stream: no instance attributes; close() closes the wrapped file."""

    __slots__ = ("blksize", "filelike")

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike, self.blksize = filelike, blksize

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.filelike.read(self.blksize), b"")

    def close(self) -> None:
        self.filelike.close()


def test_file_wrapper_without_attributes_is_kept_and_measured_through_its_file() -> None:
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(b"m" * 9000)
    opened = open(handle.name, "rb")  # noqa: SIM115

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        wrapped: Iterable[bytes] = environ["wsgi.file_wrapper"](opened)
        return wrapped

    mw, _, transport = instrumented(app)
    environ = make_environ()
    environ["wsgi.file_wrapper"] = SlotStream
    response = call(mw, environ)
    os.unlink(handle.name)
    assert type(response.returned) is SlotStream  # mod_wsgi's sendfile checks the type
    assert len(response.body) == 9000 and opened.closed
    cols = columns(mw, transport)
    assert cols["bytes_out"] == [9000] and cols["error"] == [None]
    assert mw.agent.occupancy.snapshot(0).active_requests == 0


def test_generators_are_still_wrapped_under_a_file_wrapper_function() -> None:
    mw, _, transport = instrumented(fixtureapps.returning(fixtureapps.Counted([b"ab", b"c"])))
    environ = make_environ()
    environ["wsgi.file_wrapper"] = uwsgi_file_wrapper
    response = call(mw, environ)
    assert response.body == b"abc" and response.returned is not None
    assert columns(mw, transport)["bytes_out"] == [3]


def test_app_wrapped_twice_is_the_same_middleware() -> None:
    mw, _, _ = instrumented(fixtureapps.hello)
    assert wsgiscope.wrap(mw) is mw


def test_request_through_two_middlewares_is_recorded_once_by_the_outer() -> None:
    inner, _, inner_transport = instrumented(fixtureapps.hello, service_name="inner")
    outer, _, outer_transport = instrumented(inner, service_name="outer")
    for _ in range(3):
        assert call(outer).body == b"Hello, world!"
    assert len(columns(outer, outer_transport)["status"]) == 3
    inner.agent.flush(1.0)
    assert all(not body["requests"]["status"] for body in inner_transport.bodies)
    assert outer.agent.occupancy.snapshot(0).active_requests == 0


def test_list_bodies_keep_their_length_for_content_length() -> None:
    mw, _, _ = instrumented(fixtureapps.hello)
    environ = make_environ()
    result = mw(environ, lambda status, headers, exc_info=None: None)
    assert len(result) == 1  # type: ignore[arg-type]
    result.close()  # type: ignore[attr-defined]


def test_request_body_read_through_every_input_method() -> None:
    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        stream = environ["wsgi.input"]
        parts = [stream.readline(), stream.read(2), *stream.readlines(1), *list(stream)]
        start_response("200 OK", [])
        return [b"|".join(parts)]

    mw, _, transport = instrumented(app)
    body = b"line1\nABrest\nmore\nend"
    assert call(mw, make_environ("POST", body)).body == b"line1\n|AB|rest\n|more\n|end"
    assert columns(mw, transport)["bytes_in"] == [len(body)]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("app", [fixtureapps.hello, fixtureapps.with_write, fixtureapps.echo,
                                 fixtureapps.empty], ids=lambda app: app.__name__)
def test_wsgiref_validator_finds_nothing_on_either_side(app: Any) -> None:
    mw, _, _ = instrumented(validator(app))
    outer = validator(mw)
    response = call(outer, make_environ("POST", b"ping"))
    assert response.status is not None


def test_cpu_not_reported_when_close_runs_on_another_thread() -> None:
    mw, _, transport = instrumented(fixtureapps.hello)
    result = mw(make_environ(), lambda *args: None)
    list(result)
    closer = threading.Thread(target=result.close)  # type: ignore[attr-defined]
    closer.start()
    closer.join()
    assert columns(mw, transport)["cpu_us"] == [None]


def test_cpu_time_off_reports_no_cpu_and_never_reads_the_thread_clock() -> None:
    mw, clock, transport = instrumented(fixtureapps.hello, cpu_time=False)
    call(mw)
    assert mw.agent.resource is not None and mw.agent.resource["cpu_attributable"] is False
    assert columns(mw, transport)["cpu_us"] == [None]
    assert clock.thread_cpu_reads == 0


def test_shim_failure_falls_back_to_the_bare_app() -> None:
    class BrokenOccupancy:
        def new_thread(self, *args: Any) -> Any:  # the request path's call for a new thread
            raise RuntimeError("shim bug")

    mw, _, _ = instrumented(fixtureapps.hello)
    mw.occupancy = BrokenOccupancy()  # type: ignore[assignment]
    assert call(mw).body == b"Hello, world!"


def test_a_list_body_closed_twice_is_recorded_once() -> None:
    mw, _, transport = instrumented(fixtureapps.hello)
    result = mw(make_environ(), lambda status, headers, exc_info=None: None)
    assert b"".join(result) == b"Hello, world!"
    result.close()  # type: ignore[attr-defined]
    result.close()  # type: ignore[attr-defined]
    assert columns(mw, transport)["bytes_out"] == [13]
    assert mw.agent.occupancy.snapshot(0).active_requests == 0


def test_start_response_takes_the_specs_keyword_arguments() -> None:
    seen: list[Any] = []

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response(status="201 Created", response_headers=[("X-A", "1")])
        try:
            raise KeyError("k")
        except KeyError:
            start_response("503 Busy", [], exc_info=sys.exc_info())
        return [b"x"]

    mw, _, transport = instrumented(app)
    result = mw(make_environ(), lambda *args: seen.append(args))
    result.close()  # type: ignore[attr-defined]
    assert [args[0] for args in seen] == ["201 Created", "503 Busy"]
    assert len(seen[0]) == 2 and seen[1][2][0] is KeyError  # exc_info passed on as given
    assert columns(mw, transport)["status"] == [503]


@pytest.mark.parametrize(("status", "expected"), [
    ("200 OK", 200), ("404 Nope", 404), ("abc", 500), ("", 500), (None, 500), (["200"], 500),
    (b"204 No", 204),
])
def test_any_status_line_gives_a_code_and_never_an_exception(status: Any, expected: int) -> None:
    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response(status, [])
        return [b""]

    for _ in range(2):  # the second time through the cache of status lines
        mw, _, transport = instrumented(app)
        mw(make_environ(), lambda *args: None).close()  # type: ignore[attr-defined]
        assert columns(mw, transport)["status"] == [expected]


def test_the_cache_of_status_lines_is_bounded() -> None:
    for code in range(2000):
        middleware._status_code(f"{200 + code % 300} Reason {code}")
    assert len(middleware._STATUS_CODES) <= 1024


def test_disabled_returns_the_app_untouched() -> None:
    app = fixtureapps.hello
    assert wsgiscope.wrap(app, disabled=True) is app


def test_records_one_lane_per_thread_in_order_of_first_use() -> None:
    mw, _, transport = instrumented(fixtureapps.hello)
    call(mw)
    worker = threading.Thread(target=call, args=(mw,))
    worker.start()
    worker.join()
    call(mw)
    assert columns(mw, transport)["thread"] == [0, 1, 0]


class OpaqueWrapper:
    """Like bjoern's C FileWrapper: no attributes to hook, no ``filelike`` to reach the file;
    its close() closes the file (and the server checks the exact type before sendfile)."""

    __slots__ = ("_file",)

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self._file = filelike

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self._file.read(8192), b"")

    def close(self) -> None:
        self._file.close()


def test_opaque_file_wrapper_is_kept_by_hooking_the_file_on_its_way_in() -> None:
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(b"b" * 6000)
    files = [open(handle.name, "rb") for _ in range(2)]  # noqa: SIM115

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        wrapped: Iterable[bytes] = environ["wsgi.file_wrapper"](files.pop(0), 4096)
        return wrapped

    mw, _, transport = instrumented(app)
    for _ in range(2):
        environ = make_environ()
        environ["wsgi.file_wrapper"] = OpaqueWrapper
        response = call(mw, environ)
        assert type(response.returned) is OpaqueWrapper and len(response.body) == 6000
    os.unlink(handle.name)
    cols = columns(mw, transport)
    assert cols["bytes_out"] == [6000, 6000] and mw.intercept_files
    assert mw.agent.occupancy.snapshot(0).active_requests == 0


class _Environ(dict[str, Any]):
    """An environ a weak reference can follow (a plain dict cannot)."""


def _serve_and_forget(mw: Middleware, environ: dict[str, Any]) -> None:
    """Serve one request as a server does, keeping no reference to anything afterwards."""
    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return lambda data: None

    result = mw(environ, start_response)
    for _block in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()


def _file_app(size: int) -> Any:
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(b"f" * size)

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        wrapped: Iterable[bytes] = environ["wsgi.file_wrapper"](open(handle.name, "rb"))  # noqa: SIM115
        return wrapped

    return app


def _body_app(environ: Any, start_response: Any) -> Iterable[bytes]:
    data = environ["wsgi.input"].read()
    start_response("200 OK", [])
    return [data]


def _streaming_app(environ: Any, start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [])
    yield b"a"
    yield b"b"


@pytest.mark.parametrize(("case", "app", "file_wrapper", "body"), [
    ("list body", fixtureapps.hello, None, b""),
    ("request body", _body_app, None, b"hello"),
    ("generator", _streaming_app, None, b""),
    ("wrapper class (gunicorn, waitress)", _file_app(3000), FileWrapper, b""),
    ("wrapper function (uWSGI)", _file_app(3000), uwsgi_file_wrapper, b""),
    ("wrapper without attributes (mod_wsgi)", _file_app(3000), SlotStream, b""),
    ("opaque wrapper (bjoern)", _file_app(3000), OpaqueWrapper, b""),
])
def test_a_request_leaves_no_reference_cycle(case: str, app: Any, file_wrapper: Any,
                                             body: bytes) -> None:
    # A cycle through the request (its environ, its body, our hooks on a file) would live until
    # the garbage collector runs, and forever in apps that disable it.
    mw, _, transport = instrumented(app)
    for _ in range(3):  # the first starts the agent; opaque wrappers are learnt at the first
        environ = _Environ(make_environ("POST" if body else "GET", body=body))
        if file_wrapper is not None:
            environ["wsgi.file_wrapper"] = file_wrapper
        ref = weakref.ref(environ)
        gc.disable()
        try:
            _serve_and_forget(mw, environ)
            del environ
            assert ref() is None, f"{case}: the environ outlived the request"
        finally:
            gc.enable()
    assert len(columns(mw, transport)["status"]) == 3

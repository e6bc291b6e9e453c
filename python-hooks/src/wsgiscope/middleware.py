"""The WSGI middleware: measures every request's phases without changing its behaviour.

design: one ``_Request`` object per request is at once the ``start_response`` handed to the
app (its bound method), the response iterable handed to the server, and the record builder, so
a request costs one object (plus a ``wsgi.input`` wrapper when there is a body). The request
path makes few Python calls: it updates the occupancy (:mod:`wsgiscope.occupancy`: two dict
operations) and appends its record to the buffer inline, and a list body's ``close`` is the
recording itself; each call saved is 40-100 ns, measured (docs/benchmarks.md). The request
ends when the server calls ``close()`` on what we returned, which calls the app iterable's
``close()`` exactly once. The phases partition the request: read time is spent inside ``wsgi.input``
reads, write time is the time we are suspended between handing a block to the server and being
asked for the next one (or closed), plus time inside ``write()``; generation time is spent
inside the app iterable's ``__next__`` (the body being produced); app time is the app call
less the reads and writes made during it.

A request slower than ``slow_request_s`` (or sampled) is also kept whole, with its phases' first
and last moments and its ``traceparent``, for a span tree (:func:`wsgiscope.traces.capture`):
that work happens only for those requests, after they ended.

``wsgi.file_wrapper`` responses are returned as the very object the app returned, so servers
keep their sendfile fast path; we hook its ``close`` attribute instead (or, where the
wrapper takes no attributes, like mod_wsgi's, the wrapped file's ``close``, which the wrapper
calls). Where the wrapper shows neither (bjoern's C type), the server's ``wsgi.file_wrapper``
is called through a function of ours that hooks the file's ``close`` on the way in; that is
decided once per process, at the first request (or at the first file response we could not
hook), so other servers pay nothing for it. A file wrapper is either
a class (gunicorn, waitress, mod_wsgi: the response is an instance of it) or, under uWSGI, a
function that returns the file itself and sends it with sendfile() only when the app returns
that same object: a response that is a file (it has ``fileno``) is therefore passed through
too. For those we know the bytes (Content-Length, else file size minus position) and the time
the server spent sending (app return to close, reported as write time), but not when the first
byte left.

Granian sends a ``list`` body whole (joined, with its length) and streams anything else block
by block (chunked without a Content-Length): under Granian a list is returned as it is and the
request ends at the app's return (Granian neither iterates nor closes a list).

A request that already passed through another wsgiscope middleware (the app wrapped twice, e.g.
``wrap()`` in ``wsgi.py`` and again around it) is measured by the outer one only: the outer
marks the environ (``wsgiscope.middleware``), the inner passes the request straight through.

The shim never raises an exception of its own into the server: app exceptions propagate
unchanged, and a failure inside the shim's bookkeeping falls back to calling the app bare.
"""

from __future__ import annotations

import contextlib
import random
import threading
from threading import get_ident
from typing import Any, Callable, Iterable, Optional, cast

from .agent import Agent
from .body import TimedInput, file_bytes, needs_interception
from .config import ROUTES_ALL, ROUTES_FRAMEWORK, ROUTES_OFF, Config
from .frameworks import FRAMEWORK_ROUTE, instrument_app
from .granian import SOFTWARE as GRANIAN
from .record import Record
from .traces import capture

MARK = "wsgiscope.middleware"  # environ key: the middleware measuring this request

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
RouteGetter = Callable[[dict[str, Any]], Optional[str]]


class _Request:
    __slots__ = (
        "app_io_ns", "body", "bytes_out", "closed", "cpu0", "environ", "error", "file",
        "file_close", "file_result", "gen_last", "gen_ns", "headers", "ident", "inner_close",
        "input", "it", "lane", "mw", "recorded", "server_file_wrapper", "server_start_response",
        "server_write", "status", "t0", "t_app", "t_first", "wrapped_file", "write_ns", "yield_ns",
    )

    def __init__(self, mw: Middleware, environ: dict[str, Any],
                 start_response: StartResponse) -> None:
        self.mw = mw
        self.environ = environ
        self.server_start_response = start_response
        self.status = 500
        self.error: Optional[str] = None
        self.write_ns = self.bytes_out = self.gen_ns = 0
        self.t_first = self.yield_ns = self.t_app = self.app_io_ns = self.gen_last = 0
        self.file_result: Any = None
        self.server_file_wrapper: Any = None
        self.input: Optional[TimedInput] = None
        self.closed = self.file = self.recorded = False
        self.inner_close: Optional[Callable[[], Any]] = None
        self.headers: Any = None
        self.ident = ident = mw.ident()
        self.t0 = t0 = mw.perf()
        self.cpu0 = mw.thread_cpu() if mw.cpu_attributable else -1
        # Occupancy.enter, inline: this thread's entry, replaced by this thread only
        threads = mw.threads
        count, since, busy, lane = threads.get(ident) or mw.occupancy.new_thread(ident)
        threads[ident] = (1, t0, busy, lane) if count == 0 else (count + 1, since, busy, lane)
        self.lane = lane
        environ[MARK] = mw
        if mw.intercept_files:
            fw = environ.get("wsgi.file_wrapper")
            if fw is not None:
                self.server_file_wrapper = fw
                environ["wsgi.file_wrapper"] = self.wrap_file
        length = environ.get("CONTENT_LENGTH")
        if (length and length != "0") or "HTTP_TRANSFER_ENCODING" in environ:
            stream = environ.get("wsgi.input")
            if stream is not None:
                environ["wsgi.input"] = self.input = TimedInput(stream, mw.perf)

    # -- start_response and write() ----------------------------------------------------------

    def start_response(self, status: str, response_headers: Any,
                       exc_info: Any = None) -> Callable[[bytes], Any]:
        """The ``start_response`` the app calls (a bound method: cheaper to call than the
        instance itself). The server's is called with what the app gave."""
        if exc_info is None:
            self.server_write = self.server_start_response(status, response_headers)
        else:
            self.server_write = self.server_start_response(status, response_headers, exc_info)
        try:
            self.status = _STATUS_CODES[status]
        except (KeyError, TypeError):
            self.status = _status_code(status)
        self.headers = response_headers
        return self.write

    def write(self, data: bytes) -> Any:
        perf = self.mw.perf
        started = perf()
        if data and not self.t_first:
            self.t_first = started
        try:
            return self.server_write(data)
        finally:
            self.write_ns += perf() - started
            self.bytes_out += len(data)

    # -- wsgi.file_wrapper ---------------------------------------------------------------------

    def wrap_file(self, filelike: Any, *args: Any) -> Any:
        """The server's file wrapper, called for the app, with the file's ``close`` hooked (for
        wrappers that show us nothing of themselves: their close() closes the file)."""
        result = self.server_file_wrapper(filelike, *args)
        try:
            original = filelike.close
            filelike.close = self.close
        except Exception:
            return result
        self.file_close, self.wrapped_file, self.file_result = original, filelike, result
        return result

    # -- the response iterable ---------------------------------------------------------------

    def respond(self, result: Iterable[bytes]) -> Iterable[bytes]:
        self.t_app = self.mw.perf()
        # reads and writes made during the app call: not app time
        self.app_io_ns = self.write_ns if self.input is None else self.write_ns + self.input.ns
        kind = type(result)
        if kind is not list and kind is not tuple:  # a list is neither closable nor a file
            self.inner_close = getattr(result, "close", None)
            if self.file_result is not None and self.file_result is result:  # via wrap_file
                self.inner_close = self.file_close
                self.file = True
                self.bytes_out = file_bytes(self.wrapped_file, self.headers)
                return cast("Iterable[bytes]", result)  # the server's own: it keeps sendfile
            file_wrapper = self.environ.get("wsgi.file_wrapper")
            if file_wrapper is not None:
                if isinstance(file_wrapper, type):
                    if kind is file_wrapper:
                        if self._hook_file(result):
                            return result  # the server's own object: it keeps its sendfile path
                        self.mw.intercept_files = True  # from the next file response on
                elif hasattr(result, "fileno") and self._hook_file(result):
                    return result  # uWSGI: the file itself, sent with sendfile
        try:
            self.it = it = iter(result)
            if kind is list or kind is tuple:
                blocks: Any = result
            elif type(it) in _SEQUENCE_ITERATORS:  # e.g. Django's HttpResponse: a list inside
                blocks = list(it)
                self.it = iter(blocks)
            else:
                return self
            # the body exists already: no generation to time, the server writes it from here
            self.bytes_out += sum(map(len, blocks))
            self.file = True
            self.body = blocks
            self.__class__ = _SizedReadyRequest if blocks is result else _ReadyRequest
            if kind is list and self.mw.joins_lists:
                # Granian joins a list and sends the bytes from Rust (anything else is streamed
                # block by block, chunked without a Content-Length); it neither iterates nor
                # closes a list: the request ends here, and Granian keeps its fast path
                self.close()
                return result
        except BaseException as exc:
            self.error = type(exc).__name__
            self.close()
            raise
        return self

    def _hook_file(self, result: Any) -> bool:
        try:
            result.close = self.close
        except Exception:
            # a wrapper type without instance attributes (mod_wsgi's C Stream): its close()
            # closes the file it wraps, so hook the file's close instead
            try:
                filelike = result.filelike
                original = filelike.close
                filelike.close = self.close
            except Exception:
                return False
            self.inner_close = original
        self.file = True
        self.bytes_out = file_bytes(result, self.headers)
        return True

    def __iter__(self) -> _Request:
        return self

    def __next__(self) -> bytes:
        perf = self.mw.perf
        now = perf()
        if self.yield_ns:
            self.write_ns += now - self.yield_ns
            self.yield_ns = 0
        try:
            block: bytes = next(self.it)
        except StopIteration:
            raise
        except BaseException as exc:
            self.error = type(exc).__name__
            raise
        finally:  # time inside the app's iterator, however it left: body generation
            self.gen_last = ended = perf()
            self.gen_ns += ended - now
        now = ended
        if block:
            self.bytes_out += len(block)
            if not self.t_first:
                self.t_first = now
        self.yield_ns = now
        return block

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.yield_ns:
            self.write_ns += self.mw.perf() - self.yield_ns
            self.yield_ns = 0
        try:
            if self.inner_close is not None:
                self.inner_close()
        except BaseException as exc:
            if self.error is None:
                self.error = type(exc).__name__
            raise
        finally:
            self.finish()

    def finish(self) -> None:
        """Record the request, once. Never raises."""
        if self.recorded:
            return
        self.recorded = True
        try:
            mw = self.mw
            t_end = mw.perf()
            if not self.t_app:
                self.t_app = t_end
            cpu = -1
            if self.cpu0 >= 0 and mw.ident() == self.ident:
                cpu = mw.thread_cpu() - self.cpu0
            threads = mw.threads  # Occupancy.leave, inline
            ident = self.ident
            entry = threads.get(ident)
            if entry is not None:
                count, since, busy, lane = entry
                if count == 1:
                    threads[ident] = (0, 0, busy + t_end - since if t_end > since else busy, lane)
                elif count > 1:
                    threads[ident] = (count - 1, since, busy, lane)
            status = self.status
            if self.error is not None and not self.t_first:
                status = 500  # headers were never sent: the server answers 500
            if self.file:  # handed over whole at the app's return (a file, or blocks)
                self.write_ns += t_end - self.t_app
                if self.bytes_out and not self.t_first:
                    self.t_first = self.t_app
            environ = self.environ
            route = None
            if mw.routes is not ROUTES_OFF:
                # the framework's route template (Django's resolved route, Flask's url_rule),
                # put there by our hook on the app (wsgiscope.frameworks.instrument_app)
                route = environ.get(FRAMEWORK_ROUTE)
                if not isinstance(route, str):
                    route = mw.route(environ) if mw.routes is ROUTES_ALL else None
            queue = (environ.get("HTTP_X_REQUEST_START") or environ.get("HTTP_X_QUEUE_START")
                     or environ.get("mod_wsgi.request_start"))
            body = self.input
            record: Record = (
                self.t0, environ.get("REQUEST_METHOD", ""), route, status, self.t_app,
                self.t_first, t_end, 0 if body is None else body.ns, self.write_ns, cpu,
                0 if body is None else body.bytes, self.bytes_out, self.error, self.lane, queue,
                self.app_io_ns, self.gen_ns,
            )
            records = mw.records  # RecordBuffer.append, inline
            if len(records) < mw.max_records:
                records.append(record)
            else:
                mw.buffer.count_dropped(1)
            if (t_end - self.t0 >= mw.slow_ns > 0
                    or (mw.sample_ratio and mw.random() < mw.sample_ratio)):
                capture(mw.agent, self, t_end, route, status, queue,
                        environ.get("HTTP_TRACEPARENT"))
            if self.file_result is not None or (self.file and self.inner_close is not None):
                # our hooks on a file or its wrapper point back at us: let go of them, so no
                # reference cycle outlives the request (the original close has run)
                self.inner_close = self.file_close = self.wrapped_file = self.file_result = None
            if self.server_file_wrapper is not None:  # the environ held our wrap_file
                environ["wsgi.file_wrapper"] = self.server_file_wrapper
            agent = mw.agent
            if t_end >= agent.inline_check_ns:
                agent.inline_check(t_end)
        except Exception:
            pass


class _ReadyRequest(_Request):
    """A body that exists whole when the app returns (a list or tuple of blocks, or an object
    iterating over one, like Django's ``HttpResponse``): the server iterates the blocks
    directly, at C speed; like a file, its write time runs from the app's return to ``close``
    and its first byte is ready at the app's return."""

    __slots__ = ()

    def __iter__(self) -> Any:
        return self.it


class _SizedReadyRequest(_ReadyRequest):
    """For list/tuple bodies: keeps ``len()`` so servers can still set Content-Length. A list
    has no ``close`` and the server never suspends us between its blocks: closing is recording."""

    __slots__ = ()

    def __len__(self) -> int:
        return len(self.body)

    close = _Request.finish


_SEQUENCE_ITERATORS: tuple[type, ...] = (type(iter([])), type(iter(())))

_STATUS_CODES: dict[str, int] = {}  # status line -> code, for the lines apps send (bounded)


def _status_code(status: Any) -> int:
    """The code of a status line (500 if it has none), remembered for the next time."""
    try:
        code = int(status[:3])
    except (TypeError, ValueError, IndexError):
        return 500
    if len(_STATUS_CODES) < 1024 and isinstance(status, str):
        _STATUS_CODES[status] = code
    return code


def _current_ident() -> int:
    return threading.get_ident()


def _default_route(environ: dict[str, Any]) -> Optional[str]:
    route = environ.get("wsgiscope.route")
    return route if isinstance(route, str) else None


class Middleware:
    """The wrapped application. Build it with :func:`wrap`."""

    __slots__ = ("agent", "app", "buffer", "cpu_attributable", "ident", "intercept_files",
                 "joins_lists", "max_records", "occupancy", "perf", "random", "records", "route",
                 "routes", "sample_ratio", "slow_ns", "thread_cpu", "threads")

    def __init__(self, app: WSGIApp, agent: Agent, route: Optional[RouteGetter] = None) -> None:
        self.app = app
        self.agent = agent
        self.perf = agent.clock.perf_ns
        self.thread_cpu = agent.clock.thread_cpu_ns
        # the request path updates the occupancy and appends to the buffer inline (a method
        # call each would cost more than the work): their containers outlive Agent resets
        self.occupancy = agent.occupancy
        self.threads = agent.occupancy.threads
        self.buffer = agent.buffer
        self.records = agent.buffer.items
        self.max_records = agent.buffer.max_records
        config = agent.config
        # the module's constants, so the request path compares by identity
        self.routes = {ROUTES_ALL: ROUTES_ALL, ROUTES_OFF: ROUTES_OFF}.get(config.routes,
                                                                          ROUTES_FRAMEWORK)
        self.route = route or _default_route
        self.slow_ns = int(config.slow_request_s * 1e9)
        self.sample_ratio = config.trace_sample_ratio
        self.random = random.random
        self.ident = get_ident
        self.intercept_files = False
        self.learn()

    def learn(self) -> None:
        """Adapt to the server: called again once the agent knows which server runs us."""
        info = self.agent.server_info
        self.cpu_attributable = info is None or info.cpu_attributable
        self.joins_lists = info is not None and info.server == GRANIAN  # see respond()
        if info is not None and not info.cpu_attributable and (info.capacity_threads or 1) > 1:
            # greenlet workers (gevent, eventlet): the capacity is greenlets, so is a lane. Their
            # monkey-patching replaces threading.get_ident after we were imported: look it up
            # at call time.
            self.ident = _current_ident

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if MARK in environ:  # wrapped twice: the outer middleware measures this request
            return self.app(environ, start_response)
        agent = self.agent
        try:
            if not agent.started:
                agent.start(environ)
                self.learn()
                self.intercept_files = needs_interception(environ.get("wsgi.file_wrapper"))
            req = _Request(self, environ, start_response)
        except Exception:
            return self.app(environ, start_response)
        try:
            result = self.app(environ, req.start_response)
        except BaseException as exc:
            req.error = type(exc).__name__
            req.finish()
            raise
        return req.respond(result)


def wrap(app: WSGIApp, *, agent: Optional[Agent] = None, route: Optional[RouteGetter] = None,
         **options: Any) -> WSGIApp:
    """Wrap a WSGI application so every request is measured and reported.

        import wsgiscope
        application = wsgiscope.wrap(application, service_name="shop")

    ``options`` are the names listed by ``python -m wsgiscope --help`` (each also settable as
    a ``WSGISCOPE_*`` variable). ``route(environ)`` may return the request's route template
    (used only with ``routes=True``; default: ``environ['wsgiscope.route']``). ``agent`` lets
    tests and server integrations pass a prepared :class:`wsgiscope.agent.Agent`.
    """
    if isinstance(app, Middleware):
        return app  # already measured: wrapping again would count every request twice
    if agent is None:
        config = Config.load(**options)
        if config.disabled:
            return app
        agent = Agent(config)
    with contextlib.suppress(Exception):
        instrument_app(app)
    return Middleware(app, agent, route)

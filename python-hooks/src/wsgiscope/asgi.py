"""The ASGI middleware: the same request records and occupancy as the WSGI middleware.

    from wsgiscope.asgi import wrap
    app = wrap(app, capacity_threads=64)      # uvicorn app:app --limit-concurrency 64

design: one ``_AsgiRequest`` per HTTP request wraps ``receive`` and ``send``; records go into
the same :class:`~wsgiscope.agent.Agent` (buffer, occupancy, flusher thread) as WSGI records, so
the collector cannot tell them apart. The phases, mapped onto ASGI:

* queue: ``X-Request-Start`` / ``X-Queue-Start`` → the start of the app call (as for WSGI);
* read_body: time spent awaiting ``receive()`` calls that returned ``http.request`` messages
  (bytes in = their bodies);
* app: start of the call until the app sends ``http.response.start`` (the ASGI counterpart of
  "the WSGI app returned": status and headers are known); the whole call when it never does;
* first_byte: until the first non-empty ``http.response.body`` is handed to ``send``;
* write: time spent awaiting ``send()`` of ``http.response.body`` messages (the server's
  flow control: a slow client makes these awaits long);
* duration: start of the call until the app's coroutine returns (or raises).

CPU per request is **not attributable**: every request shares the event loop's thread, so
``cpu_us`` is null (as on greenlet servers). Occupancy: each request is its own lane (a task,
like a greenlet), so "busy threads" counts requests in flight and busy-thread-seconds
integrates them; capacity is the configured concurrency limit (``WSGISCOPE_CAPACITY_THREADS``
/ ``capacity_threads``; the launchers pass the same number to uvicorn's ``--limit-concurrency``),
reported as ``capacity_source="configured"``, and 1 (``default``) when not configured.

Like the WSGI middleware this never raises an exception of its own into the server: app
exceptions propagate unchanged, and a failure in the bookkeeping falls back to the bare app.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Awaitable, Callable, MutableMapping, Optional

from .agent import Agent
from .config import ROUTES_ALL, Config
from .detect import ServerInfo, distribution_version, gunicorn_worker_on_stack
from .record import Record

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RouteGetter = Callable[[Scope], Optional[str]]

# ASGI servers we can name; the first one imported in this process wins.
KNOWN_SERVERS = ("uvicorn", "hypercorn", "daphne", "granian")


def asgi_server_info(modules: Any = None) -> ServerInfo:
    """The ASGI server running us, from ``sys.modules``; capacity is left to configuration."""
    modules = sys.modules if modules is None else modules
    for name in KNOWN_SERVERS:
        if name in modules:
            return ServerInfo(name, distribution_version(name), "asgi", cpu_attributable=False)
    return ServerInfo("unknown", "", "asgi", cpu_attributable=False)


def _header(scope: Scope, *names: bytes) -> Optional[str]:
    for key, value in scope.get("headers") or ():
        if key.lower() in names:
            try:
                return bytes(value).decode("latin-1")
            except Exception:
                return None
    return None


def _default_route(scope: Scope) -> Optional[str]:
    route = scope.get("wsgiscope.route")
    return route if isinstance(route, str) else None


class _AsgiRequest:
    __slots__ = ("app_io_ns", "bytes_in", "bytes_out", "error", "key", "lane", "mw", "read_ns",
                 "receive", "scope", "send", "status", "t0", "t_app", "t_first", "write_ns")

    def __init__(self, mw: AsgiMiddleware, scope: Scope, receive: Receive, send: Send) -> None:
        self.mw = mw
        self.scope = scope
        self.receive = receive
        self.send = send
        self.status = 500
        self.error: Optional[str] = None
        self.read_ns = self.write_ns = self.bytes_in = self.bytes_out = 0
        self.t_app = self.t_first = self.app_io_ns = 0
        self.t0 = t0 = mw.perf()
        self.key = object()
        self.lane = mw.agent.occupancy.enter(self.key, id(asyncio.current_task()), t0)

    async def timed_receive(self) -> Message:
        perf = self.mw.perf
        started = perf()
        message = await self.receive()
        try:
            if message.get("type") == "http.request":
                self.read_ns += perf() - started
                self.bytes_in += len(message.get("body") or b"")
        except Exception:
            pass
        return message

    async def timed_send(self, message: Message) -> None:
        perf = self.mw.perf
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "http.response.body":
            started = perf()
            try:
                size = len(message.get("body") or b"")
            except Exception:
                size = 0
            if size and not self.t_first:
                self.t_first = started
            try:
                await self.send(message)
            finally:
                self.write_ns += perf() - started
                self.bytes_out += size
            return
        if kind == "http.response.start":
            if not self.t_app:
                self.t_app = perf()
                self.app_io_ns = self.read_ns  # body reads before the response: not app time
            try:
                self.status = int(message.get("status", 200))
            except (TypeError, ValueError):
                self.status = 500
        await self.send(message)

    def finish(self) -> None:
        """Record the request. Never raises."""
        try:
            mw = self.mw
            t_end = mw.perf()
            agent = mw.agent
            agent.occupancy.leave(self.key, id(asyncio.current_task()), t_end)
            t_app = self.t_app or t_end
            status = self.status
            if self.error is not None and not self.t_app:
                status = 500  # no response started: the server answers 500
            scope = self.scope
            route = mw.route(scope) if mw.routes == ROUTES_ALL else None
            # generation: the app producing the body after response.start, not awaiting send
            # (nor receive); for ASGI the phases partition the call the same way as for WSGI
            gen_ns = t_end - t_app - self.write_ns - (self.read_ns - self.app_io_ns)
            record: Record = (
                self.t0, str(scope.get("method", "")), route, status, t_app, self.t_first,
                t_end, self.read_ns, self.write_ns, -1, self.bytes_in, self.bytes_out,
                self.error, self.lane,
                _header(scope, b"x-request-start", b"x-queue-start"),
                self.app_io_ns if self.t_app else self.read_ns, gen_ns if self.t_app else 0,
            )
            agent.buffer.append(record)
            if t_end >= agent.inline_check_ns:
                agent.inline_check(t_end)
        except Exception:
            pass


class AsgiMiddleware:
    """The wrapped ASGI application. Build it with :func:`wrap`."""

    def __init__(self, app: ASGIApp, agent: Agent, route: Optional[RouteGetter] = None,
                 modules: Any = None) -> None:
        self.app = app
        self.agent = agent
        self.perf = agent.clock.perf_ns
        self.routes = agent.config.routes
        self.route = route or _default_route
        self._modules = modules

    def _start(self, scope: Scope) -> None:
        agent = self.agent
        if agent.server_info is None:
            modules = sys.modules if self._modules is None else self._modules
            agent.set_server_info(gunicorn_worker_on_stack(modules) or asgi_server_info(modules))
        server = scope.get("server") or (None, None)
        port = server[1] if len(server) > 1 else None
        agent.start({"SERVER_PORT": str(port)} if isinstance(port, int) else {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)  # lifespan, websocket: not measured
            return
        try:
            if not self.agent.started:
                self._start(scope)
            req = _AsgiRequest(self, scope, receive, send)
        except Exception:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, req.timed_receive, req.timed_send)
        except BaseException as exc:
            req.error = type(exc).__name__
            raise
        finally:
            req.finish()


def wrap(app: ASGIApp, *, agent: Optional[Agent] = None, route: Optional[RouteGetter] = None,
         **options: Any) -> ASGIApp:
    """Wrap an ASGI application so every HTTP request is measured and reported.

        from wsgiscope.asgi import wrap
        app = wrap(app, service_name="shop", capacity_threads=64)

    Options and ``WSGISCOPE_*`` variables are the WSGI middleware's (``python -m wsgiscope
    --help``); ``capacity_threads`` is the event loop's concurrency limit. ``route(scope)`` may
    return the route template (default: ``scope['wsgiscope.route']``), used with ``routes=True``.
    """
    if isinstance(app, AsgiMiddleware):
        return app  # already measured: wrapping again would count every request twice
    if agent is None:
        config = Config.load(**options)
        if config.disabled:
            return app
        agent = Agent(config)
    return AsgiMiddleware(app, agent, route)

"""The example app as plain ASGI (standard library only): the same endpoints as ``wsgi.py``.

    uvicorn examples.app.asgi:application                      # plain
    uvicorn examples.app.asgi_instrumented:application         # in wsgiscope.asgi.wrap

Differences that are the point of the async comparison: ``/sleep``, ``/mixed`` and ``/backend``
await (the event loop serves others meanwhile); ``/cpu`` busy-loops on the loop's thread and so
blocks every other request of that process; ``/download`` awaits each block's ``send``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from typing import Any, Awaitable, Callable, Dict, List, MutableMapping, Tuple
from urllib.parse import parse_qs, urlsplit

from examples.app.wsgi import DEFAULT_CHUNK_BYTES, MAX_BYTES, MAX_MS

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

_mixed_counter = itertools.count(1)  # one event loop thread: no lock needed


def _int_param(scope: Scope, name: str, default: int, maximum: int) -> int:
    query = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(query).get(name)
    if not values:
        return default
    try:
        return max(0, min(int(values[0]), maximum))
    except ValueError:
        return default


async def _start(send: Send, status: int, headers: List[Tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def _text(send: Send, body: str, status: int = 200) -> None:
    data = body.encode()
    await _start(send, status, [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(data)).encode())])
    await send({"type": "http.response.body", "body": data})


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    await _text(send, "hello\n")


async def burn_cpu(scope: Scope, receive: Receive, send: Send) -> None:
    ms = _int_param(scope, "ms", 10, MAX_MS)
    deadline = time.thread_time() + ms / 1000.0
    spins = 0
    while time.thread_time() < deadline:  # blocks the event loop, on purpose
        spins += 1
    await _text(send, f"cpu {ms} ms, {spins} spins\n")


async def sleep(scope: Scope, receive: Receive, send: Send) -> None:
    ms = _int_param(scope, "ms", 100, MAX_MS)
    await asyncio.sleep(ms / 1000.0)
    await _text(send, f"slept {ms} ms\n")


async def mixed(scope: Scope, receive: Receive, send: Send) -> None:
    every = max(1, _int_param(scope, "every", 10, 1_000_000))
    n = next(_mixed_counter)
    long_request = n % every == 0
    ms = _int_param(scope, "long_ms", 500, MAX_MS) if long_request else _int_param(scope, "short_ms", 5, MAX_MS)
    await asyncio.sleep(ms / 1000.0)
    await _text(send, f"mixed request {n}: {ms} ms\n")


async def upload(scope: Scope, receive: Receive, send: Send) -> None:
    received = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        received += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await _text(send, f"{received}\n")


async def download(scope: Scope, receive: Receive, send: Send) -> None:
    size = _int_param(scope, "bytes", 1024 * 1024, MAX_BYTES)
    chunk = max(1, _int_param(scope, "chunk", DEFAULT_CHUNK_BYTES, MAX_BYTES))
    await _start(send, 200, [(b"content-type", b"application/octet-stream"),
                             (b"content-length", str(size).encode())])
    block = b"x" * chunk
    remaining = size
    while remaining > 0:
        n = min(chunk, remaining)
        remaining -= n
        await send({"type": "http.response.body", "body": block if n == chunk else block[:n],
                    "more_body": remaining > 0})
    if size == 0:
        await send({"type": "http.response.body", "body": b""})


async def _get(url: str, timeout_s: float) -> bytes:
    """A minimal HTTP/1.0 GET with asyncio streams (the back end is ours, on loopback)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port or 80), timeout_s)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        writer.write(f"GET {target or '/'} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()


async def backend(scope: Scope, receive: Receive, send: Send) -> None:
    ms = _int_param(scope, "ms", 100, MAX_MS)
    url = os.environ.get("EXAMPLE_BACKEND_URL")
    if not url:
        await asyncio.sleep(ms / 1000.0)
        await _text(send, f"no back end configured; slept {ms} ms\n")
        return
    answer = await _get(f"{url.rstrip('/')}/?ms={ms}", MAX_MS / 1000.0 + 5)
    body = answer.partition(b"\r\n\r\n")[2]
    await _text(send, f"back end answered {len(body)} bytes after {ms} ms\n")


async def error(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the /error endpoint always fails")


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await _text(send, "not found\n", 404)


ROUTES: Dict[str, Handler] = {
    "/": hello,
    "/hello": hello,
    "/cpu": burn_cpu,
    "/sleep": sleep,
    "/mixed": mixed,
    "/upload": upload,
    "/download": download,
    "/backend": backend,
    "/error": error,
}


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """The plain ASGI app; ``examples.app.asgi_instrumented:application`` is it in the shim."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    handler = ROUTES.get(scope.get("path") or "/", not_found)
    await handler(scope, receive, send)

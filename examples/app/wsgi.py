"""The example WSGI app: one endpoint per lab scenario, standard library only.

    GET  /  or /hello            a few bytes, as fast as possible
    GET  /cpu?ms=N               burn N ms of this thread's CPU (busy loop)
    GET  /sleep?ms=N             sleep N ms (a thread held while idle)
    GET  /mixed?every=K&long_ms=L&short_ms=S
                                 every K-th request sleeps L ms, the others S ms
    POST /upload                 read the whole body; answer its byte count
    GET  /download?bytes=N&chunk=C
                                 stream N bytes in C-byte blocks
    GET  /stream?chunks=N&ms=M   a body produced while it is sent: N chunks, M ms of work before each
    GET  /file                   the file at $EXAMPLE_DOWNLOAD_FILE through the server's wsgi.file_wrapper
                                 (its sendfile path, where it has one); 404 when unset
    GET  /backend?ms=N           call the slow back end at $EXAMPLE_BACKEND_URL (sleep N ms if unset)
    GET  /error                  raise RuntimeError (the server answers 500)

Every size and duration is capped, so a typo cannot pin a server for hours.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import urllib.request
from typing import IO, Callable, Dict, Iterable, Iterator, List, Tuple, cast
from urllib.parse import parse_qs

Environ = Dict[str, object]
StartResponse = Callable[..., object]

MAX_MS = 60_000
MAX_BYTES = 256 * 1024 * 1024
DEFAULT_CHUNK_BYTES = 64 * 1024
READ_BLOCK_BYTES = 64 * 1024

_mixed_counter = itertools.count(1)
_mixed_lock = threading.Lock()


def _int_param(environ: Environ, name: str, default: int, maximum: int) -> int:
    values = parse_qs(str(environ.get("QUERY_STRING", ""))).get(name)
    if not values:
        return default
    try:
        return max(0, min(int(values[0]), maximum))
    except ValueError:
        return default


def _text(start_response: StartResponse, body: str, status: str = "200 OK") -> List[bytes]:
    data = body.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    return _text(start_response, "hello\n")


def burn_cpu(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    ms = _int_param(environ, "ms", 10, MAX_MS)
    deadline = time.thread_time() + ms / 1000.0
    spins = 0
    while time.thread_time() < deadline:
        spins += 1
    return _text(start_response, f"cpu {ms} ms, {spins} spins\n")


def sleep(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    ms = _int_param(environ, "ms", 100, MAX_MS)
    time.sleep(ms / 1000.0)
    return _text(start_response, f"slept {ms} ms\n")


def mixed(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    every = max(1, _int_param(environ, "every", 10, 1_000_000))
    with _mixed_lock:
        n = next(_mixed_counter)
    ms = _int_param(environ, "long_ms", 500, MAX_MS) if n % every == 0 else _int_param(environ, "short_ms", 5, MAX_MS)
    time.sleep(ms / 1000.0)
    return _text(start_response, f"mixed request {n}: {ms} ms\n")


def upload(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    stream = cast(IO[bytes], environ["wsgi.input"])  # PEP 3333: a file-like object of bytes
    try:
        remaining = int(str(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        remaining = 0
    received = 0
    while remaining > 0:
        block = stream.read(min(READ_BLOCK_BYTES, remaining))
        if not block:
            break
        received += len(block)
        remaining -= len(block)
    return _text(start_response, f"{received}\n")


def download(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    size = _int_param(environ, "bytes", 1024 * 1024, MAX_BYTES)
    chunk = max(1, _int_param(environ, "chunk", DEFAULT_CHUNK_BYTES, MAX_BYTES))
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
    return _blocks(size, chunk)


def _blocks(size: int, chunk: int) -> Iterator[bytes]:
    block = b"x" * chunk
    remaining = size
    while remaining > 0:
        n = min(chunk, remaining)
        yield block if n == chunk else block[:n]
        remaining -= n


def stream(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    chunks = _int_param(environ, "chunks", 10, 1000)
    ms = _int_param(environ, "ms", 50, MAX_MS // max(1, chunks))
    start_response("200 OK", [("Content-Type", "text/plain")])
    for number in range(chunks):
        time.sleep(ms / 1000.0)  # the body is produced inside the iterable, between chunks
        yield f"chunk {number}\n".encode()


def file(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    path = os.environ.get("EXAMPLE_DOWNLOAD_FILE")
    if not path:
        return _text(start_response, "set EXAMPLE_DOWNLOAD_FILE to the file to serve\n", "404 Not Found")
    handle = open(path, "rb")  # noqa: SIM115 - the server closes the response, which closes it
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(os.fstat(handle.fileno()).st_size))])
    wrapper = environ.get("wsgi.file_wrapper")
    if callable(wrapper):
        return cast(Iterable[bytes], wrapper(handle, 65536))
    return iter(lambda: handle.read(65536), b"")


def backend(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    ms = _int_param(environ, "ms", 100, MAX_MS)
    url = os.environ.get("EXAMPLE_BACKEND_URL")
    if not url:
        time.sleep(ms / 1000.0)
        return _text(start_response, f"no back end configured; slept {ms} ms\n")
    with urllib.request.urlopen(f"{url.rstrip('/')}/?ms={ms}", timeout=MAX_MS / 1000.0 + 5) as answer:
        body = answer.read()
    return _text(start_response, f"back end answered {len(body)} bytes after {ms} ms\n")


def error(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    raise RuntimeError("the /error endpoint always fails")


def not_found(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    return _text(start_response, "not found\n", "404 Not Found")


ROUTES: Dict[str, Callable[[Environ, StartResponse], Iterable[bytes]]] = {
    "/": hello,
    "/hello": hello,
    "/cpu": burn_cpu,
    "/sleep": sleep,
    "/mixed": mixed,
    "/upload": upload,
    "/download": download,
    "/stream": stream,
    "/file": file,
    "/backend": backend,
    "/error": error,
}


def application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """The plain WSGI app; ``examples.app.instrumented:application`` is the same app in the shim."""
    handler = ROUTES.get(str(environ.get("PATH_INFO") or "/"), not_found)
    return handler(environ, start_response)


def route_names() -> Tuple[str, ...]:
    return tuple(ROUTES)

"""Tiny WSGI applications, one behaviour each."""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterable, Iterator, Optional

from support import FakeClock

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, world!"]


def empty(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("204 No Content", [])
    return []


class Counted:
    """An iterable that counts its close() calls and can raise at a chosen block."""

    def __init__(self, blocks: list[bytes], raise_at: Optional[int] = None,
                 clock: Optional[FakeClock] = None, ms_per_block: float = 0.0) -> None:
        self.blocks = blocks
        self.raise_at = raise_at
        self.closed = 0
        self.clock = clock
        self.ms_per_block = ms_per_block

    def __iter__(self) -> Iterator[bytes]:
        for index, block in enumerate(self.blocks):
            if index == self.raise_at:
                raise ValueError("broken stream")
            if self.clock is not None:
                self.clock.advance(self.ms_per_block)
            yield block

    def close(self) -> None:
        self.closed += 1


def returning(iterable: Iterable[bytes], status: str = "200 OK") -> Callable[..., Iterable[bytes]]:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "text/plain")])
        return iterable
    return app


def raising_before_start(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    raise ZeroDivisionError("boom")


def with_write(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"legacy ")
    write(b"write")
    return [b"!"]


def error_page_after_failure(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise KeyError("late")
    except KeyError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                       sys.exc_info())
    return [b"sorry"]


def echo(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]

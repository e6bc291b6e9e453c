"""The request body and file responses, as the middleware sees them.

:class:`TimedInput` wraps ``wsgi.input``: the time spent inside reads and the bytes read are the
read_body phase (it keeps them, with its first and last read moment, for the request to read).
:func:`file_bytes` and :func:`needs_interception` serve ``wsgi.file_wrapper`` responses, which
the middleware hands back to the server untouched so its sendfile path runs (see the design
header of :mod:`wsgiscope.middleware`).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator


class TimedInput:
    """Wraps ``wsgi.input``: time spent inside reads and bytes read count as the read phase.

    It keeps its own totals (and the first and last read moment, for a traced request's span)
    rather than writing them into the request: the request holds it, and the environ holds it,
    but it holds neither, so a request with a body leaves no reference cycle behind (a cycle
    would live until the garbage collector runs, and forever under ``gc.disable()``)."""

    __slots__ = ("_perf", "_stream", "bytes", "first", "last", "ns")

    def __init__(self, stream: Any, perf: Callable[[], int]) -> None:
        self._stream = stream
        self._perf = perf
        self.ns = self.bytes = self.first = self.last = 0

    def _account(self, started_ns: int, size: int) -> None:
        self.last = ended = self._perf()
        if not self.first:
            self.first = started_ns
        self.ns += ended - started_ns
        self.bytes += size

    def read(self, *args: Any) -> bytes:
        started = self._perf()
        data: bytes = self._stream.read(*args)
        self._account(started, len(data))
        return data

    def readline(self, *args: Any) -> bytes:
        started = self._perf()
        data: bytes = self._stream.readline(*args)
        self._account(started, len(data))
        return data

    def readlines(self, *args: Any) -> list[bytes]:
        started = self._perf()
        lines: list[bytes] = self._stream.readlines(*args)
        self._account(started, sum(len(line) for line in lines))
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)



def file_bytes(result: Any, headers: Any) -> int:
    for name, value in headers or ():
        if name.lower() == "content-length" and str(value).strip().isdigit():
            return int(value)
    try:
        filelike = getattr(result, "filelike", result)  # a wrapper, or the file (uWSGI)
        size = os.fstat(filelike.fileno()).st_size
        return max(0, size - int(filelike.tell()))
    except Exception:
        return 0


def needs_interception(file_wrapper: Any) -> bool:
    """A wrapper class whose instances take no attribute and show no ``filelike``: its
    ``close`` and its file are out of reach once it is built (bjoern's C type)."""
    return (isinstance(file_wrapper, type) and not getattr(file_wrapper, "__dictoffset__", 1)
            and not hasattr(file_wrapper, "filelike"))

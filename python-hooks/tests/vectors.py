"""Scripted requests through the real middleware -> protocol/vectors/valid/shim-*.json.

    python tests/vectors.py          # print the names of the vectors it would write
    python tests/vectors.py --write  # (re)write them; tests/test_vectors.py compares

Scripted clock, fixed identity and a fake /proc: the batches are byte-for-byte reproducible.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from support import FakeClock, FakeTransport, call, make_agent, make_environ

from wsgiscope.detect import ServerInfo
from wsgiscope.middleware import Middleware

VECTORS = Path(__file__).resolve().parents[2] / "packages" / "protocol" / "vectors" / "valid"

Environ = dict[str, Any]


def _scenario_apps(clock: FakeClock) -> dict[str, Callable[..., Iterable[bytes]]]:
    def hello(environ: Environ, start_response: Any) -> Iterable[bytes]:
        clock.advance(2, cpu_ms=1)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello, world!"]

    def upload(environ: Environ, start_response: Any) -> Iterable[bytes]:
        environ["wsgi.input"].read()
        clock.advance(5, cpu_ms=4)
        start_response("201 Created", [])
        return [b"ok"]

    def stream(environ: Environ, start_response: Any) -> Iterator[bytes]:
        write = start_response("200 OK", [])
        write(b"head;")
        for _ in range(3):
            clock.advance(10, cpu_ms=2)
            yield b"chunk;"

    def broken(environ: Environ, start_response: Any) -> Iterable[bytes]:
        clock.advance(1, cpu_ms=1)
        return [b"" for _ in range(1 // 0)]

    def route(environ: Environ, start_response: Any) -> Iterable[bytes]:
        environ["wsgiscope.route"] = "/items/{id}"
        return hello(environ, start_response)

    return {"hello": hello, "upload": upload, "stream": stream, "broken": broken, "route": route}


def _run(server: ServerInfo, routes: bool) -> dict[str, Any]:
    clock, transport = FakeClock(), FakeTransport()
    agent = make_agent(clock, transport, server_info=server, routes=routes, service_name="shop")
    apps = _scenario_apps(clock)

    class SlowInput:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def read(self, *args: Any) -> bytes:
            clock.advance(3)
            body, self.body = self.body, b""
            return body

    def server_writes(block: bytes) -> None:
        clock.advance(1)

    call(Middleware(apps["hello"], agent),
         make_environ(HTTP_X_REQUEST_START="t=1767225599998000"), on_block=server_writes)
    clock.advance(1)
    environ = make_environ("POST", b"x" * 1000)
    environ["wsgi.input"] = SlowInput(b"x" * 1000)
    call(Middleware(apps["upload"], agent), environ, on_block=server_writes)
    clock.advance(1)
    call(Middleware(apps["stream"], agent), make_environ(HTTP_X_QUEUE_START="1767225600002"),
         on_block=server_writes, abort_after=2)
    clock.advance(1)
    with contextlib.suppress(ZeroDivisionError):
        call(Middleware(apps["broken"], agent), make_environ("DELETE"))
    call(Middleware(apps["route" if routes else "hello"], agent), make_environ("HEAD"))
    clock.advance(20)
    assert agent.flush(1.0)
    return transport.bodies[0]


def scenarios() -> dict[str, dict[str, Any]]:
    gthread = ServerInfo("gunicorn", "23.0.0", "gthread", 4, 2, "detected", True)
    gevent = ServerInfo("gunicorn", "23.0.0", "gevent", 1000, 2, "detected", False)
    return {
        "shim-gthread": _run(gthread, routes=False),
        "shim-gevent-no-cpu": _run(gevent, routes=False),
        "shim-routes": _run(gthread, routes=True),
    }


def render(batch: dict[str, Any]) -> str:
    return json.dumps(batch, indent=2) + "\n"


def main(argv: list[str]) -> int:
    for name, batch in scenarios().items():
        path = VECTORS / f"{name}.json"
        if "--write" in argv:
            path.write_text(render(batch))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The ASGI middleware, called directly as an ASGI server would, with a scripted clock."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import pytest
from support import FakeClock, FakeTransport, make_agent

from wsgiscope.asgi import AsgiMiddleware, Message, asgi_server_info, wrap
from wsgiscope.detect import ServerInfo

UVICORN = ServerInfo("uvicorn", "0.54.0", "asgi", 32, 1, "configured", cpu_attributable=False)


def instrumented(app: Any, clock: Optional[FakeClock] = None,
                 ) -> tuple[AsgiMiddleware, FakeClock, FakeTransport]:
    clock, transport = clock or FakeClock(), FakeTransport()
    agent = make_agent(clock, transport, server_info=UVICORN)
    return AsgiMiddleware(app, agent), clock, transport


def columns(mw: AsgiMiddleware, transport: FakeTransport) -> dict[str, list[Any]]:
    assert mw.agent.flush(1.0)
    requests: dict[str, list[Any]] = transport.bodies[-1]["requests"]
    return requests


def http_scope(method: str = "GET", headers: Optional[list[tuple[bytes, bytes]]] = None) -> Message:
    return {"type": "http", "method": method, "path": "/", "headers": headers or [],
            "server": ("127.0.0.1", 8000)}


class Peer:
    """The server side: body chunks to deliver and the clock cost of each receive/send."""

    def __init__(self, clock: FakeClock, chunks: tuple[bytes, ...] = (b"",),
                 receive_ms: float = 0.0, send_ms: float = 0.0) -> None:
        self.clock, self.chunks = clock, list(chunks)
        self.receive_ms, self.send_ms = receive_ms, send_ms
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.clock.advance(self.receive_ms)
        if not self.chunks:
            return {"type": "http.disconnect"}
        body = self.chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            self.clock.advance(self.send_ms)
        self.sent.append(message)


def echo_app(clock: FakeClock, app_ms: float = 0.0, blocks: int = 2) -> Any:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        received = 0
        while True:
            message = await receive()
            received += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        clock.advance(app_ms)
        await send({"type": "http.response.start", "status": 201, "headers": []})
        for _ in range(blocks):
            await send({"type": "http.response.body", "body": b"x" * 10, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def test_phases_map_onto_receive_start_and_send() -> None:
    clock = FakeClock()
    mw, _, transport = instrumented(echo_app(clock, app_ms=30, blocks=2), clock)
    peer = Peer(clock, (b"a" * 100, b"b" * 50), receive_ms=5, send_ms=7)
    asyncio.run(mw(http_scope("POST"), peer.receive, peer.send))
    cols = columns(mw, transport)
    # two receives (10 ms) + app 30 ms, then three body sends of 7 ms each: the phases
    # partition the request (app no longer includes the reads, protocol v2)
    assert cols["read_us"] == [10_000]
    assert cols["app_us"] == [30_000]
    assert cols["gen_us"] == [0]
    assert cols["first_byte_us"] == [40_000]
    assert cols["write_us"] == [21_000]
    assert cols["duration_us"] == [61_000]
    assert (cols["status"], cols["bytes_in"], cols["bytes_out"]) == ([201], [150], [20])
    assert (cols["method"], cols["error"]) == (["POST"], [None])


def test_cpu_is_not_attributable_on_an_event_loop() -> None:
    clock = FakeClock()
    mw, _, transport = instrumented(echo_app(clock), clock)
    peer = Peer(clock)
    asyncio.run(mw(http_scope(), peer.receive, peer.send))
    assert columns(mw, transport)["cpu_us"] == [None]
    assert transport.bodies[-1]["resource"]["cpu_attributable"] is False


def test_exception_before_response_start_is_recorded_as_500_and_propagates() -> None:
    async def failing(scope: Message, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    mw, clock, transport = instrumented(failing)
    peer = Peer(clock)
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(mw(http_scope(), peer.receive, peer.send))
    cols = columns(mw, transport)
    assert (cols["status"], cols["error"]) == ([500], ["RuntimeError"])
    assert cols["first_byte_us"] == [None]


def test_exception_after_response_start_keeps_the_sent_status() -> None:
    async def failing_late(scope: Message, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ValueError("late")

    mw, clock, transport = instrumented(failing_late)
    peer = Peer(clock)
    with pytest.raises(ValueError):
        asyncio.run(mw(http_scope(), peer.receive, peer.send))
    cols = columns(mw, transport)
    assert (cols["status"], cols["error"]) == ([200], ["ValueError"])


@pytest.mark.parametrize("name", [b"x-request-start", b"X-Queue-Start"])
def test_queue_header_is_taken_from_the_scope(name: bytes) -> None:
    clock = FakeClock()
    mw, _, transport = instrumented(echo_app(clock), clock)
    stamp_us = clock.unix_ns() // 1000 - 25_000  # the front end saw it 25 ms ago
    peer = Peer(clock)
    asyncio.run(mw(http_scope(headers=[(name, f"t={stamp_us}".encode())]), peer.receive, peer.send))
    assert columns(mw, transport)["queue_us"] == [25_000]


def test_lifespan_and_websocket_scopes_are_passed_through_unmeasured() -> None:
    seen: list[str] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    mw, clock, _ = instrumented(app)
    for kind in ("lifespan", "websocket"):
        asyncio.run(mw({"type": kind}, Peer(clock).receive, Peer(clock).send))
    assert seen == ["lifespan", "websocket"]
    assert len(mw.agent.buffer) == 0


def test_concurrent_requests_are_separate_lanes_and_busy_time_integrates_them() -> None:
    clock = FakeClock()
    gate = asyncio.Event

    async def main() -> None:
        release = gate()
        started = 0

        async def app(scope: Message, receive: Any, send: Any) -> None:
            nonlocal started
            started += 1
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        mw.app = app
        tasks = [asyncio.ensure_future(mw(http_scope(), Peer(clock).receive, Peer(clock).send))
                 for _ in range(3)]
        while started < 3:
            await asyncio.sleep(0)
        snapshot = mw.agent.occupancy.snapshot(clock.perf_ns())
        assert (snapshot.active_requests, snapshot.busy_threads) == (3, 3)
        clock.advance(100)
        release.set()
        await asyncio.gather(*tasks)

    mw, _, transport = instrumented(None, clock)
    asyncio.run(main())
    snapshot = mw.agent.occupancy.snapshot(clock.perf_ns())
    assert (snapshot.active_requests, snapshot.busy_threads) == (0, 0)
    assert snapshot.busy_thread_us == 300_000  # three lanes busy for 100 ms
    assert len(set(columns(mw, transport)["thread"])) == 3


def test_server_is_named_from_the_modules_and_capacity_left_to_configuration() -> None:
    info = asgi_server_info({"uvicorn": object()})
    assert (info.server, info.worker_class, info.cpu_attributable) == ("uvicorn", "asgi", False)
    assert info.capacity_threads is None
    assert asgi_server_info({}).server == "unknown"


def test_first_request_starts_the_agent_with_configured_capacity() -> None:
    clock, transport = FakeClock(), FakeTransport()
    agent = make_agent(clock, transport, server_info=None, capacity_threads=64)
    mw = AsgiMiddleware(echo_app(clock), agent, modules={"uvicorn": object()})
    peer = Peer(clock)
    asyncio.run(mw(http_scope(), peer.receive, peer.send))
    assert agent.started and agent.listen_port == 8000
    resource = columns(mw, transport) and transport.bodies[-1]["resource"]
    assert (resource["server"], resource["capacity_threads"], resource["capacity_source"]) == (
        "uvicorn", 64, "configured")


def test_disabled_returns_the_app_itself() -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        return None

    assert wrap(app, disabled=True) is app

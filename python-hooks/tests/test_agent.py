"""Batches, retries, bounded memory, inline flush, fork and exit behaviour of the agent."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

import fixtureapps
import pytest
from support import BatchReceiver, FakeClock, FakeTransport, call, make_agent
from wsgiscope_harness.waiting import wait_for

from wsgiscope.agent import Agent
from wsgiscope.config import Config
from wsgiscope.middleware import Middleware
from wsgiscope.sampler import ProcessSampler
from wsgiscope.transport import HttpTransport, Outcome


@pytest.fixture
def collector() -> Iterator[BatchReceiver]:
    receiver = BatchReceiver()
    yield receiver
    receiver.close()


def test_seq_counts_batches_and_a_retry_keeps_its_seq() -> None:
    transport = FakeTransport(Outcome.RETRY)
    agent = make_agent(transport=transport)
    mw = Middleware(fixtureapps.hello, agent)
    call(mw)
    assert not agent.flush(1.0)
    assert agent.flush(1.0)  # the retry, then a new batch with the sample
    assert [b["seq"] for b in transport.bodies] == [0, 0, 1]
    assert [len(b["requests"]["status"]) for b in transport.bodies] == [1, 1, 0]


def test_refused_batch_is_dropped_and_counted() -> None:
    transport = FakeTransport(Outcome.REFUSED)
    agent = make_agent(transport=transport)
    mw = Middleware(fixtureapps.hello, agent)
    call(mw)
    call(mw)
    assert agent.flush(1.0) and agent.flush(1.0)
    assert transport.bodies[-1]["samples"][0]["dropped_records"] == 2
    assert transport.bodies[-1]["seq"] == 1


def test_samples_carry_occupancy_and_process_readings() -> None:
    clock, transport = FakeClock(), FakeTransport()
    agent = make_agent(clock, transport)

    def slow(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        clock.advance(40)
        return fixtureapps.hello(environ, start_response)

    call(Middleware(slow, agent))
    clock.advance(10)
    agent.flush(1.0)
    sample = transport.bodies[0]["samples"][0]
    assert sample["busy_thread_us"] == 40_000
    assert (sample["active_requests"], sample["oldest_request_age_us"]) == (0, 0)
    assert (sample["cpu_user_us"], sample["rss_bytes"], sample["os_threads"]) == (
        120_000, 10240 * 4096, 6)


def test_large_backlog_goes_out_in_several_batches() -> None:
    transport = FakeTransport()
    agent = make_agent(transport=transport, max_batch_records=2)
    mw = Middleware(fixtureapps.hello, agent)
    for _ in range(5):
        call(mw)
    assert agent.flush(1.0)
    assert [len(b["requests"]["status"]) for b in transport.bodies] == [2, 2, 1]
    assert [len(b["samples"]) for b in transport.bodies] == [1, 0, 0]


def test_unreachable_collector_keeps_requests_fast_and_memory_bounded(
        collector: BatchReceiver) -> None:
    dead = BatchReceiver()
    dead_url = dead.url
    dead.close()
    config = Config.load({}, collector_url=dead_url, max_buffer_records=100,
                         max_batch_records=50, flush_interval_s=0.05, sample_interval_s=0.05,
                         send_timeout_s=0.2)
    agent = Agent(config)
    mw = Middleware(fixtureapps.hello, agent)
    slowest = 0.0
    for _ in range(1000):
        started = time.perf_counter()
        call(mw)
        slowest = max(slowest, time.perf_counter() - started)
        assert len(agent.buffer) <= 100
    assert slowest < 0.1  # no request waited on the dead collector
    wait_for(lambda: agent.buffer.dropped >= 850, 10, "850 records dropped")
    agent.transport = HttpTransport(collector.url + "/v1/batches")
    dropped = agent.buffer.dropped  # nothing is dropped any more: the buffer never fills
    wait_for(lambda: collector.requests() == 1000 - dropped, 10, "the rest delivered")
    assert len(agent.buffer) == 0 and agent.buffer.dropped == dropped
    samples = [s for b in collector.batches for s in b["samples"]]
    assert samples[-1]["dropped_records"] == dropped
    agent.shutdown()


def test_inline_flush_when_the_flusher_thread_never_runs() -> None:
    clock, transport = FakeClock(), FakeTransport()
    agent = make_agent(clock, transport, flush_interval_s=1.0, sample_interval_s=0.25)
    mw = Middleware(fixtureapps.hello, agent)
    call(mw)
    assert transport.bodies == []
    clock.advance(3000)  # heartbeat stale: 2 x interval + one tick
    call(mw)
    assert len(transport.bodies) == 1
    assert len(transport.bodies[0]["requests"]["status"]) == 2
    call(mw)
    assert len(transport.bodies) == 1  # at most once per interval
    clock.advance(1001)
    call(mw)
    assert len(transport.bodies) == 2


def test_no_inline_flush_while_the_flusher_is_alive() -> None:
    clock, transport = FakeClock(), FakeTransport()
    agent = make_agent(clock, transport)
    mw = Middleware(fixtureapps.hello, agent)
    call(mw)
    clock.advance(3000)
    agent.flusher.heartbeat_ns = clock.perf_ns()
    call(mw)
    assert transport.bodies == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_is_a_new_worker_instance(collector: BatchReceiver) -> None:
    config = Config.load({}, collector_url=collector.url, flush_interval_s=0.05,
                         sample_interval_s=0.05)
    agent = Agent(config)
    mw = Middleware(fixtureapps.hello, agent)
    call(mw)
    wait_for(lambda: collector.requests() == 1, 10, "one request delivered")
    call(mw)
    parent_started = agent.anchor_unix_us
    pid = os.fork()
    if pid == 0:  # child: report through the exit code, never return into pytest
        ok = (agent.seq == 0 and len(agent.buffer) == 0 and not agent.started
              and agent.identity.pid == os.getpid()
              and agent.anchor_unix_us >= parent_started)
        call(mw)
        try:
            delivered = wait_for(lambda: agent.seq >= 1 and agent.flusher.pending is None
                                 and len(agent.buffer) == 0, 10, "the child's batch delivered")
        except AssertionError:
            delivered = False
        os._exit(0 if ok and delivered else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    wait_for(lambda: any(b["resource"]["pid"] == pid for b in collector.batches), 10,
             "a batch from the child")
    child = [b for b in collector.batches if b["resource"]["pid"] == pid]
    assert child[0]["seq"] == 0
    assert child[0]["resource"]["worker"].endswith(f":{pid}")
    assert sum(len(b["requests"]["status"]) for b in child) == 1
    agent.shutdown()


def test_buffered_requests_are_flushed_at_exit(collector: BatchReceiver) -> None:
    script = textwrap.dedent(f"""
        import wsgiscope
        from wsgiref.util import setup_testing_defaults
        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"ok"]
        wrapped = wsgiscope.wrap(app, collector_url={collector.url!r}, flush_interval_s=60)
        for _ in range(7):
            environ = {{}}
            setup_testing_defaults(environ)
            result = wrapped(environ, lambda *a: None)
            list(result)
            result.close()
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    assert collector.requests() == 7


class RetryAfterTransport(FakeTransport):
    """Answers RETRY with a Retry-After of ``delay_s`` once, then DELIVERED."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(Outcome.RETRY)
        self.delay_s = delay_s
        self.retry_after_s: Any = None

    def send(self, body: bytes, timeout_s: float) -> Outcome:
        outcome = super().send(body, timeout_s)
        self.retry_after_s = self.delay_s if outcome is Outcome.RETRY else None
        return outcome


def test_retry_after_from_the_collector_delays_the_resend() -> None:
    clock = FakeClock()
    transport = RetryAfterTransport(5.0)
    agent = make_agent(clock=clock, transport=transport)
    mw = Middleware(fixtureapps.hello, agent)
    call(mw)
    assert not agent.flush(1.0)
    clock.advance(4900)
    assert not agent.flush(1.0)
    assert len(transport.bodies) == 1  # asked to wait 5 s: nothing sent at 4.9 s
    clock.advance(100)
    assert agent.flush(1.0)
    assert [b["seq"] for b in transport.bodies] == [0, 0, 1]


def test_exit_flush_does_not_wait_for_retry_after() -> None:
    transport = RetryAfterTransport(60.0)
    agent = make_agent(transport=transport)
    mw = Middleware(fixtureapps.hello, agent)
    call(mw)
    agent.started = True
    assert not agent.flush(1.0)
    agent.shutdown()
    resent = transport.bodies[1]
    assert (resent["seq"], len(resent["requests"]["status"])) == (0, 1)


@pytest.mark.parametrize(("enabled", "expected"), [(False, None), (True, 3)])
def test_listen_backlog_is_read_only_when_enabled(
    tmp_path: Path, enabled: bool, expected: Optional[int]
) -> None:
    # Reading /proc/net/tcp costs O(sockets on the host) per flush: opt-in only.
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000\n"
    )
    agent = make_agent(listen_backlog=enabled)
    agent.sampler = ProcessSampler(str(tmp_path), cpu_times=lambda: (1.0, 0.5),
                                   gc_count=lambda: 0, page_size=4096)
    agent.listen_port = 8080
    assert agent.sample(agent.clock.perf_ns()).get("listen_backlog") == expected

"""Per-server lifecycle hooks: uWSGI's atexit, fork by C code, the unknown-capacity warning."""

from __future__ import annotations

import os
import warnings
from types import SimpleNamespace
from typing import Any

import pytest
from support import FakeClock, FakeTransport, NoThread, fake_sampler, make_agent

from wsgiscope.agent import Agent, current_identity
from wsgiscope.config import Config
from wsgiscope.detect import ServerInfo
from wsgiscope.uwsgi import install_uwsgi_atexit


def test_uwsgi_atexit_hook_chains_the_apps_own_hook_once() -> None:
    calls: list[str] = []
    uwsgi = SimpleNamespace(opt={}, atexit=lambda: calls.append("app"))
    assert install_uwsgi_atexit({"uwsgi": uwsgi}, lambda: calls.append("flush"))
    hook = uwsgi.atexit
    # a second agent does not chain twice
    assert install_uwsgi_atexit({"uwsgi": uwsgi}, lambda: calls.append("flush"))
    assert uwsgi.atexit is hook
    hook()
    assert calls == ["flush", "app"]


def test_no_uwsgi_atexit_hook_outside_uwsgi() -> None:
    assert not install_uwsgi_atexit({}, lambda: None)


def test_exit_flush_called_twice_sends_the_buffer_once() -> None:
    transport = FakeTransport()
    agent = make_agent(transport=transport)
    agent.start()
    agent.buffer.append((0, "GET", None, 200, 1, 1, 2, 0, 0, -1, 0, 0, None, 0, None, 0, 0))
    agent.shutdown()
    agent.shutdown()  # uwsgi.atexit, then Python's atexit
    assert len(transport.bodies) == 1
    assert len(transport.bodies[0]["requests"]["status"]) == 1


def test_agent_created_before_a_c_level_fork_takes_the_new_pid_at_start() -> None:
    agent = Agent(Config.load({}), clock=FakeClock(), transport=FakeTransport(),
                  sampler=fake_sampler(), thread_factory=NoThread,
                  server_info=ServerInfo("uwsgi", "2.0.31", "processes", 1, 2, "detected"))
    # what the child of uWSGI's fork() sees: the master's identity, no Python fork hook run
    agent.identity = current_identity()._replace(pid=os.getpid() + 1)
    agent.start()
    assert agent.identity.pid == os.getpid()
    assert agent.resource is not None and agent.resource["pid"] == os.getpid()


@pytest.mark.parametrize(("multithread", "warned"), [(True, True), (False, False)])
def test_unknown_capacity_of_a_threaded_server_warns_once_at_start(
        multithread: bool, warned: bool) -> None:
    agent = make_agent(server_info=None)
    environ: dict[str, Any] = {"SERVER_SOFTWARE": "waitress", "wsgi.multithread": multithread}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agent.start(environ)
        agent.start(environ)
    messages = [str(w.message) for w in caught if "WSGISCOPE_CAPACITY" in str(w.message)]
    assert len(messages) == (1 if warned else 0)


def test_configured_capacity_silences_the_warning() -> None:
    agent = make_agent(server_info=None, capacity_threads=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agent.start({"SERVER_SOFTWARE": "waitress", "wsgi.multithread": True})
    assert not [w for w in caught if "WSGISCOPE_CAPACITY" in str(w.message)]
    assert agent.resource is not None
    assert (agent.resource["capacity_threads"], agent.resource["capacity_source"]) == (
        4, "configured")


@pytest.mark.parametrize(("has_threads", "inline_only", "threads_started"),
                         [(0, True, 0), (1, False, 1)])
def test_uwsgi_without_thread_support_flushes_inline_and_starts_no_flusher(
        has_threads: int, inline_only: bool, threads_started: int) -> None:
    started: list[Any] = []

    class Recorder:
        def __init__(self, target: Any) -> None:
            started.append(target)

        def start(self) -> None:
            pass

    uwsgi = SimpleNamespace(opt={}, has_threads=has_threads, cores=1, numproc=1,
                            version=b"2.0.26")
    transport = FakeTransport()
    agent = Agent(Config.load({}), clock=FakeClock(), transport=transport,
                  sampler=fake_sampler(), thread_factory=Recorder, modules={"uwsgi": uwsgi})
    agent.start({})
    assert (agent.flusher.inline_only, len(started)) == (inline_only, threads_started)
    agent.buffer.append((0, "GET", None, 200, 1, 1, 2, 0, 0, -1, 0, 0, None, 0, None, 0, 0))
    agent.inline_check(agent.clock.perf_ns())  # heartbeat fresh: only inline mode sends
    assert len(transport.bodies) == (1 if inline_only else 0)

"""Server detection, one case per server, and configured overrides."""

from __future__ import annotations

import socketserver
import threading
import warnings
from types import SimpleNamespace
from typing import Any

import fixtureapps
import pytest
from support import call, make_agent, make_environ

from wsgiscope.detect import ServerInfo, detect, distribution_version, with_overrides
from wsgiscope.middleware import Middleware


@pytest.mark.parametrize(
    ("environ", "modules", "expected"),
    [
        ({"SERVER_SOFTWARE": "WSGIServer/0.2 CPython/3.11.7"}, {},
         ServerInfo("wsgiref", "0.2", "", 1, 1, "detected")),
        ({"SERVER_SOFTWARE": "gunicorn/23.0.0"}, {}, ServerInfo("gunicorn", "23.0.0")),
        ({"SERVER_SOFTWARE": "waitress"}, {},
         ServerInfo("waitress", distribution_version("waitress"), "threads", None, 1)),
        ({"SERVER_SOFTWARE": "Cheroot/10.0.1 Server"}, {},
         ServerInfo("cheroot", "10.0.1", "threads", None, 1)),
        ({"meinheld.client": object()}, {"meinheld.server": SimpleNamespace()},
         ServerInfo("meinheld", distribution_version("meinheld"), "greenlet", 1, 1, "detected",
                    False)),
        ({}, {"bjoern": SimpleNamespace(__version__="3.2.2")},
         ServerInfo("bjoern", "3.2.2", "event-loop", 1, 1, "detected", False)),
        ({}, {"uwsgi": SimpleNamespace(opt={"threads": b"4"}, cores=4, numproc=3,
                                       version=b"2.0.31")},
         ServerInfo("uwsgi", "2.0.31", "threads", 4, 3, "detected")),
        ({}, {"uwsgi": SimpleNamespace(opt={"enable-threads": True}, cores=1, numproc=2,
                                       version=b"2.0.31")},
         ServerInfo("uwsgi", "2.0.31", "processes", 1, 2, "detected")),
        ({}, {"uwsgi": SimpleNamespace(opt={"threads": b"4", "processes": b"2"}, numproc=2,
                                       version=b"2.0.28")},
         ServerInfo("uwsgi", "2.0.28", "threads", 4, 2, "detected")),
        ({}, {"uwsgi": SimpleNamespace(opt={"gevent": b"100"}, numproc=1, version=b"2.0.28")},
         ServerInfo("uwsgi", "2.0.28", "gevent", 100, 1, "detected", False)),
        ({"mod_wsgi.version": (5, 0, 0), "mod_wsgi.process_group": "app"},
         {"mod_wsgi": SimpleNamespace(threads_per_process=15, maximum_processes=3)},
         ServerInfo("mod_wsgi", "5.0.0", "daemon", 15, 3, "detected")),
        ({}, {"mod_wsgi": SimpleNamespace(version=(6, 1, 1), threads_per_process=4,
                                          maximum_processes=2, process_group="grp")},
         ServerInfo("mod_wsgi", "6.1.1", "daemon", 4, 2, "detected")),
        ({"SERVER_SOFTWARE": "mystery/1"}, {}, ServerInfo("unknown")),
        ({}, {}, ServerInfo("unknown")),
    ],
    ids=["wsgiref", "gunicorn-env-only", "waitress", "cheroot", "meinheld", "bjoern",
         "uwsgi-cores", "uwsgi-processes", "uwsgi-threads", "uwsgi-gevent", "mod_wsgi-daemon",
         "mod_wsgi-module-only", "unknown", "empty"],
)
def test_detects_server(environ: dict[str, Any], modules: dict[str, Any],
                        expected: ServerInfo) -> None:
    assert detect(environ, modules) == expected


def test_configured_capacity_wins_and_says_so() -> None:
    info = with_overrides(ServerInfo("waitress"), None, 8, None)
    assert (info.capacity_threads, info.capacity_source) == (8, "configured")


def test_unknown_capacity_defaults_to_one() -> None:
    info = with_overrides(ServerInfo("waitress"), "custom", None, 4)
    assert (info.server, info.capacity_threads, info.capacity_processes,
            info.capacity_source) == ("custom", 1, 4, "default")


def test_a_broken_detector_input_does_not_raise() -> None:
    assert detect({}, {"uwsgi": SimpleNamespace(opt=None)}).server in ("uwsgi", "unknown")


def test_version_of_a_missing_distribution_is_empty() -> None:
    assert distribution_version("no-such-wsgi-server-dist") == ""


class _Cfg(SimpleNamespace):
    pass


class FakeGunicornWorker:
    """Stands for gunicorn.workers.base.Worker: detection finds it as ``self`` on the stack."""

    def __init__(self, **cfg: Any) -> None:
        self.cfg = _Cfg(**{"workers": 2, "threads": 1, "worker_connections": 1000, **cfg})

    def handle_request(self, environ: dict[str, Any], modules: dict[str, Any]) -> ServerInfo:
        return detect(environ, modules)


GUNICORN_MODULES = {"gunicorn.workers.base": SimpleNamespace(Worker=FakeGunicornWorker)}


@pytest.mark.parametrize(
    ("class_name", "cfg", "expected"),
    [
        ("SyncWorker", {}, ("sync", 1, True)),
        ("ThreadWorker", {"threads": 4}, ("gthread", 4, True)),
        ("GeventWorker", {"worker_connections": 300}, ("gevent", 300, False)),
    ],
)
def test_gunicorn_worker_found_on_the_request_stack(class_name: str, cfg: dict[str, Any],
                                                    expected: tuple[str, int, bool]) -> None:
    worker = type(class_name, (FakeGunicornWorker,), {})(**cfg)
    info = worker.handle_request({"SERVER_SOFTWARE": "gunicorn/27.0.1"}, GUNICORN_MODULES)
    assert (info.worker_class, info.capacity_threads, info.cpu_attributable) == expected
    assert (info.server, info.capacity_processes, info.capacity_source) == ("gunicorn", 2,
                                                                           "detected")


def test_gunicorn_worker_found_on_the_main_thread_when_requests_run_elsewhere() -> None:
    """An event loop or pool thread serving the request: the worker runs the main thread."""
    worker = type("ThreadWorker", (FakeGunicornWorker,), {})(threads=6)
    found: list[ServerInfo] = []

    def request_thread() -> None:
        found.append(detect({"SERVER_SOFTWARE": "gunicorn/27.0.1"}, GUNICORN_MODULES))

    def run(self: Any) -> None:  # the main thread's frame holds the worker as ``self``
        thread = threading.Thread(target=request_thread)
        thread.start()
        thread.join()

    run(worker)
    assert found[0].capacity_threads == 6 and found[0].capacity_source == "detected"


def test_gunicorn_without_a_worker_on_the_stack_is_named_but_not_sized() -> None:
    info = detect({"SERVER_SOFTWARE": "gunicorn/27.0.1"}, GUNICORN_MODULES)
    assert (info.server, info.capacity_threads, info.capacity_source) == ("gunicorn", None,
                                                                          "default")


class FakeWaitressTask:
    def __init__(self, threads: int) -> None:
        adj = SimpleNamespace(threads=threads)
        self.channel = SimpleNamespace(server=SimpleNamespace(adj=adj))

    def execute(self, environ: dict[str, Any], modules: dict[str, Any]) -> ServerInfo:
        return detect(environ, modules)


class FakeCherootWorker:
    def __init__(self, numthreads: int) -> None:
        pool = SimpleNamespace(min=numthreads, max=-1, _threads=[object()] * numthreads)
        self.server = SimpleNamespace(requests=pool)

    def run(self, environ: dict[str, Any], modules: dict[str, Any]) -> ServerInfo:
        return detect(environ, modules)


def test_waitress_threads_from_the_task_serving_the_request() -> None:
    modules = {"waitress.task": SimpleNamespace(WSGITask=FakeWaitressTask)}
    info = FakeWaitressTask(6).execute({"SERVER_SOFTWARE": "waitress"}, modules)
    assert (info.server, info.capacity_threads, info.capacity_source) == ("waitress", 6,
                                                                          "detected")


def test_cheroot_threads_from_the_worker_thread_serving_the_request() -> None:
    modules = {"cheroot.workers.threadpool": SimpleNamespace(WorkerThread=FakeCherootWorker)}
    info = FakeCherootWorker(12).run({"SERVER_SOFTWARE": "Cheroot/11.1.2 Server"}, modules)
    assert (info.server, info.server_version, info.capacity_threads, info.capacity_source) == (
        "cheroot", "11.1.2", 12, "detected")


@pytest.mark.parametrize(("limit", "threads", "source"), [(None, None, "default"),
                                                          (64, 64, "detected")])
def test_gunicorn_uvicorn_worker_capacity_is_uvicorns_limit(limit: Any, threads: Any,
                                                             source: str) -> None:
    """UvicornWorker never applies ``worker_connections``: only uvicorn's own limit counts."""
    worker = type("UvicornWorker", (FakeGunicornWorker,), {})(worker_connections=1000)
    worker.config = SimpleNamespace(limit_concurrency=limit)
    info = worker.handle_request({}, GUNICORN_MODULES)
    assert (info.worker_class, info.capacity_threads, info.capacity_source,
            info.capacity_processes, info.cpu_attributable) == ("uvicorn", threads, source, 2,
                                                                False)


def test_a_threading_wsgiref_server_has_no_fixed_capacity() -> None:
    """Django's runserver: wsgiref with a thread per connection (socketserver.ThreadingMixIn)."""

    class ThreadedWSGIServer(socketserver.ThreadingMixIn):
        def serve(self, modules: dict[str, Any]) -> ServerInfo:
            return detect({"SERVER_SOFTWARE": "WSGIServer/0.2 CPython/3.11.7"}, modules)

    info = ThreadedWSGIServer().serve({"socketserver": socketserver})
    assert (info.server, info.worker_class, info.capacity_threads, info.capacity_source) == (
        "wsgiref", "threading", None, "unbounded")
    assert with_overrides(info, None, None, None).capacity_threads is None
    assert with_overrides(info, None, 8, None).capacity_source == "configured"


def test_a_configured_capacity_wins_and_the_detected_one_is_kept() -> None:
    detected = ServerInfo("gunicorn", "27.0.1", "gthread", 4, 2, "detected")
    info = with_overrides(detected, None, 16, None)
    assert (info.capacity_threads, info.capacity_source, info.detected_capacity_threads) == (
        16, "configured", 4)
    assert with_overrides(ServerInfo("unknown"), None, 16, None).detected_capacity_threads is None


def test_an_unrecognised_server_gets_one_warning_naming_the_variable_and_the_docs() -> None:
    agent = make_agent(server_info=None)
    mw = Middleware(fixtureapps.hello, agent)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            call(mw, make_environ(SERVER_SOFTWARE="Exotic/1.0"))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "WSGISCOPE_CAPACITY" in messages[0] and "docs/servers.md" in messages[0]
    assert "Exotic/1.0" in messages[0]
    assert agent.resource is not None
    assert (agent.resource["server"], agent.resource["capacity_source"]) == ("unknown", "default")

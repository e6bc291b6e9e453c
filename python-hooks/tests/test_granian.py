"""Granian: workers and blocking threads as Granian computes them, from each place they live."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import threading
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional

import pytest
from support import FakeClock, FakeTransport, make_agent

from wsgiscope.detect import ServerInfo
from wsgiscope.granian import (
    GranianConfig,
    command_line_config,
    detect_granian,
    find_server,
    server_config,
    worker_args_threads,
)
from wsgiscope.middleware import Middleware

GRANIAN = ["/venv/bin/granian"]
ENVIRON = {"SERVER_SOFTWARE": "Granian"}

# (argv after the command, GRANIAN_* environment, workers, blocking threads per worker)
COMMAND_LINES: List[tuple[List[str], Dict[str, str], int, int]] = [
    (["--interface", "wsgi", "app:app"], {}, 1, 512),                 # backlog 1024 // 1 // 2
    (["--interface", "wsgi", "--workers", "2", "app:app"], {}, 2, 256),
    (["--interface=wsgi", "--workers=4", "app:app"], {}, 4, 128),
    (["--interface", "wsgi", "--blocking-threads", "8", "app:app"], {}, 1, 8),
    (["--interface", "wsgi", "--workers", "3", "--blocking-threads", "2", "app:app"], {}, 3, 2),
    (["--interface", "wsgi", "--backlog", "2048", "--workers", "2", "app:app"], {}, 2, 512),
    (["--interface", "wsgi", "--backpressure", "10", "app:app"], {}, 1, 5),
    (["--interface", "wsgi", "--backpressure", "1", "app:app"], {}, 1, 1),
    (["--interface", "wsgi", "--backlog", "200", "--workers", "3", "app:app"], {}, 3, 33),
    (["app:app"], {"GRANIAN_INTERFACE": "wsgi", "GRANIAN_WORKERS": "2"}, 2, 256),
    (["app:app"], {"GRANIAN_INTERFACE": "wsgi", "GRANIAN_BLOCKING_THREADS": "6"}, 1, 6),
    (["app:app"], {"GRANIAN_INTERFACE": "wsgi", "GRANIAN_BACKLOG": "4096",
                   "GRANIAN_WORKERS": "2"}, 2, 1024),
    (["app:app"], {"GRANIAN_INTERFACE": "wsgi", "GRANIAN_BACKPRESSURE": "64"}, 1, 32),
    # a flag beats its variable
    (["--interface", "wsgi", "--workers", "2", "app:app"], {"GRANIAN_WORKERS": "5"}, 2, 256),
    (["--interface", "wsgi", "--blocking-threads", "3", "app:app"],
     {"GRANIAN_BLOCKING_THREADS": "9"}, 1, 3),
    # the last of a repeated flag wins (click)
    (["--interface", "wsgi", "--workers", "2", "--workers", "3", "app:app"], {}, 3, 170),
]
IDS = [f"{' '.join(argv)} {env}".strip() for argv, env, _, _ in COMMAND_LINES]


@pytest.mark.parametrize(("argv", "env", "workers", "threads"), COMMAND_LINES, ids=IDS)
def test_command_line_gives_workers_and_blocking_threads(
        argv: List[str], env: Dict[str, str], workers: int, threads: int) -> None:
    assert command_line_config(GRANIAN + argv, env) == GranianConfig("wsgi", workers, threads)


@pytest.mark.parametrize(("argv", "env", "workers", "threads"), COMMAND_LINES, ids=IDS)
def test_command_line_agrees_with_granian_itself(
        argv: List[str], env: Dict[str, str], workers: int, threads: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each row parsed by Granian's own click command into its own server object."""
    cli = importlib.import_module("granian.cli") if _granian_installed() else None
    if cli is None:
        pytest.skip("granian is not installed")
    built: List[Any] = []

    class Recording(cli.Server):  # type: ignore[name-defined,misc]
        def serve(self, *args: Any, **kwargs: Any) -> None:
            built.append(self)

    for key in [k for k in os.environ if k.startswith("GRANIAN_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(cli, "Server", Recording)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the command puts its working dir first
    cli.cli.main(args=argv, prog_name="granian", auto_envvar_prefix="GRANIAN",
                 standalone_mode=False)
    (server,) = built
    assert (server.workers, server.blocking_threads) == (workers, threads)
    assert server_config(server, pid=-1) == GranianConfig("wsgi", workers, threads)


def _granian_installed() -> bool:
    try:
        importlib.import_module("granian")
    except ImportError:
        return False
    return True


def test_python_dash_m_granian_is_the_command() -> None:
    argv = ["/venv/lib/python3.11/site-packages/granian/__main__.py", "--interface", "wsgi",
            "--workers", "2", "app:app"]
    assert command_line_config(argv, {}) == GranianConfig("wsgi", 2, 256)


@pytest.mark.parametrize("argv", [[], ["manage.py", "runserver"], ["/usr/bin/gunicorn", "app"]])
def test_another_command_is_not_read(argv: List[str]) -> None:
    assert command_line_config(argv, {"GRANIAN_WORKERS": "4"}) is None


def test_a_wsgi_request_proves_the_interface_whatever_the_command_line_says() -> None:
    assert command_line_config([*GRANIAN, "app:app"], {}, interface="wsgi") == \
        GranianConfig("wsgi", 1, 512)
    # ASGI and RSGI run one blocking thread (granian refuses more)
    assert command_line_config([*GRANIAN, "--interface", "asgi", "app:app"], {}) == \
        GranianConfig("asgi", 1, 1)


@pytest.mark.parametrize(("value", "expected"), [("0", 1), ("-3", 1), ("x", 1), ("", 1)])
def test_invalid_worker_counts_fall_back_to_the_default(value: str, expected: int) -> None:
    config = command_line_config([*GRANIAN, "--workers", value, "app:app"], {}, "wsgi")
    assert config is not None and config.workers == expected


def _server(**attrs: Any) -> SimpleNamespace:
    base: Dict[str, Any] = {"workers": 2, "blocking_threads": 7, "interface": "wsgi", "pid": 100}
    base.update(attrs)
    return SimpleNamespace(**base)


@pytest.mark.parametrize(
    ("server", "pid", "expected"),
    [
        (_server(), 101, GranianConfig("wsgi", 2, 7, False)),      # a worker process
        (_server(), 100, GranianConfig("wsgi", 2, 7, True)),       # worker threads (MTServer)
        (_server(interface=SimpleNamespace(value="WSGI")), 101, GranianConfig("wsgi", 2, 7)),
        (_server(blocking_threads=None), 101, None),
        (_server(workers=0), 101, None),
    ],
    ids=["process", "threads", "enum-interface", "no-threads", "no-workers"],
)
def test_server_object_gives_its_own_numbers(server: Any, pid: int,
                                             expected: Optional[GranianConfig]) -> None:
    assert server_config(server, pid) == expected


def _make_granian_stack(server: Any) -> Any:
    """A real frame whose code lives in a granian/ file and has ``self`` = server."""
    code = compile("def _spawn_workers(self):\n    return __import__('sys')._getframe()\n",
                   "/venv/lib/python3.11/site-packages/granian/server/common.py", "exec")
    namespace: Dict[str, Any] = {}
    exec(code, namespace)
    return namespace["_spawn_workers"](server)


def test_server_is_found_in_a_granian_frame() -> None:
    server = _server()
    frame = _make_granian_stack(server)
    fake_sys = SimpleNamespace(_current_frames=lambda: {1: frame})
    fake_threading = SimpleNamespace(main_thread=lambda: SimpleNamespace(ident=1))
    assert find_server(fake_sys, fake_threading) is server


def test_frames_outside_granian_are_not_read() -> None:
    self = _server()  # noqa: F841 - a ``self`` in a frame that is not granian's
    fake_sys = SimpleNamespace(_current_frames=lambda: {1: sys._getframe()})
    fake_threading = SimpleNamespace(main_thread=lambda: SimpleNamespace(ident=1))
    assert find_server(fake_sys, fake_threading) is None


def _spawn_wsgi_worker(worker_id: int, callback: Any, sock: Any, ipc: Any, loop: Any,
                       runtime_mode: str, runtime_threads: int,
                       runtime_blocking_threads: Optional[int], blocking_threads: int,
                       blocking_threads_idle_timeout: int, backpressure: int) -> None:
    """The shape of granian's worker function (the wrapper adds leading arguments)."""


def _wrapped(inner: Callable[..., None]) -> Any:
    def wrapped(*args: Any) -> None:
        pass
    wrapped.__wrapped__ = inner  # type: ignore[attr-defined]
    return wrapped


def _process(name: str = "granian-worker", blocking: Any = 24) -> Any:
    # wrapper's own 10 leading arguments, then the inner function's parameters from runtime_mode
    args = (1, None, None, None, None, None, True, "info", None, (), "mt", 1, 512, blocking, 30,
            48)
    return SimpleNamespace(name=name, _target=_wrapped(_spawn_wsgi_worker), _args=args)


@pytest.mark.parametrize(
    ("process", "expected"),
    [(_process(), 24), (_process(name="MainProcess"), None), (_process(blocking=0), None),
     (SimpleNamespace(name="granian-worker", _target=None, _args=()), None)],
    ids=["worker", "not-a-worker", "bad-value", "no-target"],
)
def test_worker_process_arguments_give_blocking_threads(process: Any,
                                                        expected: Optional[int]) -> None:
    assert worker_args_threads(process) == expected


def test_worker_process_arguments_of_the_installed_granian() -> None:
    """The layout read from ``_args`` holds for the installed Granian's real worker process."""
    if not _granian_installed():
        pytest.skip("granian is not installed")
    mp = importlib.import_module("granian.server.mp")
    server = mp.MPServer("app:app", interface="wsgi", workers=3, blocking_threads=5)
    server._ssp = server._shd = server._sso = None
    worker = server._spawn_worker(0, mp.MPServer._spawn_wsgi_worker, lambda: None)
    assert worker.inner.name == "granian-worker"
    assert worker_args_threads(worker.inner) == 5


def _modules(argv: List[str], env: Dict[str, str], process: Any = None,
             frames: Optional[Dict[int, Any]] = None, pid: int = 4242) -> Dict[str, Any]:
    return {
        "granian": SimpleNamespace(__version__="2.8.9"),
        "sys": SimpleNamespace(argv=argv, _current_frames=lambda: dict(frames or {})),
        "os": SimpleNamespace(environ=env, getpid=lambda: pid),
        "threading": SimpleNamespace(main_thread=lambda: SimpleNamespace(ident=1)),
        "multiprocessing": SimpleNamespace(
            current_process=lambda: process or SimpleNamespace(name="MainProcess")),
    }


@pytest.mark.parametrize(
    ("environ", "modules", "expected"),
    [
        (ENVIRON, _modules([*GRANIAN, "--interface", "wsgi", "app:app"], {}),
         ServerInfo("granian", "2.8.9", "wsgi", 512, 1, "detected")),
        (ENVIRON, _modules([*GRANIAN, "--interface", "wsgi", "--workers", "2", "app:app"],
                           {"GRANIAN_BLOCKING_THREADS": "4"}),
         ServerInfo("granian", "2.8.9", "wsgi", 4, 2, "detected")),
        # the worker's own arguments beat a recomputation; the command line gives the workers
        (ENVIRON, _modules([*GRANIAN, "--interface", "wsgi", "--workers", "2", "app:app"], {},
                           _process(blocking=24)),
         ServerInfo("granian", "2.8.9", "wsgi", 24, 2, "detected")),
        # the server object beats both
        (ENVIRON, _modules([*GRANIAN, "--interface", "wsgi", "app:app"], {},
                           _process(blocking=24), {1: _make_granian_stack(_server())}),
         ServerInfo("granian", "2.8.9", "wsgi", 7, 2, "detected")),
        # embedded in the app's own process with worker threads (MTServer): one process
        (ENVIRON, _modules(["serve.py"], {}, None, {1: _make_granian_stack(_server())}, pid=100),
         ServerInfo("granian", "2.8.9", "wsgi", 14, 1, "detected")),
        # a worker spawned by a Python script: threads known, workers not
        (ENVIRON, _modules(["serve.py"], {}, _process(blocking=24)),
         ServerInfo("granian", "2.8.9", "wsgi", 24, None, "detected")),
        # nothing to read: Granian, capacity unknown (the agent warns and uses 1)
        (ENVIRON, _modules(["serve.py"], {}),
         ServerInfo("granian", "2.8.9", "wsgi", None, None, "default")),
        ({"SERVER_SOFTWARE": "gunicorn/23.0.0"}, _modules(GRANIAN, {}), None),
        ({}, {}, None),
    ],
    ids=["default", "env-threads", "worker-args", "server-object", "threads-embedded",
         "embedded-process", "unknown-capacity", "not-granian", "empty"],
)
def test_detects_granian(environ: Dict[str, Any], modules: Dict[str, Any],
                         expected: Optional[ServerInfo]) -> None:
    assert detect_granian(environ, modules) == expected


def test_broken_sources_leave_the_capacity_unknown_and_do_not_raise() -> None:
    def boom() -> Any:
        raise RuntimeError("broken")

    modules = _modules(GRANIAN, {})
    modules["sys"] = SimpleNamespace(argv=None, _current_frames=boom)
    modules["multiprocessing"] = SimpleNamespace(current_process=boom)
    assert detect_granian(ENVIRON, modules) == ServerInfo("granian", "2.8.9", "wsgi")
    assert detect_granian({"SERVER_SOFTWARE": object()}, {"granian": 1}) is None


def test_real_modules_outside_granian_say_not_granian() -> None:
    real = {"sys": sys, "os": os, "threading": threading, "multiprocessing": multiprocessing}
    assert detect_granian({"SERVER_SOFTWARE": "WSGIServer/0.2"}, real) is None


# --- the response: Granian's list fast path -------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "tuple", "generator"])
def test_granian_keeps_its_list_fast_path(kind: str) -> None:
    """Granian joins a ``list`` body and sends the bytes at once (Content-Length set for it);
    anything else it streams block by block through a channel (chunked when the app set no
    Content-Length) and closes. Under Granian the shim returns a list as it is, the request
    already recorded (Granian neither iterates nor closes a list); other bodies are measured as
    everywhere else."""
    clock, transport = FakeClock(), FakeTransport()
    blocks = [b"hello ", b"world"]

    def app(environ: Any, start_response: Any) -> Any:
        clock.advance(3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        bodies = {"list": blocks, "tuple": tuple(blocks), "generator": iter(blocks)}
        return bodies[kind]

    info = ServerInfo("granian", "2.8.9", "wsgi", 3, 2, "detected")
    mw = Middleware(app, make_agent(clock, transport, server_info=info))
    result: Any = mw(dict(ENVIRON, REQUEST_METHOD="GET", PATH_INFO="/"),
                     lambda status, headers, exc_info=None: None)
    assert (result is blocks) == (kind == "list")
    if kind != "list":
        clock.advance(2)  # Granian iterating and sending
        assert b"".join(result) == b"hello world"
        result.close()
    assert mw.agent.flush(1.0)
    rec = {k: v[0] for k, v in transport.bodies[-1]["requests"].items()}
    assert (rec["status"], rec["bytes_out"], rec["app_us"]) == (200, 11, 3_000)
    assert rec["duration_us"] == (3_000 if kind == "list" else 5_000)
    assert rec["first_byte_us"] == 3_000 or kind == "generator"


def test_other_servers_get_the_shims_sized_list() -> None:
    """Elsewhere a list body stays wrapped (measured up to close), keeping ``len()``."""
    blocks = [b"hello"]
    mw = Middleware(lambda environ, start_response: (start_response("200 OK", []), blocks)[1],
                    make_agent(FakeClock(), FakeTransport()))
    result: Any = mw({"REQUEST_METHOD": "GET"}, lambda status, headers, exc_info=None: None)
    assert result is not blocks and len(result) == 1
    result.close()

"""Granian (``granian --interface wsgi module:app``): its version, workers and blocking threads.

# design: where a worker learns its configuration

Granian says only ``SERVER_SOFTWARE = "Granian"`` in the environ. Its WSGI app runs on a pool
of *blocking threads* per worker, grown on demand up to a maximum and shrunk after an idle
timeout, so the threads alive now say nothing: the capacity is the maximum, which Granian
computes in its server object (``granian.server.common.AbstractServer.__init__``)::

    backlog        = max(128, --backlog)                              (default 1024)
    backpressure   = max(1, --backpressure or backlog // workers)
    blocking       = --blocking-threads, else (WSGI) max(1, backpressure // 2)

so 512 threads per worker by default with one worker, 256 with two. Workers are processes
forked (or spawned) by the main process (``MPServer``); on free-threaded builds they are
threads of one process (``MTServer``), each with its own pool. Three places hold the numbers,
read in this order, each exactly what Granian computed:

1. the server object itself, found in the frames of the thread that forked us (fork start
   method, the default on Linux up to Python 3.13): workers, blocking threads, interface;
   also right for Granian embedded from Python code (``Granian(...).serve()``);
2. this worker process's own arguments (``multiprocessing.current_process()._args``, kept in
   the child by both fork and spawn): the blocking threads exactly, the worker count from (3);
3. the command line (``sys.argv`` is the ``granian`` command's, in fork and spawn children)
   and ``GRANIAN_*`` variables (click's ``auto_envvar_prefix``), computed as above.

Everything is read once per process, at the first request; nothing here raises.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Optional, Sequence, TypeVar

from .detect import ServerInfo, distribution_version

SOFTWARE = "granian"
ENV_PREFIX = "GRANIAN_"
DEFAULT_INTERFACE = "rsgi"   # the CLI default; a WSGI app is served only with --interface wsgi
DEFAULT_WORKERS = 1
DEFAULT_BACKLOG = 1024
MIN_BACKLOG = 128
_MAX_FRAMES = 256            # frames walked per thread looking for the server object
_T = TypeVar("_T")


class GranianConfig(NamedTuple):
    """The numbers Granian runs with; ``workers`` None when unknown; ``threaded`` when the
    workers are threads of this process (MTServer) rather than processes."""

    interface: str
    workers: Optional[int]
    blocking_threads: int
    threaded: bool = False


def _positive(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 1 else None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number >= 1 else None


def _text(value: Any) -> str:
    """An enum member (Granian's StrEnum) or a string, as its lower-case value."""
    return str(getattr(value, "value", value)).lower()


def computed_blocking_threads(interface: str, workers: int, blocking_threads: Optional[int],
                              backlog: Optional[int], backpressure: Optional[int]) -> int:
    """Blocking threads per worker, as ``AbstractServer.__init__`` computes them."""
    if blocking_threads is not None:
        return blocking_threads
    if interface != "wsgi":
        return 1
    real_backlog = max(MIN_BACKLOG, backlog if backlog is not None else DEFAULT_BACKLOG)
    real_backpressure = max(1, backpressure or real_backlog // max(1, workers))
    return max(1, real_backpressure // 2)


def is_granian_command(argv: Sequence[str]) -> bool:
    """``granian ...`` or ``python -m granian ...`` (argv[0] is then granian/__main__.py)."""
    if not argv:
        return False
    first = str(argv[0]).replace("\\", "/")
    return (os.path.basename(first) in ("granian", "granian.exe")
            or first.endswith("/granian/__main__.py"))


def _option(argv: Sequence[str], name: str) -> Optional[str]:
    """The last value given to ``--name VALUE`` or ``--name=VALUE`` (click: last one wins)."""
    found: Optional[str] = None
    flag = f"--{name}"
    args = [str(arg) for arg in argv[1:]]
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == flag and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith(flag + "="):
            found = arg[len(flag) + 1:]
    return found


def command_line_config(argv: Sequence[str], env: Mapping[str, str],
                        interface: Optional[str] = None) -> Optional[GranianConfig]:
    """The configuration of ``granian`` run with ``argv`` (flags first, then ``GRANIAN_*``
    variables, then Granian's defaults); None when ``argv`` is not the granian command.
    ``interface``, when given, is what serves us (a WSGI request proves ``wsgi``)."""
    if not is_granian_command(argv):
        return None

    def setting(name: str) -> Optional[str]:
        given = _option(argv, name)
        if given is not None:
            return given
        return env.get(ENV_PREFIX + name.upper().replace("-", "_"))

    iface = interface or _text(setting("interface") or DEFAULT_INTERFACE)
    workers = _positive(setting("workers")) or DEFAULT_WORKERS
    threads = computed_blocking_threads(
        iface, workers, _positive(setting("blocking-threads")), _positive(setting("backlog")),
        _positive(setting("backpressure")))
    return GranianConfig(iface, workers, threads)


def server_config(server: Any, pid: int) -> Optional[GranianConfig]:
    """The configuration held by Granian's server object (MPServer / MTServer). Its ``pid`` is
    the main process's: from a worker process (another pid) workers are processes; in the
    main process itself they are threads, each with its own pool."""
    workers = _positive(getattr(server, "workers", None))
    threads = _positive(getattr(server, "blocking_threads", None))
    if workers is None or threads is None:
        return None
    interface = _text(getattr(server, "interface", "wsgi"))
    threaded = getattr(server, "pid", None) == pid or type(server).__name__ == "MTServer"
    return GranianConfig(interface, workers, threads, threaded)


def _is_granian_file(filename: str) -> bool:
    path = filename.replace("\\", "/")
    return "/granian/" in path


def _frames(sys_module: Any, threading_module: Any) -> Iterator[Any]:
    """The innermost frame of every thread, the main thread's first."""
    current = dict(sys_module._current_frames())
    main = getattr(threading_module.main_thread(), "ident", None)
    if main in current:
        yield current.pop(main)
    yield from current.values()


def find_server(sys_module: Any, threading_module: Any) -> Optional[Any]:
    """Granian's server object, from a ``self`` in a granian frame of any thread's stack. In a
    forked worker the forking thread's stack (``serve`` → ``_spawn_workers`` → fork) survives
    under the worker's main loop. Only granian's own frames have their locals read."""
    for top in _frames(sys_module, threading_module):
        frame, depth = top, 0
        while frame is not None and depth < _MAX_FRAMES:
            if _is_granian_file(str(frame.f_code.co_filename)):
                candidate = frame.f_locals.get("self")
                if hasattr(candidate, "blocking_threads") and hasattr(candidate, "workers"):
                    return candidate
                parent = getattr(candidate, "parent", None)   # granian's WorkerProcess/Thread
                if hasattr(parent, "blocking_threads") and hasattr(parent, "workers"):
                    return parent
            frame, depth = frame.f_back, depth + 1
    return None


def worker_args_threads(process: Any) -> Optional[int]:
    """``blocking_threads`` from a granian worker process's own arguments.

    The process target is granian's ``wrap_target`` wrapper around ``_spawn_<iface>_worker``:
    the wrapper takes a few leading arguments itself and passes the rest on, so the inner
    function's parameters line up with the *end* of ``_args``."""
    if getattr(process, "name", "") != "granian-worker":
        return None
    target = getattr(process, "_target", None)
    inner = getattr(target, "__wrapped__", None)
    code = getattr(inner, "__code__", None)
    args = getattr(process, "_args", None)
    if code is None or not isinstance(args, tuple):
        return None
    names = code.co_varnames[:code.co_argcount]
    if "blocking_threads" not in names:
        return None
    offset = len(args) - len(names)
    index = names.index("blocking_threads") + offset
    return _positive(args[index]) if 0 <= index < len(args) else None


def _worker_process(modules: Mapping[str, Any]) -> Optional[Any]:
    multiprocessing = modules.get("multiprocessing")
    if multiprocessing is None:
        return None
    return multiprocessing.current_process()


def _software_is_granian(environ: Mapping[str, Any]) -> bool:
    first = str(environ.get("SERVER_SOFTWARE", "")).split(" ")[0]
    return first.partition("/")[0].lower() == SOFTWARE


def _version(modules: Mapping[str, Any]) -> str:
    found = getattr(modules.get("granian"), "__version__", "")
    return str(found) if found else distribution_version("granian")


def _safely(read: Callable[[], _T]) -> Optional[_T]:
    """One source's answer, or None when it cannot be read (each source fails alone)."""
    try:
        return read()
    except Exception:
        return None


def _from_server(modules: Mapping[str, Any]) -> Optional[GranianConfig]:
    sys_module, os_module = modules.get("sys"), modules.get("os")
    threading_module = modules.get("threading")
    if sys_module is None or threading_module is None or os_module is None:
        return None
    server = find_server(sys_module, threading_module)
    return None if server is None else server_config(server, int(os_module.getpid()))


def _from_command(modules: Mapping[str, Any], interface: Optional[str]) -> Optional[GranianConfig]:
    argv = getattr(modules.get("sys"), "argv", None) or []
    env = getattr(modules.get("os"), "environ", None) or {}
    return command_line_config([str(arg) for arg in argv], env, interface)


def _config(environ: Mapping[str, Any], modules: Mapping[str, Any]) -> Optional[GranianConfig]:
    found = _safely(lambda: _from_server(modules))
    if found is not None:
        return found
    interface = "wsgi" if _software_is_granian(environ) else None
    from_command = _safely(lambda: _from_command(modules, interface))
    threads = _safely(lambda: worker_args_threads(_worker_process(modules)))
    if threads is not None:
        workers = from_command.workers if from_command is not None else None
        return GranianConfig(interface or "wsgi", workers, threads)
    return from_command


def _served_by_granian(environ: Mapping[str, Any], modules: Mapping[str, Any]) -> bool:
    if _software_is_granian(environ):
        return True
    process = _safely(lambda: _worker_process(modules))
    return getattr(process, "name", "") == "granian-worker" and "granian" in modules


def detect_granian(environ: Mapping[str, Any], modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    """Granian's ServerInfo, capacity ``detected`` when its configuration was found (else
    unknown: None), or None when Granian does not serve this request. Never raises."""
    try:
        if not _served_by_granian(environ, modules):
            return None
        version = _safely(lambda: _version(modules)) or ""
        config = _config(environ, modules)
        if config is None:
            return ServerInfo(SOFTWARE, version, "wsgi")
        if config.threaded:
            # MTServer: the workers are threads of this one process, each with its own pool.
            return ServerInfo(SOFTWARE, version, config.interface,
                              config.blocking_threads * (config.workers or 1), 1, "detected")
        return ServerInfo(SOFTWARE, version, config.interface, config.blocking_threads,
                          config.workers, "detected")
    except Exception:
        return None

"""Which WSGI server runs us, and how many requests a worker can serve at once.

``detect(environ)`` tries one small function per server, in order; the first that recognises
its server wins. Each returns a :class:`ServerInfo` or None. To add a server, write one
``_detect_<server>(environ, modules)`` function and list it in ``DETECTORS``.

design: servers that keep their configuration on a Python object (gunicorn's worker, waitress's
task, cheroot's worker thread) are found on the call stack, once per process, at the first
request: the request thread's own frames hold the object as ``self`` (gunicorn's
``handle_request``, waitress's ``WSGITask.execute``, cheroot's ``WorkerThread.run``), and the
main thread's frames are tried next (an event loop running gunicorn's worker). So capacity is
detected however the app was wrapped — ``wrap()`` in the app module or the gunicorn hook —
and the hook only saves this walk.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Optional


class ServerInfo(NamedTuple):
    server: str
    server_version: str = ""
    worker_class: str = ""
    capacity_threads: Optional[int] = None
    capacity_processes: Optional[int] = None
    capacity_source: str = "default"
    cpu_attributable: bool = True
    # what the server told when a configured capacity overrides it (they may disagree)
    detected_capacity_threads: Optional[int] = None


Environ = Mapping[str, Any]
Detector = Callable[[Environ, Mapping[str, Any]], Optional[ServerInfo]]


def _software(environ: Environ) -> tuple[str, str]:
    """(lower-cased product name, version) from SERVER_SOFTWARE, e.g. 'gunicorn/23.0.0'."""
    first = str(environ.get("SERVER_SOFTWARE", "")).split(" ")[0]
    name, _, version = first.partition("/")
    return name.lower(), version


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, (list, tuple)) and value:
        value = value[-1]
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 1 else None


def distribution_version(name: str) -> str:
    """The installed version of distribution ``name`` ('' when unknown); for servers that
    do not say (waitress, bjoern, meinheld). Read once per process, at the first request."""
    try:
        from importlib import metadata  # noqa: PLC0415 - only for servers that need it

        return str(metadata.version(name))
    except Exception:
        return ""


def _detect_uwsgi(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    uwsgi = modules.get("uwsgi")
    if uwsgi is None or not hasattr(uwsgi, "opt"):
        return None
    opt = getattr(uwsgi, "opt", {}) or {}

    def option(name: str) -> Any:
        return opt.get(name, opt.get(name.encode()))

    version = getattr(uwsgi, "version", b"")
    if isinstance(version, bytes):
        version = version.decode("ascii", "replace")
    # uwsgi.cores is --threads, or --async/--gevent, as an int; opt values are bytes.
    cores = _int(getattr(uwsgi, "cores", None))
    greenlets = _int(option("gevent")) or _int(option("async"))
    threads = cores or _int(option("threads")) or 1
    processes = _int(getattr(uwsgi, "numproc", None)) or _int(option("processes")) or _int(
        option("workers"))
    if greenlets:
        return ServerInfo("uwsgi", str(version), "gevent" if option("gevent") else "async",
                          cores or greenlets, processes, "detected", cpu_attributable=False)
    return ServerInfo("uwsgi", str(version), "threads" if threads > 1 else "processes",
                      threads, processes, "detected")


def _detect_mod_wsgi(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    if "mod_wsgi.version" not in environ and "mod_wsgi" not in modules:
        return None
    mod_wsgi = modules.get("mod_wsgi")
    version = environ.get("mod_wsgi.version") or getattr(mod_wsgi, "version", None) or ()
    threads = _int(getattr(mod_wsgi, "threads_per_process", None))
    processes = _int(getattr(mod_wsgi, "maximum_processes", None))
    group = environ.get("mod_wsgi.process_group", getattr(mod_wsgi, "process_group", ""))
    return ServerInfo(
        "mod_wsgi", ".".join(str(part) for part in version), "daemon" if group else "embedded",
        threads, processes, "detected" if threads else "default",
    )


def _stack_frames() -> Iterator[FrameType]:
    """The calling thread's frames, innermost first, then the main thread's."""
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None:
        yield frame
        frame = frame.f_back
    main_ident = threading.main_thread().ident
    if main_ident is not None and main_ident != threading.get_ident():
        frame = sys._current_frames().get(main_ident)
        while frame is not None:
            yield frame
            frame = frame.f_back


def find_on_stack(cls: Any) -> Any:
    """The first ``self`` on the request's (then the main thread's) stack that is a ``cls``;
    None when there is none or ``cls`` is not a class. Once per process: it walks frames."""
    if not isinstance(cls, type):
        return None
    for frame in _stack_frames():
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, cls):
            return candidate
    return None


def _class(modules: Mapping[str, Any], module: str, name: str) -> Any:
    return getattr(modules.get(module), name, None)


# gunicorn worker classes by type name: (worker_class label, how its capacity is counted)
_GUNICORN_WORKERS = {
    "SyncWorker": ("sync", "one"),
    "ThreadWorker": ("gthread", "threads"),
    "GeventWorker": ("gevent", "connections"),
    "GeventPyWSGIWorker": ("gevent", "connections"),
    "EventletWorker": ("eventlet", "connections"),
    "TornadoWorker": ("tornado", "connections"),
    "UvicornWorker": ("uvicorn", "asgi"),
    "UvicornH11Worker": ("uvicorn", "asgi"),
}
ASGI_WORKER_CLASSES = frozenset(name for name, (_, kind) in _GUNICORN_WORKERS.items()
                                if kind == "asgi")


def gunicorn_worker_info(worker: Any) -> ServerInfo:
    """What a gunicorn worker object tells: its class and capacity, threads for gthread,
    ``worker_connections`` for greenlet workers (gevent, eventlet: their requests share a
    thread, so per-request CPU is not attributable), 1 for sync. uvicorn's worker enforces no
    ``worker_connections``: its capacity is uvicorn's ``limit_concurrency`` when one is set,
    else unknown (``default``)."""
    cfg = worker.cfg
    name = type(worker).__name__
    worker_class, kind = _GUNICORN_WORKERS.get(name, (name.lower(), "one"))
    processes = cfg.workers if isinstance(cfg.workers, int) and cfg.workers >= 1 else None
    version = str(getattr(sys.modules.get("gunicorn"), "__version__", ""))
    if kind == "asgi":
        limit = _int(getattr(getattr(worker, "config", None), "limit_concurrency", None))
        return ServerInfo("gunicorn", version, worker_class, limit, processes,
                          "detected" if limit else "default", False)
    if kind == "connections":
        threads, cpu = int(cfg.worker_connections), False
    elif kind == "threads":
        threads, cpu = int(cfg.threads), True
    else:
        threads, cpu = 1, True
    return ServerInfo("gunicorn", version, worker_class, max(1, threads), processes, "detected",
                      cpu)


def gunicorn_worker_on_stack(modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    """The gunicorn worker serving this request (or running the main thread), if any."""
    if "gunicorn.workers.base" not in modules:
        return None
    worker = find_on_stack(_class(modules, "gunicorn.workers.base", "Worker"))
    return None if worker is None else gunicorn_worker_info(worker)


def _detect_gunicorn(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    name, version = _software(environ)
    info = gunicorn_worker_on_stack(modules)
    if info is not None or name != "gunicorn":
        return info
    return ServerInfo("gunicorn", version)


def _detect_wsgiref(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    name, version = _software(environ)
    if name != "wsgiserver":
        return None
    # A threading server built on wsgiref (Django's runserver) starts a thread per
    # connection: no fixed capacity. Plain wsgiref.simple_server serves one at a time.
    server = find_on_stack(_class(modules, "socketserver", "ThreadingMixIn"))
    if server is not None:
        django = type(server).__module__.startswith("django.")
        if django:
            version = str(getattr(modules.get("django"), "__version__", "")) or version
        return ServerInfo("django" if django else "wsgiref", version,
                          "runserver" if django else "threading", None, 1, "unbounded")
    return ServerInfo("wsgiref", version, "", 1, 1, "detected")


def _detect_single_threaded(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    """bjoern and meinheld run every request on one OS thread: capacity 1, and since other
    requests progress while one is suspended writing (libev loop, greenlets), a request's
    thread CPU also counts theirs: not attributable."""
    name, version = _software(environ)
    if name == "meinheld" or "meinheld.client" in environ or "meinheld.server" in modules:
        return ServerInfo("meinheld", version or distribution_version("meinheld"), "greenlet",
                          1, 1, "detected", cpu_attributable=False)
    if "bjoern" in modules and name in ("", "bjoern"):
        found = str(getattr(modules["bjoern"], "__version__", ""))
        return ServerInfo("bjoern", version or found or distribution_version("bjoern"),
                          "event-loop", 1, 1, "detected", cpu_attributable=False)
    return None


def _waitress_threads(modules: Mapping[str, Any]) -> Optional[int]:
    """waitress's configured ``threads`` (its dispatcher keeps that many running), from the
    ``WSGITask`` serving this request."""
    task = find_on_stack(_class(modules, "waitress.task", "WSGITask"))
    if task is None:
        return None
    return _int(task.channel.server.adj.threads)


def _cheroot_threads(modules: Mapping[str, Any]) -> Optional[int]:
    """cheroot's pool size (``numthreads``: it starts ``min`` threads and never grows them on
    its own), from the ``WorkerThread`` serving this request."""
    worker = find_on_stack(_class(modules, "cheroot.workers.threadpool", "WorkerThread"))
    if worker is None:
        return None
    pool = worker.server.requests
    return _int(getattr(pool, "min", None)) or _int(len(getattr(pool, "_threads", ())))


def _detect_by_software(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    """waitress and cheroot say who they are in SERVER_SOFTWARE; their thread pools live in
    this process, so the pool serving this request tells its size."""
    name, version = _software(environ)
    for known, pool_size in (("waitress", _waitress_threads), ("cheroot", _cheroot_threads),
                             ("cherrypy", _cheroot_threads)):
        if name.startswith(known):
            server = "cheroot" if known == "cherrypy" else known
            try:
                threads = pool_size(modules)
            except Exception:
                threads = None
            return ServerInfo(server, version or distribution_version(server), "threads",
                              threads, 1, "detected" if threads else "default")
    return None


from .granian import detect_granian  # noqa: E402 - granian.py imports ServerInfo from here

DETECTORS: tuple[Detector, ...] = (
    _detect_uwsgi,
    _detect_mod_wsgi,
    _detect_gunicorn,
    detect_granian,
    _detect_wsgiref,
    _detect_single_threaded,
    _detect_by_software,
)


def detect(environ: Environ, modules: Optional[Mapping[str, Any]] = None) -> ServerInfo:
    """Identify the server from the first request's environ (and loaded server modules)."""
    mods = sys.modules if modules is None else modules
    for detector in DETECTORS:
        try:
            info = detector(environ, mods)
        except Exception:
            info = None
        if info is not None:
            return info
    return ServerInfo("unknown")


def with_overrides(
    info: ServerInfo, server: Optional[str], capacity_threads: Optional[int],
    capacity_processes: Optional[int],
) -> ServerInfo:
    """Apply configured values; a configured thread capacity has source ``configured``."""
    if server:
        info = info._replace(server=server)
    if capacity_processes:
        info = info._replace(capacity_processes=capacity_processes)
    if capacity_threads:
        detected = info.capacity_threads if info.capacity_source == "detected" else None
        return info._replace(capacity_threads=capacity_threads, capacity_source="configured",
                             detected_capacity_threads=detected)
    if info.capacity_source == "unbounded":
        return info._replace(capacity_threads=None)
    if info.capacity_threads is None:
        return info._replace(capacity_threads=1, capacity_source="default")
    return info

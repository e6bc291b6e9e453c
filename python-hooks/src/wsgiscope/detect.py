"""Which WSGI server runs us, and how many requests a worker can serve at once.

``detect(environ)`` tries one small function per server, in order; the first that recognises
its server wins. Each returns a :class:`ServerInfo` or None. To add a server, write one
``_detect_<server>(environ, modules)`` function and list it in ``DETECTORS``. The gunicorn
integration does not rely on this: its hook knows the worker object and passes a ServerInfo
directly (see :mod:`wsgiscope.gunicorn`).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Mapping, NamedTuple, Optional


class ServerInfo(NamedTuple):
    server: str
    server_version: str = ""
    worker_class: str = ""
    capacity_threads: Optional[int] = None
    capacity_processes: Optional[int] = None
    capacity_source: str = "default"
    cpu_attributable: bool = True


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


def _detect_gunicorn(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    name, version = _software(environ)
    if name != "gunicorn":
        return None
    # Without the config hook we do not know the worker's threads; see wsgiscope.gunicorn.
    return ServerInfo("gunicorn", version)


def _detect_wsgiref(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    name, version = _software(environ)
    if name != "wsgiserver":
        return None
    # wsgiref.simple_server serves one request at a time.
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


def _detect_by_software(environ: Environ, modules: Mapping[str, Any]) -> Optional[ServerInfo]:
    """waitress and cheroot say who they are but not how many threads they run: the capacity
    stays unknown (WSGISCOPE_CAPACITY sets it; docs/servers.md says why we do not guess)."""
    name, version = _software(environ)
    for known in ("waitress", "cheroot", "cherrypy"):
        if name.startswith(known):
            server = "cheroot" if known == "cherrypy" else known
            return ServerInfo(server, version or distribution_version(server), "threads",
                              None, 1)
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
        return info._replace(capacity_threads=capacity_threads, capacity_source="configured")
    if info.capacity_threads is None:
        return info._replace(capacity_threads=1, capacity_source="default")
    return info

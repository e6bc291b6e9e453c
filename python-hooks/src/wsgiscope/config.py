"""The shim's one configuration object, parsed once from keyword arguments and ``WSGISCOPE_*``.

Every option is one row of :data:`OPTIONS`: ``(name, env var, converter, default, meaning,
aliases)``. Variable names carry their unit (``WSGISCOPE_FLUSH_INTERVAL_SECONDS``,
``WSGISCOPE_CAPACITY_THREADS``); the older names without it are aliases that still work, and the
new name wins when both are set. Keyword arguments win over environment variables, which win
over defaults. A value that does
not convert gives exactly one :class:`WsgiscopeConfigWarning` naming the variable and the
default used instead; an unknown keyword gives one warning too. Nothing here ever raises into
the application.

    >>> cfg = Config.load({"WSGISCOPE_FLUSH_INTERVAL_SECONDS": "0.5"}, service_name="shop")
    >>> (cfg.flush_interval_s, cfg.service_name)
    (0.5, 'shop')
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Mapping, NamedTuple, Optional
from urllib.parse import urlsplit


class WsgiscopeConfigWarning(UserWarning):
    """A ``WSGISCOPE_*`` variable or ``wrap()`` option was invalid; a safe default is used."""


def _positive_float(raw: object) -> float:
    value = float(raw)  # type: ignore[arg-type]
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number")
    return value


def _positive_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError("must be a positive integer")
    value = int(str(raw).strip()) if isinstance(raw, str) else int(raw)  # type: ignore[call-overload]
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def _non_negative_float(raw: object) -> float:
    value = float(raw)  # type: ignore[arg-type]
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be 0 or a positive number")
    return value


def _ratio(raw: object) -> float:
    value = float(raw)  # type: ignore[arg-type]
    if not 0 <= value <= 1:
        raise ValueError("must be a number from 0 to 1")
    return value


ROUTES_ALL, ROUTES_FRAMEWORK, ROUTES_OFF = "all", "framework", "off"


def _routes(raw: object) -> str:
    """true: every route (also ``environ['wsgiscope.route']``); framework: only those from the
    framework's own route table (Django, Flask), which bounds them; false: none."""
    text = str(raw).strip().lower()
    if text in (ROUTES_ALL, ROUTES_FRAMEWORK, ROUTES_OFF):
        return text
    return ROUTES_ALL if _bool(raw) else ROUTES_OFF


def _optional_positive_int(raw: object) -> Optional[int]:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    return _positive_int(raw)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be one of 1/0, true/false, yes/no, on/off")


def _label(raw: object) -> str:
    text = str(raw).strip()
    if not 1 <= len(text) <= 128:
        raise ValueError("must be 1 to 128 characters")
    return text


def _optional_label(raw: object) -> Optional[str]:
    if raw is None or str(raw).strip() == "":
        return None
    return _label(raw)


def _url(raw: object) -> str:
    text = str(raw).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return text


def _optional_str(raw: object) -> Optional[str]:
    if raw is None or str(raw) == "":
        return None
    return str(raw)


class Option(NamedTuple):
    name: str
    env: str
    convert: Callable[[object], Any]
    default: Any
    doc: str
    #: older variable names read when ``env`` is unset (``env`` wins when both are set)
    aliases: tuple[str, ...] = ()

    def lookup(self, environ: Mapping[str, str]) -> Optional[tuple[str, str]]:
        """``(variable, raw value)`` of the first of ``env`` and its aliases that is set."""
        for variable in (self.env, *self.aliases):
            if variable in environ:
                return variable, environ[variable]
        return None


OPTIONS: tuple[Option, ...] = (
    Option("collector_url", "WSGISCOPE_COLLECTOR_URL", _url, "http://127.0.0.1:9464",
           "collector base URL; batches go to <url>/v1/batches"),
    Option("service_name", "WSGISCOPE_SERVICE_NAME", _label, "wsgi-app",
           "service_name label on every series"),
    Option("disabled", "WSGISCOPE_DISABLED", _bool, False,
           "true: wrap() returns the application untouched"),
    Option("flush_interval_s", "WSGISCOPE_FLUSH_INTERVAL_SECONDS", _positive_float, 1.0,
           "seconds between batches sent to the collector", ("WSGISCOPE_FLUSH_INTERVAL",)),
    Option("sample_interval_s", "WSGISCOPE_SAMPLE_INTERVAL_SECONDS", _positive_float, 0.25,
           "seconds between sampler wake-ups (their lateness is the GIL contention indicator)",
           ("WSGISCOPE_SAMPLE_INTERVAL",)),
    Option("listen_backlog", "WSGISCOPE_LISTEN_BACKLOG", _bool, False,
           "true: report the listen queue from /proc/net/tcp (costs O(host sockets) per flush)"),
    Option("cpu_time", "WSGISCOPE_CPU_TIME", _bool, True,
           "false: skip per-request thread CPU time (saves two system calls per request)"),
    Option("capacity_threads", "WSGISCOPE_CAPACITY_THREADS", _optional_positive_int, None,
           "threads per process that can serve requests; overrides detection",
           ("WSGISCOPE_CAPACITY",)),
    Option("capacity_processes", "WSGISCOPE_CAPACITY_PROCESSES", _optional_positive_int, None,
           "worker processes of the server; overrides detection", ("WSGISCOPE_PROCESSES",)),
    Option("server", "WSGISCOPE_SERVER", _optional_label, None,
           "server label (gunicorn, uwsgi, ...); overrides detection"),
    Option("max_buffer_records", "WSGISCOPE_MAX_BUFFER_RECORDS", _positive_int, 20000,
           "request records kept while the collector is unreachable; more are dropped and counted"),
    Option("max_batch_records", "WSGISCOPE_MAX_BATCH_RECORDS", _positive_int, 5000,
           "request records per batch (at most 100000)"),
    Option("send_timeout_s", "WSGISCOPE_SEND_TIMEOUT_SECONDS", _positive_float, 2.0,
           "seconds the background flusher waits for the collector", ("WSGISCOPE_SEND_TIMEOUT",)),
    Option("inline_flush_timeout_s", "WSGISCOPE_INLINE_FLUSH_TIMEOUT_SECONDS", _positive_float,
           0.25,
           "seconds a request thread may spend sending when background threads never run",
           ("WSGISCOPE_INLINE_FLUSH_TIMEOUT",)),
    Option("exit_flush_timeout_s", "WSGISCOPE_EXIT_FLUSH_TIMEOUT_SECONDS", _positive_float, 2.0,
           "seconds spent flushing at interpreter exit", ("WSGISCOPE_EXIT_FLUSH_TIMEOUT",)),
    Option("gzip", "WSGISCOPE_GZIP", _bool, False, "gzip batch bodies"),
    Option("token", "WSGISCOPE_TOKEN", _optional_str, None,
           "bearer token for the collector's ingest endpoint"),
    Option("routes", "WSGISCOPE_ROUTES", _routes, ROUTES_FRAMEWORK,
           "route templates: framework (Django's resolved route, Flask's url_rule: bounded by "
           "the app's URL table), true (also environ['wsgiscope.route']: cardinality!), false"),
    Option("slow_request_s", "WSGISCOPE_SLOW_REQUEST_SECONDS", _non_negative_float, 1.0,
           "requests at least this slow are sent whole, with their phases and traceparent, "
           "for a span tree; 0 turns capture off"),
    Option("trace_sample_ratio", "WSGISCOPE_TRACE_SAMPLE_RATIO", _ratio, 0.0,
           "also capture this fraction of all requests (0 to 1)"),
    Option("max_traces_per_batch", "WSGISCOPE_MAX_TRACES_PER_BATCH", _positive_int, 100,
           "captured requests held per flush; beyond, dropped and counted"),
    Option("host", "WSGISCOPE_HOST", _optional_label, None,
           "the host name in the worker label (default: this machine's), e.g. a pod name"),
)

_BY_NAME = {opt.name: opt for opt in OPTIONS}


class Config:
    """The validated options of one shim instance. Build it with :meth:`Config.load`."""

    __slots__ = tuple(opt.name for opt in OPTIONS)

    collector_url: str
    service_name: str
    disabled: bool
    flush_interval_s: float
    sample_interval_s: float
    cpu_time: bool
    listen_backlog: bool
    capacity_threads: Optional[int]
    capacity_processes: Optional[int]
    server: Optional[str]
    max_buffer_records: int
    max_batch_records: int
    send_timeout_s: float
    inline_flush_timeout_s: float
    exit_flush_timeout_s: float
    gzip: bool
    token: Optional[str]
    routes: str
    slow_request_s: float
    trace_sample_ratio: float
    max_traces_per_batch: int
    host: Optional[str]

    def __init__(self, values: Mapping[str, Any]) -> None:
        for opt in OPTIONS:
            object.__setattr__(self, opt.name, values.get(opt.name, opt.default))
        self.max_batch_records = min(self.max_batch_records, 100000)

    @classmethod
    def load(cls, environ: Optional[Mapping[str, str]] = None, **kwargs: Any) -> Config:
        """Parse kwargs over ``environ`` (default ``os.environ``); warn once per bad value."""
        env = os.environ if environ is None else environ
        for unknown in sorted(set(kwargs) - set(_BY_NAME)):
            warnings.warn(
                f"wsgiscope: unknown option {unknown!r} ignored; "
                f"known options: {', '.join(sorted(_BY_NAME))}",
                WsgiscopeConfigWarning,
                stacklevel=3,
            )
        values: dict[str, Any] = {}
        for opt in OPTIONS:
            if opt.name in kwargs:
                source, raw = f"option {opt.name}", kwargs[opt.name]
            elif (found := opt.lookup(env)) is not None:
                source, raw = f"environment variable {found[0]}", found[1]
            else:
                continue
            try:
                values[opt.name] = opt.convert(raw)
            except (TypeError, ValueError) as exc:
                warnings.warn(
                    f"wsgiscope: {source}={raw!r} is invalid ({exc}); "
                    f"using the default {opt.default!r}",
                    WsgiscopeConfigWarning,
                    stacklevel=3,
                )
        return cls(values)

    def batches_url(self) -> str:
        """The ingest endpoint: ``/v1/batches`` is appended unless the URL names a path."""
        parts = urlsplit(self.collector_url)
        if parts.path in ("", "/"):
            return self.collector_url.rstrip("/") + "/v1/batches"
        return self.collector_url

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{o.name}={'***' if o.name == 'token' and self.token else getattr(self, o.name)!r}"
            for o in OPTIONS
        )
        return f"Config({shown})"


def describe_options() -> str:
    """The option table as plain text, for ``python -m wsgiscope --help``."""
    rows = [("option", "environment variable", "default", "meaning")]
    rows += [(o.name, o.env, "unset" if o.default is None else str(o.default),
              o.doc + "".join(f" (alias: {alias})" for alias in o.aliases))
             for o in OPTIONS]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows
    )

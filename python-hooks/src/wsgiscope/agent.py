"""One shim instance per worker process: its state, batches, flusher thread, fork and exit.

design: request threads only touch the occupancy (one lock) and the record buffer (one lock),
and read two plain attributes (``started``, ``inline_check_ns``). Everything else runs on the
daemon flusher thread: it wakes every ``sample_interval_s`` (recording how late it woke), and
every ``flush_interval_s`` drains the buffer, takes a process sample and POSTs a batch. A batch
that fails with a retryable outcome is kept (same seq) and re-sent first next time (not before
the collector's ``Retry-After``, when it sent one); meanwhile new records wait in the bounded
buffer, so memory stays bounded by two buffers' worth.

Where background threads never run (uWSGI without --enable-threads) the flusher's heartbeat
goes stale; a request thread then flushes inline after its request ended, bounded by
``inline_flush_timeout_s`` and at most once per flush interval. Where the server says its
threads stall between requests (``uwsgi.has_threads == 0``: uWSGI <= 2.0.26 keeps the GIL while
it waits for a request) no flusher is started at all: a flusher frozen in mid-send would hold
the flush lock, so every flush is inline.

After ``fork()`` the child gets a fresh instance (new pid/worker, started_unix_us, seq 0,
empty buffer and occupancy, new locks) and starts its flusher lazily on its first request.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import platform
import socket
import sys
import threading
import warnings
import weakref
from typing import Any, Callable, NamedTuple, Optional, Protocol

from ._version import __version__
from .batch import encode_requests, encode_traces, make_batch, to_json
from .buffer import RecordBuffer
from .clock import Clock, SystemClock
from .config import Config
from .detect import ServerInfo, detect, with_overrides
from .occupancy import Occupancy
from .record import Record
from .sampler import ProcessSampler, find_listening_sockets, listen_queues, sample_dict
from .transport import HttpTransport, Outcome, Transport


class Identity(NamedTuple):
    host: str
    pid: int
    python_version: str
    shim_version: str


def current_identity() -> Identity:
    return Identity(socket.gethostname() or "localhost", os.getpid(),
                    platform.python_version(), __version__)


class Startable(Protocol):
    def start(self) -> None: ...


ThreadFactory = Callable[[Callable[[], None]], Startable]


def daemon_thread(target: Callable[[], None]) -> Startable:
    return threading.Thread(target=target, name="wsgiscope-flusher", daemon=True)


def _greenlets_patched(modules: Any) -> bool:
    monkey = getattr(modules.get("gevent"), "monkey", None)
    if monkey is not None:
        try:
            return bool(monkey.is_module_patched("threading"))
        except Exception:
            return False
    patcher = getattr(modules.get("eventlet"), "patcher", None)
    if patcher is not None:
        try:
            return bool(patcher.is_monkey_patched("thread"))
        except Exception:
            return False
    return False


class Agent:
    """Per-process shim state. ``wrap()`` builds one; tests inject clock, transport, etc."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Optional[Clock] = None,
        transport: Optional[Transport] = None,
        sampler: Optional[ProcessSampler] = None,
        identity: Callable[[], Identity] = current_identity,
        thread_factory: ThreadFactory = daemon_thread,
        server_info: Optional[ServerInfo] = None,
        modules: Optional[Any] = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.transport: Transport = transport or HttpTransport(
            config.batches_url(), config.token, config.gzip)
        self.sampler = sampler or ProcessSampler()
        self._identity_fn = identity
        self._thread_factory = thread_factory
        self._modules = sys.modules if modules is None else modules
        self.server_info: Optional[ServerInfo] = None
        self.occupancy = Occupancy()
        self.buffer: RecordBuffer[Record] = RecordBuffer(config.max_buffer_records)
        self.traces: RecordBuffer[dict[str, Any]] = RecordBuffer(config.max_traces_per_batch)
        self.listen_port: Optional[int] = None
        self._reset_instance(rebase=False)
        if server_info is not None:
            self.set_server_info(server_info)
        _AGENTS.add(self)

    # -- lifecycle ---------------------------------------------------------------------------

    def _reset_instance(self, rebase: bool = True) -> None:
        clock = self.clock
        self.anchor_perf_ns = clock.perf_ns()
        self.anchor_unix_us = clock.unix_ns() // 1000
        self.identity = self._identity_fn()
        self.occupancy.reset(self.anchor_perf_ns)
        self.buffer.reset()
        self.traces.reset()
        self.listen_sockets: Optional[list[int]] = None  # found at start
        if rebase:
            self.sampler.rebase()
        self.seq = 0
        self._pending: Optional[tuple[bytes, int]] = None
        self._retry_at_ns = 0  # a Retry-After from the collector: no send before this
        self._lags_us: list[int] = []
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self.started = False
        self.inline_only = False
        self.heartbeat_ns = self.anchor_perf_ns
        self.inline_check_ns = self.anchor_perf_ns + self._interval_ns()
        self.resource: Optional[dict[str, Any]] = None
        if self.server_info is not None:
            self.resource = self._build_resource(self.server_info)

    def _interval_ns(self) -> int:
        return int(self.config.flush_interval_s * 1e9)

    def after_fork_in_child(self) -> None:
        self._reset_instance()

    def set_server_info(self, info: ServerInfo) -> None:
        cfg = self.config
        info = with_overrides(info, cfg.server, cfg.capacity_threads, cfg.capacity_processes)
        if info.cpu_attributable and (not cfg.cpu_time or _greenlets_patched(self._modules)):
            info = info._replace(cpu_attributable=False)
        self.server_info = info
        self.resource = self._build_resource(info)

    def _build_resource(self, info: ServerInfo) -> dict[str, Any]:
        ident = self.identity
        host = (self.config.host or ident.host)[:128]
        unbounded = info.capacity_source == "unbounded"
        return {
            "service_name": self.config.service_name,
            "server": info.server[:128] or "unknown",
            "server_version": info.server_version[:64],
            "worker_class": info.worker_class[:64],
            "python_version": ident.python_version[:64],
            "shim_version": ident.shim_version[:64],
            "host": host,
            "pid": ident.pid,
            "worker": f"{host}:{ident.pid}"[:128],
            "started_unix_us": self.anchor_unix_us,
            "capacity_threads": None if unbounded else (info.capacity_threads or 1),
            "capacity_processes": info.capacity_processes,
            "capacity_source": info.capacity_source,
            "detected_capacity_threads": info.detected_capacity_threads,
            "cpu_attributable": info.cpu_attributable,
        }

    def start(self, environ: Optional[Any] = None) -> None:
        """Start this process's flusher (called on the first request, or by a server hook)."""
        if self._identity_fn is current_identity and self.identity.pid != os.getpid():
            # forked by C code (uWSGI without lazy-apps): Python's at-fork hooks did not run
            self.after_fork_in_child()
        with self._flush_lock:
            if self.started:
                return
            if self.server_info is None:
                self.set_server_info(detect(environ or {}, self._modules))
                self._warn_unknown_capacity(environ or {})
            port = str((environ or {}).get("SERVER_PORT", ""))
            if self.listen_port is None and port.isdigit():
                self.listen_port = int(port)
            with contextlib.suppress(Exception):
                self.listen_sockets = find_listening_sockets()
            self.heartbeat_ns = self.clock.perf_ns()
            self.inline_only = threads_stall_between_requests(self._modules)
            self.started = True
        with contextlib.suppress(Exception):
            install_uwsgi_atexit(self._modules)
        if self.inline_only:
            return
        # without a thread the inline flush takes over once the heartbeat is stale
        with contextlib.suppress(Exception):
            self._thread_factory(self._run).start()

    def _warn_unknown_capacity(self, environ: Any) -> None:
        info = self.server_info
        if info is None or info.capacity_source != "default":
            return
        if info.server == "unknown":
            software = environ.get("SERVER_SOFTWARE") or "no SERVER_SOFTWARE"
            warnings.warn(
                f"wsgiscope: unrecognised WSGI server ({software}); set WSGISCOPE_CAPACITY_THREADS "
                "to the number of requests one process serves at once (utilization assumes 1 "
                "until then); see docs/servers.md", stacklevel=3)
        elif environ.get("wsgi.multithread"):
            warnings.warn(
                f"wsgiscope: {info.server} does not tell how many threads serve requests; "
                "set WSGISCOPE_CAPACITY_THREADS (or the capacity_threads option) to its thread "
                "count, utilization assumes 1 until then; see docs/servers.md", stacklevel=3)

    def shutdown(self) -> None:
        """Stop the flusher and send what is buffered, within ``exit_flush_timeout_s``."""
        again = self._stop.is_set()
        self._stop.set()
        self._retry_at_ns = 0  # last chance: try once more even if asked to wait
        if self.started and not (again and self._pending is None and len(self.buffer) == 0):
            self.flush(self.config.exit_flush_timeout_s, wait_s=self.config.exit_flush_timeout_s)

    # -- flusher thread ----------------------------------------------------------------------

    def _run(self) -> None:
        clock, stop = self.clock, self._stop
        tick_ns = int(self.config.sample_interval_s * 1e9)
        interval_ns = self._interval_ns()
        scheduled = clock.perf_ns() + tick_ns
        next_flush = clock.perf_ns() + interval_ns
        while not stop.is_set():
            now = clock.perf_ns()
            if scheduled > now and stop.wait((scheduled - now) / 1e9):
                return
            now = clock.perf_ns()
            self.heartbeat_ns = now
            if len(self._lags_us) < 3600:
                self._lags_us.append(max(0, now - scheduled) // 1000)
            scheduled = max(scheduled + tick_ns, now)
            if now >= next_flush:
                next_flush = now + interval_ns
                self.flush(self.config.send_timeout_s)

    def stale_ns(self) -> int:
        cfg = self.config
        return int((2 * cfg.flush_interval_s + cfg.sample_interval_s) * 1e9)

    def inline_check(self, now_ns: int) -> None:
        """Called by a request thread after its request ended, at most once per interval."""
        self.inline_check_ns = now_ns + self._interval_ns()
        if self.started and (self.inline_only or now_ns - self.heartbeat_ns > self.stale_ns()):
            self.flush(self.config.inline_flush_timeout_s, wait_s=0.0)

    # -- batches -----------------------------------------------------------------------------

    def sample(self, now_ns: int) -> dict[str, Any]:
        lags, self._lags_us = self._lags_us, []
        sockets = self.listen_sockets
        listen = listen_queues(sockets) if sockets else None
        # /proc/net/tcp (every socket of the host) only when asked and no socket was found
        port = self.listen_port if self.config.listen_backlog and not listen else None
        return sample_dict(
            self.anchor_unix_us + (now_ns - self.anchor_perf_ns) // 1000,
            self.occupancy.snapshot(now_ns),
            self.sampler.read(),
            lags,
            self.buffer.dropped,
            self.sampler.listen_backlog(port) if port else None,
            listen=listen,
            sched=self.sampler.scheduler(),
            dropped_traces=self.traces.dropped,
        )

    def add_trace(self, trace: dict[str, Any]) -> None:
        """Keep a request captured whole (request thread; bounded, overflow counted)."""
        self.traces.append(trace)

    def build_batch(self, records: list[Record], samples: list[dict[str, Any]],
                    traces: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
        assert self.resource is not None
        requests = encode_requests(records, self.anchor_perf_ns, self.anchor_unix_us)
        encoded = encode_traces(traces, self.anchor_perf_ns, self.anchor_unix_us) if traces else []
        return make_batch(self.resource, self.seq, requests, samples, encoded)

    def flush(self, timeout_s: float, wait_s: Optional[float] = None) -> bool:
        """Send the pending batch, then new ones; True when everything buffered went out.

        Never raises. ``wait_s`` bounds the wait for another flush in progress (0: skip).
        """
        lock = self._flush_lock
        acquired = lock.acquire(timeout=wait_s) if wait_s else lock.acquire(blocking=wait_s is None)
        if not acquired:
            return False
        try:
            return self._flush_locked(timeout_s)
        except Exception:
            return False
        finally:
            lock.release()

    def _flush_locked(self, timeout_s: float) -> bool:
        if self.resource is None:
            return False
        clock = self.clock
        now = clock.perf_ns()
        if self._pending is not None and now < self._retry_at_ns:
            return False  # the collector asked us to wait (Retry-After); records wait in the buffer
        deadline = now + int(timeout_s * 1e9)
        if self._pending is not None and not self._deliver(deadline):
            return False
        limit = self.config.max_batch_records
        for batch_no in range(self.config.max_buffer_records // limit + 2):
            records = self.buffer.drain(limit)
            if batch_no > 0 and not records:
                return True
            first = batch_no == 0
            samples = [self.sample(clock.perf_ns())] if first else []
            traces = self.traces.drain(self.config.max_traces_per_batch) if first else None
            body = to_json(self.build_batch(records, samples, traces))
            self._pending = (body, len(records))
            self.seq += 1
            if not self._deliver(deadline):
                return False
        return len(self.buffer) == 0

    def _deliver(self, deadline_ns: int) -> bool:
        assert self._pending is not None
        body, records = self._pending
        remaining_s = (deadline_ns - self.clock.perf_ns()) / 1e9
        if remaining_s <= 0:
            return False
        try:
            outcome = self.transport.send(body, remaining_s)
        except Exception:
            outcome = Outcome.RETRY
        if outcome is Outcome.RETRY:
            delay_s = getattr(self.transport, "retry_after_s", None)
            if isinstance(delay_s, (int, float)) and delay_s > 0:
                self._retry_at_ns = self.clock.perf_ns() + int(delay_s * 1e9)
            return False
        if outcome is Outcome.REFUSED:
            self.buffer.count_dropped(records)
        self._pending = None
        return True


_AGENTS: weakref.WeakSet[Agent] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for agent in list(_AGENTS):
        with contextlib.suppress(Exception):
            agent.after_fork_in_child()


def _at_exit() -> None:
    for agent in list(_AGENTS):
        with contextlib.suppress(Exception):
            agent.shutdown()


def threads_stall_between_requests(modules: Any) -> bool:
    """True under uWSGI without thread support (``uwsgi.has_threads == 0``, uWSGI <= 2.0.26
    without --enable-threads): the worker holds the GIL while it waits for a request."""
    uwsgi = modules.get("uwsgi")
    return uwsgi is not None and hasattr(uwsgi, "opt") and getattr(uwsgi, "has_threads", 1) == 0


def install_uwsgi_atexit(modules: Any) -> bool:
    """Under uWSGI, also flush from ``uwsgi.atexit``, the hook uWSGI calls when a worker stops
    (before it tears the interpreter down), chaining any hook the app set. Idempotent."""
    uwsgi = modules.get("uwsgi")
    if uwsgi is None or not hasattr(uwsgi, "opt"):
        return False
    previous = getattr(uwsgi, "atexit", None)
    if getattr(previous, "wsgiscope_hook", False):
        return True

    def flush_then_previous() -> None:
        _at_exit()
        if previous is not None:
            previous()

    flush_then_previous.wsgiscope_hook = True  # type: ignore[attr-defined]
    uwsgi.atexit = flush_then_previous
    return True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)

"""One shim instance per worker process: its state, batch composition, fork and exit.

design: request threads only touch the occupancy (their own entry, no lock), the record buffer
(a deque append, no lock; a lock only to count a drop) and, for a slow or sampled request, the
trace buffer (one lock), and read two plain attributes (``started``, ``inline_check_ns``).
Everything else runs on the flusher thread (:mod:`wsgiscope.flusher`: the loop, the flush
lock, delivery, retries and Retry-After, the inline flush where threads never run), which calls
:meth:`Agent._flush_locked` to compose batches from the buffers and a process sample. Memory
stays bounded by two buffers' worth. Identity and the batch resource are in
:mod:`wsgiscope.identity`, uWSGI's specifics in :mod:`wsgiscope.uwsgi`.

After ``fork()`` the child gets a fresh instance (new pid/worker, started_unix_us, seq 0,
empty buffers and occupancy, new locks) and starts its flusher lazily on its first request;
uWSGI forks from C code without Python's at-fork hooks, so :meth:`Agent.start` also checks the
pid.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import warnings
import weakref
from typing import Any, Callable, Optional, Protocol

from .batch import encode_requests, encode_traces, make_batch, to_json
from .buffer import RecordBuffer
from .clock import Clock, SystemClock
from .config import Config
from .detect import ServerInfo, detect, with_overrides
from .flusher import Flusher
from .identity import Identity, build_resource, current_identity
from .occupancy import Occupancy
from .record import Record
from .sampler import ProcessSampler, find_listening_sockets, listen_queues, sample_dict
from .transport import HttpTransport, Transport
from .uwsgi import install_uwsgi_atexit, threads_stall_between_requests

__all__ = ["Agent", "Identity", "current_identity", "install_uwsgi_atexit",
           "threads_stall_between_requests"]


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
        sender: Transport = transport or HttpTransport(
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
        # the composition is looked up at each flush, so a benchmark's ablation can replace it
        self.flusher = Flusher(config, self.clock, sender,
                               lambda timeout_s: self._flush_locked(timeout_s),  # noqa: PLW0108
                               self.buffer.count_dropped)
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
        self.flusher.reset(self.anchor_perf_ns)
        self.started = False
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
        return build_resource(self.config, info, self.identity, self.anchor_unix_us)

    @property
    def transport(self) -> Transport:
        """Where batches go (the flusher's; replacing it here replaces it there)."""
        return self.flusher.transport

    @transport.setter
    def transport(self, transport: Transport) -> None:
        self.flusher.transport = transport

    @property
    def seq(self) -> int:
        """The seq of the next new batch (= batches staged so far by this worker instance)."""
        return self.flusher.seq

    def start(self, environ: Optional[Any] = None) -> None:
        """Start this process's flusher (called on the first request, or by a server hook)."""
        if self._identity_fn is current_identity and self.identity.pid != os.getpid():
            # forked by C code (uWSGI without lazy-apps): Python's at-fork hooks did not run
            self.after_fork_in_child()
        flusher = self.flusher
        with flusher.lock:
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
            flusher.heartbeat_ns = self.clock.perf_ns()
            flusher.inline_only = threads_stall_between_requests(self._modules)
            self.started = True
        with contextlib.suppress(Exception):
            install_uwsgi_atexit(self._modules, _at_exit)
        if flusher.inline_only:
            return
        # without a thread the inline flush takes over once the heartbeat is stale
        with contextlib.suppress(Exception):
            self._thread_factory(flusher.run).start()

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
        flusher = self.flusher
        again = flusher.stop()
        if self.started and not (again and flusher.pending is None and len(self.buffer) == 0):
            self.flush(self.config.exit_flush_timeout_s, wait_s=self.config.exit_flush_timeout_s)

    def inline_check(self, now_ns: int) -> None:
        """Called by a request thread after its request ended, at most once per interval."""
        self.inline_check_ns = now_ns + self._interval_ns()
        if self.started and self.flusher.inline_due(now_ns):
            self.flush(self.config.inline_flush_timeout_s, wait_s=0.0)

    def flush(self, timeout_s: float, wait_s: Optional[float] = None) -> bool:
        """Send the pending batch, then new ones; True when everything buffered went out.

        Never raises. ``wait_s`` bounds the wait for another flush in progress (0: skip).
        """
        return self.flusher.flush(timeout_s, wait_s)

    # -- batches -----------------------------------------------------------------------------

    def sample(self, now_ns: int) -> dict[str, Any]:
        lags = self.flusher.take_lags()
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

    def _flush_locked(self, timeout_s: float) -> bool:
        """Compose and deliver batches (under the flusher's lock): the pending one first, then
        the buffer's records in batches of ``max_batch_records``, the first with a sample and
        the captured requests."""
        if self.resource is None:
            return False
        clock, flusher = self.clock, self.flusher
        now = clock.perf_ns()
        if flusher.must_wait(now):
            return False  # the collector asked us to wait (Retry-After); records wait in the buffer
        deadline = now + int(timeout_s * 1e9)
        if flusher.pending is not None and not flusher.deliver(deadline):
            return False
        limit = self.config.max_batch_records
        for batch_no in range(self.config.max_buffer_records // limit + 2):
            records = self.buffer.drain(limit)
            if batch_no > 0 and not records:
                return True
            first = batch_no == 0
            samples = [self.sample(clock.perf_ns())] if first else []
            traces = self.traces.drain(self.config.max_traces_per_batch) if first else None
            batch = self.build_batch(records, samples, traces)  # this batch's seq: flusher.seq
            flusher.stage(to_json(batch), len(records))
            if not flusher.deliver(deadline):
                return False
        return len(self.buffer) == 0


_AGENTS: weakref.WeakSet[Agent] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for agent in list(_AGENTS):
        with contextlib.suppress(Exception):
            agent.after_fork_in_child()


def _at_exit() -> None:
    for agent in list(_AGENTS):
        with contextlib.suppress(Exception):
            agent.shutdown()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)

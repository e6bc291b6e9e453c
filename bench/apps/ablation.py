"""The hello-world app in the shim with parts of the shim switched off: the cost split of issue 13.

Served as a plain app (``launch.py --no-shim --app bench.apps.ablation:application``; it wraps
itself, whatever ``WSGISCOPE_DISABLED`` says). ``BENCH_ABLATE`` lists what to switch off,
separated by ``+`` (or commas); empty or unset is the whole shim, as ``wrap()`` builds it:

- ``send``: the flusher thread runs on its schedule (sampler ticks, one flush a second) and
  drains the buffer, but drops the records: no encoding, no JSON, no HTTP, no process sample.
- ``flusher``: no flusher thread and no inline flush; the buffer keeps only the last record
  (the middleware's own inline append, into a one-slot deque), so records die at once instead
  of living up to a flush interval. The request threads do exactly their usual work and nothing
  else runs.
- (``occupancy`` is gone: since the middleware updates its thread's entry inline, two dict
  operations and no call, there is nothing left to switch off without editing the middleware.)
- ``shim``: no shim at all (the app itself), e.g. to time its garbage collections.

Per-request CPU clock reads are switched off with ``WSGISCOPE_CPU_TIME=false``, the sampler's
extra wake-ups with ``WSGISCOPE_SAMPLE_INTERVAL=1`` (one per flush instead of four).

``BENCH_GC_STATS=PATH`` also times every garbage collection (``gc.callbacks``) and writes the
totals per generation to PATH (JSON) every 200 collections and at exit; that adds a Python
call per collection, so leave it unset when measuring throughput.
The flusher thread is named ``wsgiscope-flush`` at the OS level (``/proc/PID/task/TID/comm``),
so profiles can tell its CPU from the request threads'.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import re
import threading
import time
from collections import deque
from typing import Any, Callable, Dict, List, Optional

from wsgiscope.agent import Agent, Startable
from wsgiscope.config import Config
from wsgiscope.middleware import Middleware

from bench.apps.hello import application as hello

PR_SET_NAME = 15


def _name_os_thread(name: bytes) -> None:
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)


def named_thread(target: Callable[[], None]) -> Startable:
    def run() -> None:
        _name_os_thread(b"wsgiscope-flush")
        target()

    return threading.Thread(target=run, name="wsgiscope-flusher", daemon=True)


class _NoThread:
    def start(self) -> None:
        pass


def build(ablate: List[str]) -> Middleware:
    config = Config.load(disabled=False)
    flusher = "flusher" in ablate
    agent = Agent(config, thread_factory=(lambda target: _NoThread()) if flusher else named_thread)
    middleware = Middleware(hello, agent)
    if flusher:
        interval_ns = int(config.flush_interval_s * 1e9)

        def no_inline_flush(now_ns: int) -> None:
            agent.inline_check_ns = now_ns + interval_ns

        agent.inline_check = no_inline_flush  # type: ignore[method-assign]
        middleware.records = deque(maxlen=1)
    if "send" in ablate:
        def drop_records(timeout_s: float) -> bool:
            agent.buffer.drain(config.max_buffer_records)
            return True

        agent._flush_locked = drop_records  # type: ignore[method-assign]
    return middleware


def record_gc_time(path: str) -> None:
    totals: Dict[str, List[float]] = {str(g): [0, 0.0, 0] for g in range(3)}  # count, seconds, collected
    started: List[float] = [0.0]

    def write() -> None:
        with contextlib.suppress(OSError), open(path, "w") as handle:
            json.dump({"pid": os.getpid(), "generations": totals}, handle)

    def callback(phase: str, info: Dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        entry = totals[str(info["generation"])]
        entry[0] += 1
        entry[1] += time.perf_counter() - started[0]
        entry[2] += info["collected"]
        if sum(int(e[0]) for e in totals.values()) % 200 == 0:
            write()

    gc.callbacks.append(callback)
    atexit.register(write)


_ablate = [part.strip() for part in re.split(r"[+,]", os.environ.get("BENCH_ABLATE", "")) if part.strip()]
_unknown = set(_ablate) - {"send", "flusher", "shim"}
if _unknown:
    raise SystemExit(f"BENCH_ABLATE: unknown parts {sorted(_unknown)}")
_gc_stats: Optional[str] = os.environ.get("BENCH_GC_STATS")
if _gc_stats:
    record_gc_time(_gc_stats)
application: Callable[..., Any] = hello if "shim" in _ablate else build(_ablate)

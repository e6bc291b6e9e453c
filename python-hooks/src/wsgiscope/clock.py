"""Clocks the shim reads, injectable so tests can script time.

``perf_ns`` is monotonic (durations), ``unix_ns`` is wall time (anchors only), and
``thread_cpu_ns`` is the calling thread's CPU time.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def perf_ns(self) -> int: ...

    def unix_ns(self) -> int: ...

    def thread_cpu_ns(self) -> int: ...


class SystemClock:
    """The production clock: ``perf_counter_ns``, ``time_ns``, ``thread_time_ns``."""

    __slots__ = ()
    perf_ns = staticmethod(time.perf_counter_ns)
    unix_ns = staticmethod(time.time_ns)
    thread_cpu_ns = staticmethod(time.thread_time_ns)

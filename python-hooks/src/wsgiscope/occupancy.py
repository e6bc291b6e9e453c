"""In-flight requests and busy threads of one worker process.

design: all state sits behind ONE small lock taken twice per request (enter/leave), never
across I/O. busy-thread-seconds is integrated exactly: at every enter and leave the
accumulator grows by (threads busy until now) x (time since the last change). Timestamps come
from the caller; if two threads race the lock out of clock order, the later one integrates a
zero interval instead of a negative one. A "lane" is a small number per thread ident, handed
out in order of first use (bounded: the table is cleared past ``max_lanes``).
"""

from __future__ import annotations

import threading
from typing import Hashable, NamedTuple


class OccupancySnapshot(NamedTuple):
    active_requests: int
    busy_threads: int
    busy_thread_us: int
    oldest_request_age_us: int


class Occupancy:
    __slots__ = ("_busy_ns", "_inflight", "_lanes", "_last_ns", "_lock", "_max_lanes", "_threads")

    def __init__(self, now_ns: int = 0, max_lanes: int = 65536) -> None:
        self._max_lanes = max_lanes
        self.reset(now_ns)

    def reset(self, now_ns: int) -> None:
        """Forget everything (used after fork, where the parent's requests do not exist)."""
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, int] = {}
        self._threads: dict[int, int] = {}
        self._lanes: dict[int, int] = {}
        self._busy_ns = 0
        self._last_ns = now_ns

    def _integrate(self, now_ns: int) -> None:
        elapsed = now_ns - self._last_ns
        if elapsed > 0:
            self._busy_ns += len(self._threads) * elapsed
            self._last_ns = now_ns

    def enter(self, key: Hashable, ident: int, now_ns: int) -> int:
        """Count a request as started on thread ``ident``; return the thread's lane."""
        with self._lock:
            # _integrate, inlined: this runs twice per request
            elapsed = now_ns - self._last_ns
            if elapsed > 0:
                self._busy_ns += len(self._threads) * elapsed
                self._last_ns = now_ns
            self._inflight[key] = now_ns
            threads = self._threads
            threads[ident] = threads.get(ident, 0) + 1
            lanes = self._lanes
            lane = lanes.get(ident)
            if lane is None:
                if len(lanes) >= self._max_lanes:
                    lanes.clear()
                lane = lanes[ident] = len(lanes)
            return lane

    def leave(self, key: Hashable, ident: int, now_ns: int) -> None:
        """Count the request ``key`` (entered on thread ``ident``) as finished."""
        with self._lock:
            elapsed = now_ns - self._last_ns
            if elapsed > 0:
                self._busy_ns += len(self._threads) * elapsed
                self._last_ns = now_ns
            if self._inflight.pop(key, None) is None:
                return
            left = self._threads.get(ident, 0) - 1
            if left > 0:
                self._threads[ident] = left
            else:
                self._threads.pop(ident, None)

    def snapshot(self, now_ns: int) -> OccupancySnapshot:
        with self._lock:
            self._integrate(now_ns)
            oldest = min(self._inflight.values(), default=now_ns)
            return OccupancySnapshot(
                active_requests=len(self._inflight),
                busy_threads=len(self._threads),
                busy_thread_us=self._busy_ns // 1000,
                oldest_request_age_us=max(0, now_ns - oldest) // 1000,
            )

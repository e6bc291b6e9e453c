"""In-flight requests and busy threads of one worker process.

design: no lock and one dict on the request path. Each thread (or greenlet: whatever ``ident``
the middleware passes) has one entry, a tuple ``(requests in flight, busy since, busy ns before
that, lane)``, which only that thread replaces (one dict store: atomic under the GIL). The
flusher reads the entries: busy-thread-seconds is the sum over threads of their completed busy
time plus, for a thread busy now, the time since it became busy, so it is exact at every change
like an integral of "threads busy", at no cost per request beyond two stores; the requests in
flight are the entries' counts, and the oldest is the earliest "busy since". A thread with two
requests in flight at once counts once (busy while at least one is; its oldest request then
dates from the start of that busy period). The flusher never reports a smaller total than
before (its clock reading may precede a thread's latest change by a few microseconds), so the
counter is monotonic. A "lane" is a small number per ident, handed out in order of first use
under a lock taken only then; past ``max_lanes`` idents (greenlet servers, a thread per
connection) idle entries are retired into one total. The WSGI middleware makes :meth:`enter`'s and
:meth:`leave`'s updates inline on :attr:`threads` (a method call costs more than the update); the
ASGI middleware calls them. Fewer objects touched per request matter
more than fewer instructions: in a loaded server the shim's code and data are rarely in cache.
"""

from __future__ import annotations

import threading
from typing import Hashable, NamedTuple

_Entry = tuple[int, int, int, int]  # (in flight, busy since ns, busy ns before, lane)


class OccupancySnapshot(NamedTuple):
    active_requests: int
    busy_threads: int
    busy_thread_us: int
    oldest_request_age_us: int


class Occupancy:
    __slots__ = ("_last_busy_ns", "_lock", "_max_lanes", "_next_lane", "_retired_ns", "threads")

    def __init__(self, now_ns: int = 0, max_lanes: int = 65536) -> None:
        self._max_lanes = max_lanes
        # the middleware updates its thread's entry inline: the dict lives as long as we do
        self.threads: dict[Hashable, _Entry] = {}
        self.reset(now_ns)

    def reset(self, now_ns: int) -> None:
        """Forget everything (used after fork, where the parent's requests do not exist)."""
        self._lock = threading.Lock()  # new lanes only
        self.threads.clear()
        self._next_lane = 0
        self._retired_ns = 0
        self._last_busy_ns = 0

    def new_thread(self, ident: Hashable) -> _Entry:
        """The entry of a thread seen for the first time (idle, with the next lane)."""
        with self._lock:
            threads = self.threads
            if len(threads) >= self._max_lanes:
                # retire idle entries (their owners are between requests, or gone)
                for key, (count, _, busy, _) in list(threads.items()):
                    if count == 0:
                        del threads[key]
                        self._retired_ns += busy
                self._next_lane = max((e[3] for e in threads.values()), default=-1) + 1
            entry = (0, 0, 0, self._next_lane)
            self._next_lane += 1
            threads[ident] = entry
            return entry

    def enter(self, key: Hashable, ident: Hashable, now_ns: int) -> int:
        """Count a request as started on thread ``ident``; return the thread's lane. (``key``
        names the request for callers; the count per thread is all that is kept.)"""
        threads = self.threads
        count, since, busy, lane = threads.get(ident) or self.new_thread(ident)
        threads[ident] = (1, now_ns, busy, lane) if count == 0 else (count + 1, since, busy, lane)
        return lane

    def leave(self, key: Hashable, ident: Hashable, now_ns: int) -> None:
        """Count a request (entered on thread ``ident``) as finished."""
        threads = self.threads
        entry = threads.get(ident)
        if entry is None:
            return
        count, since, busy, lane = entry
        if count == 1:
            threads[ident] = (0, 0, busy + now_ns - since if now_ns > since else busy, lane)
        elif count > 1:
            threads[ident] = (count - 1, since, busy, lane)

    def snapshot(self, now_ns: int) -> OccupancySnapshot:
        """Read by the flusher (any thread): consistent per thread, monotonic in total."""
        entries = list(self.threads.values())  # one C call: atomic under the GIL
        total = self._retired_ns
        busy_threads = active = 0
        oldest = now_ns
        for count, since, busy, _ in entries:
            total += busy
            if count > 0:
                busy_threads += 1
                active += count
                if now_ns > since:
                    total += now_ns - since
                oldest = min(oldest, since)
        # never less than before: our clock read may precede a thread's latest change
        total = max(total, self._last_busy_ns)
        self._last_busy_ns = total
        return OccupancySnapshot(
            active_requests=active,
            busy_threads=busy_threads,
            busy_thread_us=total // 1000,
            oldest_request_age_us=(now_ns - oldest) // 1000,
        )

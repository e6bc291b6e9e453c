"""Process readings: RSS, CPU user/system, OS threads, GC collections, listen backlog.

Counters are reported cumulative since the sampler's start (``rebase()`` after fork), as the
protocol asks. The sampler's wake-up lateness (collected by the flusher) approximates GIL
contention: a pure-Python thread asking to wake at time T runs at T + lag, and lag grows
when CPU-bound threads hold the GIL (the switch interval is 5 ms). It is an indicator, not
mod_wsgi 6's exact GIL wait.
"""

from __future__ import annotations

import gc
import os
import threading
from typing import Any, Callable, NamedTuple, Optional, Sequence


class ProcessReading(NamedTuple):
    cpu_user_us: int
    cpu_system_us: int
    rss_bytes: int
    os_threads: int
    gc_collections: int


def _gc_collections() -> int:
    return sum(int(gen.get("collections", 0)) for gen in gc.get_stats())


class ProcessSampler:
    """Reads the process; every input is injectable (``proc_path``, ``cpu_times``, ``gc_count``)."""

    def __init__(
        self,
        proc_path: str = "/proc",
        cpu_times: Callable[[], Sequence[float]] = os.times,
        gc_count: Callable[[], int] = _gc_collections,
        page_size: Optional[int] = None,
    ) -> None:
        self._proc = proc_path
        self._cpu_times = cpu_times
        self._gc_count = gc_count
        self._page_size = page_size if page_size is not None else _page_size()
        self._base = ProcessReading(0, 0, 0, 0, 0)
        self.rebase()

    def rebase(self) -> None:
        """Start counting CPU and GC from now (at shim start and after fork)."""
        user, system = self._cpu()
        self._base = ProcessReading(user, system, 0, 0, self._safe_gc())

    def _cpu(self) -> tuple[int, int]:
        try:
            times = self._cpu_times()
            return int(times[0] * 1_000_000), int(times[1] * 1_000_000)
        except (OSError, IndexError, TypeError, ValueError):
            return 0, 0

    def _safe_gc(self) -> int:
        try:
            return self._gc_count()
        except Exception:
            return 0

    def _read(self, name: str) -> Optional[str]:
        try:
            with open(os.path.join(self._proc, "self", name), encoding="ascii") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError):
            return None

    def _rss_bytes(self) -> int:
        statm = self._read("statm")
        if statm:
            fields = statm.split()
            if len(fields) > 1 and fields[1].isdigit():
                return int(fields[1]) * self._page_size
        return 0

    def _os_threads(self) -> int:
        status = self._read("status")
        if status:
            for line in status.splitlines():
                if line.startswith("Threads:"):
                    value = line.split(":", 1)[1].strip()
                    if value.isdigit():
                        return int(value)
        return threading.active_count()

    def read(self) -> ProcessReading:
        user, system = self._cpu()
        base = self._base
        return ProcessReading(
            cpu_user_us=max(0, user - base.cpu_user_us),
            cpu_system_us=max(0, system - base.cpu_system_us),
            rss_bytes=self._rss_bytes(),
            os_threads=self._os_threads(),
            gc_collections=max(0, self._safe_gc() - base.gc_collections),
        )

    def listen_backlog(self, port: int) -> Optional[int]:
        """Connections waiting in the accept queue of a listening TCP socket on ``port``.

        For a LISTEN socket (state 0A) /proc/net/tcp{,6} reports the accept queue length in
        ``rx_queue``. None when unknown (not Linux, port not found).

        The tables list every socket of the host (thousands of TIME_WAIT entries on a busy
        server), so they are streamed line by line, and only LISTEN lines (" 0A " as the state
        field) are split. Still O(sockets): that is why reading it is opt-in.
        """
        total: Optional[int] = None
        for table in ("tcp", "tcp6"):
            try:
                with open(os.path.join(self._proc, "net", table), encoding="ascii") as handle:
                    next(handle, None)  # header
                    for line in handle:
                        if " 0A " not in line:
                            continue
                        fields = line.split()
                        if len(fields) < 5 or fields[3] != "0A":
                            continue
                        if int(fields[1].rsplit(":", 1)[1], 16) == port:
                            total = (total or 0) + int(fields[4].split(":")[1], 16)
            except (OSError, ValueError, IndexError):
                continue
        return total


def _page_size() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return 4096


def sample_dict(
    time_unix_us: int,
    occupancy: Any,
    reading: ProcessReading,
    lags_us: list[int],
    dropped_records: int,
    listen_backlog: Optional[int] = None,
) -> dict[str, Any]:
    """One ``samples[]`` element of protocol v1."""
    sample: dict[str, Any] = {
        "time_unix_us": time_unix_us,
        "active_requests": occupancy.active_requests,
        "busy_threads": occupancy.busy_threads,
        "busy_thread_us": occupancy.busy_thread_us,
        "oldest_request_age_us": occupancy.oldest_request_age_us,
        "cpu_user_us": reading.cpu_user_us,
        "cpu_system_us": reading.cpu_system_us,
        "rss_bytes": reading.rss_bytes,
        "os_threads": reading.os_threads,
        "gc_collections": reading.gc_collections,
        "sampler_lag_us": lags_us[-3600:],
        "dropped_records": dropped_records,
    }
    if listen_backlog is not None:
        sample["listen_backlog"] = listen_backlog
    return sample

"""Process readings: RSS, CPU user/system, OS threads, GC collections, scheduler time,
listening sockets' accept queues.

Scheduler time (Linux): ``/proc/self/task/<tid>/schedstat`` gives each thread's time on a CPU
and its time runnable but waiting for one; their sums tell a process waiting for cores from one
whose busy threads wait on something else (I/O, or the GIL).

Accept queues: like gunicorn, ``getsockopt(TCP_INFO)`` on each listening TCP socket the process
holds (found once among its file descriptors): for a listening socket ``tcpi_unacked`` is the
queue length and ``tcpi_sacked`` its limit. One system call per socket per sample.

Counters are reported cumulative since the sampler's start (``rebase()`` after fork), as the
protocol asks. The sampler's wake-up lateness (collected by the flusher) approximates GIL
contention: a pure-Python thread asking to wake at time T runs at T + lag, and lag grows
when CPU-bound threads hold the GIL (the switch interval is 5 ms). It is an indicator, not
mod_wsgi 6's exact GIL wait.
"""

from __future__ import annotations

import gc
import os
import socket
import struct
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
        self._sched_base = (0, 0)
        self._sched_base = self.scheduler() or (0, 0)

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

    def scheduler(self) -> Optional[tuple[int, int]]:
        """(run_us, wait_us) summed over this process's threads since :meth:`rebase`, from
        ``/proc/self/task/*/schedstat``; None where unavailable. A thread that exited drops
        out of the sum (the collector treats a counter going back as a restart of its count)."""
        task_dir = os.path.join(self._proc, "self", "task")
        run_ns = wait_ns = 0
        try:
            tids = os.listdir(task_dir)
        except OSError:
            return None
        found = False
        for tid in tids:
            try:
                with open(os.path.join(task_dir, tid, "schedstat"), encoding="ascii") as handle:
                    fields = handle.read().split()
                run_ns += int(fields[0])
                wait_ns += int(fields[1])
                found = True
            except (OSError, ValueError, IndexError):
                continue
        if not found:
            return None
        base_run, base_wait = self._sched_base
        return max(0, run_ns // 1000 - base_run), max(0, wait_ns // 1000 - base_wait)

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


_TCP_INFO_LISTEN = struct.Struct("=24xII")  # tcpi_unacked, tcpi_sacked after 8 u8 + 4 u32


def find_listening_sockets(proc_path: str = "/proc") -> list[int]:
    """File descriptors of this process that are listening TCP sockets (once, at start)."""
    fds = []
    fd_dir = os.path.join(proc_path, "self", "fd")
    for name in os.listdir(fd_dir):
        try:
            if not os.readlink(os.path.join(fd_dir, name)).startswith("socket:"):
                continue
            fd = int(name)
            sock = socket.socket(fileno=fd)
        except (OSError, ValueError):
            continue
        try:
            if (sock.family in (socket.AF_INET, socket.AF_INET6)
                    and sock.type == socket.SOCK_STREAM
                    and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
                fds.append(fd)
        except OSError:
            pass
        finally:
            sock.detach()  # the server's socket: never close it
    return sorted(fds)[:64]


def listen_queues(fds: Sequence[int]) -> Optional[list[dict[str, Any]]]:
    """Each listening socket's address, queued connections and limit (TCP_INFO)."""
    out = []
    tcp_info = getattr(socket, "TCP_INFO", None)
    for fd in fds:
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        try:
            if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                continue  # the fd was closed and reused
            host, port = sock.getsockname()[:2]
            address = f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"
            queued: Optional[int] = None
            limit: Optional[int] = None
            if tcp_info is not None:
                raw = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, 104)
                if len(raw) >= _TCP_INFO_LISTEN.size:
                    queued, limit = _TCP_INFO_LISTEN.unpack_from(raw)
            if queued is not None:
                out.append({"address": address[:128], "queued": queued, "limit": limit})
        except OSError:
            continue
        finally:
            sock.detach()
    return out or None


def sample_dict(
    time_unix_us: int,
    occupancy: Any,
    reading: ProcessReading,
    lags_us: list[int],
    dropped_records: int,
    listen_backlog: Optional[int] = None,
    *,
    listen: Optional[list[dict[str, Any]]] = None,
    sched: Optional[tuple[int, int]] = None,
    dropped_traces: int = 0,
) -> dict[str, Any]:
    """One ``samples[]`` element of protocol v2."""
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
    if listen:
        sample["listen"] = listen
    if sched is not None:
        sample["sched_run_us"], sample["sched_wait_us"] = sched
    if dropped_traces:
        sample["dropped_traces"] = dropped_traces
    return sample

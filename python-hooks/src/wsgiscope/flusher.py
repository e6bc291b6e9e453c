"""The flusher: the background thread, the flush lock, delivery with retries, the inline flush.

design: the flusher thread wakes every ``sample_interval_s`` (recording how late it woke: the
sampler lag) and every ``flush_interval_s`` calls the agent's batch composition under the
flush lock, which hands each batch body to :meth:`Flusher.deliver`. A batch that fails with a
retryable outcome stays pending (same seq) and is re-sent first next time, not before the
collector's ``Retry-After`` when it sent one; a refused batch is dropped and its records are
counted. The lock is never held by a request thread except for the bounded inline flush.

Where background threads never run (uWSGI without --enable-threads) the heartbeat goes stale;
a request thread then flushes inline after its request ended (:meth:`Flusher.inline_due`),
bounded by ``inline_flush_timeout_s`` and at most once per flush interval. Where the server says
its threads stall between requests (``inline_only``) no thread is started: a flusher frozen in
mid-send would hold the flush lock, so every flush is inline.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

from .clock import Clock
from .config import Config
from .transport import Outcome, Transport

MAX_LAGS = 3600


class Flusher:
    """Delivery state of one worker instance; :meth:`reset` after fork."""

    def __init__(self, config: Config, clock: Clock, transport: Transport,
                 flush_locked: Callable[[float], bool],
                 count_refused: Callable[[int], None]) -> None:
        self.config = config
        self.clock = clock
        self.transport = transport
        self._flush_locked = flush_locked
        self._count_refused = count_refused
        self.reset(clock.perf_ns())

    def reset(self, now_ns: int) -> None:
        self.seq = 0
        self.pending: Optional[tuple[bytes, int]] = None  # (body, records) not delivered yet
        self.retry_at_ns = 0  # a Retry-After from the collector: no send before this
        self.lags_us: list[int] = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.heartbeat_ns = now_ns
        self.inline_only = False

    # -- the thread --------------------------------------------------------------------------

    def run(self) -> None:
        clock, stop = self.clock, self.stop_event
        tick_ns = int(self.config.sample_interval_s * 1e9)
        interval_ns = int(self.config.flush_interval_s * 1e9)
        scheduled = clock.perf_ns() + tick_ns
        next_flush = clock.perf_ns() + interval_ns
        while not stop.is_set():
            now = clock.perf_ns()
            if scheduled > now and stop.wait((scheduled - now) / 1e9):
                return
            now = clock.perf_ns()
            self.heartbeat_ns = now
            if len(self.lags_us) < MAX_LAGS:
                self.lags_us.append(max(0, now - scheduled) // 1000)
            scheduled = max(scheduled + tick_ns, now)
            if now >= next_flush:
                next_flush = now + interval_ns
                self.flush(self.config.send_timeout_s)

    def take_lags(self) -> list[int]:
        lags, self.lags_us = self.lags_us, []
        return lags

    def stale_ns(self) -> int:
        cfg = self.config
        return int((2 * cfg.flush_interval_s + cfg.sample_interval_s) * 1e9)

    def inline_due(self, now_ns: int) -> bool:
        """A request thread must flush: no thread may run, or the thread has not run lately."""
        return self.inline_only or now_ns - self.heartbeat_ns > self.stale_ns()

    # -- flushing and delivery ---------------------------------------------------------------

    def flush(self, timeout_s: float, wait_s: Optional[float] = None) -> bool:
        """Run the agent's composition under the flush lock; True when everything went out.

        Never raises. ``wait_s`` bounds the wait for another flush in progress (0: skip).
        """
        lock = self.lock
        acquired = lock.acquire(timeout=wait_s) if wait_s else lock.acquire(blocking=wait_s is None)
        if not acquired:
            return False
        try:
            return self._flush_locked(timeout_s)
        except Exception:
            return False
        finally:
            lock.release()

    def must_wait(self, now_ns: int) -> bool:
        """The collector asked us to wait (Retry-After) and a batch is pending."""
        return self.pending is not None and now_ns < self.retry_at_ns

    def stage(self, body: bytes, records: int) -> None:
        """The next batch to deliver (built with ``seq``, which then moves on)."""
        self.pending = (body, records)
        self.seq += 1

    def deliver(self, deadline_ns: int) -> bool:
        """Send the pending batch; True when it is done with (delivered, or refused and its
        records counted as dropped); False to retry it later (same seq)."""
        assert self.pending is not None
        body, records = self.pending
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
                self.retry_at_ns = self.clock.perf_ns() + int(delay_s * 1e9)
            return False
        if outcome is Outcome.REFUSED:
            self._count_refused(records)
        self.pending = None
        return True

    def stop(self) -> bool:
        """Stop the thread; True when it was already stopped. The next flush is a last chance:
        it does not wait for a Retry-After."""
        again = self.stop_event.is_set()
        self.stop_event.set()
        self.retry_at_ns = 0
        return again

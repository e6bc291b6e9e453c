"""Wait on a condition with a deadline (never sleep-and-hope)."""

from __future__ import annotations

import time
from typing import Callable, Optional, TypeVar

T = TypeVar("T")


class DeadlineExceeded(AssertionError):
    pass


def wait_for(
    probe: Callable[[], Optional[T]],
    timeout_s: float,
    what: str,
    interval_s: float = 0.05,
) -> T:
    """Call ``probe`` until it returns something truthy; fail with ``what`` after ``timeout_s``.

    Exceptions from the probe count as "not yet" (the last one is reported on failure).
    """
    deadline = time.monotonic() + timeout_s
    last_error: Optional[BaseException] = None
    last_value: Optional[T] = None
    while True:
        try:
            last_value = probe()
            if last_value:
                return last_value
        except Exception as exc:  # the thing waited for may not be up yet
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f"; last error: {last_error!r}" if last_error else f"; last value: {last_value!r}"
            raise DeadlineExceeded(f"timed out after {timeout_s:.0f} s waiting for {what}{detail}")
        time.sleep(interval_s)


def poll_until(read: Callable[[], T], done: Callable[[T], bool], timeout_s: float, interval_s: float = 0.1) -> T:
    """Read until ``done(value)`` holds or the deadline passes; return the last value read.

    The caller asserts on the returned value, so a failure shows what was actually seen.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)

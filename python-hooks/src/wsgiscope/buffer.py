"""The bounded buffer between request threads (append, no I/O) and the flusher (drain).

design: a ``collections.deque``, whose ``append`` and ``popleft`` are atomic in CPython, so
request threads append without taking a lock; only the flusher pops. The bound is checked
before appending without a lock, so under a race the buffer can exceed ``max_records`` by at
most one record per thread finishing a request at that instant: still bounded. When full, a
record is dropped and counted (under a lock taken only on that rare path). ``dropped`` is
cumulative for the worker instance and also counts records of batches the collector refused
for good. The WSGI middleware makes :meth:`append`'s check and append inline on :attr:`items`
(the deque lives as long as the buffer; ``reset`` empties it); the ASGI middleware calls it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class RecordBuffer(Generic[T]):
    __slots__ = ("_dropped", "_lock", "append", "items", "max_records")

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        # the middleware appends inline (as ``append`` does): the deque lives as long as we do
        self.items: deque[T] = deque()
        self.reset()

    def reset(self) -> None:
        self._lock = threading.Lock()
        self.items.clear()
        self._dropped = 0
        items = self.items
        limit = self.max_records
        push = items.append

        def append(record: T) -> None:
            if len(items) < limit:
                push(record)
            else:
                self.count_dropped(1)

        self.append = append

    def drain(self, limit: int) -> list[T]:
        """Remove and return up to ``limit`` of the oldest records (flusher thread only)."""
        items = self.items
        pop = items.popleft
        return [pop() for _ in range(min(limit, len(items)))]

    def count_dropped(self, records: int) -> None:
        with self._lock:
            self._dropped += records

    @property
    def dropped(self) -> int:
        return self._dropped

    def __len__(self) -> int:
        return len(self.items)

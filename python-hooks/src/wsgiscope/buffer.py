"""The bounded buffer between request threads (append, no I/O) and the flusher (drain).

design: one lock, held for a list append or a slice; when full, a record is dropped and
counted instead of growing memory. ``dropped`` is cumulative for the worker instance and also
counts records of batches the collector refused for good.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class RecordBuffer(Generic[T]):
    __slots__ = ("_dropped", "_items", "_lock", "max_records")

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self.reset()

    def reset(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []
        self._dropped = 0

    def append(self, record: T) -> None:
        with self._lock:
            if len(self._items) < self.max_records:
                self._items.append(record)
            else:
                self._dropped += 1

    def drain(self, limit: int) -> list[T]:
        """Remove and return up to ``limit`` of the oldest records."""
        with self._lock:
            items = self._items
            if len(items) <= limit:
                self._items = []
                return items
            taken = items[:limit]
            del items[:limit]
            return taken

    def count_dropped(self, records: int) -> None:
        with self._lock:
            self._dropped += records

    @property
    def dropped(self) -> int:
        return self._dropped

    def __len__(self) -> int:
        return len(self._items)

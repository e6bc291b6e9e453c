"""Readings of a process from /proc (Linux): resident memory, threads, children."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List


def status(pid: int) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def rss_bytes(pid: int) -> int:
    return int(status(pid)["VmRSS"].split()[0]) * 1024


def threads(pid: int) -> int:
    return int(status(pid)["Threads"])


def children(pid: int) -> List[int]:
    found: List[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return sorted(found)

"""X-Request-Start / X-Queue-Start formats; units guessed by magnitude."""

from __future__ import annotations

from typing import Optional

import pytest

from wsgiscope.queue_time import queue_us

START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("t=1767225599750000", 250_000),  # microseconds with t= (Apache %t, New Relic docs)
        ("1767225599750000", 250_000),  # bare microseconds
        ("t=1767225599.750", 250_000),  # seconds with fraction (nginx t=${msec})
        ("1767225599.75", 250_000),
        ("1767225599750", 250_000),  # milliseconds (Heroku)
        ("t=1767225599750000000", 250_000),  # nanoseconds
        ("  t=1767225599750000  ", 250_000),  # whitespace
        ("t=1767225599750000 D=123", 250_000),  # extra fields after the stamp
        ("t=1767225601000000", 0),  # in the future: clock skew gives 0, not a negative
        ("t=", None),
        ("", None),
        ("garbage", None),
        ("t=abc", None),
        ("12345", None),  # too small in every unit: before 2000
        ("nan", None),
        ("inf", None),
        (None, None),
    ],
)
def test_queue_time_from_header(header: Optional[str], expected: Optional[int]) -> None:
    assert queue_us(header, START_US) == expected

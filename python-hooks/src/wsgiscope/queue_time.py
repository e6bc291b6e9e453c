"""Queue time from the front end's ``X-Request-Start`` / ``X-Queue-Start`` stamp.

Accepted forms: ``t=<number>`` or a bare number, as seconds (``1767225601.123``, nginx
``t=${msec}``), milliseconds (Heroku), microseconds (Apache ``%t``, ``t=<usec>``) or
nanoseconds. Like New Relic's agents we guess the unit by magnitude: the first of ns, µs, ms,
s that puts the stamp after 2000-01-01 wins. Stamps in the future (clock skew) give 0;
anything unparseable gives None.
"""

from __future__ import annotations

import math
from typing import Optional

_EARLIEST_ACCEPTABLE_S = 946_684_800  # 2000-01-01T00:00:00Z
_DIVISORS_TO_S = (1e9, 1e6, 1e3, 1.0)


def stamp_unix_us(raw: str) -> Optional[int]:
    """The stamp in microseconds since the epoch, or None when it is not a usable stamp."""
    text = str(raw).strip()  # mod_wsgi's request_start may not be a str
    if not text:
        return None
    text = text.split()[0].split(",")[0]
    if text[:2] in ("t=", "T="):
        text = text[2:]
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    for divisor in _DIVISORS_TO_S:
        seconds = value / divisor
        if seconds > _EARLIEST_ACCEPTABLE_S:
            return int(seconds * 1_000_000)
    return None


def queue_us(raw: Optional[str], start_unix_us: int) -> Optional[int]:
    """Microseconds from the front-end stamp to ``start_unix_us``; 0 for future stamps."""
    if raw is None:
        return None
    stamp = stamp_unix_us(raw)
    if stamp is None:
        return None
    return max(0, start_unix_us - stamp)

"""Requests kept whole: slower than ``slow_request_s``, or sampled, for a span tree.

design: the middleware calls :func:`capture` on the request thread after the request ended,
only for those requests; it turns the request's stamps into a protocol-v2 trace (each phase's
first and last moment as offsets from the start, and its total) and appends it to the agent's
bounded trace list. The collector builds the span tree (a SERVER span and one child per phase,
joined to the caller's trace through ``traceparent``). Never raises.
"""

from __future__ import annotations

from typing import Any, Optional

Phase = Optional[list[int]]


def _phase(start_ns: int, end_ns: int, total_ns: int, t0: int) -> Phase:
    """``[start_offset_us, end_offset_us, total_us]`` from the request's start, or None."""
    if total_ns <= 0 or end_ns <= 0:
        return None
    return [(start_ns - t0) // 1000, (end_ns - t0) // 1000, total_ns // 1000]


def capture(agent: Any, req: Any, t_end: int, route: Optional[str], status: int,
            queue_raw: Optional[str], traceparent: Optional[str]) -> None:
    """Keep the request ``req`` (a finished ``_Request``) whole, within the agent's bound."""
    try:
        t0, t_app = req.t0, req.t_app or t_end
        app_ns = max(0, t_app - t0 - req.app_io_ns)
        write_start = req.t_first or t_app
        trace = {
            "perf_ns": t0,
            "duration_ns": t_end - t0,
            "method": req.environ.get("REQUEST_METHOD", ""),
            "route": route,
            "status": status,
            "thread": req.lane,
            "reason": "slow" if t_end - t0 >= req.mw.slow_ns > 0 else "sampled",
            "traceparent": traceparent[:128] if isinstance(traceparent, str) else None,
            "error": req.error,
            "queue_raw": queue_raw,
            "read_body": None if req.input is None else _phase(
                req.input.first, req.input.last, req.input.ns, t0),
            "app": [0, (t_app - t0) // 1000, app_ns // 1000],
            "generate": _phase(t_app, req.gen_last, req.gen_ns, t0),
            "write": _phase(write_start, t_end, req.write_ns, t0),
        }
        agent.add_trace(trace)
    except Exception:
        pass

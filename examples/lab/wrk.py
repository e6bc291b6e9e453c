"""Closed-loop load with wrk: N keep-alive connections, each sends its next request when the
previous answer arrived. A Lua script sets method/body and prints the summary as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from examples.lab.client import ClientView

MARK = "WRKJSON "

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"mean_us":%f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    "MARK", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
""".replace("MARK", MARK)


def available() -> Optional[str]:
    return shutil.which("wrk")


def script(method: str, body_bytes: int) -> str:
    lines = [f'wrk.method = "{method}"']
    if body_bytes:
        lines += [
            f'wrk.body = string.rep("u", {body_bytes})',
            'wrk.headers["Content-Type"] = "application/octet-stream"',
        ]
    return "\n".join(lines) + "\n" + _DONE


def run(
    url: str,
    *,
    method: str,
    body_bytes: int,
    connections: int,
    duration_s: float,
    work_dir: Path,
    threads: int = 2,
    timeout_s: float = 10.0,
) -> ClientView:
    """Run wrk against ``url`` (loopback) for ``duration_s``; bounded by ``timeout``+duration."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the lab only loads loopback servers; got {url}")
    lua = work_dir / f"wrk-{method.lower()}-{body_bytes}.lua"
    lua.write_text(script(method, body_bytes))
    argv = [
        "wrk",
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration_s))}s",
        f"--timeout={timeout_s:g}s",
        f"--script={lua}",
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + timeout_s + 15, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(
            f"wrk printed no summary (exit {done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}"
        )
    data = json.loads(line[len(MARK) :])
    us = 1e-6
    return ClientView(
        driver="wrk",
        completed=int(data["requests"]),
        errors=int(data["connect"] + data["read"] + data["write"] + data["timeout"]),
        non_2xx=int(data["status"]),
        elapsed_s=data["duration_us"] * us,
        mean_s=data["mean_us"] * us,
        p50_s=data["p50_us"] * us,
        p90_s=data["p90_us"] * us,
        p99_s=data["p99_us"] * us,
        max_s=data["max_us"] * us,
    )

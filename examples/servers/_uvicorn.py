"""The argv shared by the uvicorn modes (the async comparison): one event loop per process."""

from __future__ import annotations

from typing import Dict, List

from examples.servers._api import Launch, LaunchOptions, module_available


def unavailable_reason(*extra_modules: str) -> str | None:
    for name in ("uvicorn", *extra_modules):
        if not module_available(name):
            return f"{name} is not installed in the venv (pip install -r requirements-dev.txt)"
    return None


def build(opts: LaunchOptions, app: str, limit: int, env: Dict[str, str]) -> Launch:
    """``limit`` is uvicorn's --limit-concurrency (requests beyond it get 503)."""
    argv: List[str] = [
        opts.python, "-m", "uvicorn", app,
        "--host", opts.host, "--port", str(opts.port),
        "--workers", str(opts.workers_or(1)),  # see docs/lab.md: 2 workers answered in ~44 ms here
        "--limit-concurrency", str(limit),
        "--no-access-log", "--log-level", "warning",
        "--timeout-graceful-shutdown", "5",
    ]
    return Launch(argv=argv, env={"WSGISCOPE_SERVER": "uvicorn", **env})

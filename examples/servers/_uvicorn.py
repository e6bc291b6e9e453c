"""The argv shared by the uvicorn modes (the async comparison): one event loop per process."""

from __future__ import annotations

from typing import Dict, List, Optional

from examples.servers._api import Launch, LaunchOptions, module_available


def unavailable_reason(*extra_modules: str) -> str | None:
    for name in ("uvicorn", *extra_modules):
        if not module_available(name):
            return f"{name} is not installed in the venv (pip install -r requirements-dev.txt)"
    return None


def build(opts: LaunchOptions, app: str, limit: Optional[int], env: Dict[str, str]) -> Launch:
    """``limit``, when given, is uvicorn's --limit-concurrency (beyond it: 503). uvicorn counts
    open connections as well as tasks against it, so a limit equal to the client concurrency
    rejects requests that a plain uvicorn would serve: modes pass None unless they mean it."""
    argv: List[str] = [
        opts.python, "-m", "uvicorn", app,
        "--host", opts.host, "--port", str(opts.port),
        "--workers", str(opts.workers_or(1)),  # see docs/lab.md: 2 workers answered in ~44 ms here
        "--no-access-log", "--log-level", "warning",
        "--timeout-graceful-shutdown", "5",
    ]
    if limit is not None:
        argv[argv.index("--no-access-log"):argv.index("--no-access-log")] = [
            "--limit-concurrency", str(limit)]
    return Launch(argv=argv, env={"WSGISCOPE_SERVER": "uvicorn", **env})

"""The argv shared by the gunicorn modes; each mode module picks the worker class."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import List

from examples.servers._api import Launch, LaunchOptions, module_available


def _has_control_socket() -> bool:
    """gunicorn >= 25.1 opens a control socket at one fixed path per user; parallel masters collide."""
    spec = importlib.util.find_spec("gunicorn.config")
    if spec is None or spec.origin is None:
        return False
    return "--no-control-socket" in Path(spec.origin).read_text(encoding="utf-8")


def unavailable_reason(*extra_modules: str) -> str | None:
    for name in ("gunicorn", *extra_modules):
        if not module_available(name):
            return f"{name} is not installed in the venv (pip install -r requirements-dev.txt)"
    return None


def base_argv(opts: LaunchOptions, worker_class: str) -> List[str]:
    """gunicorn's command line up to the worker class (every gunicorn mode starts so)."""
    argv: List[str] = [
        opts.python, "-m", "gunicorn",
        "--bind", f"{opts.host}:{opts.port}",
        "--workers", str(opts.workers_or(2)),
        "--worker-class", worker_class,
        "--graceful-timeout", "5",
        "--timeout", "60",
    ]
    if _has_control_socket():
        argv.append("--no-control-socket")
    return argv


def build(opts: LaunchOptions, worker_class: str, threads: int) -> Launch:
    argv = base_argv(opts, worker_class)
    if worker_class == "gthread":
        argv += ["--threads", str(threads)]
    elif worker_class == "gevent":
        argv += ["--worker-connections", str(threads)]
    if opts.shim:
        argv += ["-c", "python:wsgiscope.gunicorn"]
    argv.append(opts.app)
    return Launch(argv=argv)

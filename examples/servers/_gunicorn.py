"""The argv shared by the gunicorn modes; each mode module picks the worker class."""

from __future__ import annotations

from typing import List

from examples.servers._api import Launch, LaunchOptions, module_available


def unavailable_reason(*extra_modules: str) -> str | None:
    for name in ("gunicorn", *extra_modules):
        if not module_available(name):
            return f"{name} is not installed in the venv (pip install -r requirements-dev.txt)"
    return None


def build(opts: LaunchOptions, worker_class: str, threads: int) -> Launch:
    argv: List[str] = [
        opts.python, "-m", "gunicorn",
        "--bind", f"{opts.host}:{opts.port}",
        "--workers", str(opts.workers_or(2)),
        "--worker-class", worker_class,
        "--graceful-timeout", "5",
        "--timeout", "60",
    ]
    if worker_class == "gthread":
        argv += ["--threads", str(threads)]
    elif worker_class == "gevent":
        argv += ["--worker-connections", str(threads)]
    if opts.shim:
        argv += ["-c", "python:wsgiscope.gunicorn"]
    argv.append(opts.app)
    return Launch(argv=argv)

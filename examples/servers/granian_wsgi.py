"""Granian, as its docs start it: ``granian --interface wsgi module:app``, the app wrapped in its module.

Only what was asked is passed: without ``--workers`` / ``--threads`` Granian's own defaults (or
the caller's ``GRANIAN_*`` variables) apply: 1 worker process, and blocking threads up to
backlog // workers // 2 per worker (512 with the default backlog of 1024). The shim detects
them (wsgiscope/granian.py); nothing is configured for it.
"""

from __future__ import annotations

import os
from typing import List

from examples.servers._api import Launch, LaunchOptions, module_available

SERVER = "granian"
DESCRIPTION = (
    "Granian --interface wsgi: --workers processes x --threads blocking threads each "
    "(default: Granian's own, 1 x 512, or GRANIAN_* variables); app wrapped by wsgiscope.wrap"
)


def unavailable_reason() -> str | None:
    if not module_available("granian"):
        return "granian is not installed in the venv (scripts/install-servers.sh installs it)"
    return None


def build(opts: LaunchOptions) -> Launch:
    command = opts.bin("granian")
    argv: List[str] = [command] if os.path.exists(command) else [opts.python, "-m", "granian"]
    argv += ["--interface", "wsgi", "--host", opts.host, "--port", str(opts.port)]
    if opts.workers is not None:
        argv += ["--workers", str(opts.workers)]
    if opts.threads is not None:
        argv += ["--blocking-threads", str(opts.threads)]
    return Launch(argv=[*argv, opts.shimmed_app()])

"""The argv shared by the uWSGI modes; each mode module picks processes, threads and thread support.

uWSGI speaks HTTP itself here (``--http-socket``, no router process in front), so the pid that
``launch.py`` execs is the master, and SIGTERM stops it (``--die-on-term``; without it uWSGI 2.0
treats SIGTERM as "reload").
"""

from __future__ import annotations

import os
import sys
from typing import List

from examples.servers._api import Launch, LaunchOptions

INSTALL_HINT = "uwsgi is not installed in the venv (scripts/install-servers.sh builds it)"
# The last release where Python threads stop between requests without --enable-threads.
LEGACY_VERSION = "2.0.26"
LEGACY_HINT = (f"uWSGI {LEGACY_VERSION} is not installed in VENV/opt/uwsgi-{LEGACY_VERSION} "
               "(scripts/install-servers.sh builds it; newer uWSGI always enables threads)")


def legacy_executable(python: str) -> str:
    """uWSGI 2.0.26 beside the venv (install-servers.sh puts it in VENV/opt/uwsgi-2.0.26)."""
    venv = os.path.dirname(os.path.dirname(python))
    return os.path.join(venv, "opt", f"uwsgi-{LEGACY_VERSION}", "bin", "uwsgi")


def unavailable_reason(legacy: bool = False) -> str | None:
    """The uwsgi executable sits next to the interpreter running launch.py (the venv's bin/)."""
    if legacy:
        return None if os.access(legacy_executable(sys.executable), os.X_OK) else LEGACY_HINT
    executable = os.path.join(os.path.dirname(sys.executable), "uwsgi")
    return None if os.access(executable, os.X_OK) else INSTALL_HINT


def build(opts: LaunchOptions, threads: int, extra: List[str], legacy: bool = False) -> Launch:
    argv: List[str] = [
        legacy_executable(opts.python) if legacy else opts.bin("uwsgi"),
        "--http-socket", f"{opts.host}:{opts.port}",
        "--master",
        "--die-on-term",
        "--need-app",              # exit at once when the app does not import, instead of serving 500s
        "--strict",                # unknown options are errors, not silently ignored
        "--disable-logging",       # no line per request: load tests would flood the output
        "--home", os.path.dirname(opts.bin_dir),   # the venv, so the app's imports resolve there
        "--processes", str(opts.workers_or(2)),
        "--module", opts.shimmed_app(),
    ]
    if threads > 1:
        argv += ["--threads", str(threads)]
    return Launch(argv=argv + extra)

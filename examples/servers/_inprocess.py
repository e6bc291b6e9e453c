"""The argv shared by the servers run through ``_inprocess_main`` (waitress, cheroot, bjoern, meinheld)."""

from __future__ import annotations

import importlib.machinery
import os
import sys
from typing import Dict, Optional

from examples.servers._api import Launch, LaunchOptions

INSTALL_HINT = "(scripts/install-servers.sh installs it)"
HERE = os.path.dirname(os.path.abspath(__file__))


def server_installed(module: str) -> bool:
    """True when the real ``module`` package can be imported, ignoring this folder.

    ``python -m examples.servers.launch`` puts this folder first on sys.path, where
    ``waitress.py``, ``bjoern.py``, ... are the launcher modes and would hide the servers.
    """
    search_path = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
    try:
        return importlib.machinery.PathFinder.find_spec(module, search_path) is not None
    except (ImportError, ValueError):
        return False


def unavailable_reason(module: str, distribution: Optional[str] = None) -> Optional[str]:
    if server_installed(module):
        return None
    return f"{distribution or module} is not installed in the venv {INSTALL_HINT}"


def build(opts: LaunchOptions, server: str, threads: int, capacity: Optional[int]) -> Launch:
    """``capacity`` goes to WSGISCOPE_CAPACITY for servers that cannot tell the shim their thread count."""
    argv = [opts.python, "-m", "examples.servers._inprocess_main", server, opts.host, str(opts.port),
            opts.shimmed_app(), str(threads)]
    env: Dict[str, str] = {} if capacity is None else {"WSGISCOPE_CAPACITY": str(capacity)}
    return Launch(argv=argv, env=env)

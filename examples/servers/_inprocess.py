"""The argv shared by the servers run through ``_inprocess_main`` (waitress, cheroot, bjoern, meinheld)."""

from __future__ import annotations

from typing import Dict, Optional

from examples.servers._api import Launch, LaunchOptions, module_available

INSTALL_HINT = "(scripts/install-servers.sh installs it)"


def unavailable_reason(module: str, distribution: Optional[str] = None) -> Optional[str]:
    if module_available(module):
        return None
    return f"{distribution or module} is not installed in the venv {INSTALL_HINT}"


def build(opts: LaunchOptions, server: str, threads: int, capacity: Optional[int]) -> Launch:
    """``capacity`` goes to WSGISCOPE_CAPACITY for servers that cannot tell the shim their thread count."""
    argv = [opts.python, "-m", "examples.servers._inprocess_main", server, opts.host, str(opts.port),
            opts.shimmed_app(), str(threads)]
    env: Dict[str, str] = {} if capacity is None else {"WSGISCOPE_CAPACITY": str(capacity)}
    return Launch(argv=argv, env=env)

"""How mod_wsgi-express is started here, including as root (Apache's children then run as nobody)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
from typing import List, Optional

APACHE_BINARIES = ("apache2", "httpd")
UNPRIVILEGED_USER = "nobody"


def apache_binary() -> Optional[str]:
    for name in APACHE_BINARIES:
        found = shutil.which(name) or next(
            (p for p in (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}") if os.access(p, os.X_OK)), None)
        if found:
            return found
    return None


def running_as_root() -> bool:
    return os.geteuid() == 0


def unprivileged_user_group() -> Optional[tuple[str, str]]:
    try:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        return user.pw_name, grp.getgrgid(user.pw_gid).gr_name
    except KeyError:
        return None


def _world_traversable(path: str) -> bool:
    """True when every directory from / down to ``path`` has the others-execute bit."""
    current = os.path.abspath(path)
    while True:
        try:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


def hidden_paths(paths: List[str]) -> List[str]:
    """Top-level folders under a closed /root holding ``paths`` (what _root_view_main must expose)."""
    hidden = []
    for path in paths:
        real = os.path.realpath(path)
        if real.startswith("/root/") and not _world_traversable(real):
            top = "/root/" + real[len("/root/"):].split("/", 1)[0]
            if top not in hidden:
                hidden.append(top)
    return hidden


def interpreter_paths(python: str, repo_root: str) -> List[str]:
    venv = os.path.dirname(os.path.dirname(python))
    return [sys.base_prefix, sys.prefix, venv, os.path.realpath(python), repo_root]


def unshare_binary() -> str:
    return shutil.which("unshare") or "/usr/bin/unshare"


def can_unshare_mounts() -> bool:
    """True when this process may create a mount namespace (root with CAP_SYS_ADMIN, usually)."""
    unshare = unshare_binary()
    if not os.access(unshare, os.X_OK):
        return False
    try:
        return subprocess.run([unshare, "-m", "true"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False

"""Exec a command in a private mount namespace where paths under /root are traversable.

    unshare -m python -m examples.servers._root_view_main PATH [PATH...] -- COMMAND [ARG...]

Started as root, Apache runs its children (and mod_wsgi's daemon processes) as an unprivileged
user, which cannot reach a Python installed under a mode-700 /root (pyenv's default home). In
this process's own mount namespace (``unshare -m``), a world-traversable tmpfs is laid over
/root and each PATH below it is bind-mounted back, so the children can read the interpreter
while the host's /root keeps its permissions. Nothing outside the namespace changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import List


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True)


def expose(paths: List[str]) -> None:
    _run("mount", "--make-rprivate", "/")   # nothing below leaks out of this namespace
    staging = tempfile.mkdtemp(prefix="wsgiscope-root-view-")
    held = []
    for index, path in enumerate(paths):
        keep = os.path.join(staging, str(index))
        os.mkdir(keep)
        _run("mount", "--bind", path, keep)   # hold the real tree before /root is covered
        held.append((path, keep))
    _run("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/root")
    for path, keep in held:
        os.makedirs(path, exist_ok=True)
        _run("mount", "--bind", keep, path)
        _run("umount", keep)   # the staging folders live on the host's /tmp: leave none behind
        os.rmdir(keep)
    os.rmdir(staging)


def main(argv: List[str]) -> int:
    if "--" not in argv:
        print("usage: _root_view_main PATH... -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    split = argv.index("--")
    paths, command = argv[:split], argv[split + 1:]
    expose(paths)
    os.execv(command[0], command)
    return 0  # unreachable


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""mod_wsgi-express (Apache + mod_wsgi daemon mode): --workers processes x --threads threads."""

from __future__ import annotations

import os
import sys
from typing import List

from examples.servers import _mod_wsgi
from examples.servers._api import Launch, LaunchOptions

SERVER = "mod_wsgi"
DESCRIPTION = "mod_wsgi-express daemon mode: --workers processes (default 2) x --threads threads (default 4)"


def _express(python: str) -> str:
    return os.path.join(os.path.dirname(python), "mod_wsgi-express")


def unavailable_reason() -> str | None:
    if not os.access(_express(sys.executable), os.X_OK):
        return "mod_wsgi is not installed in the venv (scripts/install-servers.sh builds it; needs apache2-dev)"
    if _mod_wsgi.apache_binary() is None:
        return "no Apache binary (apache2 or httpd) to run mod_wsgi-express: install apache2-bin"
    if not _mod_wsgi.running_as_root():
        return None
    if _mod_wsgi.unprivileged_user_group() is None:
        return "running as root, and there is no 'nobody' user for Apache's children to run as"
    hidden = _mod_wsgi.hidden_paths(_mod_wsgi.interpreter_paths(sys.executable, os.getcwd()))
    if hidden and not _mod_wsgi.can_unshare_mounts():
        return (f"running as root: Apache's children run as 'nobody', who cannot reach {', '.join(hidden)} "
                "(under a mode-700 /root), and 'unshare -m' is not permitted here to expose it")
    return None


def build(opts: LaunchOptions) -> Launch:
    module, _, callable_name = opts.shimmed_app().partition(":")
    argv: List[str] = [
        _express(opts.python), "start-server",
        "--host", opts.host, "--port", str(opts.port),
        "--processes", str(opts.workers_or(2)),
        "--threads", str(opts.threads_or(4)),
        "--application-type", "module", "--entry-point", module,
        "--callable-object", callable_name or "application",
        "--python-path", opts.repo_root,
        "--log-to-terminal",
        "--locale", "C.UTF-8",        # mod_wsgi-express defaults to en_US.UTF-8, often not generated
        "--shutdown-timeout", "5",
    ]
    if not _mod_wsgi.running_as_root():
        return Launch(argv=argv)
    users = _mod_wsgi.unprivileged_user_group()
    assert users is not None  # unavailable_reason() said so
    argv += ["--user", users[0], "--group", users[1]]
    hidden = _mod_wsgi.hidden_paths(_mod_wsgi.interpreter_paths(opts.python, opts.repo_root))
    if hidden:
        # The children could not read the interpreter: run Apache in a mount namespace that
        # exposes exactly those folders (see _root_view_main).
        unshare = _mod_wsgi.unshare_binary()
        argv = [unshare, "-m", opts.python, "-m", "examples.servers._root_view_main", *hidden, "--", *argv]
    return Launch(argv=argv)

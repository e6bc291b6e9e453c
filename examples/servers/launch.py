"""Start any WSGI server mode with the example app (and the wsgiscope shim) in the foreground.

    python -m examples.servers.launch gunicorn_gthread --port 8000 --workers 2 --threads 4
    python -m examples.servers.launch --list

Run it as a module from the repository root (``-m``): the root is then on the import path and
this folder, whose mode modules are named like the servers (``waitress``, ``bjoern``...), is not.

Each mode is a module next to this file (see README.md for the contract). The server is
exec'd, so the pid you started is the server's: SIGTERM it to stop it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
if __name__ == "__main__" and not __package__:
    sys.exit("launch.py: run it as a module from the repository root: "
             "python -m examples.servers.launch MODE --port N (see --help)")

# after the check: run as a script, this import fails before the sentence above could say why
from examples.servers._api import DEFAULT_APP, Launch, LaunchOptions  # noqa: E402

# Every server mode: a module of this folder (build(), unavailable_reason(), SERVER,
# DESCRIPTION; see README.md). tests/e2e/test_launcher.py checks the table against the folder.
MODES: Dict[str, str] = {
    "bjoern": "bjoern, one thread, libev loop (in-process launcher)",
    "cheroot": "cheroot thread pool (in-process launcher)",
    "granian_wsgi": "granian --interface wsgi",
    "gunicorn_gevent": "gunicorn -k gevent",
    "gunicorn_gthread": "gunicorn -k gthread",
    "gunicorn_sync": "gunicorn sync workers",
    "gunicorn_uvicorn_worker": "gunicorn -k uvicorn_worker.UvicornWorker (ASGI)",
    "meinheld": "meinheld greenlets (in-process launcher)",
    "mod_wsgi": "mod_wsgi-express daemon mode",
    "uvicorn_asgi": "uvicorn with the ASGI app",
    "uvicorn_wsgi_adapter": "uvicorn with the WSGI app through a2wsgi",
    "uwsgi_nothreads": "uWSGI 2.0.26 without thread support",
    "uwsgi_processes": "uWSGI processes",
    "uwsgi_threads": "uWSGI processes x threads, lazy-apps",
    "waitress": "waitress thread pool (in-process launcher)",
    "wsgiref": "wsgiref.simple_server, one thread (in-process launcher)",
}


def mode_names() -> List[str]:
    """Every mode's name, sorted (the MODES table)."""
    return sorted(MODES)


def load_mode(name: str) -> ModuleType:
    normalized = name.replace("-", "_")
    if normalized not in mode_names():
        raise SystemExit(f"unknown server mode {name!r}; known modes: {', '.join(mode_names())}")
    return importlib.import_module(f"examples.servers.{normalized}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", help="server mode, e.g. gunicorn_gthread (see --list)")
    parser.add_argument("--list", action="store_true", help="list the modes and whether each can run here")
    parser.add_argument("--port", type=int, help="port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--workers", type=_positive, help="worker processes (mode default when omitted)")
    parser.add_argument("--threads", type=_positive, help="threads per worker (mode default when omitted)")
    parser.add_argument("--app", default=DEFAULT_APP, help=f"MODULE:CALLABLE of the plain app (default {DEFAULT_APP})")
    parser.add_argument("--no-shim", dest="shim", action="store_false", help="serve the app without wsgiscope")
    parser.add_argument("--dry-run", action="store_true", help="print the argv and env as JSON instead of running")
    args = parser.parse_args(argv)
    if not args.list and (args.mode is None or args.port is None):
        parser.error("a server mode and --port are required (or --list)")
    return args


def list_modes() -> int:
    for name in mode_names():
        module = load_mode(name)
        reason = module.unavailable_reason()
        status = "available" if reason is None else f"unavailable: {reason}"
        print(f"{name}\t{module.SERVER}\t{status}\t{module.DESCRIPTION}")
    return 0


def child_env(launch: Launch, opts: LaunchOptions) -> Dict[str, str]:
    env = dict(os.environ)
    paths = [opts.repo_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["EXAMPLES_LAUNCH_APP"] = opts.app
    if not opts.shim:
        env["WSGISCOPE_DISABLED"] = "1"
    env.update(launch.env)
    return env


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.list:
        return list_modes()
    module = load_mode(args.mode)
    reason = module.unavailable_reason()
    if reason is not None:
        print(f"launch.py: {args.mode} cannot run here: {reason}", file=sys.stderr)
        return 3
    opts = LaunchOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        app=args.app,
        shim=args.shim,
        python=sys.executable,
        repo_root=str(REPO_ROOT),
    )
    launch: Launch = module.build(opts)
    env = child_env(launch, opts)
    if args.dry_run:
        extra = {k: v for k, v in env.items() if os.environ.get(k) != v}
        print(json.dumps({"argv": launch.argv, "env": extra, "cwd": launch.cwd or opts.repo_root}))
        return 0
    sys.stdout.flush()
    os.chdir(launch.cwd or opts.repo_root)
    os.execve(launch.argv[0], launch.argv, env)
    return 0  # unreachable: execve replaces this process


if __name__ == "__main__":
    sys.exit(main())

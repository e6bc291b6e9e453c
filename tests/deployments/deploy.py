"""Deployments as their docs say to start them: (server command line, framework project).

Each server is started by its own executable from the project's folder, with the app module a
user would name (``app:application``, ``djangoproject.wsgi:application``) and nothing of ours
but the one ``wsgiscope.wrap`` line inside the app and ``WSGISCOPE_COLLECTOR_URL``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from tests.e2e.support.processes import REPO_ROOT, Command, free_port

VENV_BIN = Path(sys.executable).parent
FRAMEWORKS = REPO_ROOT / "examples" / "frameworks"
PROJECTS = {  # framework -> (project folder, WSGI application as servers name it)
    "flask": (FRAMEWORKS / "flaskapp", "app:application"),
    "django": (FRAMEWORKS / "djangoproject", "djangoproject.wsgi:application"),
}
SERVICES = {"flask": "flaskapp", "django": "djangoproject"}
DOWNLOAD_BYTES = 4 * 1024 * 1024  # the file each project serves at /file
DOWNLOAD_PATTERN = bytes(range(256)) * 16


def _gunicorn_control_socket_flag() -> List[str]:
    """gunicorn >= 25.1 opens a control socket at one path per user: tests run masters side by
    side, so they turn it off (a user's single master would not need to)."""
    spec = importlib.util.find_spec("gunicorn.config")
    if spec is None or spec.origin is None:
        return []
    return ["--no-control-socket"] if "--no-control-socket" in Path(spec.origin).read_text() else []


@dataclass(frozen=True)
class Deployment:
    """One server command line for one framework project; ``{port}`` and ``{app}`` are filled in."""

    name: str
    framework: str
    argv: List[str]
    executable: str
    expect_threads: int
    expect_processes: int
    expect_worker_class: str
    expect_server: str
    files: Dict[str, str] = field(default_factory=dict)  # written into the tmp dir first

    @property
    def id(self) -> str:
        return f"{self.name}-{self.framework}"

    def unavailable_reason(self) -> Optional[str]:
        if not os.access(VENV_BIN / self.executable, os.X_OK):
            return f"{self.executable} is not installed in {VENV_BIN.parent}"
        if self.executable == "python" and importlib.util.find_spec(self.expect_server) is None:
            return f"{self.expect_server} is not installed in {VENV_BIN.parent}"
        if importlib.util.find_spec(self.framework) is None:
            return f"{self.framework} is not installed (pip install -r requirements-dev.txt)"
        return None

    def command(self, tmp: Path, collector_url: str, shim: bool = True,
                env: Optional[Dict[str, str]] = None, prefix: Optional[List[str]] = None) -> Command:
        project, app = PROJECTS[self.framework]
        port = free_port()
        values = {"port": str(port), "app": app, "tmp": str(tmp)}
        download = tmp / "download.bin"
        if not download.exists():
            download.write_bytes(DOWNLOAD_PATTERN * (DOWNLOAD_BYTES // len(DOWNLOAD_PATTERN)))
        for name, text in self.files.items():
            (tmp / name).write_text(text.format(**values))
        argv = [str(VENV_BIN / self.executable)] + [part.format(**values) for part in self.argv]
        settings = {"WSGISCOPE_COLLECTOR_URL": collector_url,
                    "EXAMPLE_DOWNLOAD_FILE": str(download)}
        if not shim:
            settings["WSGISCOPE_DISABLED"] = "true"
        return Command(f"{self.id}{'' if shim else '-noshim'}", [*(prefix or []), *argv], port,
                       tmp, cwd=project, env={**settings, **(env or {})})


GUNICORN = [*_gunicorn_control_socket_flag(), "--bind", "127.0.0.1:{port}"]
USER_GUNICORN_CONF = '''# a user's own gunicorn.conf.py: settings and a hook of their own, no wsgiscope
workers = 2
worker_class = "gthread"
threads = 3
def post_worker_init(worker):
    worker.log.info("user hook ran in %s", worker.pid)
'''
HOOK_AND_WRAP_CONF = '''# the README's hook in a user's config file, on top of wrap() in the app module
import wsgiscope.gunicorn
workers = 2
threads = 2
def post_worker_init(worker):
    wsgiscope.gunicorn.instrument(worker)
'''


def deployments(framework: str) -> List[Deployment]:
    return [
        Deployment("gunicorn-gthread", framework,
                   [*GUNICORN, "-k", "gthread", "-w", "2", "--threads", "4", "{app}"],
                   "gunicorn", 4, 2, "gthread", "gunicorn"),
        Deployment("gunicorn-sync", framework, [*GUNICORN, "-w", "2", "{app}"],
                   "gunicorn", 1, 2, "sync", "gunicorn"),
        Deployment("gunicorn-gevent", framework,
                   [*GUNICORN, "-k", "gevent", "-w", "1", "--worker-connections", "50", "{app}"],
                   "gunicorn", 50, 1, "gevent", "gunicorn"),
        Deployment("gunicorn-user-config", framework,
                   [*GUNICORN, "-c", "{tmp}/gunicorn.conf.py", "{app}"],
                   "gunicorn", 3, 2, "gthread", "gunicorn",
                   files={"gunicorn.conf.py": USER_GUNICORN_CONF}),
        Deployment("gunicorn-hook-and-wrap", framework,
                   [*GUNICORN, "-c", "{tmp}/gunicorn.conf.py", "{app}"],
                   "gunicorn", 2, 2, "gthread", "gunicorn",
                   files={"gunicorn.conf.py": HOOK_AND_WRAP_CONF}),
        Deployment("uwsgi-threads", framework,
                   ["--http-socket", "127.0.0.1:{port}", "--master", "--die-on-term",
                    "--processes", "2", "--threads", "3", "--home", str(VENV_BIN.parent),
                    "--module", "{app}"],
                   "uwsgi", 3, 2, "threads", "uwsgi"),
        Deployment("waitress", framework,
                   ["--listen=127.0.0.1:{port}", "--threads=6", "{app}"],
                   "waitress-serve", 6, 1, "threads", "waitress"),
        # `python -m cheroot`: the `cheroot` script imports the app before it puts the current
        # folder on sys.path (cheroot 11.1), so `cheroot app:application` fails from a project
        Deployment("cheroot", framework,
                   ["-m", "cheroot", "--bind", "127.0.0.1:{port}", "--threads", "5", "{app}"],
                   "python", 5, 1, "threads", "cheroot"),
    ]


ALL = [d for framework in PROJECTS for d in deployments(framework)]

"""Deployments as their docs say to start them: (server command line, framework project).

Each server is started by its own executable from the project's folder, with the app module a
user would name (``app:application``, ``djangoproject.wsgi:application``) and nothing of ours
but the one ``wsgiscope.wrap`` line inside the app and ``WSGISCOPE_COLLECTOR_URL``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from wsgiscope_harness.processes import REPO_ROOT, Command, free_port

VENV_BIN = Path(sys.executable).parent
FRAMEWORKS = REPO_ROOT / "examples" / "frameworks"
PROJECTS = {  # framework -> (project folder, WSGI application as servers name it, WSGI script)
    "flask": (FRAMEWORKS / "flaskapp", "app:application", "app.py"),
    "django": (FRAMEWORKS / "djangoproject", "djangoproject.wsgi:application",
               "djangoproject/wsgi.py"),
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
    expect_threads: Optional[int]   # None: no fixed capacity (unbounded)
    expect_processes: int
    expect_worker_class: str
    expect_server: str
    files: Dict[str, str] = field(default_factory=dict)  # written into the tmp dir first

    @property
    def id(self) -> str:
        return f"{self.name}-{self.framework}"

    def unavailable_reason(self) -> Optional[str]:
        if self.expect_server == "mod_wsgi":
            reason = mod_wsgi_unavailable_reason()
            if reason:
                return reason
        if not os.access(VENV_BIN / self.executable, os.X_OK):
            return f"{self.executable} is not installed in {VENV_BIN.parent}"
        if self.executable == "python" and importlib.util.find_spec(self.expect_server) is None:
            return f"{self.expect_server} is not installed in {VENV_BIN.parent}"
        if importlib.util.find_spec(self.framework) is None:
            return f"{self.framework} is not installed (pip install -r requirements-dev.txt)"
        return None

    def command(self, tmp: Path, collector_url: str, shim: bool = True,
                env: Optional[Dict[str, str]] = None, prefix: Optional[List[str]] = None) -> Command:
        project, app, script = PROJECTS[self.framework]
        port = free_port()
        values = {"port": str(port), "app": app, "tmp": str(tmp), "script": script,
                  "project": str(project)}
        download = download_file()
        for name, text in self.files.items():
            (tmp / name).write_text(text.format(**values))
        argv = [str(VENV_BIN / self.executable)] + [part.format(**values) for part in self.argv]
        settings = {"WSGISCOPE_COLLECTOR_URL": collector_url,
                    "EXAMPLE_DOWNLOAD_FILE": str(download)}
        if not shim:
            settings["WSGISCOPE_DISABLED"] = "true"
        if self.expect_server == "mod_wsgi":
            argv = mod_wsgi_as_root(argv + mod_wsgi_user_flags())
        command = Command(f"{self.id}{'' if shim else '-noshim'}", [*(prefix or []), *argv], port,
                          tmp, cwd=project, env={**settings, **(env or {})})
        command.term_group = bool(prefix)  # a tracer (strace) would block SIGTERM
        return command


def download_file() -> Path:
    """The 4 MiB file the projects serve at /file, in a folder every user can read (Apache's
    children run as nobody and cannot enter pytest's private tmp folders)."""
    folder = Path(tempfile.gettempdir()) / f"wsgiscope-deployments-{os.getuid()}"
    folder.mkdir(mode=0o755, exist_ok=True)
    folder.chmod(0o755)
    path = folder / "download.bin"
    content = DOWNLOAD_PATTERN * (DOWNLOAD_BYTES // len(DOWNLOAD_PATTERN))
    if not path.exists() or path.stat().st_size != len(content):
        partial = folder / f"download.{os.getpid()}.part"
        partial.write_bytes(content)
        partial.chmod(0o644)
        partial.replace(path)
    return path


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


def mod_wsgi_unavailable_reason() -> Optional[str]:
    from examples.servers import mod_wsgi  # noqa: PLC0415 - only when a mod_wsgi case runs

    return mod_wsgi.unavailable_reason()


def mod_wsgi_user_flags() -> List[str]:
    """As root, Apache's children run as nobody (mod_wsgi-express refuses to run as root)."""
    from examples.servers import _mod_wsgi  # noqa: PLC0415

    users = _mod_wsgi.unprivileged_user_group() if _mod_wsgi.running_as_root() else None
    return ["--user", users[0], "--group", users[1]] if users else []


def mod_wsgi_as_root(argv: List[str]) -> List[str]:
    """As root, when the interpreter sits under a closed /root, Apache's children (nobody)
    could not read it: run in a mount namespace exposing those folders, as the launcher does
    (a deployment detail of this test machine, not of mod_wsgi)."""
    from examples.servers import _mod_wsgi  # noqa: PLC0415

    if not _mod_wsgi.running_as_root():
        return argv
    hidden = _mod_wsgi.hidden_paths(_mod_wsgi.interpreter_paths(sys.executable, str(REPO_ROOT)))
    if not hidden:
        return argv
    view = [sys.executable, str(REPO_ROOT / "examples" / "servers" / "_root_view_main.py")]
    return [_mod_wsgi.unshare_binary(), "-m", *view, *hidden, "--", *argv]


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
        Deployment("granian", framework,
                   ["--interface", "wsgi", "--host", "127.0.0.1", "--port", "{port}",
                    "--workers", "2", "--blocking-threads", "3", "{app}"],
                   "granian", 3, 2, "wsgi", "granian"),
        # mod_wsgi-express as its docs say: the WSGI script file; the project on the path
        Deployment("mod_wsgi-express", framework,
                   ["start-server", "{script}", "--host", "127.0.0.1", "--port", "{port}",
                    "--processes", "2", "--threads", "3", "--python-path", "{project}",
                    "--callable-object", "application",
                    "--enable-sendfile", "--log-to-terminal", "--locale", "C.UTF-8"],
                   "mod_wsgi-express", 3, 2, "daemon", "mod_wsgi"),
    ]


# Django's development server, as its docs start it: a thread per connection, no fixed capacity.
RUNSERVER = Deployment("runserver", "django", ["manage.py", "runserver", "127.0.0.1:{port}"],
                       "python", None, 1, "runserver", "django")


ALL = [d for framework in PROJECTS for d in deployments(framework)] + [RUNSERVER]

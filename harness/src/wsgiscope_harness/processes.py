"""Real processes: the collector, servers started through the launcher
(``python -m examples.servers.launch``) or by their own command lines (:class:`Command`).

Every start waits on a condition with a deadline; every stop escalates SIGTERM → SIGKILL of
the whole process group, so a failing test cannot leave servers behind.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import IO, Callable, Dict, List, Optional, Sequence, TypeVar

from .waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTOR_CLI = REPO_ROOT / "collector" / "dist" / "cli.js"
LAUNCHER = REPO_ROOT / "examples" / "servers" / "launch.py"
LAUNCH_MODULE = "examples.servers.launch"  # run with -m from REPO_ROOT
LISTENING = re.compile(r"wsgiscope-collector listening on (http://\S+?):(\d+)\s*$")


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process_group(process: subprocess.Popen[bytes], timeout_s: float = 15.0, *,
                       term_group: bool = False) -> Optional[int]:
    """SIGTERM the process (its whole group with ``term_group``); after ``timeout_s`` SIGKILL
    its whole group. Returns its exit code."""
    if process.poll() is None:
        try:
            if term_group:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)
            return process.wait(timeout=timeout_s)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        return process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return None


class Owned:
    """A process started in its own session: ``stop()`` ends its whole group (None when not running)."""

    process: Optional[subprocess.Popen[bytes]]
    # SIGTERM the whole group, not only the process started: for a server run under a tracer
    # (``strace -o FILE`` blocks fatal signals, so it would wait for the SIGKILL)
    term_group = False

    def stop(self) -> Optional[int]:
        if self.process is None:
            return None
        code = stop_process_group(self.process, term_group=self.term_group)
        self.process = None
        return code


class Collector(Owned):
    """``node collector/dist/cli.js`` on a port it picks (or a given one, to restart in place).

    ``command`` replaces ``node collector/dist/cli.js`` (another Node binary, or ``npx
    wsgiscope-collector`` in a folder where the packed tarball is installed), run in ``cwd``.
    """

    def __init__(self, log_dir: Path, worker_expiry_s: float = 60.0, *,
                 command: Optional[Sequence[str]] = None, cwd: Optional[Path] = None) -> None:
        self.log_dir = log_dir
        self.worker_expiry_s = worker_expiry_s
        self.command = list(command) if command is not None else ["node", str(COLLECTOR_CLI)]
        self.cwd = cwd or REPO_ROOT
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.port: Optional[int] = None
        self.starts = 0

    @property
    def url(self) -> str:
        assert self.port is not None, "collector not started"
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0, timeout_s: float = 20.0) -> Collector:
        if str(COLLECTOR_CLI) in self.command and not COLLECTOR_CLI.exists():
            raise AssertionError(f"{COLLECTOR_CLI} is missing: run scripts/bootstrap.sh (npm run build)")
        self.starts += 1
        stderr_path = self.log_dir / f"collector-{self.starts}.stderr.log"
        argv = [
            *self.command, "--host", "127.0.0.1", "--port", str(port),
            "--worker-expiry-seconds", f"{self.worker_expiry_s:g}",
        ]
        with open(stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                argv, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                start_new_session=True,
            )
        lines = self._pump_stdout(self.process.stdout, self.log_dir / f"collector-{self.starts}.stdout.log")
        try:
            line = lines.get(timeout=timeout_s)
        except queue.Empty:
            line = None
        match = LISTENING.search(line or "")
        if match is None:
            stop_process_group(self.process)
            raise AssertionError(
                f"collector did not print its listening line within {timeout_s:.0f} s "
                f"(first line: {line!r}); stderr:\n{log_tail(stderr_path)}"
            )
        self.port = int(match.group(2))
        wait_for(self.healthy, timeout_s, f"{self.url}/healthz to answer 200")
        return self

    def healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)

    @staticmethod
    def _pump_stdout(stream: Optional[IO[bytes]], path: Path) -> queue.Queue[str]:
        """Copy stdout to a log in a thread (the pipe must never fill); hand each line to a queue."""
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert stream is not None
            with open(path, "w") as log:
                for raw in stream:
                    text = raw.decode(errors="replace")
                    log.write(text)
                    log.flush()
                    lines.put(text.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()
        return lines


Started = TypeVar("Started", bound="Command")


class Command(Owned):
    """A server started by its own command line (``argv`` as a user types it) in ``cwd``,
    listening on ``port``; ready when the port accepts a TCP connection."""

    def __init__(self, name: str, argv: List[str], port: int, log_dir: Path, *,
                 cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None) -> None:
        self.mode = name
        self.argv = argv
        self.port = port
        self.cwd = cwd or REPO_ROOT
        self.log_path = log_dir / f"server-{name}-{port}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WSGISCOPE_")}
        self.env.update(env or {})
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self: Started, timeout_s: float = 30.0) -> Started:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

        def listening() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.mode} exited with {self.process.returncode}:\n{log_tail(self.log_path)}"
                )
            # A TCP connect, not an HTTP request: readiness probes must not count as requests.
            return port_accepts(self.port)

        try:
            wait_for(listening, timeout_s, f"{self.mode} to listen on port {self.port}")
        except AssertionError as exc:
            self.stop()
            raise AssertionError(f"{exc}\nserver log:\n{log_tail(self.log_path)}") from None
        return self

    def log(self) -> str:
        return log_tail(self.log_path, 400)


class Server(Command):
    """A WSGI server started through examples/servers/launch.py, on a free port."""

    def __init__(
        self,
        mode: str,
        log_dir: Path,
        collector_url: Optional[str],
        *,
        workers: Optional[int] = None,
        threads: Optional[int] = None,
        app: Optional[str] = None,
        shim: bool = True,
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        port = free_port()
        argv: List[str] = [sys.executable, "-m", LAUNCH_MODULE, mode, "--port", str(port)]
        if workers is not None:
            argv += ["--workers", str(workers)]
        if threads is not None:
            argv += ["--threads", str(threads)]
        if app is not None:
            argv += ["--app", app]
        if not shim:
            argv.append("--no-shim")
        settings = {"WSGISCOPE_FLUSH_INTERVAL": "0.2", "WSGISCOPE_SERVICE_NAME": "e2e"}
        if collector_url is not None:
            settings["WSGISCOPE_COLLECTOR_URL"] = collector_url
        super().__init__(mode, argv, port, log_dir, env={**settings, **(env or {})})


# What the start_collector and start_server fixtures (tests/e2e/conftest.py) return.
CollectorFactory = Callable[..., Collector]
ServerFactory = Callable[..., Server]

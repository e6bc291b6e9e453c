"""Optional nginx in front of a server: it stamps ``X-Request-Start: t=<msec>`` on every
request, so the shim's queue time is real (nginx accepted → app started). Loopback only.

nginx buffers whole request bodies and (by default) responses, which is exactly how it
protects sync workers from slow clients: with ``--nginx`` the slow-client scenario shows that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from string import Template
from typing import Optional

from wsgiscope_harness.processes import free_port, log_tail, port_accepts, stop_process_group
from wsgiscope_harness.waiting import wait_for

TEMPLATE = Template("""\
worker_processes 1;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $prefix/client_body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    client_max_body_size 64m;
    upstream app { server 127.0.0.1:$upstream_port; keepalive 32; }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $$host;
            proxy_set_header X-Request-Start "t=$${msec}";
            proxy_read_timeout 60s;
        }
    }
}
""")


TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def available() -> Optional[str]:
    return shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx") or None


def render(prefix: Path, port: int, upstream_port: int) -> str:
    return TEMPLATE.substitute(prefix=prefix, port=port, upstream_port=upstream_port)


class Nginx:
    def __init__(self, upstream_port: int, log_dir: Path) -> None:
        self.upstream_port = upstream_port
        self.log_dir = log_dir
        # nginx started as root runs its worker as "nobody": the temp folders it buffers bodies
        # in must be reachable by that user, which a 0700 work folder is not.
        self.prefix = Path(tempfile.mkdtemp(prefix="wsgiscope-nginx-"))
        self.port = free_port()
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> Nginx:
        binary = available()
        if not binary:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        os.chmod(self.prefix, 0o755)
        for name in TEMP_DIRS:
            (self.prefix / name).mkdir(exist_ok=True)
            os.chmod(self.prefix / name, 0o777)
        conf = self.prefix / "nginx.conf"
        conf.write_text(render(self.prefix, self.port, self.upstream_port))
        log = open(self.prefix / "stderr.log", "wb")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [str(binary), "-p", str(self.prefix), "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for(
                lambda: self.process is not None and self.process.poll() is None and port_accepts(self.port),
                timeout_s,
                f"nginx to listen on {self.port}",
            )
        except AssertionError as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n{log_tail(self.prefix / 'stderr.log')}") from None
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in ("error.log", "stderr.log", "nginx.conf"):
            if (self.prefix / name).exists():
                shutil.copy(self.prefix / name, self.log_dir / name)
        shutil.rmtree(self.prefix, ignore_errors=True)

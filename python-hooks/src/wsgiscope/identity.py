"""Who is talking: the worker process's identity and the batch ``resource`` built from it."""

from __future__ import annotations

import os
import platform
import socket
from typing import Any, NamedTuple

from ._version import __version__
from .config import Config
from .detect import ServerInfo


class Identity(NamedTuple):
    host: str
    pid: int
    python_version: str
    shim_version: str


def current_identity() -> Identity:
    return Identity(socket.gethostname() or "localhost", os.getpid(),
                    platform.python_version(), __version__)


def build_resource(config: Config, info: ServerInfo, identity: Identity,
                   started_unix_us: int) -> dict[str, Any]:
    """The protocol-v2 ``resource`` of one worker instance (values cut to the schema's sizes).
    ``WSGISCOPE_HOST`` replaces the host name (a pod's name, say) in ``host`` and ``worker``."""
    host = (config.host or identity.host)[:128]
    unbounded = info.capacity_source == "unbounded"
    return {
        "service_name": config.service_name,
        "server": info.server[:128] or "unknown",
        "server_version": info.server_version[:64],
        "worker_class": info.worker_class[:64],
        "python_version": identity.python_version[:64],
        "shim_version": identity.shim_version[:64],
        "host": host,
        "pid": identity.pid,
        "worker": f"{host}:{identity.pid}"[:128],
        "started_unix_us": started_unix_us,
        "capacity_threads": None if unbounded else (info.capacity_threads or 1),
        "capacity_processes": info.capacity_processes,
        "capacity_source": info.capacity_source,
        "detected_capacity_threads": info.detected_capacity_threads,
        "cpu_attributable": info.cpu_attributable,
    }

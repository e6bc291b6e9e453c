"""gunicorn integration, as a config module or a function for your own config file.

    gunicorn -c python:wsgiscope.gunicorn app:app

or, in your gunicorn.conf.py::

    import wsgiscope.gunicorn

    def post_worker_init(worker):
        wsgiscope.gunicorn.instrument(worker)

``post_worker_init`` runs inside each worker after fork and after the app was loaded, so the
shim starts per worker (its own pid, seq and flusher) and knows the worker class and
capacity: ``threads`` for gthread, ``worker_connections`` greenlets for gevent/eventlet
(whose requests share threads, so per-request CPU is not attributable), 1 for sync.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from .agent import Agent
from .config import Config
from .detect import ServerInfo
from .middleware import wrap

_WORKER_CLASSES = {
    "SyncWorker": "sync",
    "ThreadWorker": "gthread",
    "GeventWorker": "gevent",
    "GeventPyWSGIWorker": "gevent",
    "EventletWorker": "eventlet",
    "TornadoWorker": "tornado",
}
_GREENLET_CLASSES = {"gevent", "eventlet"}


def server_info(worker: Any) -> ServerInfo:
    """What the gunicorn worker object tells about its server, class and capacity."""
    cfg = worker.cfg
    name = type(worker).__name__
    worker_class = _WORKER_CLASSES.get(name, name.lower())
    processes = cfg.workers if isinstance(cfg.workers, int) and cfg.workers >= 1 else None
    if worker_class in _GREENLET_CLASSES:
        threads, cpu = int(cfg.worker_connections), False
    elif worker_class == "gthread":
        threads, cpu = int(cfg.threads), True
    else:
        threads, cpu = 1, True
    version = str(getattr(sys.modules.get("gunicorn"), "__version__", ""))
    return ServerInfo("gunicorn", version, worker_class, max(1, threads), processes, "detected",
                      cpu)


def instrument(worker: Any, **options: Any) -> None:
    """Wrap ``worker.wsgi`` and start this worker's shim. Never raises into gunicorn."""
    try:
        config = Config.load(**options)
        if config.disabled:
            return
        agent = Agent(config, server_info=server_info(worker))
        worker.wsgi = wrap(worker.wsgi, agent=agent)
        agent.start()
    except Exception as exc:  # a broken shim must not stop the worker
        warnings.warn(f"wsgiscope: gunicorn instrumentation disabled: {exc!r}", stacklevel=2)


def post_worker_init(worker: Any) -> None:
    instrument(worker)

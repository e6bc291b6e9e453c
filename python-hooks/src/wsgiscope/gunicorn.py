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

The hook is a convenience: ``wsgiscope.wrap(application)`` in the app module detects the same
worker class and capacity on its first request (see :mod:`wsgiscope.detect`). Using both counts
every request once.
"""

from __future__ import annotations

import warnings
from typing import Any

from .agent import Agent
from .asgi import AsgiMiddleware
from .asgi import wrap as wrap_asgi
from .config import Config
from .detect import ASGI_WORKER_CLASSES, ServerInfo, gunicorn_worker_info
from .middleware import Middleware, wrap


def server_info(worker: Any) -> ServerInfo:
    """What the gunicorn worker object tells about its server, class and capacity."""
    return gunicorn_worker_info(worker)


def instrument(worker: Any, **options: Any) -> None:
    """Wrap ``worker.wsgi`` and start this worker's shim. Never raises into gunicorn.

    When the app is already wrapped (``wsgiscope.wrap`` in the app module), the hook does not
    wrap it again: it hands what the worker object knows to that app's shim.
    """
    try:
        app = worker.wsgi
        if isinstance(app, (Middleware, AsgiMiddleware)):
            app.agent.set_server_info(server_info(worker))
            if isinstance(app, Middleware):
                app.learn()
            app.agent.start()
            return
        config = Config.load(**options)
        if config.disabled:
            return
        agent = Agent(config, server_info=server_info(worker))
        if type(worker).__name__ in ASGI_WORKER_CLASSES:  # the app is an ASGI app
            worker.wsgi = wrap_asgi(app, agent=agent)
        else:
            worker.wsgi = wrap(app, agent=agent)
        agent.start()
    except Exception as exc:  # a broken shim must not stop the worker
        warnings.warn(f"wsgiscope: gunicorn instrumentation disabled: {exc!r}", stacklevel=2)


def post_worker_init(worker: Any) -> None:
    instrument(worker)

"""uWSGI integration (beside :mod:`wsgiscope.gunicorn`): what the shim does differently there.

Capacity is detected in :mod:`wsgiscope.detect` (``uwsgi.cores``, ``uwsgi.numproc``). Here:
whether background threads can run at all, and the exit hook uWSGI calls when a worker stops.
"""

from __future__ import annotations

from typing import Any, Callable


def is_uwsgi(modules: Any) -> bool:
    """The ``uwsgi`` module of a running uWSGI (not a stand-in package of the same name)."""
    uwsgi = modules.get("uwsgi")
    return uwsgi is not None and hasattr(uwsgi, "opt")


def threads_stall_between_requests(modules: Any) -> bool:
    """True under uWSGI without thread support (``uwsgi.has_threads == 0``, uWSGI <= 2.0.26
    without --enable-threads): the worker holds the GIL while it waits for a request."""
    return is_uwsgi(modules) and getattr(modules["uwsgi"], "has_threads", 1) == 0


def install_uwsgi_atexit(modules: Any, flush_all: Callable[[], None]) -> bool:
    """Under uWSGI, also run ``flush_all`` from ``uwsgi.atexit``, the hook uWSGI calls when a
    worker stops (before it tears the interpreter down), chaining any hook the app set.
    Idempotent."""
    if not is_uwsgi(modules):
        return False
    uwsgi = modules["uwsgi"]
    previous = getattr(uwsgi, "atexit", None)
    if getattr(previous, "wsgiscope_hook", False):
        return True

    def flush_then_previous() -> None:
        flush_all()
        if previous is not None:
            previous()

    flush_then_previous.wsgiscope_hook = True  # type: ignore[attr-defined]
    uwsgi.atexit = flush_then_previous
    return True

"""The gunicorn hook reads the worker object (no gunicorn process needed here)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import fixtureapps
import pytest

import wsgiscope
import wsgiscope.gunicorn as hook
from wsgiscope.asgi import AsgiMiddleware
from wsgiscope.middleware import Middleware


def worker(class_name: str, **cfg: Any) -> Any:
    settings = {"workers": 2, "threads": 1, "worker_connections": 1000, **cfg}
    cls = type(class_name, (), {})
    instance = cls()
    instance.cfg = SimpleNamespace(**settings)
    instance.wsgi = fixtureapps.hello
    return instance


@pytest.mark.parametrize(
    ("class_name", "cfg", "expected"),
    [
        ("SyncWorker", {}, ("sync", 1, True)),
        ("ThreadWorker", {"threads": 8}, ("gthread", 8, True)),
        ("GeventWorker", {"worker_connections": 500}, ("gevent", 500, False)),
        ("EventletWorker", {}, ("eventlet", 1000, False)),
        ("CustomWorker", {}, ("customworker", 1, True)),
    ],
)
def test_worker_class_and_capacity(class_name: str, cfg: dict[str, Any],
                                   expected: tuple[str, int, bool]) -> None:
    info = hook.server_info(worker(class_name, **cfg))
    assert (info.worker_class, info.capacity_threads, info.cpu_attributable) == expected
    assert (info.server, info.capacity_processes, info.capacity_source) == (
        "gunicorn", 2, "detected")


def test_instrument_wraps_the_worker_app() -> None:
    instance = worker("ThreadWorker", threads=4)
    hook.instrument(instance, collector_url="http://127.0.0.1:9", flush_interval_s=60)
    assert isinstance(instance.wsgi, Middleware)
    assert instance.wsgi.agent.resource is not None
    assert instance.wsgi.agent.resource["capacity_threads"] == 4
    instance.wsgi.agent.flusher.stop_event.set()


def test_instrument_never_raises_into_gunicorn() -> None:
    with pytest.warns(UserWarning, match="instrumentation disabled"):
        hook.instrument(object())


def test_instrument_adopts_an_app_already_wrapped_in_its_module() -> None:
    """wrap() in wsgi.py plus the hook: one middleware, the hook's capacity, counted once."""
    instance = worker("ThreadWorker", threads=4)
    wrapped = wsgiscope.wrap(fixtureapps.hello, collector_url="http://127.0.0.1:9",
                             flush_interval_s=60)
    instance.wsgi = wrapped
    hook.instrument(instance)
    assert instance.wsgi is wrapped
    assert isinstance(wrapped, Middleware) and wrapped.agent.resource is not None
    assert wrapped.agent.resource["capacity_threads"] == 4
    assert wrapped.agent.resource["worker_class"] == "gthread"
    wrapped.agent.flusher.stop_event.set()


def test_instrument_wraps_an_asgi_worker_app_as_asgi() -> None:
    """gunicorn -k uvicorn_worker.UvicornWorker -c python:wsgiscope.gunicorn: an ASGI app."""
    instance = worker("UvicornWorker")
    instance.config = SimpleNamespace(limit_concurrency=None)
    hook.instrument(instance, collector_url="http://127.0.0.1:9", flush_interval_s=60)
    assert isinstance(instance.wsgi, AsgiMiddleware)
    assert instance.wsgi.agent.resource is not None
    assert instance.wsgi.agent.resource["worker_class"] == "uvicorn"
    instance.wsgi.agent.flusher.stop_event.set()

"""Route templates from Flask's and Django's own route tables, called as a server would."""

from __future__ import annotations

from typing import Any

import pytest
from support import FakeClock, FakeTransport, call, make_agent, make_environ

import wsgiscope
from wsgiscope.frameworks import instrument_app
from wsgiscope.middleware import Middleware


def routes_of(app: Any, paths: list[str], **options: Any) -> list[Any]:
    transport = FakeTransport()
    agent = make_agent(FakeClock(), transport, **options)
    mw = wsgiscope.wrap(app, agent=agent)
    instrument_app(app)
    assert isinstance(mw, Middleware)
    for path in paths:
        call(mw, make_environ(PATH_INFO=path))
    assert agent.flush(1.0)
    return list(transport.bodies[-1]["requests"].get("route", [None] * len(paths)))


def flask_app() -> Any:
    flask = pytest.importorskip("flask")
    app = flask.Flask("routes")

    def item(item_id: int) -> str:
        return str(item_id)

    app.add_url_rule("/items/<int:item_id>", view_func=item)
    return app


def test_flask_url_rule_is_the_route() -> None:
    app = flask_app()
    assert routes_of(app, ["/items/7", "/nowhere"]) == ["/items/<int:item_id>", None]


def test_flask_wsgi_app_method_wrapped_is_hooked_too() -> None:
    app = flask_app()
    assert instrument_app(app.wsgi_app)
    assert instrument_app(app)  # idempotent: one hook
    hooks = [f for f in app.before_request_funcs[None] if getattr(f, "wsgiscope_hook", False)]
    assert len(hooks) == 1


def test_routes_off_sends_none() -> None:
    assert routes_of(flask_app(), ["/items/7"], routes=False) == [None]


def test_django_resolved_route_is_the_route() -> None:
    pytest.importorskip("django")
    from django.conf import settings  # noqa: PLC0415 - configured once, only here

    if not settings.configured:
        settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], MIDDLEWARE=[],
                           INSTALLED_APPS=[], SECRET_KEY="test")
    import django  # noqa: PLC0415
    from django.core.wsgi import get_wsgi_application  # noqa: PLC0415

    django.setup()
    assert routes_of(get_wsgi_application(), ["/items/3", "/nowhere"]) == [
        "/items/<int:item_id>", None]


def _item(request: Any, item_id: int) -> Any:
    from django.http import HttpResponse  # noqa: PLC0415

    return HttpResponse(str(item_id))


def __getattr__(name: str) -> Any:  # Django reads urlpatterns from this module lazily
    if name == "urlpatterns":
        from django.urls import path  # noqa: PLC0415

        return [path("items/<int:item_id>", _item)]
    raise AttributeError(name)


def test_other_apps_are_left_alone() -> None:
    assert not instrument_app(lambda environ, start_response: [])

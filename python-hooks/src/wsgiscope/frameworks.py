"""Route templates from the framework's own route table, with the user's set-up still one line.

``wrap()`` of a framework's app hooks the app once, so each request's route template goes into
its environ (``wsgiscope.framework_route``), where the middleware reads it when the request
ends (by then the framework has dropped its request object):

- Django (a ``WSGIHandler``): its ``resolve_request``, after Django resolved the URL: the
  route pattern (``ResolverMatch.route``, e.g. ``items/<int:id>``, with a leading ``/``);
- Flask (the app, or its ``wsgi_app`` method): a ``before_request`` function reading
  ``request.url_rule`` (matched when the request context was pushed), e.g. ``/items/<int:id>``.

Routes from a framework's table are bounded by the app's URL patterns, so they are on by
default. A request that matched no route (a 404) has none.
"""

from __future__ import annotations

import sys
from typing import Any

FRAMEWORK_ROUTE = "wsgiscope.framework_route"  # environ key read by the middleware


def instrument_app(app: Any) -> bool:
    """Hook a Django or Flask app so each request's route template reaches the environ.
    True when ``app`` was one; idempotent; never raises."""
    return _instrument_django(app) or _instrument_flask(app)


def _instrument_flask(app: Any) -> bool:
    try:
        flask_class = getattr(sys.modules.get("flask.app"), "Flask", None)
        target = getattr(app, "__self__", app)  # app.wsgi_app = wrap(app.wsgi_app)
        if flask_class is None or not isinstance(target, flask_class):
            return False
        funcs = target.before_request_funcs.setdefault(None, [])
        if any(getattr(f, "wsgiscope_hook", False) for f in funcs):
            return True
        request = sys.modules["flask"].request

        def route_from_url_rule() -> None:
            try:
                rule = request.url_rule
                if rule is not None:
                    request.environ[FRAMEWORK_ROUTE] = rule.rule
            except Exception:
                pass

        route_from_url_rule.wsgiscope_hook = True  # type: ignore[attr-defined]
        funcs.append(route_from_url_rule)
        return True
    except Exception:
        return False


def _instrument_django(app: Any) -> bool:
    try:
        handlers = sys.modules.get("django.core.handlers.wsgi")
        handler_class = getattr(handlers, "WSGIHandler", None)
        if handler_class is None or not isinstance(app, handler_class):
            return False
        if getattr(app.resolve_request, "wsgiscope_hook", False):
            return True
        resolve = app.resolve_request

        def resolve_request(request: Any) -> Any:
            match = resolve(request)
            try:
                route = match.route
                if isinstance(route, str):
                    request.environ[FRAMEWORK_ROUTE] = route if route.startswith(
                        ("/", "^")) else "/" + route
            except Exception:
                pass
            return match

        resolve_request.wsgiscope_hook = True  # type: ignore[attr-defined]
        app.resolve_request = resolve_request
        return True
    except Exception:
        return False

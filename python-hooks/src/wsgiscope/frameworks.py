"""Route templates from the framework's own route table, with the user's set-up still one line.

Flask needs nothing: werkzeug keeps the request in ``environ['werkzeug.request']`` and Flask sets
its ``url_rule`` (read by :func:`wsgiscope.middleware.framework_route` after the request).
Django's request is not in the environ, so ``wrap()`` of a Django ``WSGIHandler`` hooks that
handler's ``resolve_request``: after Django resolved the URL, the route pattern
(``ResolverMatch.route``, e.g. ``items/<int:id>``) goes into the environ. Routes from a
framework's table are bounded by the app's URL patterns, so they are on by default.
"""

from __future__ import annotations

import sys
from typing import Any

FRAMEWORK_ROUTE = "wsgiscope.framework_route"  # environ key read by the middleware


def instrument_app(app: Any) -> bool:
    """Hook a Django ``WSGIHandler`` so each request's resolved route reaches the environ.
    True when ``app`` was one; idempotent; never raises."""
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

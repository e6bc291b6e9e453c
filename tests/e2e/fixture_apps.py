"""Tiny apps for launcher tests (``--app tests.e2e.fixture_apps:hello``)."""

from __future__ import annotations

from typing import Any, Callable, Iterable


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return [b"fixed\n"]

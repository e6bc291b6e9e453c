"""The ASGI example app in the wsgiscope ASGI middleware (configured by WSGISCOPE_* variables)."""

from __future__ import annotations

from wsgiscope.asgi import wrap

from examples.app.asgi import application as plain_application

application = wrap(plain_application)

"""The example app wrapped in the wsgiscope shim (configured by WSGISCOPE_* environment variables)."""

from __future__ import annotations

import wsgiscope

from examples.app.wsgi import application as plain_application

application = wsgiscope.wrap(plain_application)

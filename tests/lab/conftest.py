"""The e2e fixtures (real collector, servers through launch.py, always torn down), reused here."""

from __future__ import annotations

from tests.e2e.conftest import collector, start_collector, start_server  # noqa: F401

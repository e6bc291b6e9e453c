"""The e2e fixtures (a real collector, always torn down), reused here."""

from __future__ import annotations

from tests.e2e.conftest import collector, start_collector  # noqa: F401

"""The e2e fixtures (a real collector, always torn down), reused here."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # tests.e2e

from tests.e2e.conftest import collector, start_collector  # noqa: E402,F401

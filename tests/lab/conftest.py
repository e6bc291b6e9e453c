"""The e2e fixtures (real collector, servers through launch.py, always torn down), reused here."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # tests.e2e, examples.lab, examples.servers

from tests.e2e.conftest import collector, start_collector, start_server  # noqa: E402,F401

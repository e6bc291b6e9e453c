"""The collector command the README gives, `npx wsgiscope-collector`, works from the checkout."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx is not installed")
def test_npx_wsgiscope_collector_prints_its_usage() -> None:
    done = subprocess.run(
        ["npx", "--no-install", "wsgiscope-collector", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("Usage: wsgiscope-collector")
    assert re.search(r"--port VALUE .*\(default 9464\)", done.stdout)

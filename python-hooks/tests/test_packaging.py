"""The shim has no runtime dependency: its built metadata has no Requires-Dist."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_built_wheel_declares_no_runtime_dependencies(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False)
    if build.returncode != 0:
        pytest.fail(f"could not build the wheel: {build.stderr[-2000:]}")
    (wheel,) = tmp_path.glob("wsgiscope-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
        assert "wsgiscope/py.typed" in archive.namelist()
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    assert all("extra ==" in line for line in requires), requires

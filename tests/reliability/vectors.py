"""The shared protocol vectors (packages/protocol/vectors/valid), as fresh copies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List

VECTORS = Path(__file__).resolve().parents[2] / "packages" / "protocol" / "vectors"
_VALID: Dict[str, Any] = {p.stem: json.loads(p.read_text()) for p in sorted((VECTORS / "valid").glob("*.json"))}
# every protocol version the collector accepts, by number (a batch is valid against its own)
SCHEMAS: Dict[int, Any] = {
    version: json.loads((VECTORS.parent / "schema" / f"batch.v{version}.schema.json").read_text())
    for version in (1, 2)
}


def valid_names() -> List[str]:
    return list(_VALID)


def valid(name: str, *, worker: str = "", seq: int = 0, service_name: str = "") -> Any:
    """A copy of a valid vector, optionally as another worker / seq / service."""
    batch = copy.deepcopy(_VALID[name])
    if worker:
        batch["resource"]["worker"] = worker
    if service_name:
        batch["resource"]["service_name"] = service_name
    batch["seq"] = seq
    return batch


def records(batch: Any) -> int:
    return len(batch["requests"]["status"])

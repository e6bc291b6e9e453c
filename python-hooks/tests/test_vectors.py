"""The shim's batches match the committed shared vectors and validate against the schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import vectors
from support import SCHEMA_PATH, validate_batch


@pytest.mark.parametrize(("name", "batch"), sorted(vectors.scenarios().items()))
def test_scenario_reproduces_committed_vector(name: str, batch: dict[str, Any]) -> None:
    path = vectors.VECTORS / f"{name}.json"
    assert path.exists(), f"run: python tests/vectors.py --write  ({path} missing)"
    assert vectors.render(batch) == path.read_text()
    validate_batch(batch)


@pytest.mark.parametrize("path", sorted(vectors.VECTORS.glob("*.json")), ids=lambda p: p.name)
def test_every_valid_vector_validates(path: Path) -> None:
    assert SCHEMA_PATH.exists()
    validate_batch(json.loads(path.read_text()))

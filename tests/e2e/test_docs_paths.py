"""Every path docs/architecture.md and the README's Development tree name exists in the tree.

docs/architecture.md: every inline code span that is a relative path (``python-hooks/src/...``,
``collector/src/workers/``) and every relative link. README.md: the left column of the
Development tree, every path named on its lines, and every relative link. Fenced blocks of
docs/architecture.md (the drawing) are not read: their folder names are relative to the
collector.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_PATH = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.\-/]*/[A-Za-z0-9_.\-/]*")
_TREE_WORD = re.compile(r"[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-/]*")


def _link_targets(markdown: str) -> list[str]:
    """Relative link targets, without their #anchor (URLs and in-page anchors skipped)."""
    targets = []
    for target in _LINK.findall(markdown):
        path = target.split("#", 1)[0]
        if path and "://" not in path and not path.startswith("mailto:"):
            targets.append(path)
    return targets


def architecture_paths(markdown: str) -> list[str]:
    """Repository paths named in code spans outside fenced blocks, and link targets (relative
    to docs/, returned relative to the repository root)."""
    prose = _FENCE.sub("", markdown)
    paths = [span for span in _CODE_SPAN.findall(prose) if _PATH.fullmatch(span)]
    paths += [str(Path("docs", target)) for target in _link_targets(prose)]
    return paths


def readme_tree_paths(markdown: str) -> list[str]:
    """The Development tree's paths (its left column and any path on its lines), and the
    README's relative links."""
    section = markdown[markdown.index("## Development"):]
    block = section[section.index("```\n") + 4:]
    block = block[:block.index("```")]
    paths: list[str] = []
    for line in block.splitlines():
        if line and not line[0].isspace():
            paths.append(line.split()[0])  # the left column: always a path
        top_level = {p.name for p in REPO_ROOT.iterdir()}
        for word in _TREE_WORD.findall(line):
            if word.split("/", 1)[0] in top_level and word not in paths:
                paths.append(word)
    return paths + _link_targets(markdown)


def missing(paths: list[str], root: Path = REPO_ROOT) -> list[str]:
    """The paths that do not exist under ``root`` (a trailing / must be a folder)."""
    gone = []
    for path in paths:
        target = (root / path.rstrip("/")).resolve()
        exists = target.is_dir() if path.endswith("/") else target.exists()
        if not exists or root.resolve() not in (target, *target.parents):
            gone.append(path)
    return gone


ARCHITECTURE = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_architecture_names_the_places_the_issue_asks_about() -> None:
    named = set(architecture_paths(ARCHITECTURE))
    for path in (
        "python-hooks/src/wsgiscope/queue_time.py", "python-hooks/src/wsgiscope/batch.py",
        "collector/src/export/requestFamilies.ts", "collector/src/aggregate/buckets.ts",
        "python-hooks/src/wsgiscope/detect.py", "packages/protocol/src/decode.ts",
        "collector/src/workers/registry.ts", "python-hooks/src/wsgiscope/transport.py",
        "python-hooks/src/wsgiscope/flusher.py", "python-hooks/src/wsgiscope/agent.py",
        "python-hooks/src/wsgiscope/uwsgi.py",
    ):
        assert path in named, path
    assert len(named) > 60


def test_every_path_docs_architecture_names_exists() -> None:
    assert missing(architecture_paths(ARCHITECTURE)) == []


def test_every_path_in_the_readme_development_tree_exists() -> None:
    paths = readme_tree_paths(README)
    assert "collector/src/live/" in paths and "examples/lab/" in paths
    assert missing(paths) == []


@pytest.mark.parametrize(
    ("markdown", "bad"),
    [
        ("the record lives in `python-hooks/src/wsgiscope/recrod.py`.", "python-hooks/src/wsgiscope/recrod.py"),
        ("see [the page](nowhere.md#top)", "docs/nowhere.md"),
        ("a folder: `collector/src/nothing/`", "collector/src/nothing/"),
        ("a file named as a folder: `README.md/`", "README.md/"),
        ("outside the tree: `../../etc/passwd`", "../../etc/passwd"),
    ],
)
def test_a_missing_path_is_reported(markdown: str, bad: str) -> None:
    assert missing(architecture_paths(markdown)) == [bad]


def test_a_missing_tree_entry_is_reported() -> None:
    readme = "## Development\n\n```\ncolector/src/live/   the live page\nbench/  x\n```\n"
    assert missing(readme_tree_paths(readme)) == ["colector/src/live/"]


def test_drawings_routes_and_urls_are_not_paths() -> None:
    markdown = ("```\n ingest/   express route\n```\n`POST /v1/batches`, `/items/<int:id>`, "
                "[site](https://example.com/a/b), `host:pid`")
    assert architecture_paths(markdown) == []

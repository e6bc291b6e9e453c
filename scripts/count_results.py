"""Count passed/failed/skipped tests from a pytest JUnit XML file or a jest --json file.

    python3 scripts/count_results.py junit results.xml   ->  "PASSED FAILED SKIPPED"
    python3 scripts/count_results.py jest results.json

A missing or unreadable file prints "0 0 0" and exits 2, so the caller can count the run as failed.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from typing import List, Tuple


def count_junit(path: str) -> Tuple[int, int, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def count_jest(path: str) -> Tuple[int, int, int]:
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    failed = int(report.get("numFailedTests", 0))
    # A test file that cannot even load counts as one failure: it has no test results.
    failed += sum(
        1 for result in report.get("testResults", [])
        if result.get("status") == "failed" and not result.get("assertionResults")
    )
    skipped = int(report.get("numPendingTests", 0)) + int(report.get("numTodoTests", 0))
    return int(report.get("numPassedTests", 0)), failed, skipped


def main(argv: List[str]) -> int:
    kind, path = argv[0], argv[1]
    try:
        passed, failed, skipped = count_junit(path) if kind == "junit" else count_jest(path)
    except (OSError, ValueError, ET.ParseError):
        print("0 0 0")
        return 2
    print(f"{passed} {failed} {skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

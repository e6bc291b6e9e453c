#!/usr/bin/env bash
# The one gate (`npm test`): bootstrap, then every suite in order, continuing after failures.
# Prints a table of passed/failed per suite and ends with the line "N passed, N failed".
# Exit status: 0 only when nothing failed. Logs and reports go to test-results/.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
OUT="$ROOT/test-results"
mkdir -p "$OUT"
VENV="$ROOT/.venv"
SUITE_TIMEOUT="${WSGISCOPE_SUITE_TIMEOUT:-1500}"   # seconds per suite: CI must stay bounded

ROWS=()
TOTAL_PASSED=0
TOTAL_FAILED=0

# record NAME PASSED FAILED SKIPPED SECONDS
record() {
  ROWS+=("$(printf '%-22s %7s %7s %8s %6ss' "$1" "$2" "$3" "$4" "$5")")
  TOTAL_PASSED=$((TOTAL_PASSED + $2))
  TOTAL_FAILED=$((TOTAL_FAILED + $3))
}

banner() { printf '\n===== %s =====\n' "$1"; }

# check NAME CMD...: a pass/fail step (lint, type check) counted as one test.
check() {
  local name="$1" start=$SECONDS
  shift
  banner "$name"
  if timeout "$SUITE_TIMEOUT" "$@"; then
    record "$name" 1 0 0 $((SECONDS - start))
  else
    echo "test.sh: $name failed" >&2
    record "$name" 0 1 0 $((SECONDS - start))
  fi
}

# pytest_suite NAME DIR [ARGS...]: counts from JUnit XML; exit 5 (no tests collected) is not a failure.
pytest_suite() {
  local name="$1" dir="$2" start=$SECONDS xml="$OUT/$1.xml" rc counts
  shift 2
  banner "$name"
  if [ ! -d "$dir" ]; then
    echo "test.sh: $dir does not exist; counting $name as failed" >&2
    record "$name" 0 1 0 0
    return
  fi
  rm -f "$xml"
  timeout "$SUITE_TIMEOUT" "$VENV/bin/python" -m pytest "$dir" -q -rs --junitxml="$xml" "$@"
  rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "test.sh: $name collected no tests"
    record "$name" 0 0 0 $((SECONDS - start))
    return
  fi
  counts="$(python3 scripts/count_results.py junit "$xml")" || counts="0 0 0"
  read -r p f s <<<"$counts"
  # pytest failed without reporting a failed test (collection error, crash, timeout): count one.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  record "$name" "$p" "$f" "$s" $((SECONDS - start))
}

# jest_suite NAME DIR: one jest run in a workspace, counted from its --json report.
jest_suite() {
  local name="$1" dir="$2" start=$SECONDS json="$OUT/$1.json" rc counts
  banner "$name"
  rm -f "$json"
  (cd "$dir" && timeout "$SUITE_TIMEOUT" npx --no-install jest --ci --passWithNoTests --json --outputFile="$json")
  rc=$?
  counts="$(python3 scripts/count_results.py jest "$json")" || counts="0 0 0"
  read -r p f s <<<"$counts"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  record "$name" "$p" "$f" "$s" $((SECONDS - start))
}

check bootstrap bash scripts/bootstrap.sh

check eslint npx --no-install eslint .

TS_PROJECTS=()
for dir in packages/protocol packages/dashboards collector; do
  [ -f "$dir/tsconfig.json" ] && TS_PROJECTS+=("$dir")
done
if [ ${#TS_PROJECTS[@]} -gt 0 ]; then
  check typecheck npm run --silent typecheck   # sources and test files of every workspace
else
  echo "test.sh: no TypeScript project found; counting typecheck as failed" >&2
  record typecheck 0 1 0 0
fi

for ws in packages/* collector; do
  if [ -f "$ws/package.json" ] && grep -q '"jest"' "$ws/package.json"; then
    jest_suite "jest:$(basename "$ws")" "$ws"
  fi
done

check ruff "$VENV/bin/ruff" check python-hooks examples tests scripts bench
if [ -d python-hooks/src ]; then
  check mypy:shim bash -c "cd python-hooks && '$VENV/bin/mypy'"   # its pyproject.toml: src and tests, strict
else
  echo "test.sh: python-hooks/src does not exist; counting mypy:shim as failed" >&2
  record mypy:shim 0 1 0 0
fi
check mypy:examples-tests "$VENV/bin/mypy"   # mypy.ini: examples, tests, bench

pytest_suite pytest:python-hooks python-hooks/tests
# Every other real-process suite under tests/ (servers, prometheus, ...), then the end-to-end one.
for dir in tests/*/; do
  dir="${dir%/}"
  [ "$dir" = tests/e2e ] && continue
  ls "$dir"/test_*.py >/dev/null 2>&1 && pytest_suite "pytest:$(basename "$dir")" "$dir"
done
pytest_suite pytest:e2e tests/e2e

echo
printf '%-22s %7s %7s %8s %7s\n' suite passed failed skipped time
for row in "${ROWS[@]}"; do echo "$row"; done
echo
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]

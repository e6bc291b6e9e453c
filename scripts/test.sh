#!/usr/bin/env bash
# The one gate (`npm test`): bootstrap, then every suite in order, continuing after failures.
# Prints a table of passed/failed per suite and ends with the line "N passed, N failed".
# Exit status: 0 only when nothing failed. Logs and reports go to test-results/.
#
#   bash scripts/test.sh                      every suite (what CI runs)
#   bash scripts/test.sh SUITE|PATH...        bootstrap, then only these, in the order given
#   bash scripts/test.sh --list               the suite names
#
# A SUITE is a name from the table (eslint, jest:collector, pytest:servers, ...). A PATH runs
# pytest on it (tests/servers/test_matrix.py, python-hooks/tests/test_agent.py::test_x), or jest
# in its workspace when it is a .ts file under packages/* or collector. Extra pytest arguments
# go in PYTEST_ADDOPTS (e.g. PYTEST_ADDOPTS="-k granian").
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
OUT="$ROOT/test-results"
VENV="$ROOT/.venv"
SUITE_TIMEOUT="${WSGISCOPE_SUITE_TIMEOUT:-1500}"   # seconds per suite: CI must stay bounded

# ---- the suites, in gate order ----------------------------------------------------------------
SUITES=(bootstrap eslint typecheck)
declare -A JEST_DIR=() PYTEST_DIR=()
for ws in packages/* collector; do
  if [ -f "$ws/package.json" ] && grep -q '"jest"' "$ws/package.json"; then
    SUITES+=("jest:$(basename "$ws")")
    JEST_DIR["jest:$(basename "$ws")"]="$ws"
  fi
done
SUITES+=(ruff mypy:shim mypy:examples-tests pytest:python-hooks)
PYTEST_DIR[pytest:python-hooks]=python-hooks/tests
# Every other real-process suite under tests/ (servers, prometheus, ...), then the end-to-end one.
for dir in tests/*/; do
  dir="${dir%/}"
  [ "$dir" = tests/e2e ] && continue
  if ls "$dir"/test_*.py >/dev/null 2>&1; then
    SUITES+=("pytest:$(basename "$dir")")
    PYTEST_DIR["pytest:$(basename "$dir")"]="$dir"
  fi
done
SUITES+=(pytest:e2e)
PYTEST_DIR[pytest:e2e]=tests/e2e

is_suite() {
  local s
  for s in "${SUITES[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

# jest_workspace PATH: the jest workspace a .ts test path belongs to (empty when none).
jest_workspace() {
  local ws
  case "$1" in *.ts) ;; *) return 0 ;; esac
  for ws in "${JEST_DIR[@]}"; do
    case "$1" in "$ws"/*) echo "$ws"; return 0 ;; esac
  done
}

if [ "${1:-}" = --list ]; then
  printf '%s\n' "${SUITES[@]}"
  exit 0
fi
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,13s/^# \{0,1\}//p' "$0"
  exit 0
fi
for arg in "$@"; do
  is_suite "$arg" && continue
  [ -e "${arg%%::*}" ] && continue
  echo "test.sh: unknown suite '$arg'; the known suites are: ${SUITES[*]} (or a test path such as tests/servers or collector/test/config.test.ts)" >&2
  exit 2
done

mkdir -p "$OUT"
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

# report_file NAME EXT: where a suite's report goes (a path argument's slashes and colons made safe).
report_file() { echo "$OUT/$(echo "$1" | tr '/' '_').$2"; }

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

# pytest_suite NAME TARGET [ARGS...]: counts from JUnit XML; exit 5 (no tests collected) is not a failure.
pytest_suite() {
  local name="$1" target="$2" start=$SECONDS xml rc counts
  xml="$(report_file "$1" xml)"
  shift 2
  banner "$name"
  if [ ! -e "${target%%::*}" ]; then
    echo "test.sh: $target does not exist; counting $name as failed" >&2
    record "$name" 0 1 0 0
    return
  fi
  rm -f "$xml"
  timeout "$SUITE_TIMEOUT" "$VENV/bin/python" -m pytest "$target" -q -rs --junitxml="$xml" "$@"
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

# jest_suite NAME DIR [PATH]: one jest run in a workspace (or one test file of it), counted from
# its --json report.
jest_suite() {
  local name="$1" dir="$2" start=$SECONDS json rc counts
  local paths=()
  json="$(report_file "$1" json)"
  [ $# -ge 3 ] && paths=("$ROOT/$3")
  banner "$name"
  rm -f "$json"
  (cd "$dir" && timeout "$SUITE_TIMEOUT" npx --no-install jest --ci --passWithNoTests --json --outputFile="$json" "${paths[@]}")
  rc=$?
  counts="$(python3 scripts/count_results.py jest "$json")" || counts="0 0 0"
  read -r p f s <<<"$counts"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  record "$name" "$p" "$f" "$s" $((SECONDS - start))
}

# run_suite NAME|PATH
run_suite() {
  local ws
  case "$1" in
    bootstrap) check bootstrap bash scripts/bootstrap.sh ;;
    eslint) check eslint npx --no-install eslint . ;;
    typecheck)
      if [ -f packages/protocol/tsconfig.json ] || [ -f packages/dashboards/tsconfig.json ] || [ -f collector/tsconfig.json ]; then
        check typecheck npm run --silent typecheck   # sources and test files of every workspace
      else
        echo "test.sh: no TypeScript project found; counting typecheck as failed" >&2
        record typecheck 0 1 0 0
      fi ;;
    ruff) check ruff "$VENV/bin/ruff" check python-hooks examples tests scripts bench harness ;;
    mypy:shim)
      if [ -d python-hooks/src ]; then
        check mypy:shim bash -c "cd python-hooks && '$VENV/bin/mypy'"   # its pyproject.toml: src and tests, strict
      else
        echo "test.sh: python-hooks/src does not exist; counting mypy:shim as failed" >&2
        record mypy:shim 0 1 0 0
      fi ;;
    mypy:examples-tests) check mypy:examples-tests "$VENV/bin/mypy" ;;   # mypy.ini: examples, tests, bench
    jest:*) jest_suite "$1" "${JEST_DIR[$1]}" ;;
    pytest:*) pytest_suite "$1" "${PYTEST_DIR[$1]}" ;;
    *)
      ws="$(jest_workspace "$1")"
      if [ -n "$ws" ]; then
        jest_suite "jest:$1" "$ws" "$1"
      else
        pytest_suite "pytest:$1" "$1"
      fi ;;
  esac
}

if [ $# -eq 0 ]; then
  for suite in "${SUITES[@]}"; do run_suite "$suite"; done
else
  # The chosen suites need a ready tree (node_modules, the build, .venv): bootstrap first, a
  # second or two when nothing changed.
  run_suite bootstrap
  for arg in "$@"; do
    [ "$arg" = bootstrap ] || run_suite "$arg"
  done
fi

echo
printf '%-22s %7s %7s %8s %7s\n' suite passed failed skipped time
for row in "${ROWS[@]}"; do echo "$row"; done
echo
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]

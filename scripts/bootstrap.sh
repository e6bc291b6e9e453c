#!/usr/bin/env bash
# Make the checkout ready to test: node_modules, the TypeScript build, and .venv with the shim
# and every server/tool the tests use. Idempotent and quiet on success; on failure it says
# which step failed, shows the end of that step's log, and exits non-zero.
# It tolerates a partial tree (packages not written yet are skipped, not errors).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
LOG_DIR="${WSGISCOPE_BOOTSTRAP_LOGS:-$ROOT/test-results/bootstrap}"
mkdir -p "$LOG_DIR"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
failed=0

# run STEP_NAME SENTENCE CMD...: runs CMD with its output in a log; loud only when it fails.
run() {
  local name="$1" sentence="$2"
  shift 2
  if ! "$@" >"$LOG_DIR/$name.log" 2>&1; then
    echo "bootstrap: $sentence (step '$name' failed; last lines of $LOG_DIR/$name.log follow)" >&2
    tail -n 25 "$LOG_DIR/$name.log" >&2
    failed=1
    return 1
  fi
}

# fingerprint FILES...: one hash of whichever of FILES exist (their paths and contents).
fingerprint() {
  local f
  for f in "$@"; do
    [ -f "$f" ] && { echo "$f"; cat "$f"; }
  done | sha256sum | cut -d' ' -f1
}

# node_modules is fresh when npm's own record of it is newer than every manifest and the lock.
node_modules_fresh() {
  local record="node_modules/.package-lock.json" f
  [ -f "$record" ] || return 1
  for f in package.json package-lock.json packages/*/package.json collector/package.json; do
    [ -f "$f" ] && [ "$f" -nt "$record" ] && return 1
  done
  return 0
}

# The committed package-lock.json is the truth: bootstrap installs exactly it and never writes it
# (a fresh clone stays clean after `npm test`). When the lock does not match package.json it stops
# and says how to fix it, rather than installing something else.
LOCK_FIX="run \`npm install\` to update package-lock.json, review and commit it, then re-run scripts/bootstrap.sh"

# run_npm STEP SENTENCE CMD...: run for npm; when npm refuses because the lock does not match
# package.json, it shows npm's own "Missing:/Invalid:" lines (the end of that log is usage text).
run_npm() {
  local name="$1" sentence="$2"
  shift 2
  if ! "$@" >"$LOG_DIR/$name.log" 2>&1; then
    failed=1
    if grep -q "in sync" "$LOG_DIR/$name.log"; then
      echo "bootstrap: package-lock.json does not match package.json (step '$name' failed); $LOCK_FIX. npm says:" >&2
      grep -E "Missing:|Invalid:" "$LOG_DIR/$name.log" | head -n 8 >&2
    else
      echo "bootstrap: $sentence (step '$name' failed; last lines of $LOG_DIR/$name.log follow)" >&2
      tail -n 25 "$LOG_DIR/$name.log" >&2
    fi
    return 1
  fi
}

node_deps() {
  # Under `npm test --silent` npm exports npm_config_loglevel=silent to us; the explicit
  # --loglevel below keeps nested npm errors in the logs.
  node_modules_fresh && return 0
  if [ ! -f package-lock.json ]; then
    echo "bootstrap: package-lock.json is missing (step 'npm-ci'); $LOCK_FIX" >&2
    failed=1
    return 1
  fi
  local before
  before="$(fingerprint package-lock.json)"
  if [ -d node_modules ]; then
    # Incremental and non-destructive (someone may be using node_modules right now, and npm ci
    # would delete it first). `npm ci --dry-run` changes nothing but fails when the lock does
    # not match package.json; `npm install --no-save` then installs the locked tree and never
    # writes package-lock.json.
    run_npm npm-lock-check "npm ci --dry-run could not check package-lock.json" \
      npm ci --dry-run --no-audit --no-fund --loglevel=warn || return 1
    run_npm npm-install "npm install --no-save could not install the locked node dependencies" \
      npm install --no-save --no-audit --no-fund --loglevel=warn || return 1
  else
    run_npm npm-ci "npm ci could not install the locked node dependencies" \
      npm ci --no-audit --no-fund --loglevel=warn || return 1
  fi
  if [ "$(fingerprint package-lock.json)" != "$before" ]; then
    echo "bootstrap: npm rewrote package-lock.json (step 'npm-install'), which bootstrap must never do: restore it with \`git checkout package-lock.json\` and report it with npm's version ($(npm --version))" >&2
    failed=1
    return 1
  fi
}

node_build() {
  local projects=() dir
  for dir in packages/protocol packages/dashboards collector; do
    [ -f "$dir/tsconfig.json" ] && projects+=("$dir")
  done
  [ ${#projects[@]} -eq 0 ] && return 0
  run build "the TypeScript build (tsc -b ${projects[*]}) failed" npx --no-install tsc -b "${projects[@]}" \
    || return 1
  # npm links a workspace's bin at install time, before dist/cli.js exists, so on a fresh clone
  # `npx wsgiscope-collector` would find nothing: link it now that the file is built.
  if [ -f collector/dist/cli.js ] && [ ! -e node_modules/.bin/wsgiscope-collector ]; then
    chmod +x collector/dist/cli.js
    run bin-link "linking the wsgiscope-collector command failed" \
      npm rebuild @wsgiscope/collector --loglevel=warn
  fi
}

python_venv() {
  local stamp="$VENV/.wsgiscope-bootstrap" want
  want="$(fingerprint requirements-dev.txt python-hooks/pyproject.toml requirements-servers.txt scripts/install-servers.sh)"
  if [ ! -x "$VENV/bin/python" ]; then
    run venv "could not create $VENV (is python3-venv installed?)" "$PYTHON" -m venv "$VENV" || return 1
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  run pip-upgrade "could not upgrade pip in $VENV" "$VENV/bin/python" -m pip install --quiet --upgrade pip || return 1
  local args=(-r requirements-dev.txt)
  if [ -f python-hooks/pyproject.toml ]; then
    args+=(-e "./python-hooks[dev]")
  fi
  run pip-install "pip could not install the shim and requirements-dev.txt into $VENV" \
    "$VENV/bin/python" -m pip install --quiet "${args[@]}" || return 1
  # The native servers (uWSGI, mod_wsgi, bjoern, meinheld): each one that cannot build here is
  # reported by the script and its tests skip with the reason; only an unusable venv fails.
  if [ -f scripts/install-servers.sh ]; then
    run install-servers "scripts/install-servers.sh could not use $VENV" bash scripts/install-servers.sh "$VENV" || return 1
  fi
  echo "$want" >"$stamp"
}

# Optional: the real OpenTelemetry Collector that tests/otlp exports to, built once from the pinned
# modules into ~/.cache/wsgiscope (keyed by version; a no-op when present). Without Go, or when the
# build fails, bootstrap says why and goes on: those tests skip with the same reason.
otelcol() {
  [ -f scripts/build-otelcol.sh ] || return 0
  if ! timeout 1800 bash scripts/build-otelcol.sh >"$LOG_DIR/otelcol.log" 2>&1; then
    echo "bootstrap: note: the OpenTelemetry Collector for tests/otlp was not built (optional, its tests skip): $(grep -m1 'build-otelcol:' "$LOG_DIR/otelcol.log" || tail -n 1 "$LOG_DIR/otelcol.log")" >&2
  fi
}

node_deps && node_build
python_venv
otelcol
if [ "$failed" -ne 0 ]; then
  echo "bootstrap: FAILED — fix the step above and re-run scripts/bootstrap.sh" >&2
  exit 1
fi
exit 0

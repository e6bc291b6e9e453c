#!/usr/bin/env bash
# `npm run demo`: the collector, the example app under gunicorn gthread (2 workers x 4 threads)
# with the shim, and a short bounded load; then the URLs and a few key metric lines.
# Runs until Ctrl-C, then stops every child it started.
#
#   scripts/demo.sh                 run until Ctrl-C
#   scripts/demo.sh --once          exit after the load (non-interactive; what the e2e test runs)
#   DEMO_DURATION=N                 load for N seconds (default 20), then exit
#   DEMO_COLLECTOR_PORT=P           collector port (default 9464, or the next free one; 0 = any)
#   DEMO_METRICS_FILE=F             where to save /metrics after the load (default test-results/demo-metrics.txt)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
PY="$ROOT/.venv/bin/python"
ONCE=0
[ "${1:-}" = "--once" ] && ONCE=1
[ -n "${DEMO_DURATION:-}" ] && ONCE=1
DURATION="${DEMO_DURATION:-20}"
WANT_PORT="${DEMO_COLLECTOR_PORT:-9464}"
METRICS_FILE="${DEMO_METRICS_FILE:-$ROOT/test-results/demo-metrics.txt}"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/wsgiscope-demo.XXXXXX")"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

die() {
  echo "demo: $1" >&2
  [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 20 "$2" >&2
  exit 1
}

port_is_free() {
  "$PY" -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; fail after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

bash scripts/bootstrap.sh || die "bootstrap failed (see above)"

port="$WANT_PORT"
if [ "$port" != 0 ]; then
  while ! port_is_free "$port"; do
    port=$((port + 1))
    [ "$port" -gt $((WANT_PORT + 100)) ] && die "no free port in $WANT_PORT..$((WANT_PORT + 100))"
  done
  [ "$port" != "$WANT_PORT" ] && echo "demo: port $WANT_PORT is busy; the collector uses $port instead"
fi

node collector/dist/cli.js --host 127.0.0.1 --port "$port" >"$LOGS/collector.log" 2>&1 &
PIDS+=($!)
listening() { grep -q "wsgiscope-collector listening on" "$LOGS/collector.log"; }
wait_until 20 listening || die "the collector did not start within 20 s" "$LOGS/collector.log"
COLLECTOR_URL="$(grep -o 'http://[^ ]*' "$LOGS/collector.log" | head -n 1)"

APP_PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
WSGISCOPE_COLLECTOR_URL="$COLLECTOR_URL" WSGISCOPE_SERVICE_NAME=demo WSGISCOPE_FLUSH_INTERVAL=0.5 \
  "$PY" -m examples.servers.launch gunicorn_gthread --port "$APP_PORT" --workers 2 --threads 4 \
  >"$LOGS/server.log" 2>&1 &
PIDS+=($!)
app_up() { ! port_is_free "$APP_PORT"; }
wait_until 30 app_up || die "gunicorn did not start within 30 s" "$LOGS/server.log"
APP_URL="http://127.0.0.1:$APP_PORT"

cat <<EOT

wsgiscope demo
  live page   $COLLECTOR_URL/
  metrics     $COLLECTOR_URL/metrics
  app         $APP_URL/  (gunicorn gthread, 2 workers x 4 threads, with the shim)
  logs        $LOGS

demo: ${DURATION} s of mixed load (hello, cpu, sleep, mixed, upload, download, backend, error)...
EOT
"$PY" -m wsgiscope_harness.load --url "$APP_URL" --concurrency 8 --duration "$DURATION" --requests 20000 \
  || die "the load driver failed"

# Requests reach the collector on the shim's next flush: wait for them rather than guess.
has_requests() {
  "$PY" - "$COLLECTOR_URL" "$METRICS_FILE" <<'PYEOF'
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=5).read().decode()
if "http_server_request_duration_seconds_count{" not in text:
    sys.exit(1)
with open(sys.argv[2], "w") as out:
    out.write(text)
PYEOF
}
mkdir -p "$(dirname "$METRICS_FILE")"
wait_until 15 has_requests || die "no request metrics on $COLLECTOR_URL/metrics 15 s after the load"
echo
echo "key metrics (saved to $METRICS_FILE):"
grep -E '^(http_server_request_duration_seconds_count|wsgi_worker_threads|wsgi_worker_busy_thread_seconds_total|wsgi_worker_utilization_ratio|wsgi_worker_resident_memory_bytes)\{' \
  "$METRICS_FILE" | head -n 16 | sed 's/^/  /'

if [ "$ONCE" -eq 1 ]; then
  echo "demo: done"
  exit 0
fi
echo
echo "demo: running; open $COLLECTOR_URL/ — Ctrl-C to stop"
wait "${PIDS[0]}"

#!/usr/bin/env bash
# Build a real OpenTelemetry Collector from pinned modules with the OpenTelemetry Collector
# Builder (v0.165.0). Two builds, by name:
#   wsgiscope   (default) what the OTLP tests send to (tests/otlp): scripts/otelcol/builder.yaml
#   spanmetrics what bench/spanmetrics.mjs compares with (OTLP receiver, spanmetrics connector,
#               Prometheus exporter; contrib v0.165.1): scripts/otelcol/builder-spanmetrics.yaml
#
#   scripts/build-otelcol.sh [NAME]            build if missing, then print the binary's path
#   scripts/build-otelcol.sh [NAME] --path     print where the binary is (or would be), build nothing
#
# The binary goes to a cache folder keyed by version and manifest, outside the repository:
#   ${WSGISCOPE_CACHE:-~/.cache/wsgiscope}/otelcol-0.165.0/otelcol-wsgiscope
#   ${WSGISCOPE_CACHE:-~/.cache/wsgiscope}/otelcol-spanmetrics-0.165.1/otelcol-spanmetrics
# and the run is a no-op when it is there and was built from the same manifest. A cold build
# takes about 3-4 minutes and 2 GB of Go module cache. It needs Go and the Go module proxy; when
# Go is missing it says so and exits 3, when the build fails it exits 1 with the builder's last
# lines (the full log is beside the binary), so callers can report the reason.
set -uo pipefail

BUILDER_VERSION=0.165.0
BUILDER_MODULE=go.opentelemetry.io/collector/cmd/builder
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="${WSGISCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wsgiscope}"
case "${1:-wsgiscope}" in
  wsgiscope|--path)
    VERSION=$BUILDER_VERSION name=otelcol-wsgiscope manifest="$root/scripts/otelcol/builder.yaml"
    cache="$base/otelcol-$VERSION" ;;
  spanmetrics)
    VERSION=0.165.1 name=otelcol-spanmetrics manifest="$root/scripts/otelcol/builder-spanmetrics.yaml"
    cache="$base/otelcol-spanmetrics-$VERSION" ;;
  *) echo "build-otelcol: unknown build '$1' (wsgiscope or spanmetrics)" >&2; exit 2 ;;
esac
[[ "${1:-}" == wsgiscope || "${1:-}" == spanmetrics ]] && shift
binary="$cache/$name"
stamp="$cache/manifest.sha256"

if [[ "${1:-}" == "--path" ]]; then
  echo "$binary"
  exit 0
fi

want="$(sha256sum "$manifest" | cut -d' ' -f1)"
if [[ -x "$binary" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
  echo "$binary"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  for candidate in /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [[ -x "$candidate" ]] && PATH="$(dirname "$candidate"):$PATH" && break
  done
fi
if ! command -v go >/dev/null 2>&1; then
  echo "build-otelcol: Go is not installed (no 'go' on PATH), so the OpenTelemetry Collector cannot be built" >&2
  exit 3
fi

mkdir -p "$cache"
log="$cache/build.log"
work="$cache/build"
# One build at a time (bootstrap and a test may both ask).
exec 9>"$cache/.lock"
flock 9
if [[ -x "$binary" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
  echo "$binary"
  exit 0
fi

fail() {
  echo "build-otelcol: $1 (last lines of $log follow)" >&2
  tail -n 20 "$log" >&2
  exit 1
}

: >"$log"
gobin="$cache/bin"
if [[ ! -x "$gobin/builder" ]]; then
  GOBIN="$gobin" go install "$BUILDER_MODULE@v$BUILDER_VERSION" >>"$log" 2>&1 \
    || fail "could not install $BUILDER_MODULE@v$BUILDER_VERSION"
fi
rm -rf "$work"
"$gobin/builder" --config "$manifest" --output-path "$work" >>"$log" 2>&1 \
  || fail "the OpenTelemetry Collector Builder failed"
install -m 0755 "$work/$name" "$binary" || fail "no binary at $work/$name"
echo "$want" >"$stamp"
# The generated sources are not needed once the binary is built (the module cache keeps the rest).
rm -rf "$work"
echo "$binary"

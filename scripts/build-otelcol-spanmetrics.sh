#!/usr/bin/env bash
# The OpenTelemetry Collector bench/spanmetrics.mjs compares with: scripts/build-otelcol.sh spanmetrics.
exec bash "$(dirname "${BASH_SOURCE[0]}")/build-otelcol.sh" spanmetrics "$@"

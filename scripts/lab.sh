#!/usr/bin/env bash
# npm run lab -- [--servers a,b] [--scenarios x,y] [--duration S] [--nginx] [--out DIR]: see docs/lab.md
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  echo "lab: .venv is missing: run scripts/bootstrap.sh" >&2
  exit 2
fi
if [ ! -f collector/dist/cli.js ]; then
  npm run --silent build
fi
exec "$PY" -m examples.lab "$@"

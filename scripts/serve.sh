#!/usr/bin/env bash
# Build the textbook (the release build, scripts/build.sh) and serve it on http://127.0.0.1:8080,
# installing missing build tools first. PORT=8000 scripts/serve.sh picks another port.
# For development with rebuilds on every change: trunk serve --offline (no service worker).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh dist
echo "Glassbox: http://127.0.0.1:${PORT:-8080}/"
exec python3 -m http.server "${PORT:-8080}" --bind 127.0.0.1 --directory dist

#!/usr/bin/env bash
# Build the textbook and serve it on http://127.0.0.1:8080, installing missing build tools first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
exec trunk serve --release --offline "$@"

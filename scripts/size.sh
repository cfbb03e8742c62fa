#!/usr/bin/env bash
# Raw, gzip and brotli sizes of every file of a build (DIR, default dist/); fails when the code
# (wasm + JS) passes 800 KB gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node scripts/size.mjs "${1:-dist}"

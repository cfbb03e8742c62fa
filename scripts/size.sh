#!/usr/bin/env bash
# Raw, gzip and brotli sizes of every file of a build (DIR, default dist/); fails when the code
# (wasm + JS) passes its 800 KB gzipped budget (scripts/size.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node scripts/size.mjs "${1:-dist}"

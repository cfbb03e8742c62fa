#!/usr/bin/env bash
# Every test: native unit and integration tests (lab and app), the wasm build of the real dist/,
# and the browser end-to-end tests against that dist/ in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"

. scripts/gpu-env.sh

echo "== native tests"
cargo test --workspace --locked --exclude glassbox-gpu
echo "== GPU kernel parity tests (serially)"
cargo test -p glassbox-gpu --locked -- --test-threads=1

echo "== wasm build (dist/)"
trunk build --release --offline

echo "== browser end-to-end tests"
npm run --silent e2e

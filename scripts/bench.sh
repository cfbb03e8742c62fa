#!/usr/bin/env bash
# Benchmarks (measurements, not tests): native `glassbox bench maml`, then the same work in headless
# Chromium's CPU (WebAssembly) path through the Benchmarks appendix of the built dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"
echo "== native"
cargo run --release --quiet --bin glassbox -- bench maml --repeat 5
echo "== browser (CPU path)"
[ -f dist/index.html ] || trunk build --release --offline
node tests/e2e/bench.mjs

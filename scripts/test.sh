#!/usr/bin/env bash
# Every test: native unit and integration tests (lab and app), the wasm build of the real dist/,
# and the browser end-to-end tests against that dist/ in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"

# Native GPU tests run on Mesa's lavapipe (Vulkan on the CPU) unless the caller chose a driver.
export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

echo "== native tests"
cargo test --workspace --locked --exclude glassbox-gpu
echo "== GPU kernel parity tests (serially)"
cargo test -p glassbox-gpu --locked -- --test-threads=1

echo "== wasm build (dist/)"
trunk build --release --offline

echo "== browser end-to-end tests"
npm run --silent e2e

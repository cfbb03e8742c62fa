#!/usr/bin/env bash
# The CPU path's WebAssembly kernels (simd128 SGEMM) checked in Node: crates/lab/tests/simd128.rs
# built for wasm32 (with +simd128, from .cargo/config.toml) and run by wasm-bindgen-test-runner,
# which must match the workspace's wasm-bindgen (0.2.130; `cargo install wasm-bindgen-cli`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test -p glassbox-lab --target wasm32-unknown-unknown --test simd128 --locked "$@"

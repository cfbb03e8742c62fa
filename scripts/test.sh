#!/usr/bin/env bash
# Every test: native unit and integration tests (lab and app), the release build of the real dist/
# (scripts/build.sh), and the browser end-to-end tests against that dist/ in headless Chromium.
# Each phase's duration is printed at the end (CI must stay under 60 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

phases=()
start=$SECONDS
# phase NAME COMMAND...: run it, note how long it took.
phase() {
  local name="$1" t0=$SECONDS
  shift
  echo "== $name"
  "$@"
  phases+=("$(printf '%-34s %4d s' "$name" $((SECONDS - t0)))")
}
report() {
  echo "== phases"
  for p in "${phases[@]}"; do echo "  $p"; done
  printf '  %-34s %4d s\n' "total" $((SECONDS - start))
}
trap report EXIT

phase "setup (tools present are skipped)" scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"
. scripts/gpu-env.sh

# One cargo selection for every native test, so the dependencies are compiled once (selecting
# glassbox-gpu alone resolves other features and compiled wgpu and its stack a second time).
phase "native build (tests)" cargo test --workspace --locked --no-run
phase "native tests (with GPU parity)" cargo test --workspace --locked
phase "wasm simd128 kernel tests (Node)" scripts/test-wasm-kernels.sh
phase "release scripts (Node)" node --test tests/scripts/
phase "release build (dist/)" scripts/build.sh dist
phase "download size (code gzipped)" scripts/size.sh dist
# Test files run in parallel where the machine has cores to spare: each browser test drives
# Chromium and the wasm on about two cores, and the long-task check (goal 50 ms, fails above 80 ms) and the timing tests
# need them undisturbed, so a 2-core machine (CI) runs one file at a time.
jobs=$(( $(nproc) / 4 ))
[ "$jobs" -ge 1 ] || jobs=1
phase "browser end-to-end tests ($jobs at a time)" node --test --test-concurrency="$jobs" tests/e2e/

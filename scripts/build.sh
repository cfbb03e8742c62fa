#!/usr/bin/env bash
# The release build into DIR (default dist/): Trunk's build, then what the release needs after it
# (scripts/release.mjs: wasm-opt, the Content-Security-Policy with the loader's hash, and the service worker
# with the build's file list). The serve and test scripts and CI build with this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
dir="${1:-dist}"
command -v node >/dev/null || { echo "build: Node.js is needed (scripts/release.mjs); install the nodejs package" >&2; exit 1; }
# Panic messages name their source files: the registry's folder (about 60 characters before each
# dependency's path, some 70 of them) is left out, so the module neither carries nor depends on
# where cargo keeps its registry (added to .cargo/config.toml's flags, not replacing them).
remap=""
for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  case "$d" in *" "*) ;; *) [ -d "$d" ] && remap+=" --remap-path-prefix=$d=" ;; esac
done
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:-}$remap"
trunk build --release --cargo-profile wasm-release --offline --dist "$dir"
node scripts/release.mjs "$dir"

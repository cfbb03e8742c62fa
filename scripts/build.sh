#!/usr/bin/env bash
# The release build into DIR (default dist/): Trunk's build, then what the release needs after it
# (scripts/release.mjs: wasm-opt, the Content-Security-Policy with the loader's hash, and the service worker
# with the build's file list). The serve and test scripts and CI build with this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
dir="${1:-dist}"
command -v node >/dev/null || { echo "build: Node.js is needed (scripts/release.mjs); install the nodejs package" >&2; exit 1; }
trunk build --release --cargo-profile wasm-release --offline --dist "$dir"
node scripts/release.mjs "$dir"

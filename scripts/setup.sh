#!/usr/bin/env bash
# Install what building (and, with `test`, testing) Glassbox needs, skipping what is already there
# at the right version. Only package registries are used: crates.io, Debian's archive, npm.
#   scripts/setup.sh         # build tools: wasm32 target, trunk, wasm-bindgen-cli, Node and binaryen (wasm-opt)
#   scripts/setup.sh test    # also Chromium, playwright-core, jsqr, axe-core, Mesa's Vulkan drivers and poppler (PDF) for the tests
#   scripts/setup.sh lm      # also Debian's wordnet-base, the language model's text (glassbox lm data)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

TRUNK_VERSION=0.21.14
# Must match the exact wasm-bindgen pin in Cargo.toml and [tools] in Trunk.toml.
WASM_BINDGEN_VERSION=0.2.130

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Both tools are built without their TLS stacks (they never download here: Trunk runs --offline
# and is given wasm-bindgen) and without link-time optimisation, at opt-level 1: on 2 cores trunk
# builds in 4.1 minutes instead of 6.7 and wasm-bindgen-cli in 1.6 instead of 1.9, and the release
# build they make is byte for byte the same, as fast (measured 2026-12-06).
QUICK=(--config profile.release.lto=false --config profile.release.codegen-units=16 --config profile.release.opt-level=1)
if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (about 4 minutes on 2 cores)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --no-default-features "${QUICK[@]}"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
  # Not --locked: its lock file names a webpki-roots release the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force --no-default-features "${QUICK[@]}"
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
# Install the Debian packages named that are not installed yet.
debian() {
  missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  fi
}

if [ "${1:-}" = "lm" ]; then
  debian wordnet-base
fi

if [ "${1:-}" = "test" ]; then
  debian chromium fonts-dejavu-core mesa-vulkan-drivers libvulkan1 poppler-utils
fi

# Node runs the release step (scripts/release.mjs) and the browser tests.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then debian nodejs npm; fi
# The npm packages at their pinned versions: binaryen (wasm-opt) for every build, and for the tests
# the devDependencies (playwright-core, jsqr, axe-core).
fields="dependencies"
if [ "${1:-}" = "test" ]; then fields="dependencies devDependencies"; fi
stale=$(FIELDS="$fields" node -e "
  const p = require('./package.json');
  const want = Object.assign({}, ...process.env.FIELDS.split(' ').map((f) => p[f] || {}));
  const bad = Object.entries(want).filter(([n, v]) => {
    try { return require('./node_modules/' + n + '/package.json').version !== v; } catch { return true; }
  });
  console.log(bad.map(([n, v]) => n + '@' + v).join(' '));")
if [ -n "$stale" ]; then
  say "installing $stale from the npm registry (no browser download)"
  if [ "${1:-}" = "test" ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  else
    npm ci --omit=dev --no-audit --no-fund
  fi
fi
say "ready"

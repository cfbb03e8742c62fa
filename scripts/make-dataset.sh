#!/usr/bin/env bash
# Rebuild assets/fashion-mnist.gbds from Debian's dataset-fashion-mnist package (MIT licence).
# The asset is committed, so a fresh clone needs neither this script nor the package.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist
fi
cargo run --release --quiet --bin glassbox -- data fashion-mnist --from /usr/share/datasets/fashion-mnist --out assets/fashion-mnist.gbds

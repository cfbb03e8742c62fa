#!/bin/bash
# GPU engine check on a lent GPU machine (no Rust toolchain there): parity and GFLOP/s.
# Prepare here:  cargo build --release -p glassbox-cli && cargo test --release -p glassbox-gpu --no-run
#                copy target/release/glassbox and the parity test binary (as `parity`) into .devrun/,
#                and the Debian packages libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2
#                (apt-get download) into .gl/; both folders git-ignored and carried.
# Run there:     bash scripts/device-check.sh   (writes smi.txt, selftest.json, parity.txt, bench.json,
#                image.json to $OUT)
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export WGPU_BACKEND=vulkan
icd=$(find /usr/local/nvidia /usr/share/vulkan /etc/vulkan -name "nvidia_icd*.json" 2>/dev/null | head -1)
echo "icd=$icd"
[ -n "$icd" ] && export VK_DRIVER_FILES=$icd
XDG_RUNTIME_DIR=$(mktemp -d)
export XDG_RUNTIME_DIR
OUT=${OUT:-$(mktemp -d)}
nvidia-smi -L | tee "$OUT/smi.txt"
timeout 120 .devrun/glassbox gpu selftest >"$OUT/selftest.json" 2>&1
echo "selftest rc=$?"
timeout 200 .devrun/parity --test-threads=1 >"$OUT/parity.txt" 2>&1
echo "parity rc=$?"
tail -3 "$OUT/parity.txt"
timeout 200 .devrun/glassbox bench gpu --sizes 256,512,1024,2048,4096 --repeat 20 >"$OUT/bench.json" 2>&1
echo "bench rc=$?"
cat "$OUT/bench.json"
# The image lab's network resident on the GPU: evaluation of the 10,000 test images and training
# (batch 128), in images per second.
timeout 200 .devrun/glassbox bench image --backend gpu --images 10000 --steps 20 >"$OUT/image.json" 2>&1
echo "image rc=$?"
cat "$OUT/image.json"

# Sourced by test.sh and bench.sh: native GPU work runs on Mesa's lavapipe (Vulkan on the CPU)
# unless the caller chose a driver.
export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

#!/usr/bin/env bash
# Benchmarks (measurements, not tests): native `glassbox bench maml` and `bench gpu` (GPU side on
# Mesa's lavapipe unless VK_DRIVER_FILES names another driver), numpy's matmul and chapter 1's
# closed-form meta-training in NumPy (scripts/bench/maml_numpy.py) for comparison, then
# the browser's CPU path through the Benchmarks appendix of the built dist/; attention timing and
# int8 throughput in the browser are printed by tests/e2e/chapter2 and quantization.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"
. scripts/gpu-env.sh
echo "== native"
cargo run --release --quiet --bin glassbox -- bench maml --repeat 5
cargo run --release --quiet --bin glassbox -- bench gpu --sizes 256,512,1024 --repeat 5
cargo run --release --quiet --bin glassbox -- bench image
cargo run --release --quiet --bin glassbox -- bench image --backend gpu --images 500 --steps 2
cargo run --release --quiet --bin glassbox -- attention bench
cargo run --release --quiet --bin glassbox -- bench finetune   # chapter 3: one epoch per tuning choice
cargo run --release --quiet --bin glassbox -- bench lm         # the language model: training, generation, soft-prompt pass
cargo run --release --quiet --bin glassbox -- bench lm --backend gpu   # generation on the GPU
cargo run --release --quiet --bin glassbox -- bench soft-prompt  # chapter 5: a soft-prompt epoch, the prompt precomputed or not
# chapter 4's full pluralize sweep (0-9 shots x the validation nouns, correct labels), native CPU
t0=$(date +%s.%N)
for k in 0 1 2 3 4 5 6 7 8 9; do
  cargo run --release --quiet --bin glassbox -- lm pluralize --shots "$k" | python3 -c "import json,sys; d=json.load(sys.stdin); print('pluralize shots', d['shots'], 'accuracy', d['accuracy'])"
done
python3 -c "print('pluralize sweep: %.1f s for 10 x 40 answers (native CPU, with process starts)' % ($(date +%s.%N) - $t0))"
cargo run --release --quiet --bin glassbox -- quant int8   # int8_images_per_s, and the accuracies
echo "== numpy (OpenBLAS) matmul, for comparison"
venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import numpy" 2>/dev/null || "$venv/bin/pip" install -q numpy
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE slow a current numpy; unset them for this measurement only.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" - <<'PY'
import json, time
import numpy as np
out = {}
for n in (256, 512, 1024):
    a = np.random.randn(n, n).astype(np.float32); b = np.random.randn(n, n).astype(np.float32)
    a @ b
    best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
    out[f"matmul_{n}_gflops"] = 2 * n**3 / best / 1e9
print(json.dumps({"numpy": np.__version__, **out}))
PY
echo "== chapter 1's closed-form meta-training (100 iterations): glassbox natively, then NumPy"
rust_s=$(cargo run --release --quiet --bin glassbox -- bench maml --repeat 5 \
  | python3 -c "import json, sys; print(json.load(sys.stdin)['meta_training_100_iterations_s'])")
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" scripts/bench/maml_numpy.py "$rust_s"
echo "== browser (CPU path)"
[ -f dist/index.html ] || scripts/build.sh dist
node tests/e2e/bench.mjs
node tests/e2e/bench-image.mjs
WEBGPU=1 node tests/e2e/bench-image.mjs
node tests/e2e/bench-pruning.mjs
WEBGPU=1 node tests/e2e/bench-pruning.mjs
node tests/e2e/bench-compress.mjs
WEBGPU=1 node tests/e2e/bench-compress.mjs
node tests/e2e/bench-finetune.mjs
# On SwiftShader (software WebGPU) this takes about 20 minutes: a quarter of a second per image.
WEBGPU=1 node tests/e2e/bench-finetune.mjs
node tests/e2e/bench-lm.mjs
WEBGPU=1 node tests/e2e/bench-lm.mjs
node tests/e2e/bench-soft-prompt.mjs
WEBGPU=1 node tests/e2e/bench-soft-prompt.mjs

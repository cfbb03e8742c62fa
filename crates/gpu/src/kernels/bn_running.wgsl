// Batch-norm running statistics after a training batch of `count` values per channel:
// r <- (1 - m) r + m s, with the unbiased variance s * count / (count - 1). One thread per channel;
// `running` holds means C, then variances C, and is updated in place.
struct Dims { c: u32, count: u32, momentum: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> running: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ch = gid.x;
    if (ch >= dims.c) {
        return;
    }
    var unbias = 1.0;
    if (dims.count > 1u) {
        unbias = f32(dims.count) / f32(dims.count - 1u);
    }
    let m = dims.momentum;
    running[ch] = (1.0 - m) * running[ch] + m * stats[ch];
    running[dims.c + ch] = (1.0 - m) * running[dims.c + ch] + m * stats[dims.c + ch] * unbias;
}

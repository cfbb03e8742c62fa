// Batch-norm and ReLU with given per-channel statistics (`stats`: means C, then variances C; the
// batch's in training, the running ones in evaluation), one thread per element:
// x_hat = (z - mean) / sqrt(var + eps), y = gamma x_hat + beta, a = max(y, 0).
// `gb` holds gamma (C) then beta (C). In training (`train` = 1) x_hat and y are kept for the backward
// pass; otherwise only a is written.
struct Dims { n: u32, c: u32, hw: u32, train: u32, eps: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gb: array<f32>;
@group(0) @binding(4) var<storage, read_write> x_hat: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> a: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 256u;
    if (idx >= dims.n * dims.c * dims.hw) {
        return;
    }
    let ch = (idx / dims.hw) % dims.c;
    let xh = (z[idx] - stats[ch]) / sqrt(stats[dims.c + ch] + dims.eps);
    let v = gb[ch] * xh + gb[dims.c + ch];
    if (dims.train == 1u) {
        x_hat[idx] = xh;
        y[idx] = v;
    }
    a[idx] = max(v, 0.0);
}

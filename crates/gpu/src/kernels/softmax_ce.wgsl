// Softmax cross-entropy, one thread per row of logits (N x K). Output: dL/dz (N x K) for the mean
// loss, then each row's loss (N); the host averages the losses.
struct Dims { n: u32, k: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= dims.n) {
        return;
    }
    let base = r * dims.k;
    var m = -3.4e38;
    for (var j = 0u; j < dims.k; j++) {
        m = max(m, z[base + j]);
    }
    var s = 0.0;
    for (var j = 0u; j < dims.k; j++) {
        s += exp(z[base + j] - m);
    }
    let lse = m + log(s);
    let y = u32(labels[r]);
    for (var j = 0u; j < dims.k; j++) {
        let p = exp(z[base + j] - lse);
        out[base + j] = (p - select(0.0, 1.0, j == y)) / f32(dims.n);
    }
    out[dims.n * dims.k + r] = lse - z[base + y];
}

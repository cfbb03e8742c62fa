// The network's head, one thread per (image, class): f[n,c] = mean over the HW positions of a[n,c],
// logits[n,j] = b[j] + sum_c W[j,c] f[n,c]; `fc` holds W (K x C), then b (K).
struct Dims { n: u32, c: u32, hw: u32, k: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> fc: array<f32>;
@group(0) @binding(3) var<storage, read_write> logits: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if (idx >= dims.n * dims.k) {
        return;
    }
    let j = idx % dims.k;
    let r = idx / dims.k;
    var acc = 0.0;
    for (var ch = 0u; ch < dims.c; ch++) {
        var f = 0.0;
        for (var p = 0u; p < dims.hw; p++) {
            f += a[(r * dims.c + ch) * dims.hw + p];
        }
        acc += fc[j * dims.c + ch] * (f / f32(dims.hw));
    }
    logits[idx] = fc[dims.k * dims.c + j] + acc;
}

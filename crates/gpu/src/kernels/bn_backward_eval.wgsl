// Backward through a = relu(gamma x_hat + beta) in evaluation mode: the statistics are constants, so
// dz does not depend on the batch. One workgroup per channel; over the channel's N HW values:
// dy = da [y > 0], dz = dy gamma / sqrt(var + eps), dgamma = sum dy x_hat, dbeta = sum dy (the sums
// reduced by 256 threads in workgroup memory). `gv`: gamma C, then var C. Output: dz (N C HW), then
// dgamma (C), then dbeta (C).
struct Dims { n: u32, c: u32, hw: u32, eps: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> da: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> x_hat: array<f32>;
@group(0) @binding(4) var<storage, read> gv: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

var<workgroup> s1: array<f32, 256>;
var<workgroup> s2: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let ch = wg.x;
    let t = lid.x;
    let count = dims.n * dims.hw;
    let scale = gv[ch] / sqrt(gv[dims.c + ch] + dims.eps);
    var a = 0.0;
    var b = 0.0;
    for (var i = t; i < count; i += 256u) {
        let k = ((i / dims.hw) * dims.c + ch) * dims.hw + i % dims.hw;
        let g = select(0.0, da[k], y[k] > 0.0);
        a += g;
        b += g * x_hat[k];
        out[k] = scale * g;
    }
    s1[t] = a;
    s2[t] = b;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride = stride / 2u) {
        if (t < stride) {
            s1[t] += s1[t + stride];
            s2[t] += s2[t + stride];
        }
        workgroupBarrier();
    }
    if (t == 0u) {
        let len = count * dims.c;
        out[len + ch] = s2[0];
        out[len + dims.c + ch] = s1[0];
    }
}

// Backward through a = relu(batch-norm(z)) in training mode. One workgroup per channel; over the
// channel's M = N HW values: dy = da [y > 0], dgamma = sum dy x_hat, dbeta = sum dy,
// dz = gamma / (M sqrt(var + eps)) (M dy - dbeta - x_hat dgamma). `gb`: gamma C, then beta C;
// `dgb` the same layout for the gradients.
struct Dims { n: u32, c: u32, hw: u32, eps: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> da: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> x_hat: array<f32>;
@group(0) @binding(4) var<storage, read> gb: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;
@group(0) @binding(7) var<storage, read_write> dgb: array<f32>;

var<workgroup> s1: array<f32, 256>;
var<workgroup> s2: array<f32, 256>;

fn at(i: u32, ch: u32) -> u32 {
    return ((i / dims.hw) * dims.c + ch) * dims.hw + i % dims.hw;
}

fn dy(k: u32) -> f32 {
    return select(0.0, da[k], y[k] > 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let ch = wg.x;
    let t = lid.x;
    let count = dims.n * dims.hw;
    var a = 0.0;
    var b = 0.0;
    for (var i = t; i < count; i += 256u) {
        let k = at(i, ch);
        let g = dy(k);
        a += g;
        b += g * x_hat[k];
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
    let sdy = s1[0];
    let sdyx = s2[0];
    let m = f32(count);
    let scale = gb[ch] / (sqrt(stats[dims.c + ch] + dims.eps) * m);
    for (var i = t; i < count; i += 256u) {
        let k = at(i, ch);
        dz[k] = scale * (m * dy(k) - sdy - x_hat[k] * sdyx);
    }
    if (t == 0u) {
        dgb[ch] = sdyx;
        dgb[dims.c + ch] = sdy;
    }
}

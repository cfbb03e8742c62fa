// Adam with L2 weight decay, one step t (PyTorch's Adam(weight_decay=wd)), element-wise:
//   g <- g + wd theta, m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
//   theta <- theta - lr c (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
// `step` is lr c. The host computes 1 - b1, 1 - b2 and the bias corrections c1 = 1 - b1^t and
// c2 = 1 - b2^t in f64 (1 - b2 in f32 arithmetic would be off by 1e-5 relative).
// Output: the new theta, then the new m, then the new v.
struct Dims {
    len: u32,
    step: f32,
    weight_decay: f32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    c1: f32,
    c2: f32,
}
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> m: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= dims.len) {
        return;
    }
    let g = grad[i] + dims.weight_decay * theta[i];
    let mi = dims.beta1 * m[i] + dims.one_minus_beta1 * g;
    let vi = dims.beta2 * v[i] + dims.one_minus_beta2 * g * g;
    out[i] = theta[i] - dims.step * (mi / dims.c1) / (sqrt(vi / dims.c2) + dims.eps);
    out[dims.len + i] = mi;
    out[2u * dims.len + i] = vi;
}

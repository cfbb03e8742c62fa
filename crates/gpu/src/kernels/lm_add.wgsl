// A linear layer's bias, and the residual stream: with n the bias's length,
//   mode 0: x[i] += bias[i % n],   mode 1: x[i] += y[i] + bias[i % n],
// one invocation per element of x (len).
struct Dims { len: u32, n: u32, mode: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= dims.len) {
        return;
    }
    var v = x[i] + bias[i % dims.n];
    if (dims.mode == 1u) {
        v += y[i];
    }
    x[i] = v;
}

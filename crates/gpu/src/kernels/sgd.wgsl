// SGD with momentum and weight decay: v <- mu v + (g + wd w), w <- w - lr v.
// Output: the new weights, then the new velocities.
struct Dims { len: u32, lr: f32, momentum: f32, weight_decay: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= dims.len) {
        return;
    }
    let vel = dims.momentum * v[i] + g[i] + dims.weight_decay * w[i];
    out[i] = w[i] - dims.lr * vel;
    out[dims.len + i] = vel;
}

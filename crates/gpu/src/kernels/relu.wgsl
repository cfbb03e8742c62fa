// ReLU. mode 0: y = max(x, 0). mode 1: dx = dy where x > 0, else 0.
struct Dims { len: u32, mode: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= dims.len) {
        return;
    }
    if (dims.mode == 0u) {
        out[i] = max(x[i], 0.0);
    } else {
        out[i] = select(0.0, dy[i], x[i] > 0.0);
    }
}

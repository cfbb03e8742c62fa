// The split weight gradient's second pass: dW[e] = ((P_0[e] + P_1[e]) + P_2[e]) + ... + P_{S-1}[e],
// the partial sums of conv2d_weight_grad.wgsl over its S ranges of k (part[s len + e]), added in
// that fixed order by one thread per element, so the result is the same bits on every run.
struct Dims { len: u32, splits: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if (e >= dims.len) {
        return;
    }
    var sum = part[e];
    for (var s = 1u; s < dims.splits; s++) {
        sum += part[s * dims.len + e];
    }
    dw[e] = sum;
}

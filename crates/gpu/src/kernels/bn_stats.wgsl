// Batch-norm statistics: per channel, mean and biased variance over N x H x W. One workgroup per
// channel; 256 threads reduce in workgroup memory. Output: means (C), then variances (C).
struct Dims { n: u32, c: u32, hw: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn reduce(t: u32) {
    for (var stride = 128u; stride > 0u; stride = stride / 2u) {
        if (t < stride) {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let ch = wg.x;
    let t = lid.x;
    let count = dims.n * dims.hw;
    var s = 0.0;
    for (var i = t; i < count; i += 256u) {
        s += x[((i / dims.hw) * dims.c + ch) * dims.hw + i % dims.hw];
    }
    partial[t] = s;
    workgroupBarrier();
    reduce(t);
    let mean = partial[0] / f32(count);
    workgroupBarrier();
    var q = 0.0;
    for (var i = t; i < count; i += 256u) {
        let d = x[((i / dims.hw) * dims.c + ch) * dims.hw + i % dims.hw] - mean;
        q += d * d;
    }
    partial[t] = q;
    workgroupBarrier();
    reduce(t);
    if (t == 0u) {
        out[ch] = mean;
        out[dims.c + ch] = partial[0] / f32(count);
    }
}

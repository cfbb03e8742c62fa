// 2 x 2 max-pooling, stride 2, over planes of H x W. Output: the pooled values, then (as f32) the
// flat input index of each maximum (the first one on ties).
struct Dims { planes: u32, h: u32, w: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 256u;
    let oh = dims.h / 2u;
    let ow = dims.w / 2u;
    let total = dims.planes * oh * ow;
    if (idx >= total) {
        return;
    }
    let j = idx % ow;
    let i = (idx / ow) % oh;
    let p = idx / (oh * ow);
    var best = -3.4e38;
    var at = 0u;
    for (var d = 0u; d < 4u; d++) {
        let src = (p * dims.h + 2u * i + d / 2u) * dims.w + 2u * j + d % 2u;
        if (x[src] > best) {
            best = x[src];
            at = src;
        }
    }
    out[idx] = best;
    out[total + idx] = f32(at);
}

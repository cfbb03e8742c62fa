// Gradient of 2 x 2 max-pooling: each input element takes dy of its window if it was the maximum.
// The arg-max indices start at `arg_offset` in `argmax` (the forward kernel's output holds the pooled
// values first, then the indices).
struct Dims { planes: u32, h: u32, w: u32, arg_offset: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 256u;
    if (idx >= dims.planes * dims.h * dims.w) {
        return;
    }
    let w = idx % dims.w;
    let h = (idx / dims.w) % dims.h;
    let p = idx / (dims.h * dims.w);
    let oh = dims.h / 2u;
    let ow = dims.w / 2u;
    var g = 0.0;
    if (h / 2u < oh && w / 2u < ow) {
        let o = (p * oh + h / 2u) * ow + w / 2u;
        if (u32(argmax[dims.arg_offset + o]) == idx) {
            g = dy[o];
        }
    }
    dx[idx] = g;
}

// 3 x 3 convolution, padding 1, stride 1, no bias, NCHW: one thread per output element.
// y[n,o,h,w] = sum_{c,i,j} W[o,c,i,j] x[n,c,h+i-1,w+j-1] (out-of-range x reads 0).
// The input gradient is this same kernel applied to dy with W flipped and in/out swapped.
struct Dims { n: u32, c_in: u32, c_out: u32, h: u32, w: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 256u;
    let plane = dims.h * dims.w;
    let total = dims.n * dims.c_out * plane;
    if (idx >= total) {
        return;
    }
    let w0 = idx % dims.w;
    let h0 = (idx / dims.w) % dims.h;
    let o = (idx / plane) % dims.c_out;
    let n = idx / (plane * dims.c_out);
    var acc = 0.0;
    for (var c = 0u; c < dims.c_in; c++) {
        let xbase = (n * dims.c_in + c) * plane;
        let wbase = (o * dims.c_in + c) * 9u;
        for (var i = 0u; i < 3u; i++) {
            let hh = i32(h0) + i32(i) - 1;
            if (hh < 0 || hh >= i32(dims.h)) {
                continue;
            }
            for (var j = 0u; j < 3u; j++) {
                let ww = i32(w0) + i32(j) - 1;
                if (ww < 0 || ww >= i32(dims.w)) {
                    continue;
                }
                acc += wt[wbase + i * 3u + j] * x[xbase + u32(hh) * dims.w + u32(ww)];
            }
        }
    }
    y[idx] = acc;
}

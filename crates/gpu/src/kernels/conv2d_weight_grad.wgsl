// Weight gradient of the 3 x 3 padding-1 convolution: one thread per weight element.
// dW[o,c,i,j] = sum_{n,h,w} dy[n,o,h,w] x[n,c,h+i-1,w+j-1].
struct Dims { n: u32, c_in: u32, c_out: u32, h: u32, w: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 64u;
    if (idx >= dims.c_out * dims.c_in * 9u) {
        return;
    }
    let j = idx % 3u;
    let i = (idx / 3u) % 3u;
    let c = (idx / 9u) % dims.c_in;
    let o = idx / (9u * dims.c_in);
    let plane = dims.h * dims.w;
    var acc = 0.0;
    for (var n = 0u; n < dims.n; n++) {
        let ybase = (n * dims.c_out + o) * plane;
        let xbase = (n * dims.c_in + c) * plane;
        for (var h = 0u; h < dims.h; h++) {
            let hh = i32(h) + i32(i) - 1;
            if (hh < 0 || hh >= i32(dims.h)) {
                continue;
            }
            for (var w = 0u; w < dims.w; w++) {
                let ww = i32(w) + i32(j) - 1;
                if (ww < 0 || ww >= i32(dims.w)) {
                    continue;
                }
                acc += dy[ybase + h * dims.w + w] * x[xbase + u32(hh) * dims.w + u32(ww)];
            }
        }
    }
    dw[idx] = acc;
}

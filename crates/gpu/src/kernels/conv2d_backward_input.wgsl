// Input gradient of the 3 x 3 padding-1 convolution, one thread per input element:
// dx[n,c,h,w] = sum_{o,i,j} W[o,c,i,j] dy[n,o,h-i+1,w-j+1] (out-of-range dy reads 0).
struct Dims { n: u32, c_in: u32, c_out: u32, h: u32, w: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 256u;
    let plane = dims.h * dims.w;
    if (idx >= dims.n * dims.c_in * plane) {
        return;
    }
    let w0 = idx % dims.w;
    let h0 = (idx / dims.w) % dims.h;
    let c = (idx / plane) % dims.c_in;
    let n = idx / (plane * dims.c_in);
    var acc = 0.0;
    for (var o = 0u; o < dims.c_out; o++) {
        let ybase = (n * dims.c_out + o) * plane;
        let wbase = (o * dims.c_in + c) * 9u;
        for (var i = 0u; i < 3u; i++) {
            let hh = i32(h0) - i32(i) + 1;
            if (hh < 0 || hh >= i32(dims.h)) {
                continue;
            }
            for (var j = 0u; j < 3u; j++) {
                let ww = i32(w0) - i32(j) + 1;
                if (ww < 0 || ww >= i32(dims.w)) {
                    continue;
                }
                acc += wt[wbase + i * 3u + j] * dy[ybase + u32(hh) * dims.w + u32(ww)];
            }
        }
    }
    dx[idx] = acc;
}

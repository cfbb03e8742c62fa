// Batched C_b = op(A_b) op(B_b) for few rows of C (a language model reading one character): one
// invocation per element of C, summing over k in order. The tiled kernel (matmul.wgsl) would
// stage 64-row tiles of which all but a few rows are padding. Same uniform as matmul.wgsl.

struct Dims {
    m: u32,
    n: u32,
    k: u32,
    a_t: u32,
    b_t: u32,
    stride_a: u32,
    stride_b: u32,
    stride_c: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    let batch = gid.z;
    if (col >= dims.n || row >= dims.m) {
        return;
    }
    let ab = batch * dims.stride_a;
    let bb = batch * dims.stride_b;
    var s = 0.0;
    for (var kk = 0u; kk < dims.k; kk++) {
        var x = 0.0;
        if (dims.a_t == 0u) {
            x = a[ab + row * dims.k + kk];
        } else {
            x = a[ab + kk * dims.m + row];
        }
        var y = 0.0;
        if (dims.b_t == 0u) {
            y = b[bb + kk * dims.n + col];
        } else {
            y = b[bb + col * dims.k + kk];
        }
        s += x * y;
    }
    c[batch * dims.stride_c + row * dims.n + col] = s;
}

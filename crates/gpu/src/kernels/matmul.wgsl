// Batched matrix multiply C_b = op(A_b) op(B_b) (row-major; op = optional transpose).
// Each 16 x 16 workgroup computes a 64 x 64 tile of C, each thread a 4 x 4 block, stepping through k
// in slices of 16 that are staged in workgroup memory. Out-of-range loads read 0, so any shape works.

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

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> a_tile: array<f32, 1024>; // [TK][TM]
var<workgroup> b_tile: array<f32, 1024>; // [TK][TN]

fn load_a(base: u32, row: u32, kk: u32) -> f32 {
    if (row >= dims.m || kk >= dims.k) {
        return 0.0;
    }
    if (dims.a_t == 0u) {
        return a[base + row * dims.k + kk];
    }
    return a[base + kk * dims.m + row];
}

fn load_b(base: u32, kk: u32, col: u32) -> f32 {
    if (kk >= dims.k || col >= dims.n) {
        return 0.0;
    }
    if (dims.b_t == 0u) {
        return b[base + kk * dims.n + col];
    }
    return b[base + col * dims.k + kk];
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let batch = wg.z;
    let row0 = wg.y * TM;
    let col0 = wg.x * TN;
    let tid = lid.y * 16u + lid.x;
    let a_base = batch * dims.stride_a;
    let b_base = batch * dims.stride_b;
    // Four rows of four accumulators, kept in registers (no dynamically indexed arrays).
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < dims.k; k0 += TK) {
        for (var s = 0u; s < 4u; s++) {
            let idx = tid + s * 256u;
            // Consecutive threads read consecutive addresses in both layouts.
            var r: u32;
            var kk: u32;
            if (dims.a_t == 0u) {
                r = idx / TK;
                kk = idx % TK;
            } else {
                kk = idx / TM;
                r = idx % TM;
            }
            a_tile[kk * TM + r] = load_a(a_base, row0 + r, k0 + kk);
            var cc: u32;
            var kb: u32;
            if (dims.b_t == 0u) {
                kb = idx / TN;
                cc = idx % TN;
            } else {
                cc = idx / TK;
                kb = idx % TK;
            }
            b_tile[kb * TN + cc] = load_b(b_base, k0 + kb, col0 + cc);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let ao = kk * TM + lid.y * 4u;
            let bo = kk * TN + lid.x * 4u;
            let av = vec4<f32>(a_tile[ao], a_tile[ao + 1u], a_tile[ao + 2u], a_tile[ao + 3u]);
            let bv = vec4<f32>(b_tile[bo], b_tile[bo + 1u], b_tile[bo + 2u], b_tile[bo + 3u]);
            acc0 += av.x * bv;
            acc1 += av.y * bv;
            acc2 += av.z * bv;
            acc3 += av.w * bv;
        }
        workgroupBarrier();
    }
    let c_base = batch * dims.stride_c;
    let rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + lid.y * 4u + i;
        let v = rows[i];
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x * 4u + j;
            if (row < dims.m && col < dims.n) {
                c[c_base + row * dims.n + col] = v[j];
            }
        }
    }
}

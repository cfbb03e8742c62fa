// Batched matrix multiply C_b = op(A_b) op(B_b) (row-major; op = optional transpose).
// A workgroup of TX x TY threads computes a (8 TY) x (8 TX) tile of C, each thread an 8 x 8 block
// held in sixteen vec4 registers, stepping through k in slices of TK that are staged in workgroup
// memory as vec4s: per k step a thread makes four vec4 loads (eight values of A, eight of B) for 64
// multiply-adds (the 4 x 4 blocks this replaced made eight scalar loads for 16). Out-of-range
// loads read 0, so any shape works, and every output sums its k terms in increasing order from
// 0.0. matmul.rs compiles this file twice: as written (128 x 128 tiles) and with TX = TY = 8,
// TK = 16 (64 x 64 tiles, for thin products). Workgroup memory: 4 TK (TM + TN) bytes = 8 KB
// either way (WebGPU guarantees 16 KB).

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

const TX: u32 = 16u;
const TY: u32 = 16u;
const TK: u32 = 8u;
const TM: u32 = 8u * TY;
const TN: u32 = 8u * TX;
const THREADS: u32 = TX * TY;

var<workgroup> a_tile: array<vec4<f32>, TK * TM / 4u>; // [TK][TM / 4]: four rows of A at one k
var<workgroup> b_tile: array<vec4<f32>, TK * TN / 4u>; // [TK][TN / 4]: four columns of B at one k

// Element (row, kk) of A_b is a[base + row rs + kk ks]; 0 outside the matrix.
fn load_a(base: u32, row: u32, kk: u32, rs: u32, ks: u32) -> f32 {
    let ok = row < dims.m && kk < dims.k;
    return select(0.0, a[select(0u, base + row * rs + kk * ks, ok)], ok);
}

// Element (kk, col) of B_b is b[base + kk ks + col cs]; 0 outside the matrix.
fn load_b(base: u32, kk: u32, col: u32, ks: u32, cs: u32) -> f32 {
    let ok = kk < dims.k && col < dims.n;
    return select(0.0, b[select(0u, base + kk * ks + col * cs, ok)], ok);
}

// Row `row` of C_b from column `col` on: eight values (lo, then hi), those inside the matrix.
fn store_row(base: u32, row: u32, col: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (row >= dims.m) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        if (col + j < dims.n) {
            c[base + row * dims.n + col + j] = lo[j];
        }
        if (col + 4u + j < dims.n) {
            c[base + row * dims.n + col + 4u + j] = hi[j];
        }
    }
}

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let batch = wg.z;
    let row0 = wg.y * TM;
    let col0 = wg.x * TN;
    let tid = lid.y * TX + lid.x;
    let a_base = batch * dims.stride_a;
    let b_base = batch * dims.stride_b;
    var a_rs = dims.k;
    var a_ks = 1u;
    if (dims.a_t != 0u) {
        a_rs = 1u;
        a_ks = dims.m;
    }
    var b_ks = dims.n;
    var b_cs = 1u;
    if (dims.b_t != 0u) {
        b_ks = 1u;
        b_cs = dims.k;
    }
    // acc{i}{a,b}: row i of this thread's block, columns 0-3 (a) and 4-7 (b). Named registers, not
    // an array: a dynamically indexed array is kept in memory (2.3 times slower on lavapipe).
    var acc0a = vec4<f32>(0.0);
    var acc0b = vec4<f32>(0.0);
    var acc1a = vec4<f32>(0.0);
    var acc1b = vec4<f32>(0.0);
    var acc2a = vec4<f32>(0.0);
    var acc2b = vec4<f32>(0.0);
    var acc3a = vec4<f32>(0.0);
    var acc3b = vec4<f32>(0.0);
    var acc4a = vec4<f32>(0.0);
    var acc4b = vec4<f32>(0.0);
    var acc5a = vec4<f32>(0.0);
    var acc5b = vec4<f32>(0.0);
    var acc6a = vec4<f32>(0.0);
    var acc6b = vec4<f32>(0.0);
    var acc7a = vec4<f32>(0.0);
    var acc7b = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < dims.k; k0 += TK) {
        // Stage the slice; consecutive threads read consecutive addresses in both layouts.
        for (var s = 0u; s < TK * TM / 4u / THREADS; s++) {
            let v = tid + s * THREADS;
            var r4: u32;
            var kk: u32;
            if (dims.a_t == 0u) {
                kk = v % TK;
                r4 = v / TK;
            } else {
                r4 = v % (TM / 4u);
                kk = v / (TM / 4u);
            }
            let r = row0 + 4u * r4;
            let kg = k0 + kk;
            a_tile[kk * (TM / 4u) + r4] = vec4<f32>(
                load_a(a_base, r, kg, a_rs, a_ks),
                load_a(a_base, r + 1u, kg, a_rs, a_ks),
                load_a(a_base, r + 2u, kg, a_rs, a_ks),
                load_a(a_base, r + 3u, kg, a_rs, a_ks),
            );
        }
        for (var s = 0u; s < TK * TN / 4u / THREADS; s++) {
            let v = tid + s * THREADS;
            var c4: u32;
            var kk: u32;
            if (dims.b_t == 0u) {
                c4 = v % (TN / 4u);
                kk = v / (TN / 4u);
            } else {
                kk = v % TK;
                c4 = v / TK;
            }
            let cc = col0 + 4u * c4;
            let kg = k0 + kk;
            b_tile[kk * (TN / 4u) + c4] = vec4<f32>(
                load_b(b_base, kg, cc, b_ks, b_cs),
                load_b(b_base, kg, cc + 1u, b_ks, b_cs),
                load_b(b_base, kg, cc + 2u, b_ks, b_cs),
                load_b(b_base, kg, cc + 3u, b_ks, b_cs),
            );
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let ao = kk * (TM / 4u) + 2u * lid.y;
            let bo = kk * (TN / 4u) + 2u * lid.x;
            let a0 = a_tile[ao]; // rows 0-3 of this thread's block
            let a1 = a_tile[ao + 1u]; // rows 4-7
            let b0 = b_tile[bo]; // columns 0-3
            let b1 = b_tile[bo + 1u]; // columns 4-7
            acc0a += a0.x * b0;
            acc0b += a0.x * b1;
            acc1a += a0.y * b0;
            acc1b += a0.y * b1;
            acc2a += a0.z * b0;
            acc2b += a0.z * b1;
            acc3a += a0.w * b0;
            acc3b += a0.w * b1;
            acc4a += a1.x * b0;
            acc4b += a1.x * b1;
            acc5a += a1.y * b0;
            acc5b += a1.y * b1;
            acc6a += a1.z * b0;
            acc6b += a1.z * b1;
            acc7a += a1.w * b0;
            acc7b += a1.w * b1;
        }
        workgroupBarrier();
    }
    let c_base = batch * dims.stride_c;
    let row = row0 + 8u * lid.y;
    let col = col0 + 8u * lid.x;
    store_row(c_base, row, col, acc0a, acc0b);
    store_row(c_base, row + 1u, col, acc1a, acc1b);
    store_row(c_base, row + 2u, col, acc2a, acc2b);
    store_row(c_base, row + 3u, col, acc3a, acc3b);
    store_row(c_base, row + 4u, col, acc4a, acc4b);
    store_row(c_base, row + 5u, col, acc5a, acc5b);
    store_row(c_base, row + 6u, col, acc6a, acc6b);
    store_row(c_base, row + 7u, col, acc7a, acc7b);
}

// 3 x 3 convolution, padding 1, stride 1, no bias, NCHW, as an implicit GEMM:
//   y[n,o,h,w] = C[o, p] = sum_k W[o, k] X[k, p],  p = (n, h, w),  k = c 9 + i 3 + j,
//   X[k, p] = x[n, c, h+i-1, w+j-1] (0 outside the image): the im2col matrix, never stored; each
//   k-slice of it is gathered straight into workgroup memory.
// Every output sums its k terms in increasing order from 0.0 (c, then i, then j; out-of-range
// inputs add 0 w). With flip = 1 the same kernel gives the input gradient: rows are input
// channels, k = o 9 + i 3 + j, W[c, k] = wt[o, c, i, j] and X[k, p] = dy[n, o, h-i+1, w-j+1]
// (binding x holds dy, y receives dx), the order of the input gradient's sum. Both orders are
// those of the direct kernels (one thread per output) this replaced, which skipped the 0 terms.
// A workgroup of TX x TY threads computes a (8 TY) x (8 TX) tile of C, each thread an 8 x 8 block
// in sixteen vec4 registers, as in matmul.wgsl. ops.rs compiles this file with TY = 2, 4 and 8
// (16, 32 and 64 rows: the fewest that cover the output channels, up to 64).
struct Dims { n: u32, c_in: u32, c_out: u32, h: u32, w: u32, flip: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const TX: u32 = 16u;
const TY: u32 = 8u;
const TK: u32 = 16u;
const TM: u32 = 8u * TY;
const TN: u32 = 8u * TX;
const THREADS: u32 = TX * TY;
// Each thread stages the same four columns of X in every slice, at rows kk = tid / (TN / 4) + s KSTEP.
const KSTEP: u32 = THREADS / (TN / 4u);

var<workgroup> a_tile: array<vec4<f32>, TK * TM / 4u>; // [TK][TM / 4]: four rows of W at one k
var<workgroup> b_tile: array<vec4<f32>, TK * TN / 4u>; // [TK][TN / 4]: four columns of X at one k

const NONE: u32 = 0xffffffffu;

// Where output columns p0 .. p0 + 3 start in y (n rows plane + h W + w, for row 0); NONE past the end.
fn out_offsets(p0: u32, rows: u32) -> vec4<u32> {
    let plane = dims.h * dims.w;
    var o = vec4<u32>(NONE);
    for (var e = 0u; e < 4u; e++) {
        let p = p0 + e;
        if (p < dims.n * plane) {
            o[e] = (p / plane) * rows * plane + p % plane;
        }
    }
    return o;
}

// Row `row` of this thread's block: eight columns (lo, then hi) at offsets ol, oh.
fn store_row(row: u32, rows: u32, ol: vec4<u32>, oh: vec4<u32>, lo: vec4<f32>, hi: vec4<f32>) {
    if (row >= rows) {
        return;
    }
    let ro = row * dims.h * dims.w;
    for (var e = 0u; e < 4u; e++) {
        if (ol[e] != NONE) {
            y[ol[e] + ro] = lo[e];
        }
        if (oh[e] != NONE) {
            y[oh[e] + ro] = hi[e];
        }
    }
}

@compute @workgroup_size(TX, TY, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let flip = dims.flip != 0u;
    let rows = select(dims.c_out, dims.c_in, flip); // output channels
    let ch = select(dims.c_in, dims.c_out, flip); // channels of the convolved tensor
    let kdim = 9u * ch;
    let plane = dims.h * dims.w;
    let row0 = wg.y * TM;
    let col0 = (wg.x + wg.z * nwg.x) * TN; // columns of tiles past 65,535 continue in z
    let tid = lid.y * TX + lid.x;
    // W[row, k] = wt[row a_rs + (k / 9) a_cs + k % 9].
    var a_rs = kdim;
    var a_cs = 9u;
    if (flip) {
        a_rs = 9u;
        a_cs = 9u * rows;
    }
    // This thread's four staged columns of X: image offset, h and w (h far outside past the end).
    let c4 = tid % (TN / 4u);
    let kb = tid / (TN / 4u);
    var col_base = vec4<u32>(0u);
    var col_h = vec4<i32>(-65536);
    var col_w = vec4<i32>(0);
    for (var e = 0u; e < 4u; e++) {
        let p = col0 + 4u * c4 + e;
        if (p < dims.n * plane) {
            let hw = p % plane;
            col_base[e] = (p / plane) * ch * plane;
            col_h[e] = i32(hw / dims.w);
            col_w[e] = i32(hw % dims.w);
        }
    }
    let hmax = vec4<i32>(i32(dims.h));
    let wmax = vec4<i32>(i32(dims.w));
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
    for (var k0 = 0u; k0 < kdim; k0 += TK) {
        for (var s = 0u; s < TK * TM / 4u / THREADS; s++) {
            let v = tid + s * THREADS;
            let kk = v % TK;
            let r4 = v / TK;
            let k = k0 + kk;
            let kc = (k / 9u) * a_cs + k % 9u;
            var wv = vec4<f32>(0.0);
            for (var e = 0u; e < 4u; e++) {
                let r = row0 + 4u * r4 + e;
                let ok = r < rows && k < kdim;
                wv[e] = select(0.0, wt[select(0u, r * a_rs + kc, ok)], ok);
            }
            a_tile[kk * (TM / 4u) + r4] = wv;
        }
        for (var s = 0u; s < TK / KSTEP; s++) {
            let kk = kb + s * KSTEP;
            let k = k0 + kk;
            let ij = k % 9u;
            var di = i32(ij / 3u) - 1;
            var dj = i32(ij % 3u) - 1;
            if (flip) {
                di = -di;
                dj = -dj;
            }
            let hh = col_h + di;
            let ww = col_w + dj;
            let inside = (hh >= vec4<i32>(0)) & (hh < hmax) & (ww >= vec4<i32>(0)) & (ww < wmax);
            let ok = inside & vec4<bool>(k < kdim);
            let at = col_base + (k / 9u) * plane + vec4<u32>(hh) * dims.w + vec4<u32>(ww);
            let i = select(vec4<u32>(0u), at, ok);
            let xv = vec4<f32>(x[i.x], x[i.y], x[i.z], x[i.w]);
            b_tile[kk * (TN / 4u) + c4] = select(vec4<f32>(0.0), xv, ok);
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
    let row = row0 + 8u * lid.y;
    let ol = out_offsets(col0 + 8u * lid.x, rows);
    let oh = out_offsets(col0 + 8u * lid.x + 4u, rows);
    store_row(row, rows, ol, oh, acc0a, acc0b);
    store_row(row + 1u, rows, ol, oh, acc1a, acc1b);
    store_row(row + 2u, rows, ol, oh, acc2a, acc2b);
    store_row(row + 3u, rows, ol, oh, acc3a, acc3b);
    store_row(row + 4u, rows, ol, oh, acc4a, acc4b);
    store_row(row + 5u, rows, ol, oh, acc5a, acc5b);
    store_row(row + 6u, rows, ol, oh, acc6a, acc6b);
    store_row(row + 7u, rows, ol, oh, acc7a, acc7b);
}

// Weight gradient of the 3 x 3 padding-1 convolution (NCHW) as an implicit GEMM, split over k:
//   dW[o, q] = sum_k dY[o, k] X[q, k],  q = c 9 + i 3 + j,  k = (n, h, w),
//   dY[o, k] = dy[n, o, h, w],  X[q, k] = x[n, c, h+i-1, w+j-1] (0 outside the image),
// i.e. dW (C_out x 9 C_in) = dY (C_out x N H W) im2col(x)^T; neither matrix is stored, each
// k-slice of both is gathered straight into workgroup memory.
// The k axis is cut into `splits` ranges of `chunk` values: the workgroups of range s write the
// partial sums P_s[o, q] (each over its range in increasing k, from 0.0) to part[s][o][q], and
// conv2d_weight_grad_sum.wgsl adds P_0 + P_1 + ... in that order (one range: part is dW itself).
// No atomics, so the same inputs give the same bits on every run.
// A workgroup of TX x TY threads computes a (8 TY) x (8 TX) tile of P_s, each thread an 8 x 8
// block in sixteen vec4 registers, as in matmul.wgsl. ops.rs compiles this file with TY = 2, 4
// and 8 (16, 32 and 64 rows by 64 columns: the fewest rows that cover the output channels) and
// with TX = TY = 16 (128 x 128) for more channels. Staging needs TY <= TX and PIX dividing TK.
struct Dims {
    n: u32,
    c_in: u32,
    c_out: u32,
    h: u32,
    w: u32,
    chunk: u32,
    splits: u32,
    col_tiles: u32,
    row_tiles: u32,
}
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

const TX: u32 = 8u;
const TY: u32 = 8u;
const TK: u32 = 16u;
const TM: u32 = 8u * TY;
const TN: u32 = 8u * TX;
const THREADS: u32 = TX * TY;
// Threads per group of four columns: a thread stages the same four columns of X (and, below TM,
// the same four rows of dY) in every slice, at every PIX-th pixel of it.
const PIX: u32 = THREADS / (TN / 4u);

var<workgroup> a_tile: array<vec4<f32>, TK * TM / 4u>; // [TK][TM / 4]: four rows of dY at one k
var<workgroup> b_tile: array<vec4<f32>, TK * TN / 4u>; // [TK][TN / 4]: four rows of X at one k

// Row `row` of this thread's block: eight columns (lo, then hi) from `col` on, those inside.
fn store_row(base: u32, row: u32, col: u32, cols: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (row >= dims.c_out) {
        return;
    }
    for (var e = 0u; e < 4u; e++) {
        if (col + e < cols) {
            part[base + row * cols + col + e] = lo[e];
        }
        if (col + 4u + e < cols) {
            part[base + row * cols + col + 4u + e] = hi[e];
        }
    }
}

@compute @workgroup_size(TX, TY, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    // Workgroups in a 2D grid (65,535 per dimension): column tile, then row tile, then range.
    let group = wg.x + wg.y * nwg.x;
    let tiles = dims.col_tiles * dims.row_tiles;
    if (group >= tiles * dims.splits) {
        return;
    }
    let split = group / tiles;
    let row0 = (group % tiles) / dims.col_tiles * TM;
    let col0 = group % dims.col_tiles * TN;
    let plane = dims.h * dims.w;
    let cols = 9u * dims.c_in;
    let k_begin = split * dims.chunk;
    let k_end = min(k_begin + dims.chunk, dims.n * plane);
    let tid = lid.y * TX + lid.x;
    // This thread's four columns q of X: channel offset and tap (i - 1, j - 1); their offset from
    // the pixel, c H W + (i - 1) W + (j - 1), wraps around in u32 and back when added.
    let c4 = tid / PIX;
    let q = vec4<u32>(col0 + 4u * c4) + vec4<u32>(0u, 1u, 2u, 3u);
    let ij = q % vec4<u32>(9u);
    let di = vec4<i32>(ij / vec4<u32>(3u)) - vec4<i32>(1);
    let dj = vec4<i32>(ij % vec4<u32>(3u)) - vec4<i32>(1);
    let q_off = (q / vec4<u32>(9u)) * plane + vec4<u32>(di * i32(dims.w) + dj);
    let q_in = q < vec4<u32>(cols);
    let o = row0 + 4u * c4; // and its four rows of dY, if c4 < TM / 4
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
    // The pixel k this thread stages next, as image n, row h, column w: divided out once, then
    // moved PIX = step_h W + step_w on at a time (dividing anew for each would cost about as much
    // as the multiply-adds where SIMD lanes divide one by one, as on lavapipe).
    var k = k_begin + tid % PIX;
    var n = k / max(plane, 1u);
    var h = k % max(plane, 1u) / max(dims.w, 1u);
    var w = k % max(dims.w, 1u);
    let step_h = PIX / max(dims.w, 1u);
    let step_w = PIX % max(dims.w, 1u);
    for (var k0 = k_begin; k0 < k_end; k0 += TK) {
        for (var s = 0u; s < TK / PIX; s++) {
            let kk = tid % PIX + s * PIX;
            let live = k < k_end; // past the range, stage zeros
            let pixel = h * dims.w + w;
            if (c4 < TM / 4u) {
                let ybase = n * dims.c_out * plane + pixel;
                var yv = vec4<f32>(0.0);
                for (var e = 0u; e < 4u; e++) {
                    let ok = live && o + e < dims.c_out;
                    yv[e] = select(0.0, dy[select(0u, ybase + (o + e) * plane, ok)], ok);
                }
                a_tile[kk * (TM / 4u) + c4] = yv;
            }
            let hh = vec4<u32>(vec4<i32>(i32(h)) + di);
            let ww = vec4<u32>(vec4<i32>(i32(w)) + dj);
            let inside = (hh < vec4<u32>(dims.h)) & (ww < vec4<u32>(dims.w));
            let ok = inside & q_in & vec4<bool>(live);
            let at = vec4<u32>(n * dims.c_in * plane + pixel) + q_off;
            let i = select(vec4<u32>(0u), at, ok);
            let xv = vec4<f32>(x[i.x], x[i.y], x[i.z], x[i.w]);
            b_tile[kk * (TN / 4u) + c4] = select(vec4<f32>(0.0), xv, ok);
            k += PIX;
            w += step_w;
            h += step_h;
            if (w >= dims.w) {
                w -= dims.w;
                h += 1u;
            }
            if (h >= dims.h) {
                n += h / dims.h;
                h %= dims.h;
            }
        }
        workgroupBarrier();
        for (var t = 0u; t < TK; t++) {
            let ao = t * (TM / 4u) + 2u * lid.y;
            let bo = t * (TN / 4u) + 2u * lid.x;
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
    let base = split * dims.c_out * cols;
    let row = row0 + 8u * lid.y;
    let col = col0 + 8u * lid.x;
    store_row(base, row, col, cols, acc0a, acc0b);
    store_row(base, row + 1u, col, cols, acc1a, acc1b);
    store_row(base, row + 2u, col, cols, acc2a, acc2b);
    store_row(base, row + 3u, col, cols, acc3a, acc3b);
    store_row(base, row + 4u, col, cols, acc4a, acc4b);
    store_row(base, row + 5u, col, cols, acc5a, acc5b);
    store_row(base, row + 6u, col, cols, acc6a, acc6b);
    store_row(base, row + 7u, col, cols, acc7a, acc7b);
}

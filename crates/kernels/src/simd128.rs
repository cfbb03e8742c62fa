//! WebAssembly simd128 SGEMM, the CPU path's matrix product in the browser:
//!   C[i][j] = sum_p op(A)[i][p] op(B)[p][j]   (f32; op(A) is m x k, op(B) is k x n).
//!
//! Blocking: op(B) is packed once per product, in blocks of `KC` = 256 values of p, each block a
//! run of panels `NR` = 8 columns wide (256 x 8, p-major, zero-padded past n): the kernel streams a
//! block sequentially. For each block of up to `MC` = 64 output rows and each block of p, op(A) is
//! packed in tiles of `MR` = 4 rows (p-major), and a 4 x 8 micro-kernel holds its 4 x 2 f32x4
//! accumulators in registers: per p, two loads of B, four splats of A, eight multiplies and eight
//! adds (4 x 8 and 2 x 16 were the fastest tiles measured in V8; larger ones spill its 16 vector
//! registers). A 256 x 8 panel of B (8 KiB) stays in L1 across the row tiles of a block.
//!
//! Determinism: simd128 has no fused multiply-add, so every C[i][j] is
//! (((0 + a_0 b_0) + a_1 b_1) + ...) + a_{k-1} b_{k-1}, each product rounded, in the order
//! p = 0, 1, ..., k - 1, whatever the tile (edge tiles run the same kernel on zero-padded operands),
//! the row range or the block boundaries (a `KC` block's partial sums are stored in C exactly and
//! reloaded). Rows computed a slice at a time equal the whole product bit for bit.

use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128};
use core::ptr;
use std::ops::Range;

/// Rows of the micro-kernel's tile.
const MR: usize = 4;
/// f32x4 vectors across the tile.
const NV: usize = 2;
/// Columns of the tile (and of a packed B panel).
const NR: usize = 4 * NV;
/// Values of p per block.
const KC: usize = 256;
/// Output rows per block (a multiple of `MR`).
const MC: usize = 64;

/// op(B) (k x n, element (p, j) at `b[p * rsb + j * csb]`) packed for `gemm_rows`: for each block
/// of `KC` values of p (p0..p0 + kc), its panels of `NR` columns one after the other, each kc rows
/// of NR values (zero past column n); a block is one sequential stream for the kernel.
pub(super) fn pack_b(b: &[f32], k: usize, n: usize, rsb: usize, csb: usize) -> Vec<f32> {
    let panels = n.div_ceil(NR);
    let mut out = vec![0.0f32; panels * k * NR];
    let mut p0 = 0;
    while p0 < k {
        let kc = KC.min(k - p0);
        let block = &mut out[p0 * panels * NR..(p0 + kc) * panels * NR];
        for (jp, panel) in block.chunks_exact_mut(kc * NR).enumerate() {
            pack_b_panel(b, (rsb, csb), p0, jp * NR, n, panel);
        }
        p0 += kc;
    }
    out
}

/// One panel of `pack_b`: rows p0.. of op(B), columns j0..j0 + NR (those before n).
// Not inlined, like `micro`: V8 swaps in a function's optimised code at its next call, and
// `pack_b` runs once per product.
#[inline(never)]
fn pack_b_panel(
    b: &[f32],
    (rsb, csb): (usize, usize),
    p0: usize,
    j0: usize,
    n: usize,
    panel: &mut [f32],
) {
    let w = NR.min(n - j0);
    for (p, row) in (p0..).zip(panel.chunks_exact_mut(NR)) {
        let row = &mut row[..w];
        if csb == 1 {
            row.copy_from_slice(&b[p * rsb + j0..p * rsb + j0 + w]);
        } else {
            for (jj, v) in row.iter_mut().enumerate() {
                *v = b[p * rsb + (j0 + jj) * csb];
            }
        }
    }
}

/// Rows `rows` of C = op(A) op(B) into `c` (the whole row-major m x n output), where op(A)'s
/// element (i, p) is `a[i * rsa + p * csa]` and `packed` is `pack_b`'s op(B).
/// The caller has checked the shapes: `c` has m x n values, rows lie in 0..m, k > 0 and n > 0.
pub(super) fn gemm_rows(
    a: &[f32],
    (rsa, csa): (usize, usize),
    packed: &[f32],
    (k, n): (usize, usize),
    rows: Range<usize>,
    c: &mut [f32],
) {
    let panels = n.div_ceil(NR);
    assert!(packed.len() == panels * k * NR && rows.end * n <= c.len());
    let most_rows = rows.len().min(MC).div_ceil(MR) * MR;
    let mut apack = vec![0.0f32; most_rows * KC.min(k)];
    let mut i0 = rows.start;
    while i0 < rows.end {
        let i1 = (i0 + MC).min(rows.end);
        let tiles = (i1 - i0).div_ceil(MR);
        let mut p0 = 0;
        while p0 < k {
            let kc = KC.min(k - p0);
            let apack = &mut apack[..tiles * kc * MR];
            pack_a(a, (rsa, csa), i0..i1, p0..p0 + kc, apack);
            let block = &packed[p0 * panels * NR..(p0 + kc) * panels * NR];
            for jp in 0..panels {
                let j0 = jp * NR;
                let panel = &block[jp * kc * NR..(jp + 1) * kc * NR];
                for (t, tile) in apack.chunks_exact(kc * MR).enumerate() {
                    let r0 = i0 + t * MR;
                    let (h, w) = (MR.min(i1 - r0), NR.min(n - j0));
                    if h == MR && w == NR {
                        let out = &mut c[r0 * n + j0..(r0 + MR - 1) * n + j0 + NR];
                        // SAFETY: `tile` holds kc x MR values and `panel` kc x NR; `out` spans
                        // rows r0..r0 + MR of C, columns j0..j0 + NR, at stride n (its length
                        // (MR - 1) n + NR is checked by the slice).
                        unsafe {
                            micro(
                                kc,
                                tile.as_ptr(),
                                panel.as_ptr(),
                                out.as_mut_ptr(),
                                n,
                                p0 > 0,
                            )
                        };
                    } else {
                        // An edge tile: the same kernel on a full tile, copied in and out.
                        let mut tmp = [0.0f32; MR * NR];
                        for r in 0..h {
                            let row = (r0 + r) * n + j0;
                            tmp[r * NR..r * NR + w].copy_from_slice(&c[row..row + w]);
                        }
                        // SAFETY: as above, with `tmp` an MR x NR tile at stride NR.
                        unsafe {
                            micro(
                                kc,
                                tile.as_ptr(),
                                panel.as_ptr(),
                                tmp.as_mut_ptr(),
                                NR,
                                p0 > 0,
                            )
                        };
                        for r in 0..h {
                            let row = (r0 + r) * n + j0;
                            c[row..row + w].copy_from_slice(&tmp[r * NR..r * NR + w]);
                        }
                    }
                }
            }
            p0 += kc;
        }
        i0 = i1;
    }
}

/// Rows `rows` and columns `ps` of op(A) into tiles of `MR` rows, each `ps.len()` x MR p-major;
/// rows past the end are zero. (Not inlined: see `pack_b_panel`.)
#[inline(never)]
fn pack_a(
    a: &[f32],
    (rsa, csa): (usize, usize),
    rows: Range<usize>,
    ps: Range<usize>,
    out: &mut [f32],
) {
    let kc = ps.len();
    for (t, tile) in out.chunks_exact_mut(kc * MR).enumerate() {
        let r0 = rows.start + t * MR;
        let h = MR.min(rows.end - r0);
        if h < MR {
            tile.fill(0.0);
        }
        for r in 0..h {
            let base = (r0 + r) * rsa;
            for (dst, p) in tile.chunks_exact_mut(MR).zip(ps.clone()) {
                dst[r] = a[base + p * csa];
            }
        }
    }
}

/// The MR x NR micro-kernel: C tile (+)= A tile B panel over `kc` values of p, accumulating into
/// the tile's current values when `accumulate`, else from zero.
///
/// # Safety
/// `ap` must point to kc x MR readable values, `bp` to kc x NR, and `c` to MR rows of NR writable
/// values at stride `ldc`.
// Not inlined: V8 first runs WebAssembly through its baseline compiler and swaps in the optimised
// code at a function's next call, which for a small kernel called once per tile comes at once
// (inlined into `gemm_rows`, the slow code would run until the caller's next `rows`).
#[inline(never)]
unsafe fn micro(
    kc: usize,
    ap: *const f32,
    bp: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    let mut acc = [[f32x4_splat(0.0); NV]; MR];
    if accumulate {
        for (r, row) in acc.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                // SAFETY: inside the tile (the caller's contract); unaligned reads are allowed.
                *x = unsafe { ptr::read_unaligned(c.add(r * ldc + 4 * v) as *const v128) };
            }
        }
    }
    for p in 0..kc {
        // SAFETY: p < kc, so these reads are inside the A tile and the B panel.
        let (ap, bp) = unsafe { (ap.add(p * MR), bp.add(p * NR)) };
        let mut b = [f32x4_splat(0.0); NV];
        for (v, x) in b.iter_mut().enumerate() {
            // SAFETY: as above.
            *x = unsafe { ptr::read_unaligned(bp.add(4 * v) as *const v128) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: as above.
            let av = f32x4_splat(unsafe { *ap.add(r) });
            for (x, bv) in row.iter_mut().zip(b) {
                *x = f32x4_add(*x, f32x4_mul(av, bv));
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            // SAFETY: inside the tile (the caller's contract).
            unsafe { ptr::write_unaligned(c.add(r * ldc + 4 * v) as *mut v128, *x) };
        }
    }
}

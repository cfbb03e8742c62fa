//! The CPU path's simd128 SGEMM (WebAssembly with SIMD only; natively this file is empty):
//! parity with the f64 reference at awkward shapes and every transpose, each value equal bit for
//! bit to the sequential f32 sum over k, and row slices equal to the whole product bit for bit.
//! Run with `scripts/test-wasm-kernels.sh` (Node, wasm-bindgen-test-runner).
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use glassbox_lab::kernels::{matmul, matmul_naive, max_errors, MatmulShape, PreparedProduct};
use glassbox_lab::rng::Rng;
use wasm_bindgen_test::wasm_bindgen_test;

const SIZES: [usize; 4] = [1, 7, 33, 129];
const TRANSPOSES: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

fn shape(m: usize, k: usize, n: usize, (at, bt): (bool, bool)) -> MatmulShape {
    MatmulShape {
        a_transposed: at,
        b_transposed: bt,
        ..MatmulShape::new(m, k, n)
    }
}

fn operands(s: MatmulShape, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let a = (0..s.a_len()).map(|_| rng.normal() as f32).collect();
    let b = (0..s.b_len()).map(|_| rng.normal() as f32).collect();
    (a, b)
}

/// The order the kernel promises: c[i][j] = ((0 + a_0 b_0) + a_1 b_1) + ..., each step rounded.
fn sequential_f32(a: &[f32], b: &[f32], s: MatmulShape) -> Vec<f32> {
    let (m, k, n) = (s.m, s.k, s.n);
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let av = if s.a_transposed {
                    a[p * m + i]
                } else {
                    a[i * k + p]
                };
                let bv = if s.b_transposed {
                    b[j * k + p]
                } else {
                    b[p * n + j]
                };
                acc += av * bv;
            }
            c[i * n + j] = acc;
        }
    }
    c
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The whole product through `rows(0..m)`, into an output filled with `fill` first.
fn whole(a: &[f32], b: &[f32], s: MatmulShape) -> Vec<f32> {
    let op = PreparedProduct::new(a, b, s).expect("shape");
    let mut c = vec![f32::NAN; s.c_len()];
    op.rows(0..s.m, &mut c).expect("rows");
    c
}

#[wasm_bindgen_test]
fn matches_the_f64_reference_at_awkward_shapes_and_every_transpose() {
    let mut seed = 0;
    for m in SIZES {
        for k in SIZES {
            for n in SIZES {
                for t in TRANSPOSES {
                    seed += 1;
                    let s = shape(m, k, n, t);
                    let (a, b) = operands(s, seed);
                    let got = whole(&a, &b, s);
                    let (_, rel) = max_errors(&got, &matmul_naive(&a, &b, s));
                    assert!(rel < 1e-5, "{s:?}: relative error {rel}");
                    assert_eq!(
                        bits(&got),
                        bits(&sequential_f32(&a, &b, s)),
                        "{s:?}: not the sequential f32 sum"
                    );
                    // `matmul` (every batch) is the same product.
                    assert_eq!(bits(&matmul(&a, &b, s).expect("matmul")), bits(&got));
                }
            }
        }
    }
}

#[wasm_bindgen_test]
fn long_sums_cross_the_k_blocks_in_order() {
    // k beyond one block of p (256) and m beyond one block of rows (64).
    for (m, k, n) in [(70, 600, 19), (9, 257, 33), (130, 513, 8)] {
        for t in TRANSPOSES {
            let s = shape(m, k, n, t);
            let (a, b) = operands(s, (m * k * n) as u64);
            let got = whole(&a, &b, s);
            let (_, rel) = max_errors(&got, &matmul_naive(&a, &b, s));
            assert!(rel < 1e-5, "{s:?}: relative error {rel}");
            assert_eq!(bits(&got), bits(&sequential_f32(&a, &b, s)), "{s:?}");
        }
    }
}

#[wasm_bindgen_test]
fn row_slices_equal_the_whole_product_bit_for_bit() {
    for (m, k, n) in [(129, 129, 129), (33, 7, 129), (129, 300, 33), (7, 33, 1)] {
        for t in TRANSPOSES {
            let s = shape(m, k, n, t);
            let (a, b) = operands(s, 7 + m as u64);
            let want = bits(&whole(&a, &b, s));
            // Splits: single rows, the benchmark's blocks of 8, blocks of 3 and 65 (across the
            // row blocks at other offsets), and a few ragged cuts.
            let mut splits: Vec<Vec<usize>> = [1, 3, 8, 65]
                .iter()
                .map(|&step| (0..m).step_by(step).chain([m]).collect())
                .collect();
            splits.push(vec![0, 5.min(m), 70.min(m), m]);
            splits.push(vec![0, m / 2, m]);
            for cuts in splits {
                // A fresh product per split (packing is redone) and one shared by every slice.
                let op = PreparedProduct::new(&a, &b, s).expect("shape");
                let mut c = vec![f32::NAN; s.c_len()];
                for w in cuts.windows(2) {
                    let mut alone = vec![f32::NAN; s.c_len()];
                    PreparedProduct::new(&a, &b, s)
                        .expect("shape")
                        .rows(w[0]..w[1], &mut alone)
                        .expect("rows");
                    // Only the requested rows are written.
                    assert!(alone[..w[0] * n].iter().all(|v| v.is_nan()), "{s:?} {w:?}");
                    assert!(alone[w[1] * n..].iter().all(|v| v.is_nan()), "{s:?} {w:?}");
                    assert_eq!(bits(&alone[w[0] * n..w[1] * n]), want[w[0] * n..w[1] * n]);
                    op.rows(w[0]..w[1], &mut c).expect("rows");
                }
                assert_eq!(bits(&c), want, "{s:?} split at {cuts:?}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn runs_are_identical() {
    let s = shape(129, 129, 129, (false, false));
    let (a, b) = operands(s, 3);
    let first = bits(&whole(&a, &b, s));
    for _ in 0..3 {
        assert_eq!(bits(&whole(&a, &b, s)), first);
    }
}

#[wasm_bindgen_test]
fn an_empty_sum_is_zero_and_empty_shapes_are_fine() {
    for t in TRANSPOSES {
        let s = shape(7, 0, 33, t);
        let (a, b) = operands(s, 1);
        assert!(a.is_empty() && b.is_empty());
        assert_eq!(matmul(&a, &b, s).expect("matmul"), vec![0.0; 7 * 33]);
        // Only the requested rows are zeroed.
        let mut c = vec![5.0f32; s.c_len()];
        let op = PreparedProduct::new(&a, &b, s).expect("shape");
        op.rows(2..4, &mut c).expect("rows");
        for (i, row) in c.chunks(33).enumerate() {
            let want = if (2..4).contains(&i) { 0.0 } else { 5.0 };
            assert!(row.iter().all(|&v| v == want), "row {i}");
        }
    }
    for (m, k, n) in [(0, 5, 3), (4, 5, 0), (0, 0, 0)] {
        let s = shape(m, k, n, (false, false));
        let (a, b) = operands(s, 2);
        assert_eq!(matmul(&a, &b, s).expect("matmul").len(), m * n);
    }
    // A range past the end is clipped; a wrong output size is an error, not a panic.
    let s = shape(7, 7, 7, (false, false));
    let (a, b) = operands(s, 4);
    let op = PreparedProduct::new(&a, &b, s).expect("shape");
    let mut c = vec![f32::NAN; s.c_len()];
    op.rows(4..100, &mut c).expect("rows");
    assert_eq!(bits(&c[4 * 7..]), bits(&whole(&a, &b, s)[4 * 7..]));
    assert!(op.rows(0..7, &mut [0.0; 3]).is_err());
}

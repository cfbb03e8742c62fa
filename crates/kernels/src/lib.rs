//! CPU references of the compute engine's kernels (f32, like the GPU), and the CPU path itself. A
//! crate of its own (re-exported as `glassbox_lab::kernels`) so the browser's build keeps it at full
//! optimisation while the lab around it is built for size.
//!
//! Batched matrix multiply with optional transposes: for every batch b,
//!   C_b = op(A_b) op(B_b),  op(A) is m x k, op(B) is k x n, C is m x n (row-major),
//! where op(X) = X, or X^T when the operand is stored transposed. FLOPs = 2 m n k per batch.
//!
//! The CPU path's product is `matrixmultiply`'s SGEMM natively (the reference, on every core) and
//! the register-blocked SGEMM of the `simd128` module in WebAssembly with SIMD (the browser).
//! The convolutions' unfolding around it (im2col, col2im) is in `conv`.

pub mod conv;

/// The simd128 SGEMM (WebAssembly with SIMD only).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

/// Shape and layout of a (batched) matrix product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulShape {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// A is stored as k x m (so op(A) = A^T).
    pub a_transposed: bool,
    /// B is stored as n x k (so op(B) = B^T).
    pub b_transposed: bool,
}

impl MatmulShape {
    pub fn new(m: usize, k: usize, n: usize) -> Self {
        MatmulShape {
            batch: 1,
            m,
            k,
            n,
            a_transposed: false,
            b_transposed: false,
        }
    }
    pub fn a_len(&self) -> usize {
        self.batch * self.m * self.k
    }
    pub fn b_len(&self) -> usize {
        self.batch * self.k * self.n
    }
    pub fn c_len(&self) -> usize {
        self.batch * self.m * self.n
    }
    pub fn flops(&self) -> f64 {
        2.0 * (self.batch * self.m * self.n * self.k) as f64
    }
    pub fn check(&self, a: &[f32], b: &[f32]) -> Result<(), String> {
        if a.len() != self.a_len() || b.len() != self.b_len() {
            return Err(format!(
                "matmul {self:?}: A has {} values (want {}), B has {} (want {})",
                a.len(),
                self.a_len(),
                b.len(),
                self.b_len()
            ));
        }
        Ok(())
    }
}

/// C = op(A) op(B), computed on the CPU.
pub fn matmul(a: &[f32], b: &[f32], s: MatmulShape) -> Result<Vec<f32>, String> {
    s.check(a, b)?;
    let (m, k, n) = (s.m, s.k, s.n);
    let mut c = vec![0.0f32; s.c_len()];
    for bi in 0..s.batch {
        let op = PreparedProduct::new(
            &a[bi * m * k..(bi + 1) * m * k],
            &b[bi * k * n..(bi + 1) * k * n],
            s,
        )?;
        op.rows(0..m, &mut c[bi * m * n..(bi + 1) * m * n])?;
    }
    Ok(c)
}

/// One product (one batch) whose output rows can be computed a block at a time, so a caller can
/// split a large product into short pieces. Natively the work is done by `matrixmultiply`'s packed,
/// blocked SGEMM (SIMD kernels chosen at run time, on all cores); in WebAssembly with simd128 by
/// the `simd128` kernel, which packs op(B) once, at the first call, and whose rows are bit for
/// bit the same however the product is split. A transposed operand is only a change of strides.
pub struct PreparedProduct<'a> {
    a: &'a [f32],
    b: &'a [f32],
    s: MatmulShape,
    /// op(B) packed for the simd128 kernel, made by the first `rows` call.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    packed_b: std::sync::OnceLock<Vec<f32>>,
}

impl<'a> PreparedProduct<'a> {
    /// `a` and `b` are one batch's operands, stored as `s` says.
    pub fn new(a: &'a [f32], b: &'a [f32], s: MatmulShape) -> Result<Self, String> {
        let one = MatmulShape { batch: 1, ..s };
        one.check(a, b)?;
        Ok(PreparedProduct {
            a,
            b,
            s: one,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            packed_b: std::sync::OnceLock::new(),
        })
    }

    /// Output rows `rows` into `c` (the whole m x n output).
    pub fn rows(&self, rows: std::ops::Range<usize>, c: &mut [f32]) -> Result<(), String> {
        let MatmulShape { m, k, n, .. } = self.s;
        let end = rows.end.min(m);
        if rows.start >= end || n == 0 {
            return Ok(());
        }
        if c.len() != m * n {
            return Err(format!("output has {} values, want {}", c.len(), m * n));
        }
        // Strides (row, column) of op(A) (m x k) and op(B) (k x n) in their storage.
        let (rsa, csa) = if self.s.a_transposed { (1, m) } else { (k, 1) };
        let (rsb, csb) = if self.s.b_transposed { (1, k) } else { (n, 1) };
        if k == 0 {
            c[rows.start * n..end * n].fill(0.0);
            return Ok(());
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            let packed = self
                .packed_b
                .get_or_init(|| simd128::pack_b(self.b, k, n, rsb, csb));
            simd128::gemm_rows(self.a, (rsa, csa), packed, (k, n), rows.start..end, c);
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        // SAFETY: the shape check above guarantees a has m*k and b has k*n values and c has m*n;
        // with these strides every index sgemm touches for rows start..end lies inside them.
        unsafe {
            matrixmultiply::sgemm(
                end - rows.start,
                k,
                n,
                1.0,
                self.a.as_ptr().add(rows.start * rsa),
                rsa as isize,
                csa as isize,
                self.b.as_ptr(),
                rsb as isize,
                csb as isize,
                0.0,
                c.as_mut_ptr().add(rows.start * n),
                n as isize,
                1,
            );
        }
        Ok(())
    }
}

/// Naive triple loop in f64: the reference the fast paths are checked against.
pub fn matmul_naive(a: &[f32], b: &[f32], s: MatmulShape) -> Vec<f64> {
    let (m, k, n) = (s.m, s.k, s.n);
    let mut c = vec![0.0f64; s.c_len()];
    for bi in 0..s.batch {
        let (ao, bo) = (bi * m * k, bi * k * n);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f64;
                for p in 0..k {
                    let av = if s.a_transposed {
                        a[ao + p * m + i]
                    } else {
                        a[ao + i * k + p]
                    };
                    let bv = if s.b_transposed {
                        b[bo + j * k + p]
                    } else {
                        b[bo + p * n + j]
                    };
                    acc += av as f64 * bv as f64;
                }
                c[bi * m * n + i * n + j] = acc;
            }
        }
    }
    c
}

/// Largest absolute and relative errors of `got` against `want`, relative to max |want|.
pub fn max_errors(got: &[f32], want: &[f64]) -> (f64, f64) {
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    let abs = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (g, w)| m.max((*g as f64 - w).abs()));
    (abs, abs / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_matmul_matches_the_naive_one_at_awkward_shapes() {
        // Deterministic values in [-1, 1).
        let values = |n: usize, seed: usize| -> Vec<f32> {
            (0..n)
                .map(|i| ((i * 7919 + seed * 104_729) % 2000) as f32 / 1000.0 - 1.0)
                .collect()
        };
        for &(batch, m, k, n) in &[(1, 1, 1, 1), (1, 7, 5, 3), (2, 63, 65, 17), (3, 4, 257, 9)] {
            for (at, bt) in [(false, false), (true, false), (false, true), (true, true)] {
                let s = MatmulShape {
                    batch,
                    m,
                    k,
                    n,
                    a_transposed: at,
                    b_transposed: bt,
                };
                let (a, b) = (values(s.a_len(), 1), values(s.b_len(), 2));
                let c = matmul(&a, &b, s).unwrap();
                let (_, rel) = max_errors(&c, &matmul_naive(&a, &b, s));
                assert!(rel < 1e-5, "{s:?}: {rel}");
            }
        }
        assert!(matmul(&[1.0], &[1.0, 2.0], MatmulShape::new(1, 1, 1)).is_err());
    }
}

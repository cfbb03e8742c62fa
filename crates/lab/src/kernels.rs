//! CPU references of the compute engine's kernels (f32, like the GPU), and the CPU path itself.
//!
//! Batched matrix multiply with optional transposes: for every batch b,
//!   C_b = op(A_b) op(B_b),  op(A) is m x k, op(B) is k x n, C is m x n (row-major),
//! where op(X) = X, or X^T when the operand is stored transposed. FLOPs = 2 m n k per batch.

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

/// Row-major copy of op(X) for a stored matrix of `rows x cols` that is transposed if `t`.
fn op_rows(x: &[f32], rows: usize, cols: usize, t: bool) -> Vec<f32> {
    if !t {
        return x.to_vec();
    }
    // Stored cols x rows; return rows x cols.
    let mut out = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[r * cols + c] = x[c * rows + r];
        }
    }
    out
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
        );
        op.rows(0..m, &mut c[bi * m * n..(bi + 1) * m * n]);
    }
    Ok(c)
}

/// One product with its operands laid out for the CPU: op(A) row-major and op(B)^T row-major, so
/// every output is a contiguous dot product. `rows` computes a block of output rows, so a caller can
/// split a large product into short pieces.
pub struct PreparedProduct {
    a: Vec<f32>,
    bt: Vec<f32>,
    m: usize,
    k: usize,
    n: usize,
}

impl PreparedProduct {
    /// `a` and `b` are one batch's operands, stored as `s` says.
    pub fn new(a: &[f32], b: &[f32], s: MatmulShape) -> Self {
        let (m, k, n) = (s.m, s.k, s.n);
        let a = op_rows(a, m, k, s.a_transposed);
        // B^T as n x k rows: if B is stored n x k already, that is it.
        let bt = if s.b_transposed {
            b.to_vec()
        } else {
            op_rows(b, n, k, true)
        };
        PreparedProduct { a, bt, m, k, n }
    }

    /// Output rows `rows` into `c` (the whole m x n output), in 4 x 4 register blocks.
    pub fn rows(&self, rows: std::ops::Range<usize>, c: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        let end = rows.end.min(self.m);
        for i0 in (rows.start..end).step_by(4) {
            let ie = (i0 + 4).min(end);
            for j0 in (0..n).step_by(4) {
                let je = (j0 + 4).min(n);
                let mut acc = [[0.0f32; 4]; 4];
                for p in 0..k {
                    for (ii, i) in (i0..ie).enumerate() {
                        let av = self.a[i * k + p];
                        for (jj, j) in (j0..je).enumerate() {
                            acc[ii][jj] += av * self.bt[j * k + p];
                        }
                    }
                }
                for (ii, i) in (i0..ie).enumerate() {
                    for (jj, j) in (j0..je).enumerate() {
                        c[i * n + j] = acc[ii][jj];
                    }
                }
            }
        }
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
    use crate::rng::Rng;

    #[test]
    fn blocked_matmul_matches_the_naive_one_at_awkward_shapes() {
        let mut rng = Rng::new(1);
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
                let a: Vec<f32> = (0..s.a_len()).map(|_| rng.normal() as f32).collect();
                let b: Vec<f32> = (0..s.b_len()).map(|_| rng.normal() as f32).collect();
                let c = matmul(&a, &b, s).unwrap();
                let (_, rel) = max_errors(&c, &matmul_naive(&a, &b, s));
                assert!(rel < 1e-5, "{s:?}: {rel}");
            }
        }
        assert!(matmul(&[1.0], &[1.0, 2.0], MatmulShape::new(1, 1, 1)).is_err());
    }
}

//! Dense linear algebra for the experiments, in f64.
//!
//! - Gram matrices G = M M^T of a row-major M, built a block of rows at a time so a long computation
//!   can be split into short pieces (the browser must never freeze).
//! - Cholesky: a symmetric positive-definite K = L L^T; then K x = b is two triangular solves.
//!   We never form K^{-1}. The ratio (max L_ii / min L_ii)^2 is a cheap lower bound on the condition
//!   number cond(K); a large one means the system is close to singular and its solution untrustworthy.
//! - Min-norm solution of an under-determined system A beta = y (A is n x d, n < d, full row rank):
//!   beta = A^T (A A^T)^{-1} y. Every other exact solution adds a null-space component z (A z = 0),
//!   and ||beta + z||^2 = ||beta||^2 + ||z||^2 because beta lies in the row space of A.
//! - Least squares for n >= d: beta = (A^T A + lambda I)^{-1} A^T y with a tiny ridge lambda.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum LinalgError {
    /// A pivot of the Cholesky factorisation was not positive: the matrix is singular or indefinite.
    NotPositiveDefinite { pivot: usize },
    /// The factorisation exists but the matrix is too close to singular to trust the solution.
    IllConditioned { condition_estimate: f64 },
    /// Shapes that do not fit together.
    Shape(String),
}

impl fmt::Display for LinalgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinalgError::NotPositiveDefinite { pivot } => {
                write!(
                    f,
                    "the system is singular (Cholesky pivot {pivot} is not positive)"
                )
            }
            LinalgError::IllConditioned { condition_estimate } => write!(
                f,
                "the system is ill-conditioned (condition number at least {condition_estimate:.1e})"
            ),
            LinalgError::Shape(s) => write!(f, "shape mismatch: {s}"),
        }
    }
}

impl std::error::Error for LinalgError {}

/// Dot product with four independent accumulators (lets the compiler vectorise, also on wasm simd128).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        let i = 4 * c;
        acc[0] += a[i] * b[i];
        acc[1] += a[i + 1] * b[i + 1];
        acc[2] += a[i + 2] * b[i + 2];
        acc[3] += a[i + 3] * b[i + 3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in 4 * chunks..n {
        s += a[i] * b[i];
    }
    s
}

/// Rows `rows` of the Gram matrix G = M M^T (lower triangle and its mirror), M row-major.
/// Calling this for consecutive row ranges covering 0..M.nrows() fills all of G. Natively the block
/// M[rows] M[..end]^T is one matrix product (matrixmultiply's DGEMM, threaded: 1.7x faster than
/// dot products on 2 cores); in wasm (one thread, simd128) the vectorised dot products are faster.
#[cfg(target_arch = "wasm32")]
pub fn gram_rows(m: ArrayView2<f64>, g: &mut Array2<f64>, rows: std::ops::Range<usize>) {
    let m = m.as_standard_layout();
    let len = m.ncols();
    let data = m.as_slice().expect("standard layout");
    for i in rows {
        let ri = &data[i * len..(i + 1) * len];
        for j in 0..=i {
            let v = dot(ri, &data[j * len..(j + 1) * len]);
            g[[i, j]] = v;
            g[[j, i]] = v;
        }
    }
}

/// See the wasm32 version above.
#[cfg(not(target_arch = "wasm32"))]
pub fn gram_rows(m: ArrayView2<f64>, g: &mut Array2<f64>, rows: std::ops::Range<usize>) {
    if rows.is_empty() {
        return;
    }
    let (start, end) = (rows.start, rows.end);
    let block = m
        .slice(ndarray::s![start..end, ..])
        .dot(&m.slice(ndarray::s![..end, ..]).t());
    for i in start..end {
        for j in 0..=i {
            let v = block[[i - start, j]];
            g[[i, j]] = v;
            g[[j, i]] = v;
        }
    }
}

/// G = M M^T in one go.
pub fn gram(m: ArrayView2<f64>) -> Array2<f64> {
    let mut g = Array2::zeros((m.nrows(), m.nrows()));
    gram_rows(m, &mut g, 0..m.nrows());
    g
}

/// Multiply-adds needed for rows `rows` of a Gram matrix whose rows have length `len`.
pub fn gram_rows_cost(rows: std::ops::Range<usize>, len: usize) -> u64 {
    rows.map(|i| (i as u64 + 1) * len as u64).sum()
}

/// The lower-triangular Cholesky factor L of K = L L^T.
#[derive(Clone, Debug)]
pub struct Cholesky {
    l: Array2<f64>,
}

impl Cholesky {
    /// Factor a symmetric positive-definite matrix (only its lower triangle is read).
    pub fn factor(k: ArrayView2<f64>) -> Result<Self, LinalgError> {
        let n = k.nrows();
        if k.ncols() != n {
            return Err(LinalgError::Shape(format!(
                "{}x{} is not square",
                n,
                k.ncols()
            )));
        }
        let mut l = Array2::<f64>::zeros((n, n));
        let scale = (0..n)
            .map(|i| k[[i, i]].abs())
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        for j in 0..n {
            let (s, row_j) = {
                let lj = l.row(j);
                let row_j = lj.as_slice().expect("contiguous row");
                (
                    k[[j, j]] - dot(&row_j[..j], &row_j[..j]),
                    row_j[..j].to_vec(),
                )
            };
            if s.is_nan() || s <= 1e-15 * scale || !s.is_finite() {
                return Err(LinalgError::NotPositiveDefinite { pivot: j });
            }
            let d = s.sqrt();
            l[[j, j]] = d;
            for i in j + 1..n {
                let li = l.row(i);
                let li = li.as_slice().expect("contiguous row");
                let v = (k[[i, j]] - dot(&li[..j], &row_j)) / d;
                l[[i, j]] = v;
            }
        }
        Ok(Cholesky { l })
    }

    /// (max L_ii / min L_ii)^2: a lower bound on the 2-norm condition number of K.
    pub fn condition_estimate(&self) -> f64 {
        let diag = self.l.diag();
        let max = diag.iter().cloned().fold(0.0, f64::max);
        let min = diag.iter().cloned().fold(f64::INFINITY, f64::min);
        (max / min).powi(2)
    }

    /// Fail with `IllConditioned` when the condition estimate exceeds `limit`.
    pub fn check_condition(self, limit: f64) -> Result<Self, LinalgError> {
        let c = self.condition_estimate();
        if c.is_finite() && c <= limit {
            Ok(self)
        } else {
            Err(LinalgError::IllConditioned {
                condition_estimate: c,
            })
        }
    }

    pub fn dim(&self) -> usize {
        self.l.nrows()
    }

    /// Solve K X = B in place, for every column of B.
    pub fn solve_in_place(&self, mut b: ArrayViewMut2<f64>) {
        let n = self.dim();
        let l = &self.l;
        for mut col in b.axis_iter_mut(Axis(1)) {
            // Forward: L z = b.
            for i in 0..n {
                let mut s = col[i];
                for k in 0..i {
                    s -= l[[i, k]] * col[k];
                }
                col[i] = s / l[[i, i]];
            }
            // Backward: L^T x = z.
            for i in (0..n).rev() {
                let mut s = col[i];
                for k in i + 1..n {
                    s -= l[[k, i]] * col[k];
                }
                col[i] = s / l[[i, i]];
            }
        }
    }

    pub fn solve_vec(&self, b: ArrayView1<f64>) -> Array1<f64> {
        let mut m = b.to_owned().insert_axis(Axis(1));
        self.solve_in_place(m.view_mut());
        m.remove_axis(Axis(1))
    }
}

/// Factor K; where it is singular, retry with a tiny ridge (1e-12, then 1e-10 ... of its mean
/// diagonal). Used only where a regularised answer is the intended one (the post-training fits).
pub fn cholesky_with_jitter(k: &Array2<f64>) -> Result<(Cholesky, f64), LinalgError> {
    match Cholesky::factor(k.view()) {
        Ok(c) => Ok((c, 0.0)),
        Err(first) => {
            let n = k.nrows().max(1);
            let mean_diag = k.diag().sum() / n as f64;
            for exp in [12, 10, 8, 6] {
                let jitter = mean_diag * 10f64.powi(-exp);
                let mut kj = k.clone();
                kj.diag_mut().mapv_inplace(|v| v + jitter);
                if let Ok(c) = Cholesky::factor(kj.view()) {
                    return Ok((c, jitter));
                }
            }
            Err(first)
        }
    }
}

/// Min-norm solution of A beta = y for a full-row-rank A (n <= d): beta = A^T (A A^T)^{-1} y.
pub fn min_norm_solve(a: ArrayView2<f64>, y: ArrayView1<f64>) -> Result<Array1<f64>, LinalgError> {
    if a.nrows() != y.len() {
        return Err(LinalgError::Shape(format!(
            "A has {} rows, y has {}",
            a.nrows(),
            y.len()
        )));
    }
    let k = gram(a);
    let w = Cholesky::factor(k.view())?
        .check_condition(1e14)?
        .solve_vec(y);
    Ok(a.t().dot(&w))
}

/// Least squares with a ridge: beta = (A^T A + lambda I)^{-1} A^T y.
pub fn least_squares(
    a: ArrayView2<f64>,
    y: ArrayView1<f64>,
    lambda: f64,
) -> Result<Array1<f64>, LinalgError> {
    if a.nrows() != y.len() {
        return Err(LinalgError::Shape(format!(
            "A has {} rows, y has {}",
            a.nrows(),
            y.len()
        )));
    }
    let at = a.t().as_standard_layout().to_owned();
    let mut g = gram(at.view());
    g.diag_mut().mapv_inplace(|v| v + lambda);
    let rhs = a.t().dot(&y);
    Ok(Cholesky::factor(g.view())?.solve_vec(rhs.view()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random_matrix(r: usize, c: usize, rng: &mut Rng) -> Array2<f64> {
        Array2::from_shape_fn((r, c), |_| rng.normal())
    }

    #[test]
    fn cholesky_solves_spd_systems() {
        let mut rng = Rng::new(11);
        let a = random_matrix(7, 12, &mut rng);
        let k = gram(a.view());
        let b = Array1::from_shape_fn(7, |_| rng.normal());
        let x = Cholesky::factor(k.view()).unwrap().solve_vec(b.view());
        let r = k.dot(&x) - &b;
        assert!(r.iter().all(|v| v.abs() < 1e-10), "{r}");
    }

    #[test]
    fn cholesky_rejects_singular_and_flags_ill_conditioned() {
        let k = Array2::from_shape_vec((2, 2), vec![1.0, 1.0, 1.0, 1.0]).unwrap();
        assert!(matches!(
            Cholesky::factor(k.view()),
            Err(LinalgError::NotPositiveDefinite { pivot: 1 })
        ));
        let k = Array2::from_shape_vec((2, 2), vec![1.0, 0.0, 0.0, 1e-13]).unwrap();
        let c = Cholesky::factor(k.view()).unwrap();
        assert!((c.condition_estimate() - 1e13).abs() < 1e3);
        assert!(matches!(
            c.check_condition(1e12),
            Err(LinalgError::IllConditioned { .. })
        ));
    }

    #[test]
    fn min_norm_solution_fits_exactly_and_is_shortest() {
        let mut rng = Rng::new(5);
        let a = random_matrix(4, 9, &mut rng);
        let y = Array1::from_shape_fn(4, |_| rng.normal());
        let beta = min_norm_solve(a.view(), y.view()).unwrap();
        assert!((a.dot(&beta) - &y).iter().all(|v| v.abs() < 1e-10));
        // Another exact solution: beta + (I - A^+ A) z for a random z.
        for _ in 0..5 {
            let z = Array1::from_shape_fn(9, |_| rng.normal());
            let z_row = min_norm_solve(a.view(), a.dot(&z).view()).unwrap();
            let other = &beta + &(&z - &z_row);
            assert!((a.dot(&other) - &y).iter().all(|v| v.abs() < 1e-9));
            assert!(other.dot(&other) > beta.dot(&beta));
        }
    }

    #[test]
    fn gram_in_blocks_equals_gram_at_once() {
        let mut rng = Rng::new(2);
        let m = random_matrix(13, 6, &mut rng);
        let whole = gram(m.view());
        let mut g = Array2::zeros((13, 13));
        gram_rows(m.view(), &mut g, 0..5);
        gram_rows(m.view(), &mut g, 5..13);
        assert_eq!(whole, g);
        let direct = m.dot(&m.t());
        assert!((&whole - &direct).iter().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn least_squares_recovers_exact_coefficients() {
        let mut rng = Rng::new(9);
        let a = random_matrix(30, 5, &mut rng);
        let beta = Array1::from_vec(vec![1.0, -2.0, 0.5, 0.0, 3.0]);
        let y = a.dot(&beta);
        let got = least_squares(a.view(), y.view(), 1e-12).unwrap();
        assert!((&got - &beta).iter().all(|v| v.abs() < 1e-8));
    }
}

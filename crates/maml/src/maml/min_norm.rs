//! Part (a): the min-norm solution of an under-determined system, checked live.
//!
//! For A (n x d, n < d) of full row rank, beta* = A^T (A A^T)^{-1} y solves A beta = y, and every other
//! exact solution is beta* + z with A z = 0; since beta* lies in the row space of A it is orthogonal
//! to z, so ||beta* + z||^2 = ||beta*||^2 + ||z||^2 > ||beta*||^2.

use crate::linalg::{min_norm_solve, LinalgError};
use crate::rng::Rng;
use ndarray::{Array1, Array2};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Solution {
    pub label: String,
    pub norm: f64,
    /// max_i |(A beta - y)_i|
    pub residual: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MinNormDemo {
    pub n: usize,
    pub d: usize,
    pub min_norm: Solution,
    pub others: Vec<Solution>,
}

fn summarise(label: String, a: &Array2<f64>, y: &Array1<f64>, beta: &Array1<f64>) -> Solution {
    let residual = (a.dot(beta) - y).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    Solution {
        label,
        norm: beta.dot(beta).sqrt(),
        residual,
    }
}

/// A random Gaussian system with n equations and d unknowns, its min-norm solution and `others`
/// other exact solutions (min-norm plus a random null-space vector).
pub fn demo(seed: u64, n: usize, d: usize, others: usize) -> Result<MinNormDemo, String> {
    if n == 0 || n >= d || d > 64 {
        return Err(format!("need 1 <= n < d <= 64 (n = {n}, d = {d})"));
    }
    let mut rng = Rng::stream(seed, 3);
    let a = Array2::from_shape_fn((n, d), |_| rng.normal());
    let y = Array1::from_shape_fn(n, |_| rng.normal());
    let solve = |rhs: &Array1<f64>| {
        min_norm_solve(a.view(), rhs.view()).map_err(|e: LinalgError| e.to_string())
    };
    let beta = solve(&y)?;
    let mut out = Vec::new();
    for i in 0..others {
        let z = Array1::from_shape_fn(d, |_| rng.normal());
        // Project z onto the null space: z - A^+ A z.
        let null = &z - &solve(&a.dot(&z))?;
        out.push(summarise(
            format!("min-norm + null-space vector {}", i + 1),
            &a,
            &y,
            &(&beta + &null),
        ));
    }
    Ok(MinNormDemo {
        n,
        d,
        min_norm: summarise("min-norm".into(), &a, &y, &beta),
        others: out,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_other_exact_solution_is_longer() {
        let demo = super::demo(4, 3, 8, 4).unwrap();
        assert!(demo.min_norm.residual < 1e-10);
        for o in &demo.others {
            assert!(o.residual < 1e-9);
            assert!(o.norm > demo.min_norm.norm);
        }
        assert!(super::demo(0, 5, 5, 1).is_err());
    }
}

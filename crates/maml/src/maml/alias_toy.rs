//! The aliased-feature toy (parts b to d).
//!
//! One training point where a true feature and an alias take the same value; feature weights c0, c1.
//! The min-norm fit of y = beta0 c0 phi + beta1 c1 phi gives beta = [c0, c1] / s, s = c0^2 + c1^2,
//! so the prediction weights are alpha = (c0^2, c1^2) / s. With orthonormal features under the test
//! distribution and the true function phi_0, the test error (with the 1/2 of the squared loss) is
//!   E = c1^4 / s^2,   dE/dc0 = -4 c0 c1^4 / s^3,   dE/dc1 = 4 c0^2 c1^3 / s^3.
//! c . grad E = 0: gradient flow keeps ||c|| fixed, so c0 -> ||c(0)||, c1 -> 0 and beta0 -> 1/c0.
//! Near c1 = 0 the gradient is of order c1^3: the decay is slow (polynomial, c1 ~ t^{-1/2}).

use serde::Serialize;

pub fn beta(c0: f64, c1: f64) -> [f64; 2] {
    let s = c0 * c0 + c1 * c1;
    [c0 / s, c1 / s]
}

pub fn test_error(c0: f64, c1: f64) -> f64 {
    let s = c0 * c0 + c1 * c1;
    c1.powi(4) / (s * s)
}

pub fn gradient(c0: f64, c1: f64) -> [f64; 2] {
    let s = c0 * c0 + c1 * c1;
    let s3 = s * s * s;
    [-4.0 * c0 * c1.powi(4) / s3, 4.0 * c0 * c0 * c1.powi(3) / s3]
}

/// One state of gradient descent on (c0, c1).
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct ToyState {
    pub step: usize,
    pub c0: f64,
    pub c1: f64,
    pub norm: f64,
    pub beta0: f64,
    pub beta1: f64,
    pub error: f64,
}

impl ToyState {
    pub fn at(step: usize, c0: f64, c1: f64) -> Self {
        let [beta0, beta1] = beta(c0, c1);
        ToyState {
            step,
            c0,
            c1,
            norm: c0.hypot(c1),
            beta0,
            beta1,
            error: test_error(c0, c1),
        }
    }
}

pub fn validate(c0: f64, c1: f64, lr: f64, steps: usize) -> Result<(), String> {
    if !(c0.is_finite() && c1.is_finite()) || c0 * c0 + c1 * c1 == 0.0 {
        return Err("c0, c1: give finite numbers, not both zero".into());
    }
    if !(lr.is_finite() && lr > 0.0) {
        return Err("step size: must be a positive number".into());
    }
    if steps > 1_000_000 {
        return Err("steps: at most 1,000,000".into());
    }
    Ok(())
}

/// Gradient descent c <- c - lr grad E for `steps` steps; the trajectory has steps + 1 states.
pub fn descend(c0: f64, c1: f64, lr: f64, steps: usize) -> Result<Vec<ToyState>, String> {
    validate(c0, c1, lr, steps)?;
    let mut out = Vec::with_capacity(steps + 1);
    let (mut a, mut b) = (c0, c1);
    out.push(ToyState::at(0, a, b));
    for step in 1..=steps {
        let [g0, g1] = gradient(a, b);
        a -= lr * g0;
        b -= lr * g1;
        if !(a.is_finite() && b.is_finite()) || a * a + b * b == 0.0 {
            return Err(format!(
                "step {step}: the iterate left the valid region; lower the step size"
            ));
        }
        out.push(ToyState::at(step, a, b));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::min_norm_solve;
    use ndarray::array;

    #[test]
    fn closed_form_beta_matches_a_numerical_min_norm_solve() {
        for (c0, c1) in [(1.0, 1.0), (2.0, 0.5), (0.3, -1.7)] {
            // One training point where phi_0 = phi_1 = v; y = v (true coefficient 1).
            let v = 0.8;
            let a = array![[c0 * v, c1 * v]];
            let got = min_norm_solve(a.view(), array![v].view()).unwrap();
            let want = beta(c0, c1);
            assert!((got[0] - want[0]).abs() < 1e-12 && (got[1] - want[1]).abs() < 1e-12);
            // Test error from the coefficients: half the squared error over orthonormal features.
            let alpha = [c0 * got[0], c1 * got[1]];
            let e = 0.5 * ((1.0 - alpha[0]).powi(2) + alpha[1].powi(2));
            assert!((e - test_error(c0, c1)).abs() < 1e-12);
        }
    }

    #[test]
    fn gradient_matches_central_differences_and_is_orthogonal_to_c() {
        let (c0, c1) = (0.7, 1.3);
        let h = 1e-6;
        let fd0 = (test_error(c0 + h, c1) - test_error(c0 - h, c1)) / (2.0 * h);
        let fd1 = (test_error(c0, c1 + h) - test_error(c0, c1 - h)) / (2.0 * h);
        let [g0, g1] = gradient(c0, c1);
        assert!((fd0 - g0).abs() < 1e-8 && (fd1 - g1).abs() < 1e-8);
        assert!((c0 * g0 + c1 * g1).abs() < 1e-12);
    }

    #[test]
    fn descent_drives_c1_to_zero_and_keeps_the_norm() {
        let path = descend(1.0, 1.0, 0.1, 20_000).unwrap();
        let last = path.last().unwrap();
        let norm0 = 2f64.sqrt();
        assert!(last.c1.abs() < 0.05, "c1 {}", last.c1);
        assert!((last.c0 - norm0).abs() < 0.01, "c0 {}", last.c0);
        assert!((last.beta0 - 1.0 / last.c0).abs() < 0.01);
        // Slow (polynomial) decay: after 10x more steps c1 is far from 10x smaller than geometric.
        let mid = path[2000].c1;
        assert!(last.c1 > mid * 0.1, "mid {mid} last {}", last.c1);
        assert!(descend(0.0, 0.0, 0.1, 10).is_err());
        assert!(descend(1.0, 1.0, -1.0, 10).is_err());
    }
}

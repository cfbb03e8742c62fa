//! Well-converged L2-regularised logistic regression: classification MAML's post-training fit.
//!
//! On features A (n x p, here the weighted features Phi_J diag(c_J)) and labels y in {-1, +1},
//! minimise  F(beta) = sum_i log(1 + exp(-y_i z_i)) + (lambda/2) ||beta||^2,  z = A beta,
//! (scikit-learn's objective with C = 1/lambda) by Newton's method with backtracking (Armijo) steps.
//! With q = dl/dz and D = diag(sigma(z) sigma(-z)): g = A^T q + lambda beta, H = A^T D A + lambda I.
//! The Newton system H d = -g is solved by conjugate gradients with H's diagonal as preconditioner
//! (each product H v = A^T (D (A v)) + lambda v costs 2np, both passes over A's contiguous rows; the
//! Fourier features are nearly orthogonal, so diag(H) is a good preconditioner), inexactly: to a
//! relative residual of min(0.5, sqrt(|g|)), the usual forcing term that keeps Newton's fast
//! convergence near the optimum while spending few CG steps far from it.
//!
//! Stopping rule: the Newton decrement -g^T d / 2 (an estimate of F - min F) falls below 1e-10, at
//! most 100 Newton iterations (9 to 15 at the chapter's settings).

use crate::linalg::dot;
use crate::maml::inner_loop::{sigmoid, softplus};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

pub const DECREMENT_TOLERANCE: f64 = 1e-10;
pub const MAX_ITERATIONS: usize = 100;

/// A v for row-major A (one contiguous dot product per row).
fn mul(a: &Array2<f64>, v: &Array1<f64>) -> Array1<f64> {
    let v = v.as_slice().expect("contiguous");
    a.axis_iter(Axis(0))
        .map(|row| dot(row.as_slice().expect("row-major"), v))
        .collect()
}

/// A^T q for row-major A (accumulates q_i times each contiguous row).
fn mul_t(a: &Array2<f64>, q: &Array1<f64>) -> Array1<f64> {
    let mut out = vec![0.0f64; a.ncols()];
    for (row, &qi) in a.axis_iter(Axis(0)).zip(q) {
        if qi != 0.0 {
            for (o, &x) in out.iter_mut().zip(row.as_slice().expect("row-major")) {
                *o += qi * x;
            }
        }
    }
    Array1::from_vec(out)
}

/// A Newton iteration under way: the gradient g, D, the preconditioner diag(H), and the conjugate
/// gradients' state (the step d so far, the residual r, the search direction, r^T M^-1 r, the
/// residual at which it stops, its steps).
#[derive(Clone, Debug)]
struct Newton {
    g: Array1<f64>,
    dd: Array1<f64>,
    diag: Array1<f64>,
    d: Array1<f64>,
    r: Array1<f64>,
    dir: Array1<f64>,
    rz: f64,
    stop: f64,
    its: usize,
}

/// One fit, advanced a budget of multiply-adds at a time (a conjugate-gradient step is the unit).
#[derive(Clone, Debug)]
pub struct LogisticFit {
    a: Array2<f64>,
    y: Array1<f64>,
    lambda: f64,
    beta: Array1<f64>,
    z: Array1<f64>,
    pub iterations: usize,
    pub cg_iterations: usize,
    pub converged: bool,
    /// Multiply-adds spent so far (counted).
    pub spent: u64,
    newton: Option<Newton>,
}

fn objective_terms(z: &Array1<f64>, y: &Array1<f64>) -> f64 {
    z.iter().zip(y).map(|(&z, &y)| softplus(-y * z)).sum()
}

impl LogisticFit {
    pub fn new(a: Array2<f64>, y: Array1<f64>, lambda: f64) -> Self {
        let (n, p) = a.dim();
        let a = a.as_standard_layout().into_owned();
        LogisticFit {
            beta: Array1::zeros(p),
            z: Array1::zeros(n),
            iterations: 0,
            cg_iterations: 0,
            converged: false,
            spent: 0,
            newton: None,
            a,
            y,
            lambda,
        }
    }

    pub fn done(&self) -> bool {
        self.converged || self.iterations >= MAX_ITERATIONS
    }

    /// F at the current point.
    pub fn objective(&self) -> f64 {
        objective_terms(&self.z, &self.y) + 0.5 * self.lambda * self.beta.dot(&self.beta)
    }

    /// The coefficients beta (length p).
    pub fn beta(&self) -> Array1<f64> {
        self.beta.clone()
    }

    /// Work for about `budget` multiply-adds (at least one unit: the start of a Newton iteration,
    /// one conjugate-gradient step, or the iteration's line search); true when finished. The
    /// arithmetic does not depend on the budget, so any slicing gives the same fit bit for bit.
    pub fn advance(&mut self, budget: u64) -> Result<bool, String> {
        let start = self.spent;
        while !self.done() && self.spent - start < budget.max(1) {
            self.newton_work()?;
        }
        Ok(self.done())
    }

    fn newton_work(&mut self) -> Result<(), String> {
        let (n, p) = self.a.dim();
        let np = (n * p) as u64;
        let Some(mut s) = self.newton.take() else {
            self.newton = Some(self.begin_newton());
            self.spent += 3 * np;
            return Ok(());
        };
        // Preconditioned conjugate gradients for H d = -g from d = 0, a step at a time.
        if s.r.dot(&s.r).sqrt() > s.stop && s.its < 2 * p + 10 {
            let hd = mul_t(&self.a, &(&s.dd * &mul(&self.a, &s.dir))) + &s.dir * self.lambda;
            let alpha = s.rz / s.dir.dot(&hd);
            s.d.scaled_add(alpha, &s.dir);
            s.r.scaled_add(-alpha, &hd);
            let zr = &s.r / &s.diag;
            let rz_next = s.r.dot(&zr);
            s.dir = &zr + &(&s.dir * (rz_next / s.rz));
            s.rz = rz_next;
            s.its += 1;
            self.spent += 2 * np;
            self.newton = Some(s);
            return Ok(());
        }
        self.finish_newton(s)
    }

    /// The start of a Newton iteration: the gradient, D, the preconditioner and CG's first state.
    fn begin_newton(&self) -> Newton {
        let lam = self.lambda;
        let q: Array1<f64> = self
            .z
            .iter()
            .zip(&self.y)
            .map(|(&z, &y)| -y * sigmoid(-y * z))
            .collect();
        let dd = self.z.mapv(|z| sigmoid(z) * sigmoid(-z));
        let g = mul_t(&self.a, &q) + &self.beta * lam;
        // Jacobi preconditioner: diag(H)_k = sum_i D_i A_ik^2 + lambda.
        let mut diag = Array1::from_elem(self.beta.len(), lam);
        for (row, &di) in self.a.axis_iter(Axis(0)).zip(&dd) {
            diag.zip_mut_with(&row, |h, &v| *h += di * v * v);
        }
        let d = Array1::<f64>::zeros(self.beta.len());
        let r = -&g;
        let zr = &r / &diag;
        let dir = zr.clone();
        let rz = r.dot(&zr);
        let gnorm = g.dot(&g).sqrt();
        let stop = gnorm.sqrt().min(0.5) * gnorm;
        Newton {
            g,
            dd,
            diag,
            d,
            r,
            dir,
            rz,
            stop,
            its: 0,
        }
    }

    /// The end of a Newton iteration: the decrement (converged?), then the backtracking step.
    fn finish_newton(&mut self, s: Newton) -> Result<(), String> {
        let lam = self.lambda;
        let d = s.d;
        self.cg_iterations += s.its;
        let decrement = -s.g.dot(&d);
        if !decrement.is_finite() {
            return Err("logistic regression: the Newton step is not finite".into());
        }
        self.iterations += 1;
        if decrement / 2.0 <= DECREMENT_TOLERANCE {
            self.converged = true;
            return Ok(());
        }
        let dz = mul(&self.a, &d);
        let f0 = self.objective();
        let mut t = 1.0;
        loop {
            let beta = &self.beta + &(&d * t);
            let z = &self.z + &(&dz * t);
            let f = objective_terms(&z, &self.y) + 0.5 * lam * beta.dot(&beta);
            if f <= f0 - 0.25 * t * decrement || t < 1e-10 {
                self.beta = beta;
                self.z = z;
                break;
            }
            t *= 0.5;
        }
        Ok(())
    }

    /// Fit to convergence at once.
    pub fn solve(a: ArrayView2<f64>, y: ArrayView1<f64>, lambda: f64) -> Result<Self, String> {
        let mut fit = LogisticFit::new(a.to_owned(), y.to_owned(), lambda);
        while !fit.advance(u64::MAX)? {}
        Ok(fit)
    }

    /// The gradient of F at the current point (for tests).
    pub fn gradient(&self) -> Array1<f64> {
        let z = mul(&self.a, &self.beta);
        let q: Array1<f64> = z
            .iter()
            .zip(&self.y)
            .map(|(&z, &y)| -y * sigmoid(-y * z))
            .collect();
        mul_t(&self.a, &q) + &self.beta * self.lambda
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn problem(n: usize, p: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
        let mut rng = Rng::new(seed);
        let a = Array2::from_shape_fn((n, p), |_| rng.normal());
        let w = Array1::from_shape_fn(p, |_| rng.normal());
        let y = a.dot(&w).mapv(|v| {
            if v + 0.3 * rng.normal() >= 0.0 {
                1.0
            } else {
                -1.0
            }
        });
        (a, y)
    }

    #[test]
    fn fits_converge_to_a_stationary_point() {
        for (n, p) in [(40, 10), (10, 40), (30, 30), (1, 5), (200, 60)] {
            let (a, y) = problem(n, p, n as u64 * 7 + p as u64);
            let fit = LogisticFit::solve(a.view(), y.view(), 1.0).unwrap();
            assert!(fit.converged, "n={n} p={p}: {} iterations", fit.iterations);
            let g = fit.gradient();
            let gmax = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(gmax < 1e-5, "n={n} p={p}: gradient {gmax}");
        }
    }

    #[test]
    fn the_optimum_beats_nearby_points() {
        let (a, y) = problem(50, 8, 3);
        let fit = LogisticFit::solve(a.view(), y.view(), 0.5).unwrap();
        let f = |b: &Array1<f64>| objective_terms(&a.dot(b), &y) + 0.25 * b.dot(b);
        let best = f(&fit.beta());
        let mut rng = Rng::new(4);
        for _ in 0..50 {
            let b = fit.beta() + Array1::from_shape_fn(8, |_| 1e-3 * rng.normal());
            assert!(f(&b) >= best - 1e-12);
        }
    }

    #[test]
    fn sliced_and_whole_fits_agree() {
        let (a, y) = problem(60, 25, 9);
        let whole = LogisticFit::solve(a.view(), y.view(), 1.0).unwrap();
        let mut sliced = LogisticFit::new(a, y, 1.0);
        let mut calls = 0;
        while !sliced.advance(1).unwrap() {
            calls += 1;
        }
        // A unit is at most one conjugate-gradient step, so a page's slice never waits on a whole
        // Newton iteration (tens of CG steps at the chapter's sizes).
        assert!(
            calls >= sliced.cg_iterations + sliced.iterations,
            "{calls} calls"
        );
        assert_eq!(whole.beta(), sliced.beta());
        assert_eq!(whole.cg_iterations, sliced.cg_iterations);
    }
}

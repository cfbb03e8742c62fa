//! MAML's inner loop as K steps of gradient descent, and the exact meta-gradient through them.
//!
//! With feature weights c (s = c ∘ c), coefficients beta and prediction weights a = c ∘ beta, the
//! model predicts z = Phi a. The inner loss on n training points is
//!   (1/n) sum_i l(z_i, y_i) + (wd/2) ||beta||^2,     beta_0 = 0,
//! and each step beta <- beta - eta grad reads, in prediction weights,
//!   a_{t+1} = (1 - eta wd) a_t - (eta/n) s ∘ h_t,    h_t = Phi^T q(z_t),  q = dl/dz.
//! The meta loss is L = sum_j l(z_mj, y_mj) on held-out points, z_m = Phi_m a_K. Reverse mode through
//! the K steps (q' = d^2 l / dz^2, abar = dL/da):
//!   abar_K = Phi_m^T q(z_m);  for t = K-1 .. 0:
//!     sbar  -= (eta/n) abar_{t+1} ∘ h_t
//!     abar_t = (1 - eta wd) abar_{t+1} - (eta/n) Phi^T (q'(z_t) ∘ Phi (s ∘ abar_{t+1}))
//!   dL/dc = 2 c ∘ sbar.
//! Squared error: l = (z - y)^2, q = 2 (z - y), q' = 2. Logistic with y in {-1, +1}:
//! l = log(1 + e^{-yz}), q = -y sigma(-yz), q' = sigma(z) sigma(-z). With K = 0, a_K = 0 and the
//! gradient is exactly zero: the weights never move.

use ndarray::{Array1, ArrayView1, ArrayView2};

/// The per-point loss of the inner and the meta objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointLoss {
    /// (z - y)^2.
    Squared,
    /// log(1 + exp(-y z)) with labels y in {-1, +1}.
    Logistic,
}

/// sigma(x) = 1 / (1 + e^{-x}) without overflow.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// log(1 + e^{x}) without overflow.
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// The label of a value: sign with sign(0) = +1.
pub fn label(v: f64) -> f64 {
    if v >= 0.0 {
        1.0
    } else {
        -1.0
    }
}

impl PointLoss {
    pub fn value(self, z: f64, y: f64) -> f64 {
        match self {
            PointLoss::Squared => (z - y) * (z - y),
            PointLoss::Logistic => softplus(-y * z),
        }
    }
    /// dl/dz.
    pub fn slope(self, z: f64, y: f64) -> f64 {
        match self {
            PointLoss::Squared => 2.0 * (z - y),
            PointLoss::Logistic => -y * sigmoid(-y * z),
        }
    }
    /// d^2 l / dz^2.
    pub fn curvature(self, z: f64, _y: f64) -> f64 {
        match self {
            PointLoss::Squared => 2.0,
            PointLoss::Logistic => sigmoid(z) * sigmoid(-z),
        }
    }
}

/// K inner gradient steps: their count, step size and weight decay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientSteps {
    pub loss: PointLoss,
    pub steps: usize,
    pub lr: f64,
    pub weight_decay: f64,
}

fn map2(z: &Array1<f64>, y: ArrayView1<f64>, f: impl Fn(f64, f64) -> f64) -> Array1<f64> {
    Array1::from_shape_fn(z.len(), |i| f(z[i], y[i]))
}

/// What the backward pass needs from step t: h_t and q'(z_t).
type Tape = Vec<(Array1<f64>, Array1<f64>)>;

/// Forward pass: the adapted prediction weights a_K and the tape of every step.
fn unrolled(
    c: ArrayView1<f64>,
    phi: ArrayView2<f64>,
    y: ArrayView1<f64>,
    inner: &GradientSteps,
) -> (Array1<f64>, Tape) {
    let n = phi.nrows() as f64;
    let s = c.mapv(|v| v * v);
    let mut a = Array1::<f64>::zeros(c.len());
    let mut tape = Vec::new();
    let decay = 1.0 - inner.lr * inner.weight_decay;
    for _ in 0..inner.steps {
        let z = phi.dot(&a);
        let h = phi.t().dot(&map2(&z, y, |z, y| inner.loss.slope(z, y)));
        a = &a * decay - &(&s * &h) * (inner.lr / n);
        tape.push((h, map2(&z, y, |z, y| inner.loss.curvature(z, y))));
    }
    (a, tape)
}

/// Meta loss L = sum_j l(z_mj, y_mj) after the inner steps, and dL/dc through the unrolled steps.
pub fn meta_loss_and_gradient(
    c: ArrayView1<f64>,
    phi_train: ArrayView2<f64>,
    y_train: ArrayView1<f64>,
    phi_meta: ArrayView2<f64>,
    y_meta: ArrayView1<f64>,
    inner: &GradientSteps,
) -> (f64, Array1<f64>) {
    let n = phi_train.nrows() as f64;
    let s = c.mapv(|v| v * v);
    let (a, tape) = unrolled(c, phi_train, y_train, inner);
    let zm = phi_meta.dot(&a);
    let loss: f64 = zm
        .iter()
        .zip(y_meta)
        .map(|(&z, &y)| inner.loss.value(z, y))
        .sum();
    let mut abar = phi_meta
        .t()
        .dot(&map2(&zm, y_meta, |z, y| inner.loss.slope(z, y)));
    let mut sbar = Array1::<f64>::zeros(c.len());
    let decay = 1.0 - inner.lr * inner.weight_decay;
    let step = inner.lr / n;
    for (h, curv) in tape.iter().rev() {
        sbar.scaled_add(-step, &(&abar * h));
        let inner_term = phi_train.t().dot(&(curv * &phi_train.dot(&(&s * &abar))));
        abar = &abar * decay - &inner_term * step;
    }
    (loss, &c * &sbar * 2.0)
}

/// Test helper: every component of `grad` against central differences (step 1e-6) of the scalar
/// `f` at `c`, relative to the largest component, which must not vanish.
#[cfg(test)]
pub(crate) fn assert_matches_central_differences(
    f: impl Fn(&Array1<f64>) -> f64,
    c: &Array1<f64>,
    grad: &Array1<f64>,
    tolerance: f64,
    what: &str,
) {
    let scale = grad.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 1e-6, "{what}: the gradient should not vanish");
    let h = 1e-6;
    for k in 0..c.len() {
        let (mut cp, mut cm) = (c.clone(), c.clone());
        cp[k] += h;
        cm[k] -= h;
        let fd = (f(&cp) - f(&cm)) / (2.0 * h);
        let rel = (fd - grad[k]).abs() / scale;
        assert!(
            rel < tolerance,
            "{what} k={k}: analytic {} fd {fd} rel {rel}",
            grad[k]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maml::features::{columns_of, design_matrix};
    use crate::maml::Task;
    use crate::rng::Rng;

    fn check_gradient(loss: PointLoss, steps: usize, lr: f64, wd: f64, seed: u64) {
        let mut rng = Rng::new(seed);
        let d = 21;
        let c = Array1::from_shape_fn(d, |_| rng.uniform(0.5, 1.5));
        let task = Task::sample(&mut rng, &columns_of(&[2, 3]));
        let pt = design_matrix(&rng.sorted_uniform(9, -1.0, 1.0), d);
        let pm = design_matrix(&rng.sorted_uniform(16, -1.0, 1.0), d);
        let (mut yt, mut ym) = (task.values(pt.view()), task.values(pm.view()));
        if loss == PointLoss::Logistic {
            yt.mapv_inplace(label);
            ym.mapv_inplace(label);
        }
        let inner = GradientSteps {
            loss,
            steps,
            lr,
            weight_decay: wd,
        };
        let f = |c: &Array1<f64>| {
            meta_loss_and_gradient(c.view(), pt.view(), yt.view(), pm.view(), ym.view(), &inner)
        };
        let (_, grad) = f(&c);
        let what = format!("{loss:?} K={steps}");
        assert_matches_central_differences(|c| f(c).0, &c, &grad, 1e-6, &what);
    }

    #[test]
    fn regression_gradient_through_the_unrolled_steps_matches_finite_differences() {
        for (steps, seed) in [(1, 1), (5, 2), (10, 3)] {
            check_gradient(PointLoss::Squared, steps, 0.05, 0.0, seed);
        }
    }

    #[test]
    fn logistic_gradient_through_the_unrolled_steps_matches_finite_differences() {
        for (steps, lr, seed) in [(1, 0.3, 4), (5, 0.3, 5), (10, 0.01, 6)] {
            check_gradient(PointLoss::Logistic, steps, lr, 1e-5, seed);
        }
    }

    #[test]
    fn zero_steps_give_a_zero_gradient() {
        let mut rng = Rng::new(7);
        let d = 11;
        let c = Array1::ones(d);
        let p = design_matrix(&rng.sorted_uniform(5, -1.0, 1.0), d);
        let y = Array1::from_shape_fn(5, |_| rng.normal());
        let inner = GradientSteps {
            loss: PointLoss::Squared,
            steps: 0,
            lr: 0.01,
            weight_decay: 0.0,
        };
        let (loss, g) =
            meta_loss_and_gradient(c.view(), p.view(), y.view(), p.view(), y.view(), &inner);
        assert!(g.iter().all(|&v| v == 0.0));
        assert!((loss - y.dot(&y)).abs() < 1e-12);
    }

    #[test]
    fn logistic_helpers_are_stable_and_consistent() {
        assert_eq!(label(0.0), 1.0);
        assert_eq!(label(-1e-300), -1.0);
        assert!((softplus(800.0) - 800.0).abs() < 1e-9);
        assert!(softplus(-800.0) >= 0.0 && softplus(-800.0) < 1e-300);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-15);
        for z in [-3.0, -0.2, 0.0, 1.7] {
            for y in [-1.0, 1.0] {
                let h = 1e-6;
                let l = PointLoss::Logistic;
                let fd = (l.value(z + h, y) - l.value(z - h, y)) / (2.0 * h);
                assert!((fd - l.slope(z, y)).abs() < 1e-8);
                let fd2 = (l.slope(z + h, y) - l.slope(z - h, y)) / (2.0 * h);
                assert!((fd2 - l.curvature(z, y)).abs() < 1e-8);
            }
        }
    }
}

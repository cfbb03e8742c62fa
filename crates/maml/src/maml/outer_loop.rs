//! The outer loop of MAML on feature weights c (closed-form or gradient-descent inner loop,
//! regression or classification).
//!
//! A task is y(x) = sum_{s in S} a_s phi_s(x), S the true feature columns, a uniform on [-1, 1]^|S|
//! normalised to unit length. The learner sees the weighted features c_k phi_k(x) and, given n
//! training points (rows of Phi, n x d), fits the min-norm coefficients
//!   beta = A^T (A A^T)^{-1} y,   A = Phi diag(c),
//! so its prediction weights are alpha = c * beta = S Phi^T K^{-1} y with S = diag(c^2),
//! K = Phi S Phi^T. The meta loss on held-out points (Phi_m, y_m) is L = ||Phi_m alpha - y_m||^2.
//! Its exact gradient (differentiate alpha through K^{-1}; w = K^{-1} y, u = Phi^T w,
//! g = 2 Phi_m^T (Phi_m alpha - y_m), v = K^{-1} Phi (s * g), h = Phi^T v):
//!   dL/dc_k = 2 c_k u_k (g_k - h_k).
//! The outer loop is SGD on c with the gradients of a few tasks summed. The gradient-descent inner
//! loop (K steps, reverse mode through them) is `inner_loop`; in classification the labels are
//! sign(y) and the inner and meta losses logistic.

use super::settings::*;
use crate::linalg::{gram_rows, Cholesky, LinalgError};
use crate::maml::features::{design_matrix, design_matrix_into, grid_points};
use crate::maml::inner_loop::{self, label};
use crate::rng::Rng;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use std::fmt;

/// One regression task: coefficients on the true columns.
#[derive(Clone, Debug)]
pub struct Task {
    pub columns: Vec<usize>,
    pub coefficients: Vec<f64>,
}

impl Task {
    pub fn sample(rng: &mut Rng, columns: &[usize]) -> Task {
        let mut a: Vec<f64> = columns.iter().map(|_| rng.uniform(-1.0, 1.0)).collect();
        let norm = a.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        a.iter_mut().for_each(|v| *v /= norm);
        Task {
            columns: columns.to_vec(),
            coefficients: a,
        }
    }

    /// y = Phi[:, S] a for the rows of a design matrix.
    pub fn values(&self, phi: ArrayView2<f64>) -> Array1<f64> {
        let mut y = Array1::zeros(phi.nrows());
        for (&k, &a) in self.columns.iter().zip(&self.coefficients) {
            y.scaled_add(a, &phi.column(k));
        }
        y
    }

    /// The coefficient vector over all d columns.
    pub fn dense(&self, d: usize) -> Array1<f64> {
        let mut a = Array1::zeros(d);
        for (&k, &v) in self.columns.iter().zip(&self.coefficients) {
            a[k] = v;
        }
        a
    }
}

/// Noisy targets: y + noise * N(0, 1).
pub fn add_noise(mut y: Array1<f64>, noise: f64, rng: &mut Rng) -> Array1<f64> {
    if noise > 0.0 {
        y.iter_mut().for_each(|v| *v += noise * rng.normal());
    }
    y
}

/// Prediction weights alpha = S Phi^T K^{-1} Y of the min-norm fit on weighted features
/// (one column per task), with K factored (n < d).
pub(super) fn min_norm_alpha(
    phi: ArrayView2<f64>,
    s: &Array1<f64>,
    chol: &Cholesky,
    y: ArrayView2<f64>,
) -> Array2<f64> {
    let mut w = y.to_owned();
    chol.solve_in_place(w.view_mut());
    let mut alpha = phi.t().dot(&w);
    for (mut row, &sk) in alpha.axis_iter_mut(Axis(0)).zip(s) {
        row.mapv_inplace(|v| v * sk);
    }
    alpha
}

/// K = Phi diag(s) Phi^T.
pub(super) fn weighted_kernel(phi: ArrayView2<f64>, c: ArrayView1<f64>) -> Array2<f64> {
    let a = &phi * &c;
    let mut k = Array2::zeros((phi.nrows(), phi.nrows()));
    gram_rows(a.view(), &mut k, 0..phi.nrows());
    k
}

/// Meta loss L = ||Phi_m alpha - y_m||^2 of one task and its exact gradient with respect to c.
/// The inner system must be well-conditioned (cond(K) <= 1e12) or the step is refused.
pub fn meta_loss_and_gradient(
    c: ArrayView1<f64>,
    phi_train: ArrayView2<f64>,
    y_train: ArrayView1<f64>,
    phi_meta: ArrayView2<f64>,
    y_meta: ArrayView1<f64>,
) -> Result<(f64, Array1<f64>), LinalgError> {
    let s = c.mapv(|v| v * v);
    let k = weighted_kernel(phi_train, c);
    let chol = Cholesky::factor(k.view())?.check_condition(1e12)?;
    let w = chol.solve_vec(y_train);
    let u = phi_train.t().dot(&w);
    let alpha = &s * &u;
    let r = phi_meta.dot(&alpha) - y_meta;
    let loss = r.dot(&r);
    let g = phi_meta.t().dot(&r) * 2.0;
    let v = chol.solve_vec(phi_train.dot(&(&s * &g)).view());
    let h = phi_train.t().dot(&v);
    let grad = Array1::from_shape_fn(c.len(), |k| 2.0 * c[k] * u[k] * (g[k] - h[k]));
    Ok((loss, grad))
}

/// Why meta-training stopped early. The weights are those of the last good iteration.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingStop {
    InnerSystem {
        iteration: usize,
        error: LinalgError,
    },
    Diverged {
        iteration: usize,
        max_weight: f64,
    },
}

impl fmt::Display for TrainingStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainingStop::InnerSystem { iteration, error } => write!(
                f,
                "Meta-training stopped at iteration {iteration}: {error}. This happens when inner \
                 points fall very close together (uniform points); use grid points, fewer inner \
                 points, or a smaller meta step, or change the seed."
            ),
            TrainingStop::Diverged {
                iteration,
                max_weight,
            } => write!(
                f,
                "Meta-training diverged at iteration {iteration} (a feature weight reached \
                 {max_weight:.3e}). Lower the meta step or use grid inner points."
            ),
        }
    }
}

/// Weights above this (they start at 1) or non-finite values count as divergence.
pub const DIVERGENCE_LIMIT: f64 = 1e4;

/// The outer loop, one iteration at a time, so a page can draw between iterations.
#[derive(Clone, Debug)]
pub struct MetaTrainer {
    pub settings: MamlSettings,
    pub weights: Array1<f64>,
    pub iteration: usize,
    pub meta_loss: Vec<f64>,
    /// Feature weights at iteration 0 and every `eval_every` iterations.
    pub snapshots: Vec<(usize, Array1<f64>)>,
    pub stopped: Option<TrainingStop>,
    pub(super) rng: Rng,
    columns: Vec<usize>,
    grid_phi: Option<Array2<f64>>,
    scratch: Scratch,
}

/// A step's design matrices (training and held-out points), kept between steps so their memory is
/// reused; not part of the trainer's state (a clone starts with empty ones).
#[derive(Debug, Default)]
struct Scratch {
    train: Array2<f64>,
    meta: Array2<f64>,
}

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Scratch::default()
    }
}

impl MetaTrainer {
    pub fn new(settings: MamlSettings) -> Result<Self, String> {
        settings.validate()?;
        let weights = Array1::ones(settings.d);
        let grid_phi = (settings.inner_points == InnerPoints::Grid)
            .then(|| design_matrix(&grid_points(settings.n_train_inner), settings.d));
        Ok(MetaTrainer {
            columns: settings.true_columns(),
            rng: Rng::stream(settings.seed, 1),
            snapshots: vec![(0, weights.clone())],
            weights,
            iteration: 0,
            meta_loss: Vec::new(),
            stopped: None,
            grid_phi,
            settings,
            scratch: Scratch::default(),
        })
    }

    pub fn finished(&self) -> bool {
        self.stopped.is_some() || self.iteration >= self.settings.iterations
    }

    /// One meta-iteration (the outer loop every variant shares): sum the gradients of `tasks_per_step` fresh tasks, take an SGD step.
    /// Returns false when training is over (finished or stopped).
    pub fn step(&mut self) -> bool {
        if self.finished() {
            return false;
        }
        let st = &self.settings;
        let mut grad_sum = Array1::<f64>::zeros(st.d);
        let mut loss_sum = 0.0;
        for _ in 0..st.tasks_per_step {
            let task = Task::sample(&mut self.rng, &self.columns);
            let phi_train = match &self.grid_phi {
                Some(p) => p.view(),
                None => {
                    let xs = self.rng.sorted_uniform(st.n_train_inner, -1.0, 1.0);
                    design_matrix_into(&xs, st.d, &mut self.scratch.train);
                    self.scratch.train.view()
                }
            };
            let mut y_train = add_noise(task.values(phi_train), st.noise, &mut self.rng);
            let xm = self.rng.sorted_uniform(st.n_train_meta, -1.0, 1.0);
            design_matrix_into(&xm, st.d, &mut self.scratch.meta);
            let phi_meta = &self.scratch.meta;
            let mut y_meta = add_noise(task.values(phi_meta.view()), st.noise, &mut self.rng);
            if st.problem == Problem::Classification {
                y_train.mapv_inplace(label);
                y_meta.mapv_inplace(label);
            }
            let result = match st.gradient_steps() {
                None => meta_loss_and_gradient(
                    self.weights.view(),
                    phi_train,
                    y_train.view(),
                    phi_meta.view(),
                    y_meta.view(),
                ),
                Some(inner) => Ok(inner_loop::meta_loss_and_gradient(
                    self.weights.view(),
                    phi_train,
                    y_train.view(),
                    phi_meta.view(),
                    y_meta.view(),
                    &inner,
                )),
            };
            match result {
                Ok((loss, grad)) => {
                    loss_sum += loss;
                    grad_sum += &grad;
                }
                Err(error) => {
                    self.stopped = Some(TrainingStop::InnerSystem {
                        iteration: self.iteration + 1,
                        error,
                    });
                    return false;
                }
            }
        }
        let next = &self.weights - &(grad_sum * st.meta_lr);
        let max_weight = next.iter().fold(0.0f64, |m, v| {
            if v.is_finite() {
                m.max(v.abs())
            } else {
                f64::INFINITY
            }
        });
        if !loss_sum.is_finite() || max_weight > DIVERGENCE_LIMIT {
            self.stopped = Some(TrainingStop::Diverged {
                iteration: self.iteration + 1,
                max_weight,
            });
            return false;
        }
        self.weights = next;
        self.iteration += 1;
        self.meta_loss.push(loss_sum / st.tasks_per_step as f64);
        if self.iteration.is_multiple_of(st.eval_every) || self.iteration == st.iterations {
            self.snapshots.push((self.iteration, self.weights.clone()));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Cholesky;
    use crate::maml::features::columns_of;

    /// (c, Phi_train, y_train, Phi_meta, y_meta)
    type Problem = (
        Array1<f64>,
        Array2<f64>,
        Array1<f64>,
        Array2<f64>,
        Array1<f64>,
    );

    fn small_problem(seed: u64) -> Problem {
        let mut rng = Rng::new(seed);
        let d = 21;
        let c = Array1::from_shape_fn(d, |_| rng.uniform(0.5, 1.5));
        let task = Task::sample(&mut rng, &columns_of(&[2, 3]));
        // Jittered grid points: a well-conditioned inner system, as finite differences need.
        let xt: Vec<f64> = grid_points(8)
            .iter()
            .map(|x| x + rng.uniform(0.0, 0.1))
            .collect();
        let xm = rng.sorted_uniform(16, -1.0, 1.0);
        let pt = design_matrix(&xt, d);
        let pm = design_matrix(&xm, d);
        let yt = add_noise(task.values(pt.view()), 0.1, &mut rng);
        let ym = add_noise(task.values(pm.view()), 0.1, &mut rng);
        (c, pt, yt, pm, ym)
    }

    #[test]
    fn meta_gradient_matches_central_differences() {
        for seed in [1, 2, 3] {
            let (c, pt, yt, pm, ym) = small_problem(seed);
            let (_, grad) =
                meta_loss_and_gradient(c.view(), pt.view(), yt.view(), pm.view(), ym.view())
                    .unwrap();
            let loss = |c: &Array1<f64>| {
                meta_loss_and_gradient(c.view(), pt.view(), yt.view(), pm.view(), ym.view())
                    .unwrap()
                    .0
            };
            let what = format!("seed {seed}");
            crate::maml::inner_loop::assert_matches_central_differences(
                loss, &c, &grad, 1e-5, &what,
            );
        }
    }

    #[test]
    fn min_norm_fit_interpolates_the_training_data() {
        let (c, pt, yt, _, _) = small_problem(4);
        let k = weighted_kernel(pt.view(), c.view());
        let chol = Cholesky::factor(k.view()).unwrap();
        let s = c.mapv(|v| v * v);
        let y = yt.clone().insert_axis(Axis(1));
        let alpha = min_norm_alpha(pt.view(), &s, &chol, y.view());
        let fitted = pt.dot(&alpha.column(0));
        assert!((&fitted - &yt).iter().all(|v| v.abs() < 1e-9));
    }
}

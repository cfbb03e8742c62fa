//! Evaluation of learned feature weights: each test task is fitted on n_train_post points, for n
//! across a sweep.
//!
//! Regression: min-norm on the weighted features when n < d; least squares when n >= d. For n >= d
//! the weights cancel (alpha = (Phi_J^T Phi_J)^{-1} Phi_J^T y on the columns J with c_k != 0,
//! whatever the non-zero c_k are), so that fit is computed once and shared. The test error of
//! coefficients alpha for a task a* is ||Phi_test (alpha - a*)||^2 / N = e^T G_test e,
//! G_test = Phi_test^T Phi_test / N. Classification fits a well-converged logistic regression
//! (`logistic`) and counts errors on the test points.

use super::outer_loop::*;
use super::settings::*;
use crate::linalg::{cholesky_with_jitter, gram_rows, gram_rows_cost};
use crate::maml::features::{design_matrix, grid_points};
use crate::maml::inner_loop::label;
use crate::maml::logistic::LogisticFit;
use crate::rng::Rng;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// Which feature weights a curve of the sweep uses.
#[derive(Clone, Debug)]
pub enum Weighting {
    /// Meta-learned (or any given) weights c.
    Weights(Array1<f64>),
    /// c = 1 everywhere.
    Ones,
    /// Least squares on the true columns only.
    Oracle,
}

/// Test tasks, test points and the Gram matrix of the test features; built in pieces.
#[derive(Clone, Debug)]
pub struct EvalContext {
    pub settings: MamlSettings,
    pub ns: Vec<usize>,
    pub tasks: Vec<Task>,
    phi_test_t: Array2<f64>,
    g_test: Array2<f64>,
    rows_done: usize,
    /// Least-squares fits for n >= d keyed by (n index, group, columns used).
    ls_cache: HashMap<(usize, usize, Vec<usize>), Array2<f64>>,
}

impl EvalContext {
    pub fn new(settings: MamlSettings) -> Result<Self, String> {
        settings.validate()?;
        let mut rng = Rng::stream(settings.seed, 2);
        let columns = settings.true_columns();
        let tasks = (0..settings.n_test_tasks)
            .map(|_| Task::sample(&mut rng, &columns))
            .collect();
        let xs = rng.sorted_uniform(settings.n_test_points, -1.0, 1.0);
        let phi_test_t = design_matrix(&xs, settings.d)
            .t()
            .as_standard_layout()
            .to_owned();
        // Classification counts errors on the test points and needs no Gram matrix.
        let classification = settings.problem == Problem::Classification;
        Ok(EvalContext {
            ns: if classification {
                classification_sweep(settings.d)
            } else {
                n_train_post_sweep(settings.d)
            },
            tasks,
            g_test: if classification {
                Array2::zeros((0, 0))
            } else {
                Array2::zeros((settings.d, settings.d))
            },
            phi_test_t,
            rows_done: if classification { settings.d } else { 0 },
            ls_cache: HashMap::new(),
            settings,
        })
    }

    pub fn ready(&self) -> bool {
        self.rows_done >= self.settings.d
    }

    /// Fraction of the preparation done (0..1); the later rows of the Gram matrix cost more.
    pub fn prepared_fraction(&self) -> f64 {
        let d = self.settings.d as f64;
        (self.rows_done as f64 / d).powi(2)
    }

    /// Build the test Gram matrix for at most about `budget` multiply-adds; true when ready.
    pub fn prepare(&mut self, budget: u64) -> bool {
        let d = self.settings.d;
        let len = self.settings.n_test_points;
        let start = self.rows_done;
        let mut end = start;
        while end < d && (end == start || gram_rows_cost(start..end + 1, len) <= budget) {
            end += 1;
        }
        gram_rows(
            self.phi_test_t.view(),
            &mut self.g_test,
            self.rows_done..end,
        );
        if end == d && self.rows_done < d {
            self.g_test /= len as f64;
        }
        self.rows_done = end;
        self.ready()
    }

    /// Test MSE of prediction weights alpha for task `t`: e^T G_test e, e = alpha - a*.
    pub fn test_mse(&self, alpha: ArrayView1<f64>, t: usize) -> f64 {
        let mut e = alpha.to_owned();
        let task = &self.tasks[t];
        for (&k, &a) in task.columns.iter().zip(&task.coefficients) {
            e[k] -= a;
        }
        e.dot(&self.g_test.dot(&e))
    }

    /// Test error rate of prediction weights alpha for task `t`: the fraction of test points where
    /// sign(Phi_test alpha) differs from sign(Phi_test a*).
    pub fn test_error(&self, alpha: ArrayView1<f64>, t: usize) -> f64 {
        let pred = self.phi_test_t.t().dot(&alpha);
        let truth = self.tasks[t].values(self.phi_test_t.t());
        let wrong = pred
            .iter()
            .zip(&truth)
            .filter(|(&p, &y)| label(p) != label(y))
            .count();
        wrong as f64 / pred.len() as f64
    }

    /// Number of point groups at a sweep entry: one shared grid, or one draw per task.
    fn groups(&self) -> usize {
        match self.settings.inner_points {
            InnerPoints::Grid => 1,
            InnerPoints::Uniform => self.settings.n_test_tasks,
        }
    }

    fn group_tasks(&self, group: usize) -> std::ops::Range<usize> {
        match self.settings.inner_points {
            InnerPoints::Grid => 0..self.settings.n_test_tasks,
            InnerPoints::Uniform => group..group + 1,
        }
    }

    /// Post-training points and noisy targets (n x tasks of the group), seeded per (n, group).
    pub fn post_data(&self, n: usize, group: usize) -> (Vec<f64>, Array2<f64>, Array2<f64>) {
        let mut rng = Rng::stream(
            self.settings.seed,
            1_000_003 * (n as u64 + 1) + group as u64,
        );
        let xs = match self.settings.inner_points {
            InnerPoints::Grid => grid_points(n),
            InnerPoints::Uniform => rng.sorted_uniform(n, -1.0, 1.0),
        };
        let phi = design_matrix(&xs, self.settings.d);
        let tasks = self.group_tasks(group);
        let mut y = Array2::zeros((n, tasks.len()));
        for (j, t) in tasks.enumerate() {
            let clean = self.tasks[t].values(phi.view());
            y.column_mut(j)
                .assign(&add_noise(clean, self.settings.noise, &mut rng));
        }
        (xs, phi, y)
    }
}

/// Oracle fit: least squares on the true columns with a 1e-12 ridge, dropping columns whose
/// training norm is below 1e-6 (e.g. sin(f pi x) at x = -1 when n = 1).
pub fn oracle_alpha(phi: ArrayView2<f64>, columns: &[usize], y: ArrayView2<f64>) -> Array2<f64> {
    let kept: Vec<usize> = columns
        .iter()
        .copied()
        .filter(|&k| phi.column(k).dot(&phi.column(k)).sqrt() >= 1e-6)
        .collect();
    let mut alpha = Array2::zeros((phi.ncols(), y.ncols()));
    if kept.is_empty() {
        return alpha;
    }
    let sub = phi.select(Axis(1), &kept);
    let mut g = sub.t().dot(&sub);
    g.diag_mut().mapv_inplace(|v| v + 1e-12);
    let mut rhs = sub.t().dot(&y);
    match cholesky_with_jitter(&g) {
        Ok((chol, _)) => chol.solve_in_place(rhs.view_mut()),
        Err(_) => return alpha,
    }
    for (i, &k) in kept.iter().enumerate() {
        alpha.row_mut(k).assign(&rhs.row(i));
    }
    alpha
}

/// Mean and 10th/90th percentiles of the test MSE at each sweep entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Curve {
    pub mean: Vec<f64>,
    pub p10: Vec<f64>,
    pub p90: Vec<f64>,
}

/// Linear-interpolated percentile (numpy's default) of unsorted values.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let v = crate::rank::ascending(values);
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

impl Curve {
    /// The curve of sweep entries' values (`SweepJob::entry`, in order): what `SweepJob::advance`
    /// makes of the same values, to the bit.
    pub fn from_entries(entries: &[Vec<f64>]) -> Curve {
        let mut c = Curve::default();
        for e in entries {
            c.push(e);
        }
        c
    }

    fn push(&mut self, mses: &[f64]) {
        self.mean.push(mses.iter().sum::<f64>() / mses.len() as f64);
        self.p10.push(percentile(mses, 10.0));
        self.p90.push(percentile(mses, 90.0));
    }
}

#[derive(Clone, Debug)]
enum Stage {
    Start,
    /// Building the kernel (n < d: K = A A^T) or Gram (n >= d: Phi_J^T Phi_J), `row` rows done.
    Gram {
        row: usize,
    },
}

/// One regression curve of the sweep, computed a piece at a time.
#[derive(Clone, Debug)]
struct RegressionSweep {
    weighting: Weighting,
    n_index: usize,
    group: usize,
    stage: Stage,
    phi: Array2<f64>,
    y: Array2<f64>,
    /// Rows whose Gram is built: A = Phi diag(c) (n < d) or Phi_J^T (n >= d).
    rows: Array2<f64>,
    kernel: Array2<f64>,
    columns: Vec<usize>,
    mses: Vec<f64>,
    /// The last finished entry's values, and the entry it stops before.
    entry: Vec<f64>,
    end: usize,
    pub curve: Curve,
}

impl RegressionSweep {
    fn new(weighting: Weighting) -> Self {
        RegressionSweep {
            weighting,
            n_index: 0,
            group: 0,
            stage: Stage::Start,
            phi: Array2::zeros((0, 0)),
            y: Array2::zeros((0, 0)),
            rows: Array2::zeros((0, 0)),
            kernel: Array2::zeros((0, 0)),
            columns: Vec::new(),
            mses: Vec::new(),
            entry: Vec::new(),
            end: usize::MAX,
            curve: Curve::default(),
        }
    }

    fn done(&self, ctx: &EvalContext) -> bool {
        self.n_index >= ctx.ns.len().min(self.end)
    }

    fn advance(&mut self, ctx: &mut EvalContext, budget: u64) -> Result<bool, String> {
        let d = ctx.settings.d;
        let mut spent = 0u64;
        while !self.done(ctx) && spent < budget.max(1) {
            let n = ctx.ns[self.n_index];
            match self.stage.clone() {
                Stage::Start => {
                    let (_, phi, y) = ctx.post_data(n, self.group);
                    spent += (n * d) as u64;
                    if let Weighting::Oracle = self.weighting {
                        let alpha =
                            oracle_alpha(phi.view(), &ctx.settings.true_columns(), y.view());
                        self.score(ctx, &alpha);
                        continue;
                    }
                    let c = self.weighting.weights(&ctx.settings);
                    if n < d {
                        self.rows = &phi * &c;
                        self.columns.clear();
                    } else {
                        let max = c.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                        self.columns = (0..d).filter(|&k| c[k].abs() > 1e-12 * max).collect();
                        let key = (self.n_index, self.group, self.columns.clone());
                        if let Some(alpha) = ctx.ls_cache.get(&key).cloned() {
                            self.score(ctx, &alpha);
                            continue;
                        }
                        self.rows = phi
                            .select(Axis(1), &self.columns)
                            .t()
                            .as_standard_layout()
                            .to_owned();
                    }
                    self.kernel = Array2::zeros((self.rows.nrows(), self.rows.nrows()));
                    self.phi = phi;
                    self.y = y;
                    self.stage = Stage::Gram { row: 0 };
                }
                Stage::Gram { row } => {
                    let total = self.rows.nrows();
                    let len = self.rows.ncols();
                    let mut end = row + 1;
                    while end < total
                        && gram_rows_cost(row..end + 1, len) <= budget.saturating_sub(spent)
                    {
                        end += 1;
                    }
                    gram_rows(self.rows.view(), &mut self.kernel, row..end);
                    spent += gram_rows_cost(row..end, len);
                    if end < total {
                        self.stage = Stage::Gram { row: end };
                        continue;
                    }
                    spent += (total * total * total / 6) as u64;
                    let (chol, _) = cholesky_with_jitter(&self.kernel)
                        .map_err(|e| format!("post-training fit at n = {n}: {e}"))?;
                    let alpha = if n < d {
                        let s = self.weighting.weights(&ctx.settings).mapv(|v| v * v);
                        min_norm_alpha(self.phi.view(), &s, &chol, self.y.view())
                    } else {
                        let sub = self.phi.select(Axis(1), &self.columns);
                        let mut rhs = sub.t().dot(&self.y);
                        chol.solve_in_place(rhs.view_mut());
                        let mut alpha = Array2::zeros((d, self.y.ncols()));
                        for (i, &k) in self.columns.iter().enumerate() {
                            alpha.row_mut(k).assign(&rhs.row(i));
                        }
                        ctx.ls_cache.insert(
                            (self.n_index, self.group, self.columns.clone()),
                            alpha.clone(),
                        );
                        alpha
                    };
                    self.score(ctx, &alpha);
                }
            }
        }
        Ok(self.done(ctx))
    }

    /// Record the test MSE of each task of the current group; move to the next group or entry.
    fn score(&mut self, ctx: &EvalContext, alpha: &Array2<f64>) {
        for (j, t) in ctx.group_tasks(self.group).enumerate() {
            self.mses.push(ctx.test_mse(alpha.column(j), t));
        }
        self.stage = Stage::Start;
        self.group += 1;
        if self.group >= ctx.groups() {
            self.group = 0;
            self.curve.push(&self.mses);
            self.entry = std::mem::take(&mut self.mses);
            self.n_index += 1;
        }
    }
}

impl Weighting {
    /// The feature weights c this curve fits with; the oracle's are 1 on the true columns and 0
    /// elsewhere (the regression oracle uses its own ridge fit, `oracle_alpha`).
    pub fn weights(&self, settings: &MamlSettings) -> Array1<f64> {
        match self {
            Weighting::Weights(c) => c.clone(),
            Weighting::Ones => Array1::ones(settings.d),
            Weighting::Oracle => {
                let mut c = Array1::zeros(settings.d);
                for k in settings.true_columns() {
                    c[k] = 1.0;
                }
                c
            }
        }
    }
}

/// One classification curve: at each n, a logistic regression per test task on the weighted
/// features (the columns with c != 0; the oracle: the true columns), then its test error rate.
#[derive(Clone, Debug)]
struct ClassificationSweep {
    weighting: Weighting,
    n_index: usize,
    task: usize,
    fit: Option<(Vec<usize>, Array1<f64>, LogisticFit)>,
    errors: Vec<f64>,
    entry: Vec<f64>,
    end: usize,
    curve: Curve,
}

impl ClassificationSweep {
    fn advance(&mut self, ctx: &EvalContext, budget: u64) -> Result<bool, String> {
        let d = ctx.settings.d;
        let mut spent = 0u64;
        let end = ctx.ns.len().min(self.end);
        while self.n_index < end && spent < budget.max(1) {
            let n = ctx.ns[self.n_index];
            let Some((columns, c_j, fit)) = self.fit.as_mut() else {
                // One shared grid (group 0, a column per task) or one draw per task.
                let (group, column) = if ctx.groups() == 1 {
                    (0, self.task)
                } else {
                    (self.task, 0)
                };
                let (_, phi, y) = ctx.post_data(n, group);
                let labels = y.column(column).mapv(label);
                let c = self.weighting.weights(&ctx.settings);
                let max = c.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let columns: Vec<usize> = (0..d).filter(|&k| c[k].abs() > 1e-12 * max).collect();
                let c_j: Array1<f64> = columns.iter().map(|&k| c[k]).collect();
                let a = &phi.select(Axis(1), &columns) * &c_j;
                spent += (n * d) as u64;
                self.fit = Some((
                    columns,
                    c_j,
                    LogisticFit::new(a, labels, POST_LOGISTIC_LAMBDA),
                ));
                continue;
            };
            let before = fit.spent;
            let finished = fit.advance(budget.saturating_sub(spent))?;
            spent += fit.spent - before;
            if !finished {
                continue;
            }
            let beta = fit.beta();
            let mut alpha = Array1::zeros(d);
            for (i, &k) in columns.iter().enumerate() {
                alpha[k] = c_j[i] * beta[i];
            }
            self.fit = None;
            self.errors.push(ctx.test_error(alpha.view(), self.task));
            self.task += 1;
            if self.task >= ctx.tasks.len() {
                self.task = 0;
                self.curve.push(&self.errors);
                self.entry = std::mem::take(&mut self.errors);
                self.n_index += 1;
            }
        }
        Ok(self.n_index >= end)
    }
}

#[derive(Clone, Debug)]
enum SweepKind {
    Regression(Box<RegressionSweep>),
    Classification(Box<ClassificationSweep>),
}

/// One curve of the sweep (test MSE, or test error rate in classification), computed a piece at a
/// time so a page can draw between pieces.
#[derive(Clone, Debug)]
pub struct SweepJob {
    kind: SweepKind,
}

impl SweepJob {
    /// A curve of `weighting` for the context's problem.
    pub fn new(weighting: Weighting, ctx: &EvalContext) -> Self {
        let kind = match ctx.settings.problem {
            Problem::Regression => SweepKind::Regression(Box::new(RegressionSweep::new(weighting))),
            Problem::Classification => SweepKind::Classification(Box::new(ClassificationSweep {
                weighting,
                n_index: 0,
                task: 0,
                fit: None,
                errors: Vec::new(),
                entry: Vec::new(),
                end: usize::MAX,
                curve: Curve::default(),
            })),
        };
        SweepJob { kind }
    }

    /// The curve so far: one entry per finished value of n.
    pub fn curve(&self) -> &Curve {
        match &self.kind {
            SweepKind::Regression(j) => &j.curve,
            SweepKind::Classification(j) => &j.curve,
        }
    }

    pub fn done(&self, ctx: &EvalContext) -> bool {
        self.curve().mean.len() >= ctx.ns.len()
    }

    /// Fraction of sweep entries finished.
    pub fn progress(&self, ctx: &EvalContext) -> f64 {
        self.curve().mean.len() as f64 / ctx.ns.len() as f64
    }

    /// Work for about `budget` multiply-adds (at least one unit); true when the curve is complete.
    pub fn advance(&mut self, ctx: &mut EvalContext, budget: u64) -> Result<bool, String> {
        if !ctx.ready() {
            return Err("evaluation context is not prepared".into());
        }
        match &mut self.kind {
            SweepKind::Regression(j) => j.advance(ctx, budget),
            SweepKind::Classification(j) => j.advance(ctx, budget),
        }
    }

    /// The values of sweep entry `n_index` alone (one per test task, in the curve's order),
    /// computed at once: a worker's share of a curve (`Curve::from_entries` joins the entries).
    pub fn entry(
        weighting: Weighting,
        ctx: &mut EvalContext,
        n_index: usize,
    ) -> Result<Vec<f64>, String> {
        if n_index >= ctx.ns.len() {
            return Err(format!("sweep entry {n_index} of {}", ctx.ns.len()));
        }
        while !ctx.prepare(u64::MAX) {}
        let mut job = SweepJob::new(weighting, ctx);
        match &mut job.kind {
            SweepKind::Regression(j) => (j.n_index, j.end) = (n_index, n_index + 1),
            SweepKind::Classification(j) => (j.n_index, j.end) = (n_index, n_index + 1),
        }
        while !job.advance(ctx, u64::MAX)? {}
        Ok(match job.kind {
            SweepKind::Regression(j) => j.entry,
            SweepKind::Classification(j) => j.entry,
        })
    }

    /// Run the whole curve at once (the CLI and tests).
    pub fn run(weighting: Weighting, ctx: &mut EvalContext) -> Result<Curve, String> {
        while !ctx.prepare(u64::MAX) {}
        let mut job = SweepJob::new(weighting, ctx);
        while !job.advance(ctx, u64::MAX)? {}
        Ok(job.curve().clone())
    }
}

/// One test task's true function and fits at n_train_post = n, on `m` plotting points.
#[derive(Clone, Debug, Serialize)]
pub struct TaskFit {
    pub n: usize,
    pub x: Vec<f64>,
    pub truth: Vec<f64>,
    pub meta: Vec<f64>,
    pub ones: Vec<f64>,
    pub train_x: Vec<f64>,
    pub train_y: Vec<f64>,
}

/// The figure's data as CSV, and a sentence for readers who cannot see it.
impl TaskFit {
    pub fn csv(&self) -> String {
        let mut s = String::from("x,truth,meta_learned_fit,all_ones_fit\n");
        for i in 0..self.x.len() {
            writeln!(
                s,
                "{:.6},{:.6e},{:.6e},{:.6e}",
                self.x[i], self.truth[i], self.meta[i], self.ones[i]
            )
            .ok();
        }
        s.push_str("\ntrain_x,train_y\n");
        for (x, y) in self.train_x.iter().zip(&self.train_y) {
            writeln!(s, "{x:.6},{y:.6e}").ok();
        }
        s
    }

    pub fn summary(&self) -> String {
        let rms = |f: &[f64]| {
            (f.iter()
                .zip(&self.truth)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                / f.len().max(1) as f64)
                .sqrt()
        };
        format!(
            "One test task's true function on [-1, 1] with {} noisy training points and two fits. \
             Root-mean-square error: meta-learned weights {:.3}, all-ones weights {:.3}.",
            self.n,
            rms(&self.meta),
            rms(&self.ones)
        )
    }
}

/// The fit of test task 0 at n points (n < d), for the meta-learned weights and for all ones.
pub fn task_fit(
    ctx: &EvalContext,
    weights: ArrayView1<f64>,
    n: usize,
    m: usize,
) -> Result<TaskFit, String> {
    let d = ctx.settings.d;
    if n == 0 || n >= d {
        return Err(format!("task fit needs 1 <= n < d (n = {n})"));
    }
    let (xs, phi, y) = ctx.post_data(n, 0);
    let y0 = y.column(0).to_owned().insert_axis(Axis(1));
    let fit = |c: ArrayView1<f64>| -> Result<Array1<f64>, String> {
        let k = weighted_kernel(phi.view(), c);
        let (chol, _) = cholesky_with_jitter(&k).map_err(|e| e.to_string())?;
        let s = c.mapv(|v| v * v);
        Ok(min_norm_alpha(phi.view(), &s, &chol, y0.view())
            .column(0)
            .to_owned())
    };
    let meta = fit(weights)?;
    let ones = fit(Array1::ones(d).view())?;
    let x: Vec<f64> = (0..m)
        .map(|i| -1.0 + 2.0 * i as f64 / (m - 1).max(1) as f64)
        .collect();
    let phi_plot = design_matrix(&x, d);
    Ok(TaskFit {
        n,
        truth: ctx.tasks[0].values(phi_plot.view()).to_vec(),
        meta: phi_plot.dot(&meta).to_vec(),
        ones: phi_plot.dot(&ones).to_vec(),
        x,
        train_x: xs,
        train_y: y.column(0).to_vec(),
    })
}

/// Everything an experiment reports (any inner loop, either problem): the CLI's JSON and the
/// reproduction tests. In classification the curves are test error rates and `zero` is chance.
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentResult {
    pub n_train_post: Vec<usize>,
    pub meta: Curve,
    pub ones: Curve,
    pub oracle: Curve,
    /// Test MSE of the zero predictor (mean over test tasks), the same at every n.
    pub zero: f64,
    pub feature_weights: Vec<f64>,
    pub meta_loss: Vec<f64>,
    pub stopped: Option<String>,
}

/// Meta-train for the configured iterations, then evaluate meta-learned, all-ones and oracle fits
/// (the same outer loop and evaluation driver for every variant).
pub fn run_experiment(settings: &MamlSettings) -> Result<ExperimentResult, String> {
    let mut trainer = MetaTrainer::new(settings.clone())?;
    while trainer.step() {}
    let mut ctx = EvalContext::new(settings.clone())?;
    let meta = SweepJob::run(Weighting::Weights(trainer.weights.clone()), &mut ctx)?;
    let ones = SweepJob::run(Weighting::Ones, &mut ctx)?;
    let oracle = SweepJob::run(Weighting::Oracle, &mut ctx)?;
    Ok(ExperimentResult {
        n_train_post: ctx.ns.clone(),
        zero: ctx.zero_level(),
        meta,
        ones,
        oracle,
        feature_weights: trainer.weights.to_vec(),
        meta_loss: trainer.meta_loss.clone(),
        stopped: trainer.stopped.as_ref().map(|s| s.to_string()),
    })
}

impl EvalContext {
    /// The figure's reference line: the zero predictor's test MSE (regression) or chance, 0.5
    /// (classification). The zero predictor's error is the truth itself, so its MSE is the mean
    /// square of a task's function over the test points (a* G_test a*, without the Gram matrix: the
    /// page draws this line before, or without, preparing it).
    pub fn zero_level(&self) -> f64 {
        if self.settings.problem == Problem::Classification {
            return 0.5;
        }
        let phi = self.phi_test_t.t();
        self.tasks
            .iter()
            .map(|task| task.values(phi).mapv(|v| v * v).mean().unwrap_or(0.0))
            .sum::<f64>()
            / self.tasks.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_computed_alone_make_the_sliced_curve_to_the_bit() {
        let small = |s: MamlSettings| MamlSettings {
            d: 41,
            n_test_tasks: 4,
            n_test_points: 200,
            seed: 7,
            ..s
        };
        for settings in [
            small(MamlSettings::default()),
            small(MamlSettings::gradient_descent(1)),
            small(MamlSettings::classification(5, 0.3)),
        ] {
            let d = settings.d;
            let weights = Array1::from_shape_fn(d, |k| 0.5 + (k % 7) as f64 * 0.3);
            for w in [
                Weighting::Weights(weights),
                Weighting::Ones,
                Weighting::Oracle,
            ] {
                // The page's way: small slices of one job.
                let mut ctx = EvalContext::new(settings.clone()).unwrap();
                while !ctx.prepare(10_000) {}
                let mut job = SweepJob::new(w.clone(), &ctx);
                while !job.advance(&mut ctx, 20_000).unwrap() {}
                // The workers' way: each entry alone, on a context of its own.
                let mut other = EvalContext::new(settings.clone()).unwrap();
                let entries: Vec<Vec<f64>> = (0..other.ns.len())
                    .rev()
                    .map(|i| SweepJob::entry(w.clone(), &mut other, i).unwrap())
                    .rev()
                    .collect();
                assert!(entries.iter().all(|e| e.len() == settings.n_test_tasks));
                let joined = Curve::from_entries(&entries);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let c = job.curve();
                assert_eq!(bits(&joined.mean), bits(&c.mean), "{w:?} {settings:?}");
                assert_eq!(bits(&joined.p10), bits(&c.p10));
                assert_eq!(bits(&joined.p90), bits(&c.p90));
            }
        }
        let mut ctx = EvalContext::new(MamlSettings::default()).unwrap();
        let n = ctx.ns.len();
        assert!(SweepJob::entry(Weighting::Ones, &mut ctx, n).is_err());
    }

    #[test]
    fn the_zero_level_needs_no_gram_matrix_and_equals_the_zero_predictors_test_mse() {
        let settings = MamlSettings {
            d: 41,
            n_test_tasks: 4,
            n_test_points: 200,
            seed: 3,
            ..MamlSettings::default()
        };
        let mut ctx = EvalContext::new(settings.clone()).unwrap();
        let before = ctx.zero_level();
        while !ctx.prepare(10_000) {}
        let zero = Array1::zeros(settings.d);
        let by_gram = (0..4).map(|t| ctx.test_mse(zero.view(), t)).sum::<f64>() / 4.0;
        assert!(
            before > 0.0 && (before - by_gram).abs() <= 1e-12 * by_gram,
            "{before} vs {by_gram}"
        );
        assert_eq!(ctx.zero_level().to_bits(), before.to_bits());
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert!((percentile(&v, 10.0) - 1.9).abs() < 1e-12);
        assert!((percentile(&v, 90.0) - 9.1).abs() < 1e-12);
    }
}

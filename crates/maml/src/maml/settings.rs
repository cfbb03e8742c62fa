//! The settings of a MAML experiment (the notebook's defaults and its variants), validated with the
//! offending parameter named, and the sweeps of post-training sizes n.

use crate::maml::features::{alias_frequencies, columns_of, validate_dimension};
use crate::maml::inner_loop::{GradientSteps, PointLoss};
use serde::Serialize;

/// Where the inner (and post-training) points lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InnerPoints {
    Grid,
    Uniform,
}

impl InnerPoints {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "grid" => Some(InnerPoints::Grid),
            "uniform" => Some(InnerPoints::Uniform),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            InnerPoints::Grid => "grid",
            InnerPoints::Uniform => "uniform",
        }
    }
}

/// How each task adapts in the inner loop.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InnerLoop {
    /// The min-norm least-squares fit (regression only).
    ClosedForm,
    /// K plain gradient steps from beta = 0.
    Gradient { steps: usize, lr: f64 },
}

/// Regression (squared error) or classification (labels sign(y), logistic loss).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Problem {
    Regression,
    Classification,
}

/// Weight decay of the classification inner loop (the notebook's).
pub const CLASSIFICATION_WEIGHT_DECAY: f64 = 1e-5;
/// L2 strength of the post-training logistic regression (scikit-learn's default C = 1).
pub const POST_LOGISTIC_LAMBDA: f64 = 1.0;
/// Most inner gradient steps a page or command accepts.
pub const MAX_INNER_STEPS: usize = 100;

/// The experiment's settings; `Default` gives the original notebook's closed-form experiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MamlSettings {
    pub inner: InnerLoop,
    pub problem: Problem,
    pub d: usize,
    pub true_frequencies: Vec<usize>,
    pub inner_points: InnerPoints,
    pub n_train_inner: usize,
    pub n_train_meta: usize,
    pub noise: f64,
    pub tasks_per_step: usize,
    pub meta_lr: f64,
    pub iterations: usize,
    pub n_test_tasks: usize,
    pub n_test_points: usize,
    pub eval_every: usize,
    pub seed: u64,
}

impl Default for MamlSettings {
    fn default() -> Self {
        MamlSettings {
            inner: InnerLoop::ClosedForm,
            problem: Problem::Regression,
            d: 501,
            true_frequencies: vec![3, 4, 5],
            inner_points: InnerPoints::Grid,
            n_train_inner: 32,
            n_train_meta: 64,
            noise: 0.1,
            tasks_per_step: 5,
            meta_lr: 1e-2,
            iterations: 100,
            n_test_tasks: 10,
            n_test_points: 1000,
            eval_every: 10,
            seed: 0,
        }
    }
}

impl MamlSettings {
    /// The notebook's gradient-descent variant: uniform inner points, K steps of size 1e-2.
    pub fn gradient_descent(steps: usize) -> Self {
        MamlSettings {
            inner: InnerLoop::Gradient { steps, lr: 1e-2 },
            inner_points: InnerPoints::Uniform,
            ..Default::default()
        }
    }

    /// The notebook's classification variant: K logistic gradient steps of size `lr` (1e-2 or 3e-1).
    pub fn classification(steps: usize, lr: f64) -> Self {
        MamlSettings {
            problem: Problem::Classification,
            ..Self::gradient_descent(steps).with_inner_lr(lr)
        }
    }

    fn with_inner_lr(mut self, lr: f64) -> Self {
        if let InnerLoop::Gradient { lr: l, .. } = &mut self.inner {
            *l = lr;
        }
        self
    }

    /// The inner gradient steps, when the inner loop is gradient descent.
    pub fn gradient_steps(&self) -> Option<GradientSteps> {
        match self.inner {
            InnerLoop::ClosedForm => None,
            InnerLoop::Gradient { steps, lr } => Some(match self.problem {
                Problem::Regression => GradientSteps {
                    loss: PointLoss::Squared,
                    steps,
                    lr,
                    weight_decay: 0.0,
                },
                Problem::Classification => GradientSteps {
                    loss: PointLoss::Logistic,
                    steps,
                    lr,
                    weight_decay: CLASSIFICATION_WEIGHT_DECAY,
                },
            }),
        }
    }

    /// The settings as numbers (a worker's message: `from_numbers` reads them back exactly; the seed
    /// as two 32-bit halves, since a double holds 53 bits).
    pub fn to_numbers(&self) -> Vec<f64> {
        let (steps, lr) = match self.inner {
            InnerLoop::ClosedForm => (-1.0, 0.0),
            InnerLoop::Gradient { steps, lr } => (steps as f64, lr),
        };
        let mut v = vec![
            steps,
            lr,
            (self.problem == Problem::Classification) as u8 as f64,
            (self.inner_points == InnerPoints::Uniform) as u8 as f64,
            self.d as f64,
            self.n_train_inner as f64,
            self.n_train_meta as f64,
            self.noise,
            self.tasks_per_step as f64,
            self.meta_lr,
            self.iterations as f64,
            self.n_test_tasks as f64,
            self.n_test_points as f64,
            self.eval_every as f64,
            (self.seed >> 32) as f64,
            (self.seed & 0xffff_ffff) as f64,
        ];
        v.extend(self.true_frequencies.iter().map(|&f| f as f64));
        v
    }

    /// The settings `to_numbers` wrote, validated.
    pub fn from_numbers(v: &[f64]) -> Result<Self, String> {
        let whole = |x: f64| -> Result<usize, String> {
            if x >= 0.0 && x.fract() == 0.0 && x < 1e15 {
                Ok(x as usize)
            } else {
                Err(format!("settings: {x} is not a count"))
            }
        };
        if v.len() < 17 {
            return Err("settings: too few numbers".into());
        }
        let s = MamlSettings {
            inner: if v[0] < 0.0 {
                InnerLoop::ClosedForm
            } else {
                InnerLoop::Gradient {
                    steps: whole(v[0])?,
                    lr: v[1],
                }
            },
            problem: [Problem::Regression, Problem::Classification][(v[2] != 0.0) as usize],
            inner_points: [InnerPoints::Grid, InnerPoints::Uniform][(v[3] != 0.0) as usize],
            d: whole(v[4])?,
            n_train_inner: whole(v[5])?,
            n_train_meta: whole(v[6])?,
            noise: v[7],
            tasks_per_step: whole(v[8])?,
            meta_lr: v[9],
            iterations: whole(v[10])?,
            n_test_tasks: whole(v[11])?,
            n_test_points: whole(v[12])?,
            eval_every: whole(v[13])?,
            seed: ((whole(v[14])? as u64) << 32) | whole(v[15])? as u64,
            true_frequencies: v[16..]
                .iter()
                .map(|&f| whole(f))
                .collect::<Result<_, _>>()?,
        };
        s.validate()?;
        Ok(s)
    }

    /// Check every setting; the message names the parameter.
    pub fn validate(&self) -> Result<(), String> {
        match self.inner {
            InnerLoop::ClosedForm if self.problem == Problem::Classification => {
                return Err(
                    "inner loop: classification needs gradient steps (no closed form)".into(),
                )
            }
            InnerLoop::Gradient { steps, lr } => {
                if steps > MAX_INNER_STEPS {
                    return Err(format!("inner steps: at most {MAX_INNER_STEPS}"));
                }
                if !(lr.is_finite() && lr > 0.0) {
                    return Err("inner step size: must be a positive number".into());
                }
            }
            _ => {}
        }
        validate_dimension(self.d).map_err(|e| format!("d: {e}"))?;
        let max_f = (self.d - 1) / 2;
        if self.true_frequencies.is_empty() {
            return Err("true frequencies: give at least one".into());
        }
        if let Some(f) = self.true_frequencies.iter().find(|&&f| f == 0 || f > max_f) {
            return Err(format!(
                "true frequencies: {f} is outside 1..{max_f} (d = {})",
                self.d
            ));
        }
        if self.n_train_inner == 0
            || (self.inner == InnerLoop::ClosedForm && self.n_train_inner >= self.d)
        {
            return Err(format!(
                "n_train_inner: must be between 1 and d - 1 = {} (the inner fit is under-determined)",
                self.d - 1
            ));
        }
        if self.n_train_meta == 0 {
            return Err("n_train_meta: must be at least 1".into());
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err("noise: must be a non-negative number".into());
        }
        if self.tasks_per_step == 0 {
            return Err("tasks per step: must be at least 1".into());
        }
        if !(self.meta_lr.is_finite() && self.meta_lr > 0.0) {
            return Err("meta step: must be a positive number".into());
        }
        if self.n_test_tasks == 0 || self.n_test_points == 0 || self.eval_every == 0 {
            return Err("test tasks, test points and evaluation interval must be positive".into());
        }
        Ok(())
    }

    pub fn true_columns(&self) -> Vec<usize> {
        columns_of(&self.true_frequencies)
    }

    /// Frequencies aliasing the true ones on the n_train_inner grid.
    pub fn alias_frequencies(&self) -> Vec<usize> {
        alias_frequencies(&self.true_frequencies, self.n_train_inner, (self.d - 1) / 2)
    }
}

/// The notebook's sweep: logspace(log10 1, log10 3d, 40) cast to int, plus 32, 5, 6, 7, unique.
/// (The cast truncates; we add 1e-9 first so that rounding in `powf` cannot move a value by one
/// between platforms.)
pub fn n_train_post_sweep(d: usize) -> Vec<usize> {
    logspace_ints(1.0, 3.0 * d as f64, 40, &[32, 5, 6, 7])
}

/// Classification's sweep: logspace(log10 24, log10 3d, 40) cast to int, plus 32, unique.
pub fn classification_sweep(d: usize) -> Vec<usize> {
    logspace_ints(24.0, 3.0 * d as f64, 40, &[32])
}

pub fn logspace_ints(from: f64, to: f64, count: usize, extra: &[usize]) -> Vec<usize> {
    let (a, b) = (from.log10(), to.log10());
    let ns: Vec<u64> = (0..count)
        .map(|i| {
            let e = if i + 1 == count {
                b
            } else {
                a + (b - a) * i as f64 / (count - 1) as f64
            };
            (10f64.powf(e) + 1e-9).floor() as u64
        })
        .chain(extra.iter().map(|&n| n as u64))
        .collect();
    crate::rank::distinct(ns)
        .into_iter()
        .map(|n| n as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_matches_the_notebook() {
        let ns = n_train_post_sweep(501);
        assert_eq!(ns[0], 1);
        assert_eq!(*ns.last().unwrap(), 1503);
        for n in [5, 6, 7, 32] {
            assert!(ns.contains(&n));
        }
        assert!(ns.windows(2).all(|w| w[0] < w[1]));
        assert!(ns.len() >= 35 && ns.len() <= 44, "{}", ns.len());
    }

    #[test]
    fn settings_travel_as_numbers_exactly() {
        for s in [
            MamlSettings::default(),
            MamlSettings::classification(5, 0.3),
            MamlSettings {
                seed: u64::MAX - 12345,
                noise: 0.1 + 0.2,
                true_frequencies: vec![7, 2],
                ..MamlSettings::gradient_descent(3)
            },
        ] {
            assert_eq!(MamlSettings::from_numbers(&s.to_numbers()).unwrap(), s);
        }
        let mut v = MamlSettings::default().to_numbers();
        v[4] = 2.5;
        assert!(MamlSettings::from_numbers(&v).is_err());
        v[4] = 500.0;
        assert!(MamlSettings::from_numbers(&v)
            .unwrap_err()
            .starts_with("d:"));
        assert!(MamlSettings::from_numbers(&v[..10]).is_err());
    }

    #[test]
    fn settings_are_validated_with_the_parameter_named() {
        let bad = MamlSettings {
            d: 500,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("d:"));
        let bad = MamlSettings {
            true_frequencies: vec![300],
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("300"));
        let bad = MamlSettings {
            n_train_inner: 501,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("n_train_inner"));
        assert!(MamlSettings::default().validate().is_ok());
    }
}

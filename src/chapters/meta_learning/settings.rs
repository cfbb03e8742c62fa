//! The chapter's settings and the URL fields that carry them: each control's key, label and range,
//! declared here once. Reading and writing a whole URL is in `state`.

use crate::url_state::{num_field, Bounds, NumField};
use glassbox_lab::maml::{InnerLoop, MamlSettings};

pub static MAML_FIELDS: [NumField<MamlSettings>; 8] = [
    num_field!(MamlSettings; "iters", "Meta-iterations", 1.0, 1000.0, 1.0, true, iterations),
    num_field!(MamlSettings; "lr", "Meta step size", 1e-5, 1.0, 1e-4, false, meta_lr),
    num_field!(MamlSettings; "tasks", "Tasks per meta step", 1.0, 50.0, 1.0, true, tasks_per_step),
    num_field!(MamlSettings; "d", "Features d (odd)", 11.0, 1001.0, 2.0, true, d),
    num_field!(MamlSettings; "n_inner", "Inner training points n", 1.0, 1000.0, 1.0, true, n_train_inner),
    num_field!(MamlSettings; "noise", "Noise std", 0.0, 1.0, 0.01, false, noise),
    num_field!(MamlSettings; "test_tasks", "Test tasks", 2.0, 50.0, 1.0, true, n_test_tasks),
    num_field!(MamlSettings; "seed", "Seed", 0.0, 4294967295.0, 1.0, true, seed),
];

fn inner_steps(s: &MamlSettings) -> f64 {
    match s.inner {
        InnerLoop::Gradient { steps, .. } => steps as f64,
        InnerLoop::ClosedForm => 0.0,
    }
}

fn set_inner_steps(s: &mut MamlSettings, v: f64) {
    if let InnerLoop::Gradient { steps, .. } = &mut s.inner {
        *steps = v as usize;
    }
}

fn inner_lr(s: &MamlSettings) -> f64 {
    match s.inner {
        InnerLoop::Gradient { lr, .. } => lr,
        InnerLoop::ClosedForm => 0.0,
    }
}

fn set_inner_lr(s: &mut MamlSettings, v: f64) {
    if let InnerLoop::Gradient { lr, .. } = &mut s.inner {
        *lr = v;
    }
}

/// Controls of the gradient-descent (g) and classification (h, i) experiments; `prefix_` keys.
macro_rules! variant_fields {
    ($name:ident, $p:literal, $lr_max:expr) => {
        pub static $name: [NumField<MamlSettings>; 5] = [
            NumField {
                bounds: Bounds {
                    key: concat!($p, "_steps"),
                    label: "Inner gradient steps K",
                    min: 0.0,
                    max: 10.0,
                    step: 1.0,
                    integer: true,
                },
                get: inner_steps,
                set: set_inner_steps,
            },
            NumField {
                bounds: Bounds {
                    key: concat!($p, "_ilr"),
                    label: "Inner step size",
                    min: 1e-4,
                    max: $lr_max,
                    step: 1e-3,
                    integer: false,
                },
                get: inner_lr,
                set: set_inner_lr,
            },
            num_field!(MamlSettings; concat!($p, "_iters"), "Meta-iterations", 1.0, 1000.0, 1.0, true, iterations),
            num_field!(MamlSettings; concat!($p, "_lr"), "Meta step size", 1e-5, 1.0, 1e-4, false, meta_lr),
            num_field!(MamlSettings; concat!($p, "_seed"), "Seed", 0.0, 4294967295.0, 1.0, true, seed),
        ];
    };
}

variant_fields!(GD_FIELDS, "gd", 1.0);
variant_fields!(CLS_FIELDS, "cls", 1.0);

pub fn gd_default() -> MamlSettings {
    MamlSettings::gradient_descent(5)
}

/// Classification on the page redraws its test-error figure every 50 iterations (and at the end):
/// each evaluation fits 400 logistic regressions.
pub fn cls_default() -> MamlSettings {
    MamlSettings {
        eval_every: 50,
        ..MamlSettings::classification(5, 1e-2)
    }
}

/// The toy's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ToySettings {
    pub c0: f64,
    pub c1: f64,
    pub lr: f64,
    pub steps: usize,
}

impl Default for ToySettings {
    fn default() -> Self {
        ToySettings {
            c0: 1.0,
            c1: 1.0,
            lr: 0.1,
            steps: 20_000,
        }
    }
}

pub static TOY_FIELDS: [NumField<ToySettings>; 4] = [
    num_field!(ToySettings; "toy_c0", "Initial c0", -10.0, 10.0, 0.01, false, c0),
    num_field!(ToySettings; "toy_c1", "Initial c1", -10.0, 10.0, 0.01, false, c1),
    num_field!(ToySettings; "toy_lr", "Step size", 0.001, 10.0, 0.001, false, lr),
    num_field!(ToySettings; "toy_steps", "Gradient steps", 1.0, 100000.0, 1.0, true, steps),
];

#[derive(Clone, Debug, PartialEq)]
pub struct MinNormSettings {
    pub n: usize,
    pub d: usize,
    pub seed: u64,
}

impl Default for MinNormSettings {
    fn default() -> Self {
        MinNormSettings {
            n: 3,
            d: 8,
            seed: 0,
        }
    }
}

pub static MN_FIELDS: [NumField<MinNormSettings>; 3] = [
    num_field!(MinNormSettings; "mn_n", "Equations n", 1.0, 20.0, 1.0, true, n),
    num_field!(MinNormSettings; "mn_d", "Unknowns d", 2.0, 40.0, 1.0, true, d),
    num_field!(MinNormSettings; "mn_seed", "Random system seed", 0.0, 4294967295.0, 1.0, true, seed),
];

/// Parse "3,4,5" into frequencies.
pub fn parse_frequencies(s: &str) -> Result<Vec<usize>, String> {
    let v: Result<Vec<usize>, _> = s.split(',').map(|t| t.trim().parse::<usize>()).collect();
    match v {
        Ok(v) if !v.is_empty() && v.iter().all(|&f| f >= 1) => Ok(v),
        _ => Err(format!("True frequencies (freqs): '{s}' is not a comma-separated list of whole numbers of at least 1")),
    }
}

/// Every setting of the chapter.
#[derive(Clone, Debug, PartialEq)]
pub struct ChapterSettings {
    pub maml: MamlSettings,
    pub gd: MamlSettings,
    pub cls: MamlSettings,
    pub toy: ToySettings,
    pub mn: MinNormSettings,
}

impl Default for ChapterSettings {
    fn default() -> Self {
        ChapterSettings {
            maml: MamlSettings::default(),
            gd: gd_default(),
            cls: cls_default(),
            toy: ToySettings::default(),
            mn: MinNormSettings::default(),
        }
    }
}

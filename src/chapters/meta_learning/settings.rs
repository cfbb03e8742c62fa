//! The chapter's settings and the URL fields that carry them: each control's key, label and range,
//! declared here once. Reading and writing a whole URL is in `state`.

use crate::url_state::{Bounds, NumField};
use glassbox_lab::maml::{InnerLoop, MamlSettings};

pub static MAML_FIELDS: [NumField<MamlSettings>; 8] = [
    NumField {
        bounds: Bounds {
            key: "iters",
            label: "Meta-iterations",
            min: 1.0,
            max: 1000.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.iterations as f64,
        set: |s, v| s.iterations = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "lr",
            label: "Meta step size",
            min: 1e-5,
            max: 1.0,
            step: 1e-4,
            integer: false,
        },
        get: |s| s.meta_lr,
        set: |s, v| s.meta_lr = v,
    },
    NumField {
        bounds: Bounds {
            key: "tasks",
            label: "Tasks per meta step",
            min: 1.0,
            max: 50.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.tasks_per_step as f64,
        set: |s, v| s.tasks_per_step = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "d",
            label: "Features d (odd)",
            min: 11.0,
            max: 1001.0,
            step: 2.0,
            integer: true,
        },
        get: |s| s.d as f64,
        set: |s, v| s.d = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "n_inner",
            label: "Inner training points n",
            min: 1.0,
            max: 1000.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.n_train_inner as f64,
        set: |s, v| s.n_train_inner = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "noise",
            label: "Noise std",
            min: 0.0,
            max: 1.0,
            step: 0.01,
            integer: false,
        },
        get: |s| s.noise,
        set: |s, v| s.noise = v,
    },
    NumField {
        bounds: Bounds {
            key: "test_tasks",
            label: "Test tasks",
            min: 2.0,
            max: 50.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.n_test_tasks as f64,
        set: |s, v| s.n_test_tasks = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "seed",
            label: "Seed",
            min: 0.0,
            max: 4294967295.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.seed as f64,
        set: |s, v| s.seed = v as u64,
    },
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
            NumField {
                bounds: Bounds {
                    key: concat!($p, "_iters"),
                    label: "Meta-iterations",
                    min: 1.0,
                    max: 1000.0,
                    step: 1.0,
                    integer: true,
                },
                get: |s| s.iterations as f64,
                set: |s, v| s.iterations = v as usize,
            },
            NumField {
                bounds: Bounds {
                    key: concat!($p, "_lr"),
                    label: "Meta step size",
                    min: 1e-5,
                    max: 1.0,
                    step: 1e-4,
                    integer: false,
                },
                get: |s| s.meta_lr,
                set: |s, v| s.meta_lr = v,
            },
            NumField {
                bounds: Bounds {
                    key: concat!($p, "_seed"),
                    label: "Seed",
                    min: 0.0,
                    max: 4294967295.0,
                    step: 1.0,
                    integer: true,
                },
                get: |s| s.seed as f64,
                set: |s, v| s.seed = v as u64,
            },
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
    NumField {
        bounds: Bounds {
            key: "toy_c0",
            label: "Initial c0",
            min: -10.0,
            max: 10.0,
            step: 0.01,
            integer: false,
        },
        get: |s| s.c0,
        set: |s, v| s.c0 = v,
    },
    NumField {
        bounds: Bounds {
            key: "toy_c1",
            label: "Initial c1",
            min: -10.0,
            max: 10.0,
            step: 0.01,
            integer: false,
        },
        get: |s| s.c1,
        set: |s, v| s.c1 = v,
    },
    NumField {
        bounds: Bounds {
            key: "toy_lr",
            label: "Step size",
            min: 0.001,
            max: 10.0,
            step: 0.001,
            integer: false,
        },
        get: |s| s.lr,
        set: |s, v| s.lr = v,
    },
    NumField {
        bounds: Bounds {
            key: "toy_steps",
            label: "Gradient steps",
            min: 1.0,
            max: 100000.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.steps as f64,
        set: |s, v| s.steps = v as usize,
    },
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
    NumField {
        bounds: Bounds {
            key: "mn_n",
            label: "Equations n",
            min: 1.0,
            max: 20.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.n as f64,
        set: |s, v| s.n = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "mn_d",
            label: "Unknowns d",
            min: 2.0,
            max: 40.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.d as f64,
        set: |s, v| s.d = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "mn_seed",
            label: "Random system seed",
            min: 0.0,
            max: 4294967295.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.seed as f64,
        set: |s, v| s.seed = v as u64,
    },
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

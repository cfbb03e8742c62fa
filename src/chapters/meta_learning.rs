//! Chapter 1: meta-learning for learning 1D functions (parts a to f), live.
//!
//! Sections: (a) the min-norm solution, checked on a random system; (b)-(d) the aliased-feature toy
//! with gradient descent on its weights; (e)-(f) closed-form MAML at the notebook's settings, trained
//! and evaluated in slices so the page stays responsive.

use crate::tasks::{run_in_slices, Slice};
use crate::ui::controls::{ChoiceInput, FieldInput, TextInput};
use crate::ui::math::{MathBlock, M};
use crate::ui::plot::Plot;
use crate::ui::run_controls::{RunControls, Speed};
use crate::url_state::{read_fields, write_fields, Location, NumField};
use crate::web;
use glassbox_lab::figures::{self, FeatureWeightData, TestLossData};
use glassbox_lab::maml::{alias_toy, features, min_norm};
use glassbox_lab::maml::{
    Curve, EvalContext, InnerLoop, InnerPoints, MamlSettings, MetaTrainer, Problem, SweepJob,
    TaskFit, Weighting,
};
use leptos::prelude::*;

pub const SLUG: &str = "meta-learning";

static MAML_FIELDS: [NumField<MamlSettings>; 8] = [
    NumField {
        key: "iters",
        label: "Meta-iterations",
        min: 1.0,
        max: 1000.0,
        step: 1.0,
        integer: true,
        get: |s| s.iterations as f64,
        set: |s, v| s.iterations = v as usize,
    },
    NumField {
        key: "lr",
        label: "Meta step size",
        min: 1e-5,
        max: 1.0,
        step: 1e-4,
        integer: false,
        get: |s| s.meta_lr,
        set: |s, v| s.meta_lr = v,
    },
    NumField {
        key: "tasks",
        label: "Tasks per meta step",
        min: 1.0,
        max: 50.0,
        step: 1.0,
        integer: true,
        get: |s| s.tasks_per_step as f64,
        set: |s, v| s.tasks_per_step = v as usize,
    },
    NumField {
        key: "d",
        label: "Features d (odd)",
        min: 11.0,
        max: 1001.0,
        step: 2.0,
        integer: true,
        get: |s| s.d as f64,
        set: |s, v| s.d = v as usize,
    },
    NumField {
        key: "n_inner",
        label: "Inner training points n",
        min: 1.0,
        max: 1000.0,
        step: 1.0,
        integer: true,
        get: |s| s.n_train_inner as f64,
        set: |s, v| s.n_train_inner = v as usize,
    },
    NumField {
        key: "noise",
        label: "Noise std",
        min: 0.0,
        max: 1.0,
        step: 0.01,
        integer: false,
        get: |s| s.noise,
        set: |s, v| s.noise = v,
    },
    NumField {
        key: "test_tasks",
        label: "Test tasks",
        min: 2.0,
        max: 50.0,
        step: 1.0,
        integer: true,
        get: |s| s.n_test_tasks as f64,
        set: |s, v| s.n_test_tasks = v as usize,
    },
    NumField {
        key: "seed",
        label: "Seed",
        min: 0.0,
        max: 4294967295.0,
        step: 1.0,
        integer: true,
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
        static $name: [NumField<MamlSettings>; 5] = [
            NumField {
                key: concat!($p, "_steps"),
                label: "Inner gradient steps K",
                min: 0.0,
                max: 10.0,
                step: 1.0,
                integer: true,
                get: inner_steps,
                set: set_inner_steps,
            },
            NumField {
                key: concat!($p, "_ilr"),
                label: "Inner step size",
                min: 1e-4,
                max: $lr_max,
                step: 1e-3,
                integer: false,
                get: inner_lr,
                set: set_inner_lr,
            },
            NumField {
                key: concat!($p, "_iters"),
                label: "Meta-iterations",
                min: 1.0,
                max: 1000.0,
                step: 1.0,
                integer: true,
                get: |s| s.iterations as f64,
                set: |s, v| s.iterations = v as usize,
            },
            NumField {
                key: concat!($p, "_lr"),
                label: "Meta step size",
                min: 1e-5,
                max: 1.0,
                step: 1e-4,
                integer: false,
                get: |s| s.meta_lr,
                set: |s, v| s.meta_lr = v,
            },
            NumField {
                key: concat!($p, "_seed"),
                label: "Seed",
                min: 0.0,
                max: 4294967295.0,
                step: 1.0,
                integer: true,
                get: |s| s.seed as f64,
                set: |s, v| s.seed = v as u64,
            },
        ];
    };
}

variant_fields!(GD_FIELDS, "gd", 1.0);
variant_fields!(CLS_FIELDS, "cls", 1.0);

fn gd_default() -> MamlSettings {
    MamlSettings::gradient_descent(5)
}

/// Classification on the page redraws its test-error figure every 50 iterations (and at the end):
/// each evaluation fits 400 logistic regressions.
fn cls_default() -> MamlSettings {
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

static TOY_FIELDS: [NumField<ToySettings>; 4] = [
    NumField {
        key: "toy_c0",
        label: "Initial c0",
        min: -10.0,
        max: 10.0,
        step: 0.01,
        integer: false,
        get: |s| s.c0,
        set: |s, v| s.c0 = v,
    },
    NumField {
        key: "toy_c1",
        label: "Initial c1",
        min: -10.0,
        max: 10.0,
        step: 0.01,
        integer: false,
        get: |s| s.c1,
        set: |s, v| s.c1 = v,
    },
    NumField {
        key: "toy_lr",
        label: "Step size",
        min: 0.001,
        max: 10.0,
        step: 0.001,
        integer: false,
        get: |s| s.lr,
        set: |s, v| s.lr = v,
    },
    NumField {
        key: "toy_steps",
        label: "Gradient steps",
        min: 1.0,
        max: 100000.0,
        step: 1.0,
        integer: true,
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

static MN_FIELDS: [NumField<MinNormSettings>; 3] = [
    NumField {
        key: "mn_n",
        label: "Equations n",
        min: 1.0,
        max: 20.0,
        step: 1.0,
        integer: true,
        get: |s| s.n as f64,
        set: |s, v| s.n = v as usize,
    },
    NumField {
        key: "mn_d",
        label: "Unknowns d",
        min: 2.0,
        max: 40.0,
        step: 1.0,
        integer: true,
        get: |s| s.d as f64,
        set: |s, v| s.d = v as usize,
    },
    NumField {
        key: "mn_seed",
        label: "Random system seed",
        min: 0.0,
        max: 4294967295.0,
        step: 1.0,
        integer: true,
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

/// A variant's settings from its URL fields; invalid combinations fall back to the defaults.
fn variant_from_location(
    loc: &Location,
    fields: &'static [NumField<MamlSettings>],
    default: MamlSettings,
    notices: &mut Vec<String>,
) -> MamlSettings {
    let mut s = default.clone();
    read_fields(loc, fields, &mut s, notices);
    if let Err(e) = s.validate() {
        notices.push(format!(
            "URL parameters do not fit together ({e}); using the notebook's settings."
        ));
        s = default;
    }
    s
}

/// All of the chapter's settings as read from a URL, with a notice for each bad value.
pub fn settings_from_location(loc: &Location) -> (ChapterSettings, Vec<String>) {
    let mut notices = Vec::new();
    let mut maml = MamlSettings::default();
    read_fields(loc, &MAML_FIELDS, &mut maml, &mut notices);
    if let Some(f) = loc.get("freqs") {
        match parse_frequencies(f) {
            Ok(v) => maml.true_frequencies = v,
            Err(e) => notices.push(format!("URL parameter {e}; using the default 3,4,5.")),
        }
    }
    if let Some(p) = loc.get("inner") {
        match InnerPoints::parse(p) {
            Some(v) => maml.inner_points = v,
            None => notices.push(format!(
                "URL parameter Inner points (inner): '{p}' is not grid or uniform; using grid."
            )),
        }
    }
    if let Err(e) = maml.validate() {
        notices.push(format!(
            "URL parameters do not fit together ({e}); using the notebook's settings."
        ));
        maml = MamlSettings {
            seed: maml.seed,
            ..MamlSettings::default()
        };
    }
    let mut toy = ToySettings::default();
    read_fields(loc, &TOY_FIELDS, &mut toy, &mut notices);
    let mut mn = MinNormSettings::default();
    read_fields(loc, &MN_FIELDS, &mut mn, &mut notices);
    if mn.n >= mn.d {
        notices.push(format!("URL parameters mn_n = {} and mn_d = {}: the system needs fewer equations than unknowns; using 3 and 8.", mn.n, mn.d));
        mn = MinNormSettings {
            seed: mn.seed,
            ..Default::default()
        };
    }
    let gd = variant_from_location(loc, &GD_FIELDS, gd_default(), &mut notices);
    let cls = variant_from_location(loc, &CLS_FIELDS, cls_default(), &mut notices);
    (
        ChapterSettings {
            maml,
            gd,
            cls,
            toy,
            mn,
        },
        notices,
    )
}

/// The URL that reproduces these settings.
pub fn location_of(all: &ChapterSettings) -> Location {
    let (maml, toy, mn) = (&all.maml, &all.toy, &all.mn);
    let mut params = Vec::new();
    write_fields(&MAML_FIELDS, maml, &MamlSettings::default(), &mut params);
    let def = MamlSettings::default();
    if maml.true_frequencies != def.true_frequencies {
        let s: Vec<String> = maml
            .true_frequencies
            .iter()
            .map(|f| f.to_string())
            .collect();
        params.push(("freqs".into(), s.join(",")));
    }
    if maml.inner_points != def.inner_points {
        params.push(("inner".into(), maml.inner_points.name().into()));
    }
    write_fields(&TOY_FIELDS, toy, &ToySettings::default(), &mut params);
    write_fields(&MN_FIELDS, mn, &MinNormSettings::default(), &mut params);
    write_fields(&GD_FIELDS, &all.gd, &gd_default(), &mut params);
    write_fields(&CLS_FIELDS, &all.cls, &cls_default(), &mut params);
    Location {
        route: SLUG.into(),
        params,
    }
}

/// The closed-form experiment as it runs in the page.
struct Live {
    trainer: MetaTrainer,
    ctx: EvalContext,
    ones: Option<Curve>,
    oracle: Option<Curve>,
    baseline: Option<(bool, SweepJob)>,
    meta_eval: Option<(usize, SweepJob)>,
    step_requested: bool,
    last_weights_draw: f64,
}

impl Live {
    fn new(settings: &MamlSettings) -> Result<Live, String> {
        Ok(Live {
            trainer: MetaTrainer::new(settings.clone())?,
            ctx: EvalContext::new(settings.clone())?,
            ones: None,
            oracle: None,
            baseline: None,
            meta_eval: None,
            step_requested: false,
            last_weights_draw: 0.0,
        })
    }
}

/// The signals the figures and controls read.
#[derive(Clone, Copy)]
struct View {
    settings: RwSignal<MamlSettings>,
    running: RwSignal<bool>,
    iteration: RwSignal<usize>,
    progress: RwSignal<f64>,
    status: RwSignal<String>,
    failure: RwSignal<Option<String>>,
    speed: RwSignal<Speed>,
    test_loss: RwSignal<TestLossData>,
    weights: RwSignal<FeatureWeightData>,
    task_fit: RwSignal<Option<TaskFit>>,
    meta_loss: RwSignal<Option<f64>>,
}

const MACS_PER_CHECK: u64 = 3_000_000;

impl View {
    fn new(settings: MamlSettings) -> View {
        View {
            settings: RwSignal::new(settings),
            running: RwSignal::new(false),
            iteration: RwSignal::new(0),
            progress: RwSignal::new(0.0),
            status: RwSignal::new(String::new()),
            failure: RwSignal::new(None),
            speed: RwSignal::new(Speed::Fast),
            test_loss: RwSignal::new(TestLossData::default()),
            weights: RwSignal::new(FeatureWeightData::default()),
            task_fit: RwSignal::new(None),
            meta_loss: RwSignal::new(None),
        }
    }

    fn show_weights(&self, live: &Live) {
        let s = &live.trainer.settings;
        self.weights.set(FeatureWeightData {
            weights: live.trainer.weights.to_vec(),
            true_columns: s.true_columns(),
            alias_columns: features::columns_of(&s.alias_frequencies()),
            iteration: live.trainer.iteration,
        });
        self.iteration.set(live.trainer.iteration);
        self.meta_loss.set(live.trainer.meta_loss.last().copied());
    }

    fn show_meta_curve(&self, live: &Live, iteration: usize, curve: Curve) {
        let s = &live.trainer.settings;
        let classification = s.problem == Problem::Classification;
        self.test_loss.update(|t| {
            t.metric = if classification {
                figures::Metric::ErrorRate
            } else {
                figures::Metric::Mse
            };
            t.ns = live.ctx.ns.clone();
            t.meta = Some(curve);
            t.ones = live.ones.clone();
            t.oracle = live.oracle.clone();
            t.noise_variance = s.noise * s.noise;
            t.zero_level = live.ctx.zero_level();
            t.iteration = iteration;
        });
        if classification {
            return;
        }
        let n_fit = s.n_train_inner.min(s.d - 1);
        match glassbox_lab::maml::task_fit(&live.ctx, live.trainer.weights.view(), n_fit, 400) {
            Ok(f) => self.task_fit.set(Some(f)),
            Err(e) => self
                .status
                .set(format!("The task-fit figure could not be computed: {e}")),
        }
    }

    /// One slice of work (until `deadline`): prepare, evaluate baselines, train, evaluate.
    fn slice(&self, live: &mut Live, deadline: f64) -> Slice {
        while web::now_ms() < deadline {
            if !live.ctx.ready() {
                live.ctx.prepare(MACS_PER_CHECK);
                self.status
                    .set("Preparing the test tasks and test points…".into());
                self.progress.set(live.ctx.prepared_fraction());
                continue;
            }
            if live.ones.is_none() || live.oracle.is_none() {
                let is_ones = live.ones.is_none();
                let (_, job) = live.baseline.get_or_insert_with(|| {
                    (
                        is_ones,
                        SweepJob::new(
                            if is_ones {
                                Weighting::Ones
                            } else {
                                Weighting::Oracle
                            },
                            &live.ctx,
                        ),
                    )
                });
                match job.advance(&mut live.ctx, MACS_PER_CHECK) {
                    Ok(done) => {
                        self.progress.set(job.progress(&live.ctx));
                        self.status.set(format!(
                            "Evaluating the {} baseline over {} values of n_train_post…",
                            if is_ones { "all-ones" } else { "oracle" },
                            live.ctx.ns.len()
                        ));
                        if done {
                            let curve = job.curve().clone();
                            live.baseline = None;
                            if is_ones {
                                live.ones = Some(curve);
                            } else {
                                live.oracle = Some(curve);
                                // Iteration 0: the weights are all ones, so the meta curve is the ones curve.
                                if live.trainer.iteration == 0 {
                                    let c = live.ones.clone().unwrap_or_default();
                                    self.show_meta_curve(live, 0, c);
                                    self.show_weights(live);
                                    self.status.set("Ready: press Run to meta-train.".into());
                                    self.progress.set(0.0);
                                }
                            }
                        }
                    }
                    Err(e) => return self.fail(e),
                }
                continue;
            }
            if let Some((it, job)) = live.meta_eval.as_mut() {
                let it = *it;
                match job.advance(&mut live.ctx, MACS_PER_CHECK) {
                    Ok(done) => {
                        self.progress.set(job.progress(&live.ctx));
                        self.status.set(format!(
                            "Evaluating the meta-learned weights after {it} iterations…"
                        ));
                        if done {
                            let curve = job.curve().clone();
                            live.meta_eval = None;
                            self.show_meta_curve(live, it, curve);
                            self.progress
                                .set(it as f64 / live.trainer.settings.iterations as f64);
                            if live.trainer.finished() {
                                self.finish(live);
                                return Slice::Idle;
                            }
                            self.status.set(format!("Meta-training: iteration {it}."));
                        }
                    }
                    Err(e) => return self.fail(e),
                }
                continue;
            }
            let wants_step = live.step_requested;
            if !(self.running.get_untracked() || wants_step) || live.trainer.finished() {
                if live.trainer.finished() && self.running.get_untracked() {
                    self.finish(live);
                }
                return Slice::Idle;
            }
            live.step_requested = false;
            let advanced = live.trainer.step();
            let it = live.trainer.iteration;
            let now = web::now_ms();
            if !advanced {
                self.show_weights(live);
                self.finish(live);
                return Slice::Idle;
            }
            let s = &live.trainer.settings;
            let eval_due = it.is_multiple_of(s.eval_every) || it == s.iterations;
            if eval_due || now - live.last_weights_draw > 100.0 || wants_step {
                self.show_weights(live);
                live.last_weights_draw = now;
            }
            self.progress.set(it as f64 / s.iterations as f64);
            if eval_due {
                live.meta_eval = Some((
                    it,
                    SweepJob::new(Weighting::Weights(live.trainer.weights.clone()), &live.ctx),
                ));
            } else if wants_step {
                self.status.set(format!(
                    "Stepped to iteration {it}; the test-error figure updates every {} iterations.",
                    s.eval_every
                ));
                return Slice::Idle;
            }
            let delay = self.speed.get_untracked().delay_ms();
            if delay > 0 && !eval_due {
                self.status.set(format!("Meta-training: iteration {it}."));
                return Slice::Wait(delay);
            }
        }
        Slice::Continue
    }

    fn finish(&self, live: &Live) {
        self.running.set(false);
        match &live.trainer.stopped {
            Some(stop) => {
                self.failure.set(Some(stop.to_string()));
                self.status.set(format!(
                    "Stopped at iteration {}; the figures show the last good state.",
                    live.trainer.iteration
                ));
            }
            None => self
                .status
                .set(format!("Done: {} meta-iterations.", live.trainer.iteration)),
        }
    }

    fn fail(&self, e: String) -> Slice {
        self.running.set(false);
        self.failure.set(Some(e));
        Slice::Idle
    }
}

/// File-name stems of one experiment's figures.
pub struct PlotNames {
    test_loss: &'static str,
    zoom: &'static str,
    weights: &'static str,
    fit: &'static str,
}

static GD_PLOTS: PlotNames = PlotNames {
    test_loss: "gd_test_loss",
    zoom: "gd_test_loss_zoom",
    weights: "gd_feature_weights",
    fit: "gd_task_fit",
};

static CLS_PLOTS: PlotNames = PlotNames {
    test_loss: "cls_test_error",
    zoom: "cls_test_error_zoom",
    weights: "cls_feature_weights",
    fit: "cls_task_fit",
};

static CLOSED_FORM_PLOTS: PlotNames = PlotNames {
    test_loss: "test_loss",
    zoom: "test_loss_zoom",
    weights: "feature_weights",
    fit: "task_fit",
};

/// One live MAML experiment (any inner loop, either problem): its run controls, meta-training and
/// evaluation in slices, and its figures. `children` is the prose read beside the test-error figure.
/// A `lazy` experiment computes nothing until the reader first presses Run (the page holds three).
#[component]
fn Experiment(
    v: View,
    names: &'static PlotNames,
    #[prop(optional)] lazy: bool,
    children: Children,
) -> impl IntoView {
    let started = StoredValue::new(!lazy);
    let classification = v
        .settings
        .with_untracked(|s| s.problem == Problem::Classification);
    let live = StoredValue::new_local(None::<Live>);
    let generation = StoredValue::new(0u64);
    let driving = StoredValue::new(None::<u64>);

    let drive = move || {
        let gen = generation.get_value();
        if driving.get_value() == Some(gen) {
            return;
        }
        driving.set_value(Some(gen));
        crate::tasks::spawn_page_task(async move {
            run_in_slices(
                |deadline| {
                    let mut out = Slice::Idle;
                    live.update_value(|l| {
                        if let Some(l) = l.as_mut() {
                            out = v.slice(l, deadline);
                        }
                    });
                    out
                },
                move || generation.get_value() == gen,
            )
            .await;
            if driving.get_value() == Some(gen) {
                driving.set_value(None);
            }
        });
    };

    let reset = move || {
        generation.update_value(|g| *g += 1);
        v.running.set(false);
        v.failure.set(None);
        v.iteration.set(0);
        v.progress.set(0.0);
        v.meta_loss.set(None);
        v.task_fit.set(None);
        v.test_loss.set(TestLossData::default());
        match Live::new(&v.settings.get_untracked()) {
            Ok(l) => {
                v.show_weights(&l);
                live.set_value(Some(l));
                if started.get_value() {
                    drive();
                } else {
                    v.status.set(
                        "Press Run: the page first evaluates the baselines, then meta-trains."
                            .into(),
                    );
                }
            }
            Err(e) => {
                live.set_value(None);
                v.failure.set(Some(e));
            }
        }
    };
    // A change of settings starts afresh.
    Effect::new(move |_| {
        v.settings.track();
        reset();
    });

    let on_run = move || {
        started.set_value(true);
        if live.with_value(|l| l.as_ref().map(|l| l.trainer.finished()).unwrap_or(true)) {
            reset();
        }
        v.running.set(true);
        drive();
    };
    let on_pause = move || {
        v.running.set(false);
        v.status.set(format!(
            "Paused at iteration {}.",
            v.iteration.get_untracked()
        ));
    };
    let on_step = move || {
        started.set_value(true);
        live.update_value(|l| {
            if let Some(l) = l.as_mut() {
                l.step_requested = true;
            }
        });
        drive();
    };

    let total = Signal::derive(move || v.settings.get().iterations);
    let can_run = Signal::derive(move || v.failure.get().is_none());

    view! {
                <RunControls
                    label="Meta-training"
                    running=v.running
                    can_run=can_run
                    iteration=v.iteration
                    total=total
                    progress=v.progress
                    status=v.status
                    speed=v.speed
                    on_run=on_run
                    on_pause=on_pause
                    on_step=on_step
                    on_reset=reset
                />
                {move || v.failure.get().map(|e| view! {
                    <div class="notice error" role="alert">
                        <p>{e}</p>
                        <p>"Change a setting or press Reset to start again."</p>
                    </div>
                })}
                <p class="meta-loss" aria-live="off">
                    {move || v.meta_loss.get().map(|l| {
                        let what = if v.settings.with(|s| s.problem == Problem::Classification) {
                            "logistic loss summed over 64 points"
                        } else {
                            "sum of squared errors on 64 points"
                        };
                        format!("Latest meta loss ({what}, mean over tasks): {l:.3}")
                    })}
                </p>
                <Plot
                    name=names.test_loss
                    title=if classification { "Test classification error against n_train_post" } else { "Test error against n_train_post" }
                    height=520
                    summary=Signal::derive(move || v.test_loss.with(|t| t.summary()))
                    csv=Signal::derive(move || v.test_loss.with(|t| t.csv()))
                    draw=move |area, p| v.test_loss.with(|t| figures::draw_test_loss(area, t, p, None))
                />
                <Plot
                    name=names.zoom
                    title="Test error, n up to 128"
                    height=520
                    summary=Signal::derive(move || v.test_loss.with(|t| t.summary()))
                    csv=Signal::derive(move || v.test_loss.with(|t| t.csv()))
                    draw=move |area, p| v.test_loss.with(|t| figures::draw_test_loss(area, t, p, Some(128)))
                />
                {children()}
                <Plot
                    name=names.weights
                    title="Feature weights"
                    height=440
                    summary=Signal::derive(move || v.weights.with(|w| w.summary()))
                    csv=Signal::derive(move || v.weights.with(|w| w.csv()))
                    draw=move |area, p| v.weights.with(|w| figures::draw_feature_weights(area, w, p))
                />
                {(!classification).then(|| view! {
                <Plot
                    name=names.fit
                    title="One test task and its fits"
                    height=440
                    summary=Signal::derive(move || v.task_fit.with(|f| f.as_ref().map(|f| f.summary()).unwrap_or_default()))
                    csv=Signal::derive(move || v.task_fit.with(|f| f.as_ref().map(|f| f.csv()).unwrap_or_default()))
                    draw=move |area, p| v.task_fit.with(|f| match f {
                        Some(f) => figures::draw_task_fit(area, f, p),
                        None => Ok(()),
                    })
                />
                })}
    }
}

#[component]
pub fn MetaLearning(location: Location) -> impl IntoView {
    let (start, notices) = settings_from_location(&location);
    let v = View::new(start.maml);
    let gd = View::new(start.gd);
    let cls = View::new(start.cls);
    let toy = RwSignal::new(start.toy);
    let mn = RwSignal::new(start.mn);

    // Keep the address bar in step with every control.
    Effect::new(move |_| {
        let loc = location_of(&ChapterSettings {
            maml: v.settings.get(),
            gd: gd.settings.get(),
            cls: cls.settings.get(),
            toy: toy.get(),
            mn: mn.get(),
        });
        web::publish(&loc);
    });

    let toy_path = Memo::new(move |_| {
        let t = toy.get();
        alias_toy::descend(t.c0, t.c1, t.lr, t.steps)
    });
    let toy_ok = move || toy_path.get().ok().unwrap_or_default();
    let mn_demo = Memo::new(move |_| {
        let s = mn.get();
        min_norm::demo(s.seed, s.n, s.d, 4)
    });

    let settings = v.settings;
    let freqs_text = Signal::derive(move || {
        settings
            .get()
            .true_frequencies
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(",")
    });
    let inner_text = Signal::derive(move || settings.get().inner_points.name().to_string());

    view! {
        <article class="chapter" aria-labelledby="chapter-title">
            <h1 id="chapter-title">"Meta-learning for learning 1D functions"</h1>
            {(!notices.is_empty()).then(|| view! {
                <div class="notice warning url-notice" role="alert">
                    <p><strong>"Some settings in the address were not usable:"</strong></p>
                    <ul>{notices.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                </div>
            })}
            <p class="lede">
                "A network that has seen many related tasks should need fewer examples for the next one. \
                 This chapter studies that idea in a model small enough to solve exactly: regression on \
                 Fourier features, where the only thing learned across tasks is how much weight each \
                 feature gets. Every number and figure below is computed in your browser as you read."
            </p>

            <section aria-labelledby="setup">
                <h2 id="setup">"The setup"</h2>
                <p>
                    "A task is a function built from a few unknown features: "
                    <M tex=r"y = \sum_{s \in S} \alpha_s \phi_s(x)"/>
                    ", where the features are sines and cosines on "
                    <M tex=r"[-1, 1]"/>
                    " and the set "<M tex="S"/>" of true features is the same for every task while the \
                     coefficients are new each time. The learner does not know "<M tex="S"/>
                    ". It fits every task with all "<M tex="d"/>" features, each scaled by a feature \
                     weight "<M tex="c_k"/>" that is shared across tasks:"
                </p>
                <MathBlock tex=r"\hat y(x) = \sum_{k=0}^{d-1} \beta_k\, c_k\, \phi_k(x)."/>
                <p>
                    "The weights "<M tex="c"/>" stand in for everything a deep network learns before its \
                     last layer; "<M tex=r"\beta"/>" is the task-specific last layer. With few training \
                     points and many features the fit is under-determined, so we need a rule to pick one \
                     of its many exact solutions."
                </p>
            </section>

            <section aria-labelledby="part-a">
                <h2 id="part-a">"(a) The min-norm solution"</h2>
                <p>
                    "Among all "<M tex=r"\beta"/>" with "<M tex=r"A\beta = y"/>" (with "
                    <M tex=r"A"/>" of size "<M tex=r"n \times d"/>", "<M tex="n < d"/>
                    ", full row rank), the shortest one is"
                </p>
                <MathBlock tex=r"\beta^\star = A^\top (A A^\top)^{-1} y."/>
                <p>
                    "Why: "<M tex=r"\beta^\star"/>" lies in the row space of "<M tex="A"/>
                    ", and any other exact solution adds a vector "<M tex="z"/>" with "<M tex="Az = 0"/>
                    ", which is orthogonal to the row space. So "
                    <M tex=r"\|\beta^\star + z\|^2 = \|\beta^\star\|^2 + \|z\|^2"/>
                    ". We never form the inverse: "<M tex=r"AA^\top"/>" is factored by Cholesky and \
                     two triangular solves give the answer. Below, a random Gaussian system and a few \
                     other exact solutions: all fit the data, all are longer."
                </p>
                <div class="controls-grid">
                    {MN_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=mn/> }).collect_view()}
                </div>
                {move || match mn_demo.get() {
                    Ok(demo) => view! {
                        <table class="numbers" aria-label="Exact solutions of the random system">
                            <thead><tr><th scope="col">"solution"</th><th scope="col">"norm"</th><th scope="col">"max |A beta - y|"</th></tr></thead>
                            <tbody>
                                {std::iter::once(demo.min_norm.clone()).chain(demo.others.clone()).map(|s| view! {
                                    <tr><td>{s.label}</td><td>{format!("{:.4}", s.norm)}</td><td>{format!("{:.1e}", s.residual)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                }}
            </section>

            <section aria-labelledby="part-b">
                <h2 id="part-b">"(b)–(d) A feature and its alias"</h2>
                <p>
                    "Take one training point at which a true feature "<M tex=r"\phi_0"/>
                    " and a second feature "<M tex=r"\phi_1"/>" happen to have the same value, and the \
                     true function "<M tex=r"y = \phi_0"/>". Seen from that point the two features are \
                     identical: an alias. The min-norm fit with weights "<M tex="c_0, c_1"/>" is"
                </p>
                <MathBlock tex=r"\beta = \frac{[c_0,\ c_1]}{c_0^2 + c_1^2}, \qquad \alpha_k = c_k\beta_k = \frac{c_k^2}{c_0^2 + c_1^2}."/>
                <p>
                    "So the prediction splits the signal between the two features in proportion to "
                    <M tex="c_k^2"/>". If the features are orthonormal under the test distribution, the \
                     test error (with the usual one-half) and its gradient are"
                </p>
                <MathBlock tex=r"E = \frac{c_1^4}{s^2},\quad \frac{\partial E}{\partial c_0} = -\frac{4 c_0 c_1^4}{s^3},\quad \frac{\partial E}{\partial c_1} = \frac{4 c_0^2 c_1^3}{s^3},\qquad s = c_0^2 + c_1^2."/>
                <p>
                    "The gradient is orthogonal to "<M tex="c"/>" ("<M tex=r"c \cdot \nabla E = 0"/>
                    "), so gradient flow moves "<M tex="c"/>" around a circle: "<M tex="c_1"/>
                    " shrinks to zero, "<M tex="c_0"/>" grows to "<M tex=r"\|c(0)\|"/>", and "
                    <M tex=r"\beta_0 \to 1/c_0"/>". Because the gradient near "<M tex="c_1 = 0"/>
                    " is of order "<M tex="c_1^3"/>", the last part of the way is slow: "<M tex="c_1"/>
                    " decays polynomially, not geometrically. With a finite step the norm creeps up a little, \
                     since each step adds "<M tex=r"\eta^2\|\nabla E\|^2"/>" to "<M tex=r"\|c\|^2"/>
                    ". Try a larger step size, or start with "
                    <M tex="c_1 > c_0"/>"."
                </p>
                <div class="controls-grid">
                    {TOY_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=toy/> }).collect_view()}
                </div>
                {move || toy_path.get().err().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
                <Plot
                    name="alias_toy"
                    title="Gradient descent on the feature weights"
                    summary=Signal::derive(move || figures::toy_summary(&toy_ok()))
                    csv=Signal::derive(move || figures::toy_csv(&toy_ok()))
                    draw=move |area, p| figures::draw_alias_toy(area, &toy_ok(), p)
                />
                {move || toy_path.get().ok().and_then(|p| p.last().copied()).map(|t| view! {
                    <dl class="readout" aria-label="Final values of the toy">
                        <dt>"c0"</dt><dd data-key="c0">{format!("{:.4}", t.c0)}</dd>
                        <dt>"c1"</dt><dd data-key="c1">{format!("{:.4}", t.c1)}</dd>
                        <dt>"||c||"</dt><dd>{format!("{:.4}", t.norm)}</dd>
                        <dt>"beta0"</dt><dd>{format!("{:.4} (1/c0 = {:.4})", t.beta0, 1.0 / t.c0)}</dd>
                        <dt>"beta1"</dt><dd>{format!("{:.4}", t.beta1)}</dd>
                        <dt>"E"</dt><dd>{format!("{:.2e}", t.error)}</dd>
                    </dl>
                })}
            </section>

            <section aria-labelledby="part-e">
                <h2 id="part-e">"(e)–(f) Meta-learning the feature weights"</h2>
                <p>
                    "Now the real experiment, at the settings of the original notebook. There are "
                    <M tex="d = 501"/>" features: the constant and "<M tex=r"\sqrt2\sin(f\pi x)"/>", "
                    <M tex=r"\sqrt2\cos(f\pi x)"/>" for "<M tex=r"f = 1, \dots, 250"/>
                    ". The true features are those of frequencies 3, 4 and 5. Each meta step draws 5 \
                     tasks; each task is fitted on 32 grid points by the min-norm rule (the inner loop, \
                     in closed form) and judged on 64 fresh random points (the meta loss). The gradient \
                     of that loss with respect to "<M tex="c"/>" is exact: writing "
                    <M tex=r"K = \Phi\,\mathrm{diag}(c^2)\,\Phi^\top"/>", "<M tex=r"w = K^{-1}y"/>", "
                    <M tex=r"u = \Phi^\top w"/>", "<M tex=r"g = 2\Phi_m^\top(\Phi_m \alpha - y_m)"/>" and "
                    <M tex=r"h = \Phi^\top K^{-1}\Phi\,(c^2 \odot g)"/>","
                </p>
                <MathBlock tex=r"\frac{\partial L}{\partial c_k} = 2\, c_k\, u_k\, (g_k - h_k)."/>
                <p>
                    "(A test checks it against finite differences.) Plain SGD with step 0.01 then \
                     updates "<M tex="c"/>" for 100 iterations. To see what was learned, each of 10 test \
                     tasks is fitted on "<M tex="n"/>" points for "<M tex="n"/>" from 1 to "
                    <M tex="3d"/>" and scored on 1000 noiseless random points: with the meta-learned \
                     weights, with all weights equal to one, and by an oracle that knows the true \
                     features."
                </p>
                <div class="controls-grid">
                    {MAML_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                    <TextInput
                        label="True frequencies"
                        key="freqs"
                        value=freqs_text
                        check=|t: &str| parse_frequencies(t).map(|_| ())
                        on_commit=move |t: String| {
                            if let Ok(f) = parse_frequencies(&t) {
                                let mut next = settings.get_untracked();
                                next.true_frequencies = f;
                                match next.validate() {
                                    Ok(()) => settings.set(next),
                                    Err(e) => v.failure.set(Some(e)),
                                }
                            }
                        }
                        help="comma-separated, e.g. 3,4,5"
                    />
                    <ChoiceInput
                        label="Inner point placement"
                        key="inner"
                        options=&[("grid", "grid (evenly spaced)"), ("uniform", "uniform random")]
                        value=inner_text
                        on_change=move |t: String| {
                            if let Some(p) = InnerPoints::parse(&t) {
                                settings.update(|s| s.inner_points = p);
                            }
                        }
                    />
                </div>
                <Experiment v=v names=&CLOSED_FORM_PLOTS>
                <p>
                    "What to look for. The all-ones weights treat every feature alike; with fewer than \
                     about 250 points they spread each true frequency's energy over its aliases and do \
                     little better than predicting zero. The oracle is the floor. The meta-learned weights \
                     sit between the two: better than all-ones everywhere below "<M tex="d"/>
                    ", worse than the oracle. Past "<M tex="n = d"/>" the fit is ordinary least squares, \
                     where rescaling features changes nothing, so the two curves meet."
                </p>
                <p>
                    "And the dip at "<M tex="n = 32"/>". On the grid "<M tex="x_j = -1 + 2j/32"/>
                    " the frequencies "<M tex=r"32m \pm f"/>" take exactly the same values as "
                    <M tex="f"/>" (up to the sign of the sine), so from 32 grid points the learner cannot \
                     tell them apart. Meta-training, whose inner fits always see those 32 grid points, \
                     learns to turn exactly those aliases down. When a test task is then fitted on 32 grid \
                     points, the same aliases are the only confusion there is, and they are already \
                     silenced: the fit is almost the oracle's. At 31 or 35 points the aliases are other \
                     frequencies that meta-training never had reason to suppress. Set the inner training \
                     points to 16 or 48 and the dip moves with it."
                </p>
                </Experiment>
                <p>
                    "Part (f). The weights of the six true features grow; the weights of the grid aliases "
                    "(orange) fall toward zero; the rest barely move, because no task ever asked them to. \
                     Read through the min-norm rule, "<M tex=r"\alpha_k = c_k\beta_k"/>
                    " minimises "<M tex=r"\sum_k \alpha_k^2 / c_k^2"/>": "<M tex="c_k^2"/>
                    " acts like a prior variance on feature "<M tex="k"/>", and "<M tex="c_k = 0"/>
                    " removes the feature altogether. Meta-learning is learning that prior."
                </p>
                <p>
                    "A single test task fitted on the inner grid: with all-ones weights the fit passes \
                     through every training point but wiggles between them with high-frequency aliases; \
                     with the meta-learned weights it follows the true function."
                </p>
                <p class="note">
                    "Diverging runs. With uniform random inner points two of them can land very close \
                     together, which makes the inner system nearly singular; with a large meta step the \
                     weights can then explode. The page checks the conditioning of every inner solve and \
                     the size of every weight, stops with the last good state and says what happened."
                </p>
            </section>

            <section aria-labelledby="part-g">
                <h2 id="part-g">"(g) An inner loop of gradient steps"</h2>
                <p>
                    "A real network cannot be fitted in closed form. MAML's usual inner loop is a few \
                     steps of gradient descent, and the meta-gradient flows back through those steps. \
                     Here each task starts from "<M tex=r"\beta = 0"/>" and takes "<M tex="K"/>
                    " steps of size "<M tex=r"\eta = 0.01"/>" on the mean squared error over 32 uniform \
                     random points. In prediction weights "<M tex=r"a = c \odot \beta"/>" one step reads"
                </p>
                <MathBlock tex=r"a_{t+1} = a_t - \frac{\eta}{n}\, c^2 \odot \Phi^\top q_t, \qquad q_t = 2(\Phi a_t - y)."/>
                <p>
                    "The meta loss is measured after step "<M tex="K"/>", and its gradient with respect \
                     to "<M tex="c"/>" is taken exactly by running the steps backwards (reverse mode): "
                    <M tex=r"\bar a_K = \Phi_m^\top q_m"/>", then for each step "
                    <M tex=r"\bar s \leftarrow \bar s - \tfrac{\eta}{n}\, \bar a_{t+1} \odot \Phi^\top q_t"/>" and "
                    <M tex=r"\bar a_t = \bar a_{t+1} - \tfrac{2\eta}{n}\, \Phi^\top \Phi (c^2 \odot \bar a_{t+1})"/>
                    ", with "<M tex=r"\partial L / \partial c = 2 c \odot \bar s"/>
                    " (checked against finite differences for "<M tex="K"/>" = 1, 5 and 10). The \
                     evaluation is the same closed-form fit as above, with uniform random points."
                </p>
                <div class="controls-grid">
                    {GD_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=gd.settings/> }).collect_view()}
                </div>
                <Experiment v=gd names=&GD_PLOTS lazy=true>
                    <p>
                        "What to look for. With "<M tex="K = 5"/>" or "<M tex="K = 1"/>" the meta-learned \
                         curve drops well below all-ones, as in the closed form: even one small step \
                         tells the outer loop which features the tasks use, because the first step moves \
                         each coefficient in proportion to "<M tex="c_k^2"/>" times that feature's \
                         correlation with the data. The true features' weights grow several-fold. With "
                        <M tex="K = 0"/>" the task model never moves from zero, the meta loss does not \
                         depend on "<M tex="c"/>" at all, its gradient is exactly zero and the weights \
                         stay at one: nothing is learned. The grid aliases are not singled out this time: \
                         the inner points are random, so there is no alias structure to learn, and there \
                         is no dip at "<M tex="n = 32"/>". (Occasional spikes in both curves come from two \
                         random post-training points landing almost on top of each other: the exact \
                         interpolation of noisy targets there needs enormous coefficients. The tall peak \
                         near "<M tex="n = d"/>" is the same effect at its strongest: with random points \
                         and a nearly square system, interpolation is at its worst conditioned, the \
                         double-descent peak. Read the zoomed figure for "<M tex=r"n \le 128"/>".)"
                    </p>
                </Experiment>
            </section>

            <section aria-labelledby="part-h">
                <h2 id="part-h">"(h)–(i) Meta-learning for classification"</h2>
                <p>
                    "Now the tasks are classification: the label of a point is the sign of the task's \
                     function (sign 0 counts as +1), taken of the same noisy targets. The inner loop takes "
                    <M tex="K"/>" gradient steps on the logistic loss "
                    <M tex=r"\ell(z, y) = \log(1 + e^{-yz})"/>" with weight decay "<M tex="10^{-5}"/>
                    " and step 0.01 (or 0.3: try both); the meta loss is the logistic loss on 64 \
                     random points. The backward pass is the one above with "<M tex=r"q = -y\,\sigma(-yz)"/>
                    " and the curvature "<M tex=r"\sigma(z)\sigma(-z)"/>" in place of 2."
                </p>
                <p>
                    "Evaluation fits each test task on "<M tex="n"/>" labelled random points, for "
                    <M tex="n"/>" from 24 to "<M tex="3d"/>", with a well-converged logistic regression on \
                     the weighted features, "<M tex=r"\min_\beta \sum_i \ell(y_i, (\Phi\,\mathrm{diag}(c)\,\beta)_i) + \tfrac12\|\beta\|^2"/>
                    " (scikit-learn's default objective), solved by Newton's method with a \
                     preconditioned conjugate-gradient solve per step, stopped when the Newton decrement \
                     falls below "<M tex="10^{-10}"/>". The metric is the error rate on 1000 noiseless \
                     test points; chance is 0.5. As with the min-norm rule, the penalty on "
                    <M tex=r"\beta"/>" is a penalty "<M tex=r"\sum_k \alpha_k^2 / c_k^2"/>" on the \
                     prediction weights, so "<M tex="c_k^2"/>" again plays the prior variance."
                </p>
                <div class="controls-grid">
                    {CLS_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=cls.settings/> }).collect_view()}
                </div>
                <Experiment v=cls names=&CLS_PLOTS lazy=true>
                    <p>
                        "Part (h). The meta-learned weights classify far better than all-ones at small "
                        <M tex="n"/>" and stay above the oracle, which knows the six true features. \
                         Part (i). In the weights, the favoured (true) features grow while all the others \
                         drift only slightly; with the larger inner step 0.3 the inner loop moves further, \
                         the meta-gradient is larger and the true weights grow faster. Each evaluation \
                         fits a few hundred logistic regressions, so the curve is redrawn every "
                        {move || cls.settings.with(|s| s.eval_every)}" iterations."
                    </p>
                </Experiment>
            </section>

            <section aria-labelledby="shared">
                <h2 id="shared">"What the three variants share"</h2>
                <p>
                    "Only the inner loop changes. The outer loop is the same code for all three: draw 5 \
                     tasks, adapt each on its training points, score it on 64 fresh points, sum the \
                     gradients of those scores with respect to "<M tex="c"/>", take one SGD step, and \
                     stop with the last good weights if anything diverges. What differs is how a task \
                     adapts (an exact min-norm solve, or "<M tex="K"/>" gradient steps on squared or \
                     logistic loss) and therefore how the meta-gradient is computed (a closed formula, or \
                     reverse mode through the steps). The evaluation driver is shared too; only its \
                     per-task fit (min-norm or logistic regression) and metric (squared error or error \
                     rate) change."
                </p>
            </section>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_round_trip_reproduces_the_settings() {
        let all = ChapterSettings {
            maml: MamlSettings {
                seed: 7,
                iterations: 50,
                true_frequencies: vec![2, 9],
                inner_points: InnerPoints::Uniform,
                ..Default::default()
            },
            gd: MamlSettings {
                seed: 3,
                ..MamlSettings::gradient_descent(1)
            },
            cls: MamlSettings {
                iterations: 40,
                inner: InnerLoop::Gradient { steps: 10, lr: 0.3 },
                ..cls_default()
            },
            toy: ToySettings {
                c0: 0.5,
                ..Default::default()
            },
            mn: MinNormSettings {
                n: 4,
                d: 9,
                seed: 3,
            },
        };
        let loc = location_of(&all);
        let back = Location::parse(&loc.to_hash());
        let (again, notices) = settings_from_location(&back);
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(again, all);
        // Defaults write nothing.
        assert!(location_of(&ChapterSettings::default()).params.is_empty());
    }

    #[test]
    fn malformed_url_values_give_notices_and_defaults() {
        let loc = Location::parse(
            "#/meta-learning?d=500&seed=x&freqs=a,b&inner=spiral&mn_n=9&mn_d=4&gd_steps=99&cls_ilr=-1",
        );
        let (s, notices) = settings_from_location(&loc);
        assert_eq!(s.maml, MamlSettings::default());
        assert_eq!(s.mn, MinNormSettings::default());
        assert_eq!(s.gd, gd_default());
        assert_eq!(s.cls, cls_default());
        let all = notices.join("\n");
        for key in [
            "(seed)",
            "(freqs)",
            "(inner)",
            "mn_n",
            "(gd_steps)",
            "(cls_ilr)",
        ] {
            assert!(all.contains(key), "{key} missing in {all}");
        }
        assert!(all.contains("d: d must be an odd"), "{all}");
    }
}

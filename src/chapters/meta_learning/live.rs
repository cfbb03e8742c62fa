//! One MAML experiment as it runs in the page: the trainer and its evaluation curves (`Live`) and
//! the signals its figures and controls read (`ExperimentView`), advanced one time slice at a time;
//! the steps are taken and the curves computed on the workers where the page has them
//! (`super::train`, `super::sweep`), and then the page's thread computes nothing but the figures'
//! small pieces (the zero predictor's line, the task-fit figure).

use super::sweep::Sweep;
use super::train::{Stepped, Training};
use crate::tasks::Slice;
use crate::ui::run_controls::Speed;
use crate::var::Var;
use crate::web;
use glassbox_lab::figures::{self, FeatureWeightData, TestLossData};
use glassbox_lab::maml::features;
use glassbox_lab::maml::{
    Curve, EvalContext, MamlSettings, MetaTrainer, Problem, TaskFit, Weighting,
};

/// One experiment (closed form, gradient steps or classification) as it runs in the page.
pub struct Live {
    pub trainer: MetaTrainer,
    training: Training,
    ctx: EvalContext,
    ones: Option<Curve>,
    oracle: Option<Curve>,
    baseline: Option<(bool, Sweep)>,
    meta_eval: Option<(usize, Sweep)>,
    pub step_requested: bool,
    /// The step the reader asked for is being taken (on a worker, it may take a while).
    stepping: bool,
    last_weights_draw: f64,
    /// Milliseconds spent computing (preparing, training, evaluating here or on the workers; not the
    /// speed's pauses).
    compute_ms: f64,
}

impl Live {
    pub fn new(settings: &MamlSettings) -> Result<Live, String> {
        Ok(Live {
            trainer: MetaTrainer::new(settings.clone())?,
            training: Training::new(),
            ctx: EvalContext::new(settings.clone())?,
            ones: None,
            oracle: None,
            baseline: None,
            meta_eval: None,
            step_requested: false,
            stepping: false,
            last_weights_draw: 0.0,
            compute_ms: 0.0,
        })
    }
}

/// Where an evaluation curve stands after a step.
enum Evaluated {
    Curve(Curve),
    /// The workers compute it: nothing to do here but wait.
    Elsewhere,
    /// More to compute here.
    Here,
}

/// The signals the figures and controls read.
#[derive(Clone, Copy)]
pub struct ExperimentView {
    pub settings: Var<MamlSettings>,
    pub running: Var<bool>,
    pub iteration: Var<usize>,
    pub progress: Var<f64>,
    pub status: Var<String>,
    pub failure: Var<Option<String>>,
    pub speed: Var<Speed>,
    pub test_loss: Var<TestLossData>,
    pub weights: Var<FeatureWeightData>,
    pub task_fit: Var<Option<TaskFit>>,
    pub meta_loss: Var<Option<f64>>,
}

/// Multiply-adds between deadline checks in preparing the test set.
const MACS_PER_CHECK: u64 = 1_000_000;
/// How often the page looks for the workers' answers.
const POLL_MS: i32 = 25;

impl ExperimentView {
    pub fn new(settings: MamlSettings) -> ExperimentView {
        ExperimentView {
            settings: Var::new(settings),
            running: Var::new(false),
            iteration: Var::new(0),
            progress: Var::new(0.0),
            status: Var::new(String::new()),
            failure: Var::new(None),
            speed: Var::new(Speed::Fast),
            test_loss: Var::new(TestLossData::default()),
            weights: Var::new(FeatureWeightData::default()),
            task_fit: Var::new(None),
            meta_loss: Var::new(None),
        }
    }

    pub fn show_weights(&self, live: &Live) {
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

    /// One slice of work (until `deadline`): evaluate baselines, train, evaluate.
    pub fn slice(&self, live: &mut Live, deadline: f64) -> Slice {
        let t0 = web::now_ms();
        let r = self.slice_of_work(live, deadline);
        live.compute_ms += web::now_ms() - t0;
        r
    }

    fn slice_of_work(&self, live: &mut Live, deadline: f64) -> Slice {
        while web::now_ms() < deadline {
            if live.ones.is_none() || live.oracle.is_none() {
                let is_ones = live.ones.is_none();
                let (_, sweep) = live.baseline.get_or_insert_with(|| {
                    let w = if is_ones {
                        Weighting::Ones
                    } else {
                        Weighting::Oracle
                    };
                    (is_ones, Sweep::start(w, &live.ctx))
                });
                let what = format!(
                    "the {} baseline over {} values of n_train_post",
                    if is_ones { "all-ones" } else { "oracle" },
                    live.ctx.ns.len()
                );
                let curve = match self.evaluate(sweep, &mut live.ctx, &mut live.compute_ms, &what) {
                    Ok(Evaluated::Curve(c)) => c,
                    Ok(Evaluated::Elsewhere) => return Slice::Wait(POLL_MS),
                    Ok(Evaluated::Here) => continue,
                    Err(e) => return self.fail(e),
                };
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
                continue;
            }
            if let Some((it, sweep)) = live.meta_eval.as_mut() {
                let it = *it;
                let what = format!("the meta-learned weights after {it} iterations");
                let curve = match self.evaluate(sweep, &mut live.ctx, &mut live.compute_ms, &what) {
                    Ok(Evaluated::Curve(c)) => c,
                    Ok(Evaluated::Elsewhere) => return Slice::Wait(POLL_MS),
                    Ok(Evaluated::Here) => continue,
                    Err(e) => return self.fail(e),
                };
                live.meta_eval = None;
                self.show_meta_curve(live, it, curve);
                self.progress
                    .set(it as f64 / live.trainer.settings.iterations as f64);
                if live.trainer.finished() {
                    self.finish(live);
                    return Slice::Idle;
                }
                self.status.set(format!(
                    "Meta-training{}: iteration {it}.",
                    live.training.place()
                ));
                continue;
            }
            let busy = live.training.busy();
            let wants_step = live.step_requested;
            if !busy && (!(self.running.get_untracked() || wants_step) || live.trainer.finished()) {
                if live.trainer.finished() && self.running.get_untracked() {
                    self.finish(live);
                }
                return Slice::Idle;
            }
            let delay = self.speed.get_untracked().delay_ms();
            if !busy {
                live.stepping = wants_step;
                live.step_requested = false;
            }
            let single = live.stepping || delay > 0;
            let advanced =
                match live
                    .training
                    .advance(&mut live.trainer, single, &mut live.compute_ms)
                {
                    Ok(Stepped::Moved { advanced }) => advanced,
                    Ok(Stepped::Waiting) => {
                        if !busy {
                            self.status.set(format!(
                                "Meta-training{}: iteration {}.",
                                live.training.place(),
                                live.trainer.iteration
                            ));
                        }
                        return Slice::Wait(POLL_MS);
                    }
                    Err(e) => return self.fail(e),
                };
            let wants_step = std::mem::take(&mut live.stepping);
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
                    Sweep::start(Weighting::Weights(live.trainer.weights.clone()), &live.ctx),
                ));
            } else if wants_step {
                self.status.set(format!(
                    "Stepped to iteration {it}; the test-error figure updates every {} iterations.",
                    s.eval_every
                ));
                return Slice::Idle;
            }
            if delay > 0 && !eval_due {
                self.status.set(format!(
                    "Meta-training{}: iteration {it}.",
                    live.training.place()
                ));
                return Slice::Wait(delay);
            }
        }
        Slice::Continue
    }

    /// Advance `sweep` (the curve of `what`) and show its progress and where it is computed.
    fn evaluate(
        &self,
        sweep: &mut Sweep,
        ctx: &mut EvalContext,
        compute_ms: &mut f64,
        what: &str,
    ) -> Result<Evaluated, String> {
        // Only a curve computed here needs the test Gram matrix: it is built (in slices) before the
        // first one, and never while the workers compute the curves.
        if !sweep.elsewhere() && !ctx.ready() {
            ctx.prepare(MACS_PER_CHECK);
            self.status
                .set("Preparing the test tasks and test points…".into());
            self.progress.set(ctx.prepared_fraction());
            return Ok(Evaluated::Here);
        }
        let done = sweep.advance(ctx, compute_ms)?;
        self.progress.set(sweep.progress(ctx));
        self.status
            .set(format!("Evaluating {what}{}…", sweep.place()));
        Ok(match done {
            Some(curve) => Evaluated::Curve(curve),
            None if sweep.elsewhere() => Evaluated::Elsewhere,
            None => Evaluated::Here,
        })
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
            None => {
                self.status
                    .set(format!("Done: {} meta-iterations.", live.trainer.iteration));
                crate::progress::record_time(super::SLUG, live.compute_ms);
            }
        }
    }

    fn fail(&self, e: String) -> Slice {
        self.running.set(false);
        self.failure.set(Some(e));
        Slice::Idle
    }
}

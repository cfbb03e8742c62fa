//! Fine-tuning the image lab's network in the page, shared by the image lab and the pruning and
//! quantization chapters: one SGD step at a time (the `Trainer` of `glassbox_lab::vision::train`: momentum,
//! weight decay, cosine schedule over the chosen steps, augmentation), keeping what the chapter
//! needs kept after every step (pruning masks, or k-means codebooks for quantization-aware
//! training). On WebGPU a step is one submission with the network resident on the device (the
//! device worker's where the page has one: `resident`); on the
//! CPU a step's forward and backward passes run on a background worker (the page applies the
//! update), or, without workers, on the page's thread a block at a time between screen updates.
//! Pause lets the step in flight finish; reset returns to the starting weights.

use super::data::Loaded;
use super::resident::Resident;
use crate::engine::Engine;
use crate::tasks::SLICE_MS;
use crate::ui::run_controls::Speed;
use crate::var::Var;
use crate::web;
use crate::workers::device_train::Sgd;
use crate::workers::job;
use glassbox_lab::compress::prune::Masks;
use glassbox_lab::compress::quant::KMeansQuantizer;
use glassbox_lab::figures::TrainPoint;
use glassbox_lab::vision::network::{Grads, Network, StepJob};
use glassbox_lab::vision::train::{TrainConfig, Trainer};
use leptos::prelude::*;
use std::rc::Rc;

/// A fine-tuning run's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneSpec {
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    /// Appended to the status when the run is complete.
    pub done_hint: &'static str,
    /// Stop (as if paused) after every this many steps, so the page can evaluate at checkpoints.
    pub stop_every: Option<usize>,
}

/// What fine-tuning keeps after every step.
#[derive(Clone, Debug, Default)]
pub enum Keep {
    #[default]
    Nothing,
    /// Pruned weights stay zero (on WebGPU too, by a mask kernel).
    Masks(Masks),
    /// Quantization-aware training: centroids move to the mean of their weights and the weights
    /// back onto their centroids. The codebooks live on the CPU, so these runs use the CPU path.
    Codebooks(KMeansQuantizer),
}

/// Fine-tuning progress shown on the page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tuning {
    pub running: bool,
    /// Pause was pressed: the step in flight finishes, then the run stops.
    pub pausing: bool,
    pub points: Vec<TrainPoint>,
    pub status: String,
    /// Images per second of the last run segment, and where it ran.
    pub speed: Option<(f64, &'static str)>,
}

impl Tuning {
    /// The status, with the last run segment's speed once the run has stopped.
    pub fn status_line(&self) -> String {
        match self.speed {
            Some((v, ran)) if !self.running => {
                format!("{} ({v:.0} training images/s on the {ran}.)", self.status)
            }
            _ => self.status.clone(),
        }
    }

    /// Pause: the step in flight finishes, then the run stops.
    pub fn request_pause(&mut self) {
        self.pausing = true;
        self.status = "Pausing after this step…".into();
    }
}

/// The network being evaluated and fine-tuned: a CPU copy, and while fine-tuning on WebGPU the
/// resident copy on the device (the newer one).
#[derive(Default)]
pub struct Model {
    /// Where fine-tuning starts (None: the committed weights).
    pub start: Option<Network>,
    /// What is kept through fine-tuning.
    pub keep: Keep,
    /// Train on the CPU even where the page has WebGPU (the Benchmarks appendix's CPU row).
    pub cpu_only: bool,
    /// On the CPU, compute on the page's thread even where it has background workers (the
    /// Benchmarks appendix's one-thread row).
    pub on_page: bool,
    /// On WebGPU, train on the page's own device even where the device worker is there (the
    /// Benchmarks appendix compares the two).
    pub gpu_on_page: bool,
    cpu: Option<Network>,
    gpu: Option<Resident>,
    trainer: Option<Trainer>,
    order: Vec<usize>,
    /// Next position in `order`.
    cursor: usize,
    /// Bumped by reset, so a run in flight stops and leaves the reset model alone.
    generation: u64,
}

/// The newest weights: downloaded from the device when fine-tuning ran there; before any
/// fine-tuning the starting network (`committed` when the model has no start of its own).
pub async fn current_network(
    model: StoredValue<Model, LocalStorage>,
    engine: Engine,
    committed: &Network,
) -> Network {
    if let Some(resident) = model.with_value(|m| m.gpu.clone()) {
        match resident.download().await {
            Ok(net) => model.update_value(|m| m.cpu = Some(net)),
            Err(e) => {
                e.report(engine);
                model.update_value(|m| m.gpu = None);
            }
        }
    }
    model
        .with_value(|m| m.cpu.clone().or_else(|| m.start.clone()))
        .unwrap_or_else(|| committed.clone())
}

/// Start over from `start` (None: the committed weights) keeping `keep`; a run in flight stops.
pub fn reset(
    model: StoredValue<Model, LocalStorage>,
    tuning: Var<Tuning>,
    start: Option<Network>,
    keep: Keep,
) {
    model.update_value(|m| {
        *m = Model {
            generation: m.generation + 1,
            start,
            keep,
            ..Model::default()
        }
    });
    tuning.set(Tuning::default());
}

/// Run (or, with `single`, take one step of) fine-tuning in the background.
pub fn run(
    model: StoredValue<Model, LocalStorage>,
    tuning: Var<Tuning>,
    l: Rc<Loaded>,
    s: TuneSpec,
    engine: Engine,
    speed: Var<Speed>,
    single: bool,
) {
    if tuning.get_untracked().running {
        return;
    }
    tuning.update(|t| {
        t.running = true;
        t.pausing = false;
    });
    crate::tasks::spawn_page_task(async move {
        let generation = model.with_value(|m| m.generation);
        model.update_value(|m| {
            if m.cpu.is_none() {
                m.cpu = Some(m.start.clone().unwrap_or_else(|| l.pretrained.clone()));
            }
            if m.trainer.is_none() {
                let config = TrainConfig {
                    batch: s.batch,
                    lr: s.lr as f32,
                    seed: s.seed,
                    ..TrainConfig::default()
                };
                let mut t = Trainer::new(config, l.data.train.len());
                t.total_steps = s.steps;
                m.order = t.epoch_order(l.data.train.len());
                m.cursor = 0;
                m.trainer = Some(t);
            }
        });
        let Some(mut trainer) = model.try_update_value(|m| m.trainer.take()).flatten() else {
            tuning.update(|t| t.running = false);
            return;
        };
        let (mut order, mut cursor) = model.with_value(|m| (m.order.clone(), m.cursor));
        let mut net = model
            .with_value(|m| m.cpu.clone())
            .unwrap_or_else(|| l.pretrained.clone());
        let (mut images, mut busy, mut ran) = (0usize, 0.0f64, "CPU");
        engine.settled().await;
        let mut last_yield = web::now_ms();
        let alive = move || {
            !tuning.get_untracked().pausing && model.with_value(|m| m.generation) == generation
        };
        while alive() && trainer.step < trainer.total_steps {
            let b = trainer.config.batch;
            if cursor + b > order.len() {
                order = trainer.epoch_order(l.data.train.len());
                cursor = 0;
            }
            let idx: Vec<usize> = order[cursor..cursor + b].to_vec();
            cursor += b;
            let (x, y) = trainer.batch(&l.data.train, &idx);
            let mut result = None;
            let cpu_only = model.with_value(|m| m.cpu_only || matches!(m.keep, Keep::Codebooks(_)));
            if engine.on_webgpu() && !cpu_only {
                if model.with_value(|m| m.gpu.is_none()) {
                    let (masks, page_only) = model.with_value(|m| match &m.keep {
                        Keep::Masks(mk) => (Some(mk.clone()), m.gpu_on_page),
                        _ => (None, m.gpu_on_page),
                    });
                    match Resident::open(engine, &net, masks.as_ref(), page_only).await {
                        Ok(g) => model.update_value(|m| m.gpu = Some(g)),
                        Err(e) => e.report(engine),
                    }
                }
                if let Some(g) = model.with_value(|m| m.gpu.clone()) {
                    let cfg = &trainer.config;
                    let sgd = Sgd {
                        lr: trainer.learning_rate(),
                        momentum: cfg.momentum,
                        weight_decay: cfg.weight_decay,
                    };
                    let t0 = web::now_ms();
                    let r = g.step(&x, &y, sgd).await;
                    busy += web::now_ms() - t0;
                    match r {
                        Ok(r) => {
                            trainer.step += 1;
                            result = Some(r);
                            ran = "WebGPU";
                        }
                        Err(e) => {
                            e.report(engine);
                            model.update_value(|m| m.gpu = None);
                            tuning.update(|t| t.status = e.status());
                        }
                    }
                }
            }
            if result.is_none() {
                let on_page = model.with_value(|m| m.on_page);
                let (loss, correct, grads, place) =
                    forward_backward(&mut net, x, y, on_page, &mut busy, &mut last_yield).await;
                trainer.apply(&mut net, &grads);
                model.update_value(|m| match &mut m.keep {
                    Keep::Nothing => {}
                    Keep::Masks(mk) => mk.apply(&mut net),
                    Keep::Codebooks(q) => q.update_and_apply(&mut net),
                });
                result = Some((loss, correct));
                ran = place;
            }
            images += b;
            if model.with_value(|m| m.generation) != generation {
                // Reset while this step ran: its result belongs to nothing shown any more.
                return;
            }
            if let Some((loss, correct)) = result {
                let point = TrainPoint {
                    step: trainer.step,
                    loss: loss as f64,
                    accuracy: correct as f64 / b as f64,
                };
                tuning.update(|t| {
                    t.points.push(point);
                    t.status = format!(
                        "Step {} of {} on the {ran}: batch loss {:.3}, learning rate {:.5}.",
                        trainer.step,
                        trainer.total_steps,
                        point.loss,
                        trainer.learning_rate()
                    );
                });
            }
            if single
                || s.stop_every
                    .is_some_and(|k| trainer.step.is_multiple_of(k.max(1)))
            {
                break;
            }
            let delay = speed.get_untracked().delay_ms();
            if delay > 0 || web::now_ms() - last_yield > SLICE_MS {
                web::sleep(delay).await;
                last_yield = web::now_ms();
            }
        }
        if model.with_value(|m| m.generation) != generation {
            return;
        }
        let on_gpu = model.with_value(|m| m.gpu.is_some());
        model.update_value(|m| {
            if !on_gpu {
                m.cpu = Some(net);
            }
            m.trainer = Some(trainer);
            m.order = order;
            m.cursor = cursor;
        });
        let secs = busy / 1000.0;
        tuning.update(|t| {
            t.running = false;
            t.pausing = false;
            if images > 0 && secs > 0.0 {
                t.speed = Some((images as f64 / secs, ran));
            }
            if t.points.last().map(|p| p.step) == Some(s.steps) {
                t.status = format!("Done: {} steps.{}", s.steps, s.done_hint);
            }
        });
    });
}

/// Where a CPU step ran (the status says "on the {place}").
pub const PAGE: &str = "CPU";
pub const WORKER: &str = "CPU, in a background worker";

/// One training step's forward and backward pass on the batch `(x, y)`: on a background worker
/// (one job: `workers::job`'s `step`) so the page's thread stays free, or, without the pool or with
/// `on_page`, here a block at a time between screen updates; its time is added to `busy` (a
/// worker's: the job's, its messages included). The same numbers either way. The batch's loss, how many it classified right, the gradients, and
/// where it ran; `net` ends with the step's batch-norm running statistics.
async fn forward_backward(
    net: &mut Network,
    x: Vec<f32>,
    y: Vec<u32>,
    on_page: bool,
    busy: &mut f64,
    last_yield: &mut f64,
) -> (f32, usize, Grads, &'static str) {
    if let Some(pool) = crate::workers::pool::pool().filter(|_| !on_page) {
        let bytes = net.to_bytes();
        let message = |_| job::step_message(&bytes, &x, &y);
        let t0 = web::now_ms();
        // Err: the pool was given up (it says so in the page), and this thread takes over.
        if let Ok(Some(replies)) = pool.run(1, &message, &|_| {}, &|| true).await {
            match replies.first().map(job::step_of) {
                Some(Ok(s)) => {
                    *net = s.net;
                    *busy += web::now_ms() - t0;
                    *last_yield = web::now_ms();
                    return (s.loss, s.correct, s.grads, WORKER);
                }
                Some(Err(e)) => web_sys::console::warn_1(
                    &format!("Glassbox: a training step on a worker failed: {e}").into(),
                ),
                None => {}
            }
        }
    }
    let mut job = StepJob::new(x, y);
    while !job.done() {
        let t0 = web::now_ms();
        job.advance(net);
        *busy += web::now_ms() - t0;
        if web::now_ms() - *last_yield > SLICE_MS {
            web::sleep(0).await;
            *last_yield = web::now_ms();
        }
    }
    let correct = job.correct();
    let (loss, grads) = job.finish();
    (loss, correct, grads, PAGE)
}

//! Surgical fine-tuning as the paper ran it, as a resumable state machine (the page runs it in
//! slices, the CLI to the end): for each learning rate of the grid, start again from the shifted
//! network, train the chosen tensors with Adam (weight decay 1e-4, batch 64, batch-norm in
//! evaluation mode) for up to E epochs, and measure validation accuracy after each epoch; the result
//! is the test accuracy of the parameters at the best validation (lr, epoch), the first best kept.
//!
//! - The frozen prefix (every convolution before the first tuned one) is computed once per image.
//! - Auto-RGN: at the start of each epoch, each tensor's relative gradient norm ||g|| / ||theta||,
//!   averaged over the epoch's first 5 batches (at the epoch's starting weights), divided by the
//!   largest, multiplies that tensor's learning rate for the epoch.
//! - `bn-stats`: one pass over the training images in batches in training mode, each layer's
//!   running statistics set to the average of the batches' statistics (momentum 1 / (k + 1) at the
//!   k-th batch, PyTorch's `momentum=None`); no parameter changes.
//!
//! Work is done in units of at most `CHUNK` images (or one convolution of one batch for `bn-stats`;
//! the shifted images themselves are made in such units too, so creating a run costs little),
//! so a unit takes tens of milliseconds even in the browser; results do not depend on how many
//! units run per slice.

use super::blocks::{check_blocks, params_changed, Tensor, Tune};
use super::shifts::{Shift, ShiftedData};
use super::suffix::{accumulate_grads, correct_from, prefix, relative_grad_norms, Adam};
use crate::rng::Rng;
use crate::vision::data::Split;
use crate::vision::network::{Bn, Network};
use serde::{Deserialize, Serialize};

/// Images per unit of work.
pub const CHUNK: usize = 4;
/// Batches whose gradients set Auto-RGN's multipliers each epoch.
pub const RGN_BATCHES: usize = 5;

/// One fine-tuning experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneSettings {
    pub shift: Shift,
    pub tune: Tune,
    /// Training images (validation: a tenth of them; both balanced over the classes).
    pub images: usize,
    pub test_images: usize,
    pub epochs: usize,
    pub lrs: Vec<f64>,
    pub batch: usize,
    pub weight_decay: f64,
    pub seed: u64,
}

impl Default for TuneSettings {
    /// The paper's recipe on our data: severity-5 Gaussian noise, 1000 images, Adam, 10 epochs.
    fn default() -> Self {
        TuneSettings {
            shift: Shift::Corruption {
                corruption: super::corruptions::Corruption::GaussianNoise,
                severity: 5,
            },
            tune: Tune::Block(0),
            images: 1000,
            test_images: 1000,
            epochs: 10,
            lrs: vec![1e-2, 1e-3, 1e-4],
            batch: 64,
            weight_decay: 1e-4,
            seed: 0,
        }
    }
}

pub const MAX_EPOCHS: usize = 50;

impl TuneSettings {
    /// One epoch of the default shift at one learning rate on 1000 images (100 test images): what
    /// `glassbox bench finetune` and the Benchmarks appendix time.
    pub fn epoch_benchmark(tune: Tune) -> TuneSettings {
        TuneSettings {
            tune,
            test_images: 100,
            epochs: 1,
            lrs: vec![1e-3],
            ..TuneSettings::default()
        }
    }

    /// Every setting in range, or a message naming the first that is not.
    pub fn validate(&self) -> Result<(), String> {
        self.shift.validate()?;
        super::shifts::per_class(self.images, self.test_images)?;
        if !(1..=MAX_EPOCHS).contains(&self.epochs) {
            return Err(format!(
                "epochs must be 1 to {MAX_EPOCHS} (got {})",
                self.epochs
            ));
        }
        if self.lrs.is_empty() {
            return Err("lr grid must hold at least one learning rate".into());
        }
        if let Some(lr) = self.lrs.iter().find(|&&lr| !(lr > 0.0 && lr <= 1.0)) {
            return Err(format!("lr must be in (0, 1] (got {lr})"));
        }
        if !(1..=1000).contains(&self.batch) {
            return Err(format!("batch must be 1 to 1000 (got {})", self.batch));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(format!(
                "weight decay must be a finite number >= 0 (got {})",
                self.weight_decay
            ));
        }
        Ok(())
    }
}

/// Validation accuracy after an epoch at a learning rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub lr: f64,
    pub epoch: usize,
    pub val_accuracy: f64,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
}

/// What an experiment found (the CLI prints it as JSON, and reads saved results back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneResult {
    pub shift: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corruption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_block: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    pub tune: String,
    pub images: usize,
    pub seed: u64,
    pub accuracy_before: f64,
    pub accuracy_after: f64,
    pub params_tuned: usize,
    pub params_changed: usize,
    /// The best validation's learning rate and epoch (None for `bn-stats`).
    pub lr: Option<f64>,
    pub epoch: Option<usize>,
    pub val_accuracy: Option<f64>,
    pub curve: Vec<CurvePoint>,
    /// Auto-RGN's last multipliers, per tensor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multipliers: Vec<(String, f64)>,
}

/// Where a run's time went, in milliseconds: computing the frozen prefix (once), training
/// (with Auto-RGN's measurement), and in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PhaseTimes {
    pub prefix_ms: f64,
    pub train_ms: f64,
    pub total_ms: f64,
}

impl PhaseTimes {
    /// What computing the prefix once saved: without the cache, its share for the training and
    /// validation images (`per_epoch` of the `all` images it ran on) would run every epoch.
    pub fn prefix_saving_ms(&self, per_epoch: usize, all: usize, epochs: usize) -> f64 {
        self.prefix_ms * per_epoch as f64 / all.max(1) as f64 * epochs as f64
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// Shifting the drawn images of set 0 (train), 1 (validation) or 2 (test).
    Draw {
        set: usize,
    },
    /// Activations entering the first tuned convolution, set 0 train, 1 validation, 2 test.
    Prefix {
        set: usize,
        pos: usize,
    },
    /// The shifted network's accuracy on validation (set 1) and test (set 2).
    Before {
        set: usize,
        pos: usize,
        correct: usize,
    },
    /// Batch `batch`'s pass through convolution `conv` in training mode.
    BnStats {
        batch: usize,
        conv: usize,
        act: Vec<f32>,
    },
    Rgn {
        batch: usize,
        pos: usize,
    },
    Train {
        batch: usize,
        pos: usize,
    },
    Val {
        pos: usize,
        correct: usize,
    },
    Test {
        pos: usize,
        correct: usize,
    },
    Done,
}

struct Best {
    val: f64,
    lr_index: usize,
    epoch: usize,
    params: Vec<Vec<f32>>,
}

/// A fine-tuning experiment in progress.
pub struct Tuner {
    pub settings: TuneSettings,
    pub data: ShiftedData,
    /// The shifted network (the pretrained one, perturbed for `stage-noise`).
    start: Network,
    net: Network,
    first: usize,
    tensors: Vec<Tensor>,
    acts: [Vec<f32>; 3],
    phase: Phase,
    lr_index: usize,
    epoch: usize,
    order: Vec<usize>,
    grads: Vec<Vec<f32>>,
    loss_sum: f64,
    adam: Adam,
    multipliers: Vec<f64>,
    rgn_sum: Vec<f64>,
    pub curve: Vec<CurvePoint>,
    pub val_before: Option<f64>,
    pub accuracy_before: Option<f64>,
    pub accuracy_after: Option<f64>,
    /// Why the run stopped early (an image the shift could not make).
    pub error: Option<String>,
    /// The split the data are drawn from.
    test: Split,
    best: Option<Best>,
    units_done: usize,
    units_total: usize,
}

fn chunks(n: usize) -> usize {
    n.div_ceil(CHUNK)
}

/// Sizes of the batches of an epoch over `n` images (the last may be smaller).
fn batch_sizes(n: usize, batch: usize) -> impl Iterator<Item = usize> {
    (0..n.div_ceil(batch)).map(move |b| batch.min(n - b * batch))
}

impl Tuner {
    /// Draw the shifted data from the test split and prepare the run.
    pub fn new(
        pretrained: &Network,
        test: &Split,
        settings: TuneSettings,
    ) -> Result<Tuner, String> {
        settings.validate()?;
        check_blocks(pretrained)?;
        let data = ShiftedData::plan(
            test,
            &settings.shift,
            settings.images,
            settings.test_images,
            settings.seed,
        )?;
        let start = settings.shift.network(pretrained, settings.seed)?;
        let tensors = settings.tune.tensors(&start);
        let first = settings.tune.first_conv(&start);
        let mut t = Tuner {
            net: start.clone(),
            start,
            first,
            grads: vec![Vec::new(); tensors.len()],
            multipliers: vec![1.0; tensors.len()],
            rgn_sum: vec![0.0; tensors.len()],
            tensors,
            acts: Default::default(),
            phase: Phase::Draw { set: 0 },
            test: test.clone(),
            error: None,
            lr_index: 0,
            epoch: 0,
            order: Vec::new(),
            loss_sum: 0.0,
            adam: Adam::default(),
            curve: Vec::new(),
            val_before: None,
            accuracy_before: None,
            accuracy_after: None,
            best: None,
            units_done: 0,
            units_total: 0,
            data,
            settings,
        };
        t.units_total = t.count_units();
        Ok(t)
    }

    fn count_units(&self) -> usize {
        let s = &self.settings;
        let [tr, va, te] = self.data.indices.each_ref().map(Vec::len);
        let setup = 2 * (chunks(tr) + chunks(va) + chunks(te)) + chunks(va) + chunks(te);
        let tuning = if s.tune.trains() {
            let train: usize = batch_sizes(tr, s.batch).map(chunks).sum();
            let rgn: usize = if s.tune == Tune::AutoRgn {
                batch_sizes(tr, s.batch).take(RGN_BATCHES).map(chunks).sum()
            } else {
                0
            };
            s.lrs.len() * s.epochs * (rgn + train + chunks(va))
        } else {
            batch_sizes(tr, s.batch).count() * self.net.blocks.len()
        };
        setup + tuning + chunks(te)
    }

    /// Share of the work done, 0 to 1.
    pub fn progress(&self) -> f64 {
        self.units_done as f64 / self.units_total.max(1) as f64
    }

    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// What the run is doing, for a progress line.
    pub fn activity(&self) -> String {
        let at = || {
            format!(
                "lr {:e}, epoch {} of {}",
                self.settings.lrs[self.lr_index],
                self.epoch + 1,
                self.settings.epochs
            )
        };
        match &self.phase {
            Phase::Draw { .. } => "shifting the images".into(),
            Phase::Prefix { .. } => "computing the frozen layers once".into(),
            Phase::Before { .. } => "measuring the shifted network".into(),
            Phase::BnStats { batch, .. } => {
                format!("re-estimating batch-norm statistics, batch {}", batch + 1)
            }
            Phase::Rgn { .. } => format!("{}: Auto-RGN's gradient norms", at()),
            Phase::Train { .. } => format!("{}: training", at()),
            Phase::Val { .. } => format!("{}: validation", at()),
            Phase::Test { .. } => "testing the best parameters".into(),
            Phase::Done => "done".into(),
        }
    }

    /// The phase's short name: `prefix`, `before`, `bn-stats`, `rgn`, `train`, `val`, `test`, `done`.
    pub fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Draw { .. } => "draw",
            Phase::Prefix { .. } => "prefix",
            Phase::Before { .. } => "before",
            Phase::BnStats { .. } => "bn-stats",
            Phase::Rgn { .. } => "rgn",
            Phase::Train { .. } => "train",
            Phase::Val { .. } => "val",
            Phase::Test { .. } => "test",
            Phase::Done => "done",
        }
    }

    /// The network as it stands (after the run: with the best validation's parameters).
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The network the shift starts from.
    pub fn start_network(&self) -> &Network {
        &self.start
    }

    /// Auto-RGN's current multipliers by tensor name (empty for other choices).
    pub fn multipliers(&self) -> Vec<(String, f64)> {
        if self.settings.tune != Tune::AutoRgn {
            return Vec::new();
        }
        self.tensors
            .iter()
            .zip(&self.multipliers)
            .map(|(t, &m)| (t.name(), m))
            .collect()
    }

    /// Run to the end.
    pub fn run(&mut self) {
        while self.step() {}
    }

    /// `step`, adding its duration (by the clock `now`, in ms) to the phase it ran in.
    pub fn step_timed(&mut self, now: &dyn Fn() -> f64, times: &mut PhaseTimes) -> bool {
        let phase = self.phase_name();
        let t0 = now();
        let more = self.step();
        let dt = now() - t0;
        times.total_ms += dt;
        match phase {
            "prefix" => times.prefix_ms += dt,
            "train" | "rgn" => times.train_ms += dt,
            _ => {}
        }
        more
    }

    /// Rows `rows` of activation set `set`, in that order.
    fn gather(&self, set: usize, rows: &[usize]) -> Vec<f32> {
        let dim = self.acts[set].len() / self.set_len(set).max(1);
        let mut out = Vec::with_capacity(rows.len() * dim);
        for &r in rows {
            out.extend_from_slice(&self.acts[set][r * dim..(r + 1) * dim]);
        }
        out
    }

    fn set(&self, set: usize) -> &super::shifts::Tensors {
        match set {
            0 => &self.data.train,
            1 => &self.data.val,
            _ => &self.data.test,
        }
    }

    fn set_len(&self, set: usize) -> usize {
        self.set(set).len()
    }

    /// Correct answers of the current network on rows pos.. of a set (one chunk): (correct, end).
    fn eval_chunk(&mut self, set: usize, pos: usize) -> (usize, usize) {
        let end = (pos + CHUNK).min(self.set_len(set));
        let rows: Vec<usize> = (pos..end).collect();
        let act = self.gather(set, &rows);
        let labels = self.set(set).labels[pos..end].to_vec();
        (correct_from(&mut self.net, self.first, &act, &labels), end)
    }

    /// One unit of work; false once the run is done.
    pub fn step(&mut self) -> bool {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        self.phase = match phase {
            Phase::Draw { set } => self.draw_unit(set),
            Phase::Prefix { set, pos } => self.prefix_unit(set, pos),
            Phase::Before { set, pos, correct } => {
                let (c, end) = self.eval_chunk(set, pos);
                let correct = correct + c;
                if end < self.set_len(set) {
                    Phase::Before {
                        set,
                        pos: end,
                        correct,
                    }
                } else {
                    let acc = correct as f64 / self.set_len(set).max(1) as f64;
                    if set == 1 {
                        self.val_before = Some(acc);
                        Phase::Before {
                            set: 2,
                            pos: 0,
                            correct: 0,
                        }
                    } else {
                        self.accuracy_before = Some(acc);
                        self.start_tuning()
                    }
                }
            }
            Phase::BnStats { batch, conv, act } => self.bn_unit(batch, conv, act),
            Phase::Rgn { batch, pos } => self.rgn_unit(batch, pos),
            Phase::Train { batch, pos } => self.train_unit(batch, pos),
            Phase::Val { pos, correct } => {
                let (c, end) = self.eval_chunk(1, pos);
                if end < self.set_len(1) {
                    Phase::Val {
                        pos: end,
                        correct: correct + c,
                    }
                } else {
                    self.end_epoch(correct + c)
                }
            }
            Phase::Test { pos, correct } => {
                let (c, end) = self.eval_chunk(2, pos);
                if end < self.set_len(2) {
                    Phase::Test {
                        pos: end,
                        correct: correct + c,
                    }
                } else {
                    self.accuracy_after =
                        Some((correct + c) as f64 / self.set_len(2).max(1) as f64);
                    Phase::Done
                }
            }
            Phase::Done => Phase::Done,
        };
        if self.phase != Phase::Done {
            self.units_done += 1;
        } else {
            self.units_done = self.units_total;
        }
        !self.done()
    }

    fn draw_unit(&mut self, set: usize) -> Phase {
        let s = &self.settings;
        if let Err(e) = self.data.fill(&self.test, &s.shift, s.seed, set, CHUNK) {
            self.error = Some(e);
            return Phase::Done;
        }
        if self.data.filled(set) < self.data.indices[set].len() {
            Phase::Draw { set }
        } else if set < 2 {
            Phase::Draw { set: set + 1 }
        } else {
            Phase::Prefix { set: 0, pos: 0 }
        }
    }

    fn prefix_unit(&mut self, set: usize, pos: usize) -> Phase {
        let px = self.set(set).x.len() / self.set_len(set).max(1);
        let end = (pos + CHUNK).min(self.set_len(set));
        let x = self.set(set).x[pos * px..end * px].to_vec();
        let act = prefix(&mut self.net, self.first, &x, end - pos);
        self.acts[set].extend(act);
        if end < self.set_len(set) {
            Phase::Prefix { set, pos: end }
        } else if set < 2 {
            Phase::Prefix {
                set: set + 1,
                pos: 0,
            }
        } else {
            Phase::Before {
                set: 1,
                pos: 0,
                correct: 0,
            }
        }
    }

    /// After measuring the shifted network: re-estimate statistics, or start the first lr.
    fn start_tuning(&mut self) -> Phase {
        if !self.settings.tune.trains() {
            return self.bn_batch(0);
        }
        self.start_lr(0)
    }

    fn bn_batch(&mut self, batch: usize) -> Phase {
        let b = self.settings.batch;
        let n = self.data.train.len();
        if batch * b >= n {
            return Phase::Test { pos: 0, correct: 0 };
        }
        let px = self.data.train.x.len() / n.max(1);
        let end = ((batch + 1) * b).min(n);
        Phase::BnStats {
            batch,
            conv: 0,
            act: self.data.train.x[batch * b * px..end * px].to_vec(),
        }
    }

    fn bn_unit(&mut self, batch: usize, conv: usize, act: Vec<f32>) -> Phase {
        let (b, n) = (self.settings.batch, self.data.train.len());
        let rows = ((batch + 1) * b).min(n) - batch * b;
        let momentum = 1.0 / (batch as f32 + 1.0);
        let (next, _) = self.net.block_forward(conv, act, rows, Bn::Train(momentum));
        if conv + 1 < self.net.blocks.len() {
            Phase::BnStats {
                batch,
                conv: conv + 1,
                act: next,
            }
        } else {
            self.bn_batch(batch + 1)
        }
    }

    fn start_lr(&mut self, lr_index: usize) -> Phase {
        self.lr_index = lr_index;
        for &t in &self.tensors {
            t.get_mut(&mut self.net).copy_from_slice(t.get(&self.start));
        }
        self.adam = Adam::default();
        self.multipliers = vec![1.0; self.tensors.len()];
        self.start_epoch(0)
    }

    fn start_epoch(&mut self, epoch: usize) -> Phase {
        self.epoch = epoch;
        let n = self.data.train.len();
        let mut rng = Rng::stream(self.settings.seed, 5000 + epoch as u64);
        self.order = (0..n).collect();
        for i in (1..n).rev() {
            self.order.swap(i, rng.below(i + 1));
        }
        self.loss_sum = 0.0;
        self.clear_grads();
        if self.settings.tune == Tune::AutoRgn {
            self.rgn_sum = vec![0.0; self.tensors.len()];
            Phase::Rgn { batch: 0, pos: 0 }
        } else {
            Phase::Train { batch: 0, pos: 0 }
        }
    }

    fn clear_grads(&mut self) {
        self.grads.iter_mut().for_each(|g| g.fill(0.0));
    }

    /// Accumulate one chunk of batch `batch` from `pos`: (loss summed over the chunk, the chunk's
    /// end within the batch, the batch's size).
    fn grad_chunk(&mut self, batch: usize, pos: usize) -> (f64, usize, usize) {
        let b = self.settings.batch;
        let start = batch * b;
        let size = b.min(self.order.len() - start);
        let end = (pos + CHUNK).min(size);
        let rows: Vec<usize> = self.order[start + pos..start + end].to_vec();
        let act = self.gather(0, &rows);
        let labels: Vec<u32> = rows.iter().map(|&r| self.data.train.labels[r]).collect();
        let loss = accumulate_grads(
            &mut self.net,
            self.first,
            &self.tensors,
            &act,
            &labels,
            size,
            &mut self.grads,
        );
        (loss, end, size)
    }

    fn batches(&self) -> usize {
        self.order.len().div_ceil(self.settings.batch)
    }

    fn rgn_unit(&mut self, batch: usize, pos: usize) -> Phase {
        let (_, end, size) = self.grad_chunk(batch, pos);
        if end < size {
            return Phase::Rgn { batch, pos: end };
        }
        let r = relative_grad_norms(&self.net, &self.tensors, &self.grads);
        self.rgn_sum.iter_mut().zip(r).for_each(|(s, x)| *s += x);
        self.clear_grads();
        if batch + 1 < RGN_BATCHES.min(self.batches()) {
            return Phase::Rgn {
                batch: batch + 1,
                pos: 0,
            };
        }
        let max = self.rgn_sum.iter().cloned().fold(0.0, f64::max);
        self.multipliers = self
            .rgn_sum
            .iter()
            .map(|&s| if max > 0.0 { s / max } else { 1.0 })
            .collect();
        Phase::Train { batch: 0, pos: 0 }
    }

    fn train_unit(&mut self, batch: usize, pos: usize) -> Phase {
        let (loss, end, size) = self.grad_chunk(batch, pos);
        self.loss_sum += loss / size as f64;
        if end < size {
            return Phase::Train { batch, pos: end };
        }
        let lr = self.settings.lrs[self.lr_index];
        self.adam.step(
            &mut self.net,
            &self.tensors,
            &self.grads,
            lr,
            &self.multipliers,
            self.settings.weight_decay,
        );
        self.clear_grads();
        if batch + 1 < self.batches() {
            Phase::Train {
                batch: batch + 1,
                pos: 0,
            }
        } else {
            Phase::Val { pos: 0, correct: 0 }
        }
    }

    fn end_epoch(&mut self, correct: usize) -> Phase {
        let val = correct as f64 / self.data.val.len().max(1) as f64;
        self.curve.push(CurvePoint {
            lr: self.settings.lrs[self.lr_index],
            epoch: self.epoch + 1,
            val_accuracy: val,
            train_loss: self.loss_sum / self.batches().max(1) as f64,
        });
        if self.best.as_ref().is_none_or(|b| val > b.val) {
            self.best = Some(Best {
                val,
                lr_index: self.lr_index,
                epoch: self.epoch + 1,
                params: self
                    .tensors
                    .iter()
                    .map(|t| t.get(&self.net).to_vec())
                    .collect(),
            });
        }
        if self.epoch + 1 < self.settings.epochs {
            self.start_epoch(self.epoch + 1)
        } else if self.lr_index + 1 < self.settings.lrs.len() {
            self.start_lr(self.lr_index + 1)
        } else {
            if let Some(best) = &self.best {
                for (t, p) in self.tensors.iter().zip(&best.params) {
                    t.get_mut(&mut self.net).clone_from(p);
                }
            }
            Phase::Test { pos: 0, correct: 0 }
        }
    }

    /// The result, once done (None after an error).
    pub fn result(&self) -> Option<TuneResult> {
        if !self.done() || self.error.is_some() {
            return None;
        }
        let s = &self.settings;
        let (corruption, severity, noise_block, alpha) = match s.shift {
            Shift::Corruption {
                corruption,
                severity,
            } => (
                Some(corruption.name().to_string()),
                Some(severity),
                None,
                None,
            ),
            Shift::Flip => (None, None, None, None),
            Shift::StageNoise { block, alpha } => {
                (None, None, Some(format!("block{}", block + 1)), Some(alpha))
            }
        };
        Some(TuneResult {
            shift: s.shift.kind().to_string(),
            corruption,
            severity,
            noise_block,
            alpha,
            tune: s.tune.name(),
            images: s.images,
            seed: s.seed,
            accuracy_before: self.accuracy_before.unwrap_or(f64::NAN),
            accuracy_after: self.accuracy_after.unwrap_or(f64::NAN),
            params_tuned: s.tune.param_count(&self.start),
            params_changed: params_changed(&self.start, &self.net),
            lr: self.best.as_ref().map(|b| s.lrs[b.lr_index]),
            epoch: self.best.as_ref().map(|b| b.epoch),
            val_accuracy: self.best.as_ref().map(|b| b.val),
            curve: self.curve.clone(),
            multipliers: self.multipliers(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shift::blocks::BLOCKS;
    use crate::vision::vgg::Arch;

    fn fake_test_split(per_class: usize) -> Split {
        let n = per_class * 10;
        let mut rng = Rng::new(3);
        Split {
            images: (0..n * 784).map(|_| rng.below(256) as u8).collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
        }
    }

    fn small(tune: Tune, shift: Shift) -> TuneSettings {
        TuneSettings {
            shift,
            tune,
            images: 20,
            test_images: 20,
            epochs: 2,
            lrs: vec![1e-2, 1e-3],
            batch: 8,
            ..TuneSettings::default()
        }
    }

    fn run(net: &Network, split: &Split, s: TuneSettings) -> Tuner {
        let mut t = Tuner::new(net, split, s).unwrap();
        let mut steps = 1;
        while t.step() {
            steps += 1;
            assert!(t.progress() < 1.0);
        }
        assert_eq!(steps, t.units_total, "every unit counted once");
        assert_eq!(t.progress(), 1.0);
        t
    }

    #[test]
    fn tuning_a_block_changes_that_block_only_and_bn_stats_no_weight() {
        let net = Network::new(&Arch::lab(), 4);
        let split = fake_test_split(5);
        let shift = Shift::Corruption {
            corruption: super::super::corruptions::Corruption::Contrast,
            severity: 5,
        };
        for tune in [Tune::Block(1), Tune::Head, Tune::AutoRgn] {
            let t = run(&net, &split, small(tune, shift));
            let r = t.result().unwrap();
            let tuned = tune.tensors(&net);
            for other in Tune::All.tensors(&net) {
                let same = other.get(&net) == other.get(t.network());
                assert_eq!(
                    same,
                    !tuned.contains(&other),
                    "{} under {}",
                    other.name(),
                    tune.name()
                );
            }
            // A dead channel's shift can keep a zero gradient and a zero value.
            assert!(
                r.params_changed <= r.params_tuned && r.params_changed * 10 > r.params_tuned * 9
            );
            assert_eq!(r.curve.len(), 4);
            assert_eq!(
                t.network()
                    .blocks
                    .iter()
                    .map(|b| &b.running_mean)
                    .collect::<Vec<_>>(),
                net.blocks
                    .iter()
                    .map(|b| &b.running_mean)
                    .collect::<Vec<_>>()
            );
            let best = r.curve.iter().map(|p| p.val_accuracy).fold(0.0, f64::max);
            assert_eq!(r.val_accuracy, Some(best));
            assert!(r.accuracy_after.is_finite() && r.accuracy_before.is_finite());
        }
        let t = run(&net, &split, small(Tune::BnStats, shift));
        let r = t.result().unwrap();
        assert_eq!((r.params_changed, r.params_tuned, r.lr), (0, 0, None));
        for (a, b) in t.network().blocks.iter().zip(&net.blocks) {
            assert_ne!(a.running_var, b.running_var);
        }
    }

    #[test]
    fn auto_rgn_multipliers_are_relative_and_runs_repeat() {
        let net = Network::new(&Arch::lab(), 4);
        let split = fake_test_split(5);
        let s = small(Tune::AutoRgn, Shift::Flip);
        let t = run(&net, &split, s.clone());
        let m = t.multipliers();
        assert_eq!(m.len(), 2 * BLOCKS + 2);
        assert!(m.iter().all(|(_, x)| (0.0..=1.0).contains(x)));
        assert!(m.iter().any(|(_, x)| *x == 1.0));
        let again = run(&net, &split, s);
        assert_eq!(t.result(), again.result());
    }

    #[test]
    fn bad_settings_are_named() {
        let net = Network::new(&Arch::lab(), 4);
        let split = fake_test_split(5);
        let bad = |f: &dyn Fn(&mut TuneSettings), word: &str| {
            let mut s = small(Tune::Head, Shift::Flip);
            f(&mut s);
            let e = Tuner::new(&net, &split, s).err().unwrap();
            assert!(e.contains(word), "{e}");
        };
        bad(&|s| s.lrs = vec![0.0], "lr");
        bad(&|s| s.lrs = vec![f64::NAN], "lr");
        bad(&|s| s.images = 0, "images");
        bad(&|s| s.epochs = 0, "epochs");
        bad(&|s| s.images = 100, "fewer");
        bad(
            &|s| {
                s.shift = Shift::Corruption {
                    corruption: super::super::corruptions::Corruption::Pixelate,
                    severity: 7,
                }
            },
            "severity",
        );
    }
}

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
//! units run per slice. A unit's heavy arithmetic is a `Work` request: `step` answers it on the
//! CPU, and a GPU engine answers `work()` itself (in larger chunks, `set_chunk`) and hands the
//! `Answer` to `answer`.

use super::blocks::{check_blocks, params_changed, Tensor, Tune};
use super::shifts::{Shift, ShiftedData};
use super::suffix::{add_into, relative_grad_norms, Adam};
use super::work::{compute, ends_group, Answer, Work};
use crate::rng::Rng;
use crate::vision::data::Split;
use crate::vision::network::{Bn, Network};
use serde::{Deserialize, Serialize};

/// Images per unit of work on the CPU.
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
    /// Add another record's times.
    pub fn add_all(&mut self, o: &PhaseTimes) {
        self.prefix_ms += o.prefix_ms;
        self.train_ms += o.train_ms;
        self.total_ms += o.total_ms;
    }

    /// Count `ms` spent in the phase named `phase` (a `Tuner::phase_name`).
    pub fn add(&mut self, phase: &str, ms: f64) {
        self.total_ms += ms;
        match phase {
            "prefix" => self.prefix_ms += ms,
            "train" | "rgn" => self.train_ms += ms,
            _ => {}
        }
    }

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
    /// Batch `batch`'s pass through convolution `conv` in training mode: its images from `pos`
    /// on are still to convolve into `z` (a unit an image: the page's thread runs these units, and
    /// the first of them also compiles the convolution there), then one unit finishes the block on
    /// the whole batch (its statistics are the batch's).
    BnStats {
        batch: usize,
        conv: usize,
        act: Vec<f32>,
        z: Vec<f32>,
        pos: usize,
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
    /// The batch's gradients so far, and its open group's (`work::GROUP`).
    grads: Vec<Vec<f32>>,
    group: Vec<Vec<f32>>,
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
    /// Progress, in images through a phase (so it does not depend on the chunk).
    units_done: usize,
    units_total: usize,
    /// Images per unit.
    chunk: usize,
    /// Counts changes of the network's parameters or statistics (an engine holding a copy
    /// refreshes it when this moves).
    version: u64,
    /// Counts changes outside the tuned tensors (batch-norm's running statistics).
    frozen_version: u64,
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
            group: vec![Vec::new(); tensors.len()],
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
            chunk: CHUNK,
            version: 0,
            frozen_version: 0,
            data,
            settings,
        };
        t.units_total = t.count_units();
        Ok(t)
    }

    /// Units of `chunk` images from the next unit on, instead of `CHUNK` (the draw of the shifted
    /// images keeps units of `CHUNK`). Neither the results nor the progress depend on it.
    pub fn set_chunk(&mut self, chunk: usize) {
        self.chunk = chunk.max(1);
    }

    /// The images every phase goes through, in all.
    fn count_units(&self) -> usize {
        let s = &self.settings;
        let [tr, va, te] = self.data.indices.each_ref().map(Vec::len);
        let setup = 2 * (tr + va + te) + va + te;
        let tuning = if s.tune.trains() {
            let rgn: usize = if s.tune == Tune::AutoRgn {
                batch_sizes(tr, s.batch).take(RGN_BATCHES).sum()
            } else {
                0
            };
            s.lrs.len() * s.epochs * (rgn + tr + va)
        } else {
            tr * self.net.blocks.len()
        };
        setup + tuning + te
    }

    /// The images the current unit goes through (the draw's are counted after it).
    fn unit_images(&self) -> usize {
        let within = |pos: usize, len: usize| self.chunk_end(pos, len) - pos;
        match &self.phase {
            Phase::Draw { .. } | Phase::Done => 0,
            Phase::Prefix { set, pos } | Phase::Before { set, pos, .. } => {
                within(*pos, self.set_len(*set))
            }
            Phase::BnStats { batch, pos, .. } => {
                let rows = self.bn_rows(*batch);
                usize::from(*pos < rows)
            }
            Phase::Rgn { batch, pos } | Phase::Train { batch, pos } => {
                within(*pos, self.batch_span(*batch).1)
            }
            Phase::Val { pos, .. } => within(*pos, self.set_len(1)),
            Phase::Test { pos, .. } => within(*pos, self.set_len(2)),
        }
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

    /// The tuned tensors, in the order of `Answer::Grads`.
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }

    /// Moves whenever the network's parameters or running statistics change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Moves whenever the network changes outside its tuned tensors (batch-norm's running
    /// statistics, re-estimated by `bn-stats`): a copy of the whole network taken at one value
    /// equals the tuner's while this stands still once its tuned tensors are written again
    /// (`blocks::scatter` of `blocks::gather`).
    pub fn frozen_version(&self) -> u64 {
        self.frozen_version
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
        times.add(phase, now() - t0);
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

    /// The end of the chunk starting at `pos` of a set of `len`.
    fn chunk_end(&self, pos: usize, len: usize) -> usize {
        (pos + self.chunk).min(len)
    }

    /// A chunk of a set's activations and labels, for a `Correct` request.
    fn correct_work(&self, set: usize, pos: usize) -> Work {
        let end = self.chunk_end(pos, self.set_len(set));
        let rows: Vec<usize> = (pos..end).collect();
        Work::Correct {
            first: self.first,
            act: self.gather(set, &rows),
            labels: self.set(set).labels[pos..end].to_vec(),
        }
    }

    /// A chunk of batch `batch` from `pos`, for a `Grads` request.
    fn grads_work(&self, batch: usize, pos: usize) -> Work {
        let (start, size) = self.batch_span(batch);
        let end = self.chunk_end(pos, size);
        let rows: Vec<usize> = self.order[start + pos..start + end].to_vec();
        Work::Grads {
            first: self.first,
            act: self.gather(0, &rows),
            labels: rows.iter().map(|&r| self.data.train.labels[r]).collect(),
            batch: size,
            pos,
        }
    }

    /// Where batch `batch` starts in the epoch's order, and its size.
    fn batch_span(&self, batch: usize) -> (usize, usize) {
        let start = batch * self.settings.batch;
        (start, self.settings.batch.min(self.order.len() - start))
    }

    /// A chunk of a set's images, for a `Prefix` request.
    fn prefix_work(&self, set: usize, pos: usize) -> Work {
        let px = self.set(set).x.len() / self.set_len(set).max(1);
        let end = self.chunk_end(pos, self.set_len(set));
        Work::Prefix {
            first: self.first,
            x: self.set(set).x[pos * px..end * px].to_vec(),
            n: end - pos,
        }
    }

    /// Where the current unit starts in its run of units that need no answer before them (a set's
    /// prefixes or counts, a batch's gradients: the network does not change within one), and where
    /// that run ends; None for a unit without work.
    fn span(&self) -> Option<(usize, usize)> {
        match &self.phase {
            Phase::Prefix { set, pos } | Phase::Before { set, pos, .. } => {
                Some((*pos, self.set_len(*set)))
            }
            Phase::Val { pos, .. } => Some((*pos, self.set_len(1))),
            Phase::Test { pos, .. } => Some((*pos, self.set_len(2))),
            Phase::Rgn { batch, pos } | Phase::Train { batch, pos } => {
                Some((*pos, self.batch_span(*batch).1))
            }
            Phase::Draw { .. } | Phase::BnStats { .. } | Phase::Done => None,
        }
    }

    /// The work of the current phase's unit starting at `pos`.
    fn work_at(&self, pos: usize) -> Option<Work> {
        match &self.phase {
            Phase::Prefix { set, .. } => Some(self.prefix_work(*set, pos)),
            Phase::Before { set, .. } => Some(self.correct_work(*set, pos)),
            Phase::Val { .. } => Some(self.correct_work(1, pos)),
            Phase::Test { .. } => Some(self.correct_work(2, pos)),
            Phase::Rgn { batch, .. } | Phase::Train { batch, .. } => {
                Some(self.grads_work(*batch, pos))
            }
            Phase::Draw { .. } | Phase::BnStats { .. } | Phase::Done => None,
        }
    }

    /// Whether the current unit needs a computation (`work()` is Some), without building it.
    pub fn needs_work(&self) -> bool {
        self.span().is_some()
    }

    /// Whether the current unit's work is the classifier's head alone (counts or gradients from
    /// past the last convolution: a 512 x 10 product an image), less arithmetic than copying
    /// the network to another thread.
    pub fn head_only(&self) -> bool {
        self.first >= self.net.blocks.len()
            && self.needs_work()
            && !matches!(self.phase, Phase::Prefix { .. })
    }

    /// The computation the current unit needs (None: the unit needs none, or the run is done).
    pub fn work(&self) -> Option<Work> {
        self.work_at(self.span()?.0)
    }

    /// The current unit's work and the works of the units after it that need no answer before
    /// them (the rest of the set or of the batch), at most `max` in all, in order: computed
    /// anywhere at once (the worker pool) and given to `answer` in that order, they advance the
    /// tuner exactly as `step` does. Empty where `work()` is None.
    pub fn works_ahead(&self, max: usize) -> Vec<Work> {
        let Some((mut pos, len)) = self.span() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        loop {
            out.extend(self.work_at(pos));
            pos = self.chunk_end(pos, len);
            if pos >= len || out.len() >= max.max(1) {
                return out;
            }
        }
    }

    /// One unit of work on the CPU; false once the run is done.
    pub fn step(&mut self) -> bool {
        let answer = self
            .work()
            .map(|w| compute(&mut self.net, &self.tensors, &w));
        self.answer(answer)
    }

    /// Finish the current unit with the answer to its `work()` (None where it asked for none);
    /// false once the run is done. An answer that does not fit the request ends the run with an
    /// error.
    pub fn answer(&mut self, answer: Option<Answer>) -> bool {
        let filled: usize = (0..3).map(|set| self.data.filled(set)).sum();
        let images = self.unit_images();
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        self.phase = match self.advance(phase, answer) {
            Ok(next) => next,
            Err(e) => {
                self.error = Some(e);
                Phase::Done
            }
        };
        if self.phase != Phase::Done {
            let drawn: usize = (0..3).map(|set| self.data.filled(set)).sum::<usize>() - filled;
            self.units_done += images + drawn;
        } else {
            self.units_done = self.units_total;
        }
        !self.done()
    }

    fn advance(&mut self, phase: Phase, answer: Option<Answer>) -> Result<Phase, String> {
        let correct_of = |a: Option<Answer>| match a {
            Some(Answer::Correct(c)) => Ok(c),
            other => Err(mismatch("a count of correct answers", &other)),
        };
        Ok(match phase {
            Phase::Draw { set } => self.draw_unit(set),
            Phase::Prefix { set, pos } => match answer {
                Some(Answer::Acts(a)) => self.prefix_unit(set, pos, a),
                other => return Err(mismatch("activations", &other)),
            },
            Phase::Before { set, pos, correct } => {
                let correct = correct + correct_of(answer)?;
                let end = self.chunk_end(pos, self.set_len(set));
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
            Phase::BnStats {
                batch,
                conv,
                act,
                z,
                pos,
            } => self.bn_unit(batch, conv, act, z, pos),
            Phase::Rgn { batch, pos } => self.rgn_unit(batch, pos, answer)?,
            Phase::Train { batch, pos } => self.train_unit(batch, pos, answer)?,
            Phase::Val { pos, correct } => {
                let correct = correct + correct_of(answer)?;
                let end = self.chunk_end(pos, self.set_len(1));
                if end < self.set_len(1) {
                    Phase::Val { pos: end, correct }
                } else {
                    self.end_epoch(correct)
                }
            }
            Phase::Test { pos, correct } => {
                let correct = correct + correct_of(answer)?;
                let end = self.chunk_end(pos, self.set_len(2));
                if end < self.set_len(2) {
                    Phase::Test { pos: end, correct }
                } else {
                    self.accuracy_after = Some(correct as f64 / self.set_len(2).max(1) as f64);
                    Phase::Done
                }
            }
            Phase::Done => Phase::Done,
        })
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

    fn prefix_unit(&mut self, set: usize, pos: usize, act: Vec<f32>) -> Phase {
        let end = self.chunk_end(pos, self.set_len(set));
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
        let rows = self.bn_rows(batch);
        Phase::BnStats {
            batch,
            conv: 0,
            act: self.data.train.x[batch * b * px..(batch * b + rows) * px].to_vec(),
            z: self.net.block_conv_buffer(0, rows),
            pos: 0,
        }
    }

    /// The images in batch `batch` of the training set.
    fn bn_rows(&self, batch: usize) -> usize {
        let (b, n) = (self.settings.batch, self.data.train.len());
        ((batch + 1) * b).min(n) - batch * b
    }

    /// One of the batch's images through convolution `conv`, or (all convolved) the rest of the
    /// block on the whole batch, which moves its running statistics.
    fn bn_unit(
        &mut self,
        batch: usize,
        conv: usize,
        act: Vec<f32>,
        mut z: Vec<f32>,
        pos: usize,
    ) -> Phase {
        let rows = self.bn_rows(batch);
        if pos < rows {
            let end = pos + 1;
            self.net.block_conv(conv, &act, pos..end, &mut z);
            return Phase::BnStats {
                batch,
                conv,
                act,
                z,
                pos: end,
            };
        }
        let momentum = 1.0 / (batch as f32 + 1.0);
        let (next, _) = self
            .net
            .block_finish(conv, act, z, rows, Bn::Train(momentum));
        self.version += 1;
        self.frozen_version += 1;
        if conv + 1 < self.net.blocks.len() {
            Phase::BnStats {
                batch,
                conv: conv + 1,
                act: next,
                z: self.net.block_conv_buffer(conv + 1, rows),
                pos: 0,
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
        self.version += 1;
        self.adam = Adam::default();
        self.multipliers = vec![1.0; self.tensors.len()];
        self.start_epoch(0)
    }

    fn start_epoch(&mut self, epoch: usize) -> Phase {
        self.epoch = epoch;
        let n = self.data.train.len();
        let mut rng = Rng::stream(self.settings.seed, 5000 + epoch as u64);
        self.order = (0..n).collect();
        rng.shuffle(&mut self.order);
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
        self.group.iter_mut().for_each(|g| g.fill(0.0));
    }

    /// Add a chunk's answer into its group's gradients, and a finished group's into the batch's
    /// (`work::GROUP`): (loss summed over the chunk, the chunk's end within the batch, the batch's
    /// size).
    fn take_grads(
        &mut self,
        batch: usize,
        pos: usize,
        answer: Option<Answer>,
    ) -> Result<(f64, usize, usize), String> {
        let Some(Answer::Grads(loss, grads)) = answer else {
            return Err(mismatch("gradients", &answer));
        };
        if grads.len() != self.tensors.len() {
            return Err(format!(
                "the engine returned {} gradients for {} tensors",
                grads.len(),
                self.tensors.len()
            ));
        }
        add_into(&mut self.group, &grads);
        let (_, size) = self.batch_span(batch);
        let end = self.chunk_end(pos, size);
        if ends_group(pos, end, size) {
            add_into(&mut self.grads, &self.group);
            self.group.iter_mut().for_each(|g| g.fill(0.0));
        }
        Ok((loss, end, size))
    }

    fn batches(&self) -> usize {
        self.order.len().div_ceil(self.settings.batch)
    }

    fn rgn_unit(
        &mut self,
        batch: usize,
        pos: usize,
        answer: Option<Answer>,
    ) -> Result<Phase, String> {
        let (_, end, size) = self.take_grads(batch, pos, answer)?;
        if end < size {
            return Ok(Phase::Rgn { batch, pos: end });
        }
        let r = relative_grad_norms(&self.net, &self.tensors, &self.grads);
        self.rgn_sum.iter_mut().zip(r).for_each(|(s, x)| *s += x);
        self.clear_grads();
        if batch + 1 < RGN_BATCHES.min(self.batches()) {
            return Ok(Phase::Rgn {
                batch: batch + 1,
                pos: 0,
            });
        }
        let max = self.rgn_sum.iter().cloned().fold(0.0, f64::max);
        self.multipliers = self
            .rgn_sum
            .iter()
            .map(|&s| if max > 0.0 { s / max } else { 1.0 })
            .collect();
        Ok(Phase::Train { batch: 0, pos: 0 })
    }

    fn train_unit(
        &mut self,
        batch: usize,
        pos: usize,
        answer: Option<Answer>,
    ) -> Result<Phase, String> {
        let (loss, end, size) = self.take_grads(batch, pos, answer)?;
        self.loss_sum += loss / size as f64;
        if end < size {
            return Ok(Phase::Train { batch, pos: end });
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
        self.version += 1;
        self.clear_grads();
        Ok(if batch + 1 < self.batches() {
            Phase::Train {
                batch: batch + 1,
                pos: 0,
            }
        } else {
            Phase::Val { pos: 0, correct: 0 }
        })
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
                self.version += 1;
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

/// The message for an answer of the wrong kind.
fn mismatch(wanted: &str, got: &Option<Answer>) -> String {
    let got = match got {
        None => "nothing",
        Some(Answer::Acts(_)) => "activations",
        Some(Answer::Correct(_)) => "a count",
        Some(Answer::Grads(..)) => "gradients",
    };
    format!("the engine answered {got} where the tuner needed {wanted}")
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
        let mut last = 0.0;
        loop {
            let (before, images) = (t.units_done, t.unit_images());
            if !t.step() {
                assert_eq!(before + images, t.units_total, "every image counted once");
                break;
            }
            assert!(t.progress() >= last && t.progress() < 1.0);
            last = t.progress();
        }
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
    fn bn_stats_convolved_an_image_a_unit_equal_whole_batches() {
        let net = Network::new(&Arch::lab(), 4);
        let split = fake_test_split(5);
        let t = run(&net, &split, small(Tune::BnStats, Shift::Flip));
        // The reference: each batch of the shifted training images through every block at once.
        let mut reference = t.start_network().clone();
        let (b, n) = (t.settings.batch, t.data.train.len());
        let px = t.data.train.x.len() / n;
        assert!(n > b && n % b != 0);
        for batch in 0..n.div_ceil(b) {
            let rows = ((batch + 1) * b).min(n) - batch * b;
            let mut act = t.data.train.x[batch * b * px..(batch * b + rows) * px].to_vec();
            for i in 0..reference.blocks.len() {
                let bn = Bn::Train(1.0 / (batch as f32 + 1.0));
                act = reference.block_forward(i, act, rows, bn).0;
            }
        }
        let blocks = t.network().blocks.iter().zip(&reference.blocks);
        for ((a, r), start) in blocks.zip(&net.blocks) {
            assert_eq!(a.running_mean, r.running_mean);
            assert_eq!(a.running_var, r.running_var);
            assert_ne!(a.running_var, start.running_var);
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
    fn larger_chunks_answered_from_outside_give_the_same_run() {
        let net = Network::new(&Arch::lab(), 4);
        let split = fake_test_split(5);
        let s = small(Tune::AutoRgn, Shift::Flip);
        let cpu = run(&net, &split, s.clone());
        // An engine answering `work()` itself, 16 images at a time (a batch is 8 here).
        let mut t = Tuner::new(&net, &split, s).unwrap();
        t.set_chunk(16);
        let mut copy = net.clone();
        let mut version = t.version();
        loop {
            if t.version() != version {
                copy = t.network().clone();
                version = t.version();
            }
            let answer = t.work().map(|w| {
                assert!(w.images() <= 16);
                compute(&mut copy, t.tensors(), &w)
            });
            if !t.answer(answer) {
                break;
            }
        }
        let (a, b) = (cpu.result().unwrap(), t.result().unwrap());
        assert_eq!(a.accuracy_before, b.accuracy_before);
        assert_eq!(a.curve.len(), b.curve.len());
        for (p, q) in a.curve.iter().zip(&b.curve) {
            assert!((p.train_loss - q.train_loss).abs() < 1e-4, "{p:?} {q:?}");
            assert!(
                (p.val_accuracy - q.val_accuracy).abs() <= 0.1,
                "{p:?} {q:?}"
            );
        }
        for (x, y) in a.multipliers.iter().zip(&b.multipliers) {
            assert!((x.1 - y.1).abs() < 1e-4, "{x:?} {y:?}");
        }
    }

    #[test]
    fn works_computed_ahead_and_packed_give_the_same_run_to_the_bit() {
        // What the page's workers do: a run of units computed at once from the tuner's network
        // through the packed form (to bytes and back), then answered in order.
        use crate::shift::blocks::{gather, scatter};
        use crate::shift::work::{Packed, PackedAnswers};
        // Jobs of 3 chunks split the groups of gradient chunks of a batch of 40; jobs of 4 or 16
        // bring whole groups back as sums (`compute_all`), in batches of one group (8 images) or
        // of three (40).
        use crate::shift::work::compute_all;
        let net = Network::new(&Arch::lab(), 4);
        let split = fake_test_split(10);
        for (tune, batch, max) in [
            (Tune::AutoRgn, 8, 3),
            (Tune::Block(1), 8, 3),
            (Tune::BnStats, 8, 3),
            (Tune::Block(2), 40, 3),
            (Tune::AutoRgn, 40, 4),
            (Tune::Block(3), 40, 16),
        ] {
            let s = TuneSettings {
                images: 50,
                batch,
                ..small(tune, Shift::Flip)
            };
            let cpu = run(&net, &split, s.clone());
            let mut t = Tuner::new(&net, &split, s).unwrap();
            let (mut runs, mut sums) = (0, 0);
            let mut base: Option<(u64, Network)> = None;
            loop {
                let works = t.works_ahead(max);
                assert_eq!(t.needs_work(), !works.is_empty());
                if works.is_empty() {
                    if !t.step() {
                        break;
                    }
                    continue;
                }
                assert_eq!(Some(&works[0]), t.work().as_ref());
                runs += 1;
                let packed = Packed::new(&works).unwrap();
                // As the page and a worker do: the whole network (bytes) only when the frozen
                // version moved, the tuned tensors' values with every job, written into the
                // copy the worker keeps.
                if base.as_ref().is_none_or(|(v, _)| *v != t.frozen_version()) {
                    let bytes = t.network().to_bytes();
                    base = Some((t.frozen_version(), Network::from_bytes(&bytes).unwrap()));
                }
                let copy = &mut base.as_mut().unwrap().1;
                let tensors: Vec<Tensor> = t
                    .tensors()
                    .iter()
                    .map(|x| Tensor::from_code(x.code(), copy.blocks.len()).unwrap())
                    .collect();
                scatter(copy, &tensors, &gather(t.network(), t.tensors())).unwrap();
                assert_eq!(copy.to_bytes(), t.network().to_bytes(), "{tune:?}");
                assert_eq!(packed.works().unwrap(), works);
                let answers = compute_all(copy, &tensors, &works);
                sums += answers
                    .iter()
                    .filter(|a| matches!(a, Answer::Grads(_, g) if g.iter().all(|x| x.is_empty())))
                    .count();
                let back = PackedAnswers::new(&answers)
                    .answers(packed.kind, works.len(), tensors.len())
                    .unwrap();
                assert_eq!(back, answers);
                let mut more = true;
                for a in back {
                    more = t.answer(Some(a));
                }
                if !more {
                    break;
                }
            }
            assert!(runs >= 5, "{tune:?}: {runs}");
            // Chunks whose gradient came back inside their group's sum (with jobs of 3 chunks
            // and batches of 40, only the epoch's last, short batch fits in one job).
            assert_eq!(
                sums > 0,
                tune != Tune::BnStats,
                "{tune:?} {batch} {max}: {sums}"
            );
            assert_eq!(t.error, None);
            assert_eq!(t.result(), cpu.result(), "{tune:?}");
            assert_eq!(t.network().to_bytes(), cpu.network().to_bytes(), "{tune:?}");
        }
    }

    #[test]
    fn tensors_and_works_refuse_what_does_not_fit() {
        use crate::shift::work::{Packed, PackedAnswers};
        for t in [
            Tensor::FcWeight,
            Tensor::FcBias,
            Tensor::ConvWeight(3),
            Tensor::Gamma(0),
            Tensor::Beta(7),
        ] {
            assert_eq!(Tensor::from_code(t.code(), 8), Ok(t));
        }
        assert!(Tensor::from_code(Tensor::Beta(7).code(), 7).is_err());
        let prefix = Work::Prefix {
            first: 1,
            x: vec![0.0; 6],
            n: 2,
        };
        let count = Work::Correct {
            first: 1,
            act: vec![0.0; 3],
            labels: vec![1],
        };
        assert!(Packed::new(&[prefix.clone(), count]).is_err());
        let mut p = Packed::new(&[prefix.clone(), prefix]).unwrap();
        assert_eq!(p.works().unwrap().len(), 2);
        p.data.pop();
        assert!(p.works().is_err());
        // Gradient chunks: one after another, within their batch.
        let chunk = |pos: usize| Work::Grads {
            first: 1,
            act: vec![0.0; 6],
            labels: vec![1, 2],
            batch: 6,
            pos,
        };
        let mut p = Packed::new(&[chunk(2), chunk(4)]).unwrap();
        assert_eq!(p.works().unwrap(), vec![chunk(2), chunk(4)]);
        assert!(Packed::new(&[chunk(0), chunk(4)]).is_err());
        p.pos = 3;
        assert!(p.works().is_err());
        let a = PackedAnswers::new(&[Answer::Grads(0.5, vec![vec![1.0], vec![]])]);
        assert!(a.answers(2, 1, 2).is_ok());
        assert!(a.answers(2, 2, 2).is_err());
        assert!(a.answers(2, 1, 3).is_err());
    }

    #[test]
    fn only_the_heads_counts_and_gradients_are_head_only() {
        let net = Network::new(&Arch::lab(), 4);
        let split = fake_test_split(5);
        for tune in [Tune::Head, Tune::Block(4)] {
            let mut t = Tuner::new(&net, &split, small(tune, Shift::Flip)).unwrap();
            let mut seen = [0; 3];
            loop {
                let kind = match t.work() {
                    None => 0,
                    Some(Work::Prefix { .. }) => 1,
                    Some(_) => 2,
                };
                assert_eq!(t.head_only(), tune == Tune::Head && kind == 2);
                seen[kind] += 1;
                if !t.step() {
                    break;
                }
            }
            assert!(seen.iter().all(|&n| n > 0), "{tune:?}: {seen:?}");
        }
    }

    #[test]
    fn an_answer_of_the_wrong_kind_ends_the_run_with_a_message() {
        let net = Network::new(&Arch::lab(), 4);
        let split = fake_test_split(5);
        let mut t = Tuner::new(&net, &split, small(Tune::Head, Shift::Flip)).unwrap();
        while t.work().is_none() {
            t.step();
        }
        assert!(!t.answer(Some(Answer::Correct(3))));
        let e = t.error.clone().unwrap();
        assert!(e.contains("needed activations"), "{e}");
        assert!(t.result().is_none());
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

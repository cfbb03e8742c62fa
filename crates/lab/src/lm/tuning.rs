//! Prompt tuning (chapter 5): teaching the frozen model the pluralize task by training a few vectors
//! read before the question, against training every weight.
//!
//! - **Soft prompt** (Lester et al., 2021): K vectors s_1 .. s_K of the model's width take the
//!   place of the first K input embeddings; the sequence is s_1 .. s_K, "{noun} is", " {plural}.".
//!   Row j still gets wpe[j], so s_j = wte[c_j] reproduces the hard prompt c_1 .. c_K exactly.
//! - **Prefix** (Li and Liang, 2021): P keys and P values at every layer that every query attends
//!   to ahead of the sequence, which then starts at position 0: layers x 2 x P x width numbers.
//! - **Full fine-tuning**: every weight, on chapter 4's zero-shot prompt "The plural of {noun} is".
//! - Initialisation: `Hard` takes the last K characters of chapter 4's 3-shot prompt up to "The
//!   plural of " (`hard_text`; K = 14 is the zero-shot prompt itself): their embeddings (soft) or
//!   the keys and values the model computes for them (prefix). `Random` draws N(0, sigma^2), sigma
//!   the standard deviation of the hard initialisation's entries (so both start at one scale).
//! - Loss: the weighted mean cross-entropy over the target positions `LossOn` picks, minimised by
//!   Adam (no weight decay, constant rate) on batches of `BATCH` nouns in a seeded order per epoch;
//!   a batch's gradient is the sum over micro-batches of `MICRO` nouns (`MICRO_FULL` for full
//!   fine-tuning) weighted by their share of the
//!   batch's loss positions (so a caller can pause between micro-batches, with the same numbers).
//! - Answers: greedy, scored as chapter 4 scores them (`pluralize::score`). The prompt's keys and
//!   values are computed once per evaluation and copied for every noun (`Evaluator`): under the
//!   causal mask they do not depend on what follows.

use super::backward::Wants;
use super::batch::{Extras, Inputs, Targets};
use super::cache::Session;
use super::generator::Generator;
use super::model::Model;
use super::pluralize::{self, Answer, ANSWER_CHARS};
use super::plurals::Noun;
use super::sample::Sampling;
use super::tokenizer::Vocab;
use super::train::{AdamW, TrainSettings};
use crate::rng::Rng;

/// Most soft-prompt vectors (or prefix entries).
pub const MAX_TOKENS: usize = 32;
/// Most epochs of one run.
pub const MAX_EPOCHS: usize = 100;
/// Nouns per Adam step.
pub const BATCH: usize = 16;
/// Nouns per forward and backward pass (full fine-tuning: `MICRO_FULL`, its backward pass also
/// computes every weight's gradient).
pub const MICRO: usize = 4;
pub const MICRO_FULL: usize = 2;
/// The hard prompt the soft prompt can start from: chapter 4's prompt with this many shots.
pub const HARD_SHOTS: usize = 3;
/// Chapter 4's zero-shot prompt before the noun.
pub const ZERO_SHOT_FRAME: &str = "The plural of ";

/// What is trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Soft,
    Prefix,
    Full,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Soft => "soft prompt",
            Method::Prefix => "prefix",
            Method::Full => "full fine-tuning",
        }
    }
}

/// Where the trained vectors start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    Hard,
    Random,
}

impl Init {
    pub fn name(self) -> &'static str {
        match self {
            Init::Hard => "hard",
            Init::Random => "random",
        }
    }
}

/// Which output positions carry the loss (each predicts the next character).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossOn {
    /// The answer " {plural}" and its terminator "." only: the homework's rule.
    Answer,
    /// The question's characters as well (what the reader gives, not what the model should say).
    PromptAndAnswer,
    /// Every position, the padding after the terminator included.
    All,
}

impl LossOn {
    pub const ALL: [LossOn; 3] = [LossOn::Answer, LossOn::PromptAndAnswer, LossOn::All];

    pub fn name(self) -> &'static str {
        match self {
            LossOn::Answer => "answer",
            LossOn::PromptAndAnswer => "prompt-and-answer",
            LossOn::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<LossOn> {
        LossOn::ALL.into_iter().find(|l| l.name() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TuneSettings {
    pub method: Method,
    /// K soft vectors or P prefix entries (ignored by full fine-tuning).
    pub tokens: usize,
    pub epochs: usize,
    pub lr: f32,
    pub init: Init,
    pub loss_on: LossOn,
    pub seed: u64,
}

impl TuneSettings {
    /// The chapter's defaults for `method`.
    pub fn new(method: Method) -> TuneSettings {
        TuneSettings {
            method,
            tokens: 14,
            epochs: 10,
            lr: match method {
                Method::Soft => 5e-3,
                Method::Prefix => 1e-2,
                Method::Full => 3e-4,
            },
            init: Init::Hard,
            loss_on: LossOn::Answer,
            seed: 0,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.method != Method::Full && !(1..=MAX_TOKENS).contains(&self.tokens) {
            return Err(format!(
                "tokens = {}: a prompt of 1 to {MAX_TOKENS} vectors",
                self.tokens
            ));
        }
        if !(1..=MAX_EPOCHS).contains(&self.epochs) {
            return Err(format!("epochs = {}: 1 to {MAX_EPOCHS}", self.epochs));
        }
        if !self.lr.is_finite() || self.lr <= 0.0 || self.lr > 1.0 {
            return Err(format!(
                "learning rate = {}: a number above 0, at most 1",
                self.lr
            ));
        }
        Ok(())
    }

    /// The prompt's length in positions of the context (soft vectors; 0 for the others).
    fn soft_len(&self) -> usize {
        if self.method == Method::Soft {
            self.tokens
        } else {
            0
        }
    }

    /// The text before the noun in every sequence.
    pub fn frame(&self) -> &'static str {
        if self.method == Method::Full {
            ZERO_SHOT_FRAME
        } else {
            ""
        }
    }
}

/// The last `k` characters of chapter 4's `HARD_SHOTS`-shot prompt (examples chosen with `seed`)
/// up to "The plural of ": the hard prompt a soft prompt of `k` vectors starts from.
pub fn hard_text(train: &[&Noun], k: usize, seed: u64) -> Result<String, String> {
    let examples = pluralize::examples(train, HARD_SHOTS, false, seed)?;
    let full = pluralize::prompt(&examples, "");
    let full = full
        .strip_suffix(" is")
        .ok_or("the hard prompt lost its frame")?;
    let chars: Vec<char> = full.chars().collect();
    if k > chars.len() {
        return Err(format!(
            "a hard prompt of {k} characters: the {HARD_SHOTS}-shot prompt has only {}",
            chars.len()
        ));
    }
    Ok(chars[chars.len() - k..].iter().collect())
}

/// The embeddings of `hard_text(train, k, seed)`: the soft prompt that is that hard prompt.
pub fn hard_embeddings(
    model: &Model,
    vocab: &Vocab,
    train: &[&Noun],
    k: usize,
    seed: u64,
) -> Result<Vec<f32>, String> {
    let ids = vocab.encode(&hard_text(train, k, seed)?)?;
    let (w, wte) = (model.config.width, model.layout().wte);
    Ok(ids
        .iter()
        .flat_map(|&i| model.p(wte + i as usize * w, w))
        .copied()
        .collect())
}

/// The question a trained prompt answers: "{frame}{noun} is".
pub fn question(frame: &str, noun: &str) -> String {
    format!("{frame}{noun} is")
}

/// One training sequence: "{frame}{noun} is {plural}." as ids, and the question's length.
#[derive(Clone, Debug)]
pub(crate) struct Example {
    ids: Vec<u32>,
    question: usize,
}

pub(crate) fn encode(vocab: &Vocab, frame: &str, noun: &Noun) -> Result<Example, String> {
    let q = question(frame, &noun.singular);
    let ids = vocab.encode(&format!("{q} {}.", noun.plural))?;
    Ok(Example {
        question: q.chars().count(),
        ids,
    })
}

/// A micro-batch's inputs, targets and weights (padded with `pad` to its longest sequence).
fn micro_batch(batch: &[&Example], pad: u32, loss_on: LossOn) -> MicroBatch {
    let t = batch.iter().map(|e| e.ids.len() - 1).max().unwrap_or(1);
    let n = batch.len() * t;
    let (mut x, mut y, mut w) = (vec![pad; n], vec![pad; n], vec![0.0f32; n]);
    for (b, e) in batch.iter().enumerate() {
        let len = e.ids.len() - 1;
        x[b * t..][..len].copy_from_slice(&e.ids[..len]);
        y[b * t..][..len].copy_from_slice(&e.ids[1..]);
        let weighted = match loss_on {
            LossOn::Answer => e.question - 1..len,
            LossOn::PromptAndAnswer => 0..len,
            LossOn::All => 0..t,
        };
        w[b * t..][weighted].fill(1.0);
    }
    MicroBatch {
        tokens: x,
        targets: y,
        weights: w,
        batch: batch.len(),
        t,
    }
}

/// The trained parameters' starting values.
fn initial(
    base: &Model,
    vocab: &Vocab,
    train: &[&Noun],
    s: &TuneSettings,
) -> Result<Vec<f32>, String> {
    let hard = || -> Result<Vec<f32>, String> {
        match s.method {
            Method::Soft => hard_embeddings(base, vocab, train, s.tokens, s.seed),
            _ => {
                let ids = vocab.encode(&hard_text(train, s.tokens, s.seed)?)?;
                let mut session = Session::new(base)?;
                session.feed(&ids)?;
                Ok((0..base.config.layers)
                    .flat_map(|l| {
                        let (k, v) = session.cache(l);
                        [k, v]
                    })
                    .flatten()
                    .copied()
                    .collect())
            }
        }
    };
    match (s.method, s.init) {
        (Method::Full, _) => Ok(Vec::new()),
        (_, Init::Hard) => hard(),
        (_, Init::Random) => {
            let h = hard()?;
            let n = h.len() as f64;
            let mean = h.iter().map(|&x| x as f64).sum::<f64>() / n;
            let var = h.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
            let mut rng = Rng::stream(s.seed, 0x50_52_4f);
            Ok(h.iter()
                .map(|_| (var.sqrt() * rng.normal()) as f32)
                .collect())
        }
    }
}

/// The loss of `mb` read by `model` after `extras` (a soft prompt or a prefix), and the gradient
/// of the one given: a prompt-tuning `Tuner`'s CPU gradient, also what a worker computes for the
/// page. Err for no extras (full fine-tuning trains the model's own copy).
pub fn extras_gradient(
    model: &Model,
    extras: Extras,
    mb: &MicroBatch,
) -> Result<(f32, Vec<f32>), String> {
    let wants = Wants {
        weights: false,
        soft: extras.soft.is_some(),
        prefix: extras.prefix.is_some(),
    };
    let (loss, g) = model.forward_backward(&mb.inputs(extras), &mb.targets(), wants)?;
    let g = if extras.soft.is_some() {
        g.soft
    } else {
        g.prefix
    };
    Ok((loss, g.ok_or("the backward pass gave no gradient")?))
}

/// The loss of `mb` read by `model` and the gradient of the model's own weights: a full
/// fine-tuning `Tuner`'s CPU gradient, also what a worker computes for the page.
pub fn weights_gradient(model: &Model, mb: &MicroBatch) -> Result<(f32, Vec<f32>), String> {
    let wants = Wants {
        weights: true,
        soft: false,
        prefix: false,
    };
    let (loss, g) = model.forward_backward(&mb.inputs(Extras::default()), &mb.targets(), wants)?;
    Ok((loss, g.weights.ok_or("the backward pass gave no gradient")?))
}

/// `mb`'s loss read by `model` after `extras` as a numerator and its weight (the loss positions'
/// total weight): summed over groups, their quotient is the mean loss.
pub fn micro_batch_loss(
    model: &Model,
    extras: Extras,
    mb: &MicroBatch,
) -> Result<(f64, f64), String> {
    let loss = model.loss_with(&mb.inputs(extras), &mb.targets())?;
    Ok(loss_weighted(loss, mb))
}

/// A micro-batch's mean loss as `micro_batch_loss`'s numerator and weight.
pub fn loss_weighted(loss: f32, mb: &MicroBatch) -> (f64, f64) {
    let d = mb.weight();
    (loss as f64 * d, d)
}

/// A micro-batch as the forward and backward passes take it: `batch` sequences of `t` tokens, the
/// next token at each, and the loss weights.
#[derive(Clone, Debug, PartialEq)]
pub struct MicroBatch {
    pub tokens: Vec<u32>,
    pub targets: Vec<u32>,
    pub weights: Vec<f32>,
    pub batch: usize,
    pub t: usize,
}

impl MicroBatch {
    /// The forward pass's inputs, with the prompt's `extras`.
    pub fn inputs<'a>(&'a self, extras: Extras<'a>) -> Inputs<'a> {
        Inputs {
            tokens: &self.tokens,
            batch: self.batch,
            t: self.t,
            extras,
        }
    }

    pub fn targets(&self) -> Targets<'_> {
        Targets::new(&self.targets).with_weights(&self.weights)
    }

    /// The loss positions' total weight (the denominator of the weighted mean).
    pub fn weight(&self) -> f64 {
        self.weights.iter().map(|&v| v as f64).sum()
    }
}

/// What one micro-batch did; `epoch_loss` is set when it completed an epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Epochs completed.
    pub epoch: usize,
    /// Nouns done in the current epoch (all of them when `epoch_loss` is set).
    pub done: usize,
    pub total: usize,
    /// The mean training loss over the epoch just completed (its batches, before each update).
    pub epoch_loss: Option<f32>,
}

/// A training run that advances one micro-batch per call.
pub struct Tuner<'m> {
    base: &'m Model,
    settings: TuneSettings,
    /// The fine-tuned copy (full fine-tuning only).
    model: Option<Model>,
    /// The soft prompt or prefix.
    params: Vec<f32>,
    adam: AdamW,
    examples: Vec<Example>,
    pad: u32,
    rng: Rng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    grad: Vec<f32>,
    /// The current batch's loss numerator and loss positions.
    batch_sum: (f64, f64),
    /// The current epoch's likewise.
    epoch_sum: (f64, f64),
}

impl<'m> Tuner<'m> {
    pub fn new(
        base: &'m Model,
        vocab: &Vocab,
        train: &[&Noun],
        settings: TuneSettings,
    ) -> Result<Tuner<'m>, String> {
        Tuner::start(base, vocab, train, settings, None)
    }

    /// A soft prompt's run that starts from `prompt` (`settings.tokens` x width numbers) instead
    /// of `settings.init`: the inner loops and adaptations of meta-learning (`meta_prompt`).
    pub fn with_prompt(
        base: &'m Model,
        vocab: &Vocab,
        train: &[&Noun],
        settings: TuneSettings,
        prompt: Vec<f32>,
    ) -> Result<Tuner<'m>, String> {
        if settings.method != Method::Soft {
            return Err(format!("a starting prompt for {}", settings.method.name()));
        }
        Tuner::start(base, vocab, train, settings, Some(prompt))
    }

    fn start(
        base: &'m Model,
        vocab: &Vocab,
        train: &[&Noun],
        settings: TuneSettings,
        prompt: Option<Vec<f32>>,
    ) -> Result<Tuner<'m>, String> {
        settings.validate()?;
        base.check()?;
        if train.is_empty() {
            return Err("no training nouns".into());
        }
        let examples = train
            .iter()
            .map(|n| encode(vocab, settings.frame(), n))
            .collect::<Result<Vec<_>, _>>()?;
        let longest = examples.iter().map(|e| e.ids.len() - 1).max().unwrap_or(0);
        if settings.soft_len() + longest > base.config.context {
            return Err(format!(
                "{} soft vectors and a sequence of {longest} exceed the context of {}",
                settings.soft_len(),
                base.config.context
            ));
        }
        let pad = vocab.id('\n').ok_or("the vocabulary has no newline")?;
        let params = match prompt {
            Some(p) if p.len() != settings.tokens * base.config.width => {
                return Err(format!(
                    "a starting prompt of {} numbers: {} vectors of width {} expected",
                    p.len(),
                    settings.tokens,
                    base.config.width
                ))
            }
            Some(p) => p,
            None => initial(base, vocab, train, &settings)?,
        };
        let model = (settings.method == Method::Full).then(|| base.clone());
        let n = if model.is_some() {
            base.param_count()
        } else {
            params.len()
        };
        let adam_settings = TrainSettings {
            lr: settings.lr,
            weight_decay: 0.0,
            ..TrainSettings::default()
        };
        let mut t = Tuner {
            base,
            settings,
            model,
            params,
            adam: AdamW::new(n, &adam_settings, Vec::new()),
            order: (0..examples.len()).collect(),
            examples,
            pad,
            rng: Rng::stream(settings.seed, 0x54_55_4e),
            cursor: 0,
            epoch: 0,
            grad: vec![0.0; n],
            batch_sum: (0.0, 0.0),
            epoch_sum: (0.0, 0.0),
        };
        t.rng.shuffle(&mut t.order);
        Ok(t)
    }

    pub fn settings(&self) -> &TuneSettings {
        &self.settings
    }

    /// The model the prompt is read by: the frozen one, or the fine-tuned copy.
    pub fn model(&self) -> &Model {
        self.model.as_ref().unwrap_or(self.base)
    }

    /// The soft prompt or prefix as the forward pass takes it.
    pub fn extras(&self) -> Extras<'_> {
        match self.settings.method {
            Method::Soft => Extras {
                soft: Some(&self.params),
                prefix: None,
            },
            Method::Prefix => Extras {
                soft: None,
                prefix: Some(&self.params),
            },
            Method::Full => Extras::default(),
        }
    }

    /// The trained numbers (soft prompt or prefix; empty for full fine-tuning).
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// The trained prompt (soft or prefix) and, for full fine-tuning, the tuned model.
    pub fn into_parts(self) -> (Vec<f32>, Option<Model>) {
        (self.params, self.model)
    }

    /// How many numbers training changes.
    pub fn params_trained(&self) -> usize {
        self.grad.len()
    }

    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    pub fn is_done(&self) -> bool {
        self.epoch >= self.settings.epochs
    }

    /// Nouns per forward and backward pass.
    pub fn micro(&self) -> usize {
        if self.settings.method == Method::Full {
            MICRO_FULL
        } else {
            MICRO
        }
    }

    /// The loss and gradient of a set of examples (their weighted mean, and its weight).
    pub(crate) fn loss_grad(&self, batch: &[&Example]) -> Result<(f32, f64, Vec<f32>), String> {
        let mb = micro_batch(batch, self.pad, self.settings.loss_on);
        let (loss, g) = self.cpu_grad(&mb)?;
        Ok((loss, mb.weight(), g))
    }

    /// The loss of `mb` and the trained numbers' gradient, on the CPU.
    fn cpu_grad(&self, mb: &MicroBatch) -> Result<(f32, Vec<f32>), String> {
        match self.settings.method {
            Method::Full => weights_gradient(self.model(), mb),
            Method::Soft | Method::Prefix => extras_gradient(self.model(), self.extras(), mb),
        }
    }

    /// One micro-batch forward and backward; an Adam step when it completes a batch.
    pub fn step(&mut self) -> Result<Progress, String> {
        let (loss, g) = self.cpu_grad(&self.next_micro_batch()?)?;
        self.take(loss, &g)
    }

    /// The next micro-batch's inputs and targets (for a gradient computed elsewhere: `take`).
    pub fn next_micro_batch(&self) -> Result<MicroBatch, String> {
        if self.is_done() {
            return Err(format!("all {} epochs are done", self.settings.epochs));
        }
        let end = (self.cursor + self.micro()).min(self.examples.len());
        let batch: Vec<&Example> = self.order[self.cursor..end]
            .iter()
            .map(|&i| &self.examples[i])
            .collect();
        Ok(micro_batch(&batch, self.pad, self.settings.loss_on))
    }

    /// The micro-batches from `next_micro_batch` to the end of its batch: their gradients all
    /// read the same parameters (Adam steps only when a batch completes), so they can be
    /// computed at once, elsewhere, and given to `take` in this order.
    pub fn batch_rest(&self) -> Result<Vec<MicroBatch>, String> {
        if self.is_done() {
            return Err(format!("all {} epochs are done", self.settings.epochs));
        }
        let total = self.examples.len();
        let (mut at, mut out) = (self.cursor, Vec::new());
        loop {
            let end = (at + self.micro()).min(total);
            let batch: Vec<&Example> = self.order[at..end]
                .iter()
                .map(|&i| &self.examples[i])
                .collect();
            out.push(micro_batch(&batch, self.pad, self.settings.loss_on));
            at = end;
            if at.is_multiple_of(BATCH) || at == total {
                return Ok(out);
            }
        }
    }

    /// Take the loss and gradient (of the trained numbers) of `next_micro_batch`: accumulate them,
    /// and step Adam when the batch is complete.
    pub fn take(&mut self, loss: f32, g: &[f32]) -> Result<Progress, String> {
        let mb = self.next_micro_batch()?;
        if g.len() != self.grad.len() {
            return Err(format!(
                "a gradient of {} numbers for {} trained",
                g.len(),
                self.grad.len()
            ));
        }
        let den = mb.weight();
        let total = self.examples.len();
        let end = (self.cursor + mb.batch).min(total);
        if !loss.is_finite() {
            return Err(format!(
                "the loss became {loss} in epoch {}: lower the learning rate",
                self.epoch + 1
            ));
        }
        self.grad
            .iter_mut()
            .zip(g)
            .for_each(|(a, b)| *a += (den as f32) * b);
        self.batch_sum.0 += loss as f64 * den;
        self.batch_sum.1 += den;
        self.cursor = end;
        let batch_full = self.cursor.is_multiple_of(BATCH) || self.cursor == total;
        if batch_full {
            let scale = 1.0 / self.batch_sum.1 as f32;
            self.grad.iter_mut().for_each(|v| *v *= scale);
            let lr = self.settings.lr;
            match self.model.as_mut() {
                Some(m) => self.adam.step(&mut m.params, &self.grad, lr)?,
                None => self.adam.step(&mut self.params, &self.grad, lr)?,
            }
            self.grad.fill(0.0);
            self.epoch_sum.0 += self.batch_sum.0;
            self.epoch_sum.1 += self.batch_sum.1;
            self.batch_sum = (0.0, 0.0);
        }
        let mut p = Progress {
            epoch: self.epoch,
            done: self.cursor,
            total,
            epoch_loss: None,
        };
        if self.cursor == total {
            p.epoch_loss = Some((self.epoch_sum.0 / self.epoch_sum.1) as f32);
            self.epoch_sum = (0.0, 0.0);
            self.epoch += 1;
            self.cursor = 0;
            self.rng.shuffle(&mut self.order);
            p.epoch = self.epoch;
        }
        Ok(p)
    }

    /// Groups of `MICRO` training nouns that `train_loss_part` scores one at a time.
    pub fn loss_parts(&self) -> usize {
        self.examples.len().div_ceil(MICRO)
    }

    /// Group `i`'s loss numerator and loss positions with the current parameters (no update).
    pub fn train_loss_part(&self, i: usize) -> Result<(f64, f64), String> {
        micro_batch_loss(self.model(), self.extras(), &self.loss_part_batch(i)?)
    }

    /// Group `i` of `train_loss_part` as a micro-batch (for a loss computed elsewhere).
    pub fn loss_part_batch(&self, i: usize) -> Result<MicroBatch, String> {
        let chunk = self
            .examples
            .chunks(MICRO)
            .nth(i)
            .ok_or(format!("no group {i} of training nouns"))?;
        let batch: Vec<&Example> = chunk.iter().collect();
        Ok(micro_batch(&batch, self.pad, self.settings.loss_on))
    }

    /// The mean loss over every training noun with the current parameters (no update).
    pub fn train_loss(&self) -> Result<f32, String> {
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for i in 0..self.loss_parts() {
            let (n, d) = self.train_loss_part(i)?;
            num += n;
            den += d;
        }
        Ok((num / den) as f32)
    }

    /// The trained prompt's answers for `nouns`, greedy, on the CPU.
    pub fn answers(&self, vocab: &Vocab, nouns: &[&Noun]) -> Result<Vec<Answer>, String> {
        let eval = Evaluator::new(self.model(), vocab, self.extras())?;
        nouns
            .iter()
            .map(|n| eval.answer(self.settings.frame(), n))
            .collect()
    }
}

/// Greedy answers under a prompt whose keys and values are computed once and copied for each
/// question (the precomputation of the homework's (c)(i)).
pub struct Evaluator<'m> {
    vocab: &'m Vocab,
    start: Session<'m>,
}

impl<'m> Evaluator<'m> {
    pub fn new(model: &'m Model, vocab: &'m Vocab, extras: Extras) -> Result<Self, String> {
        Ok(Evaluator {
            vocab,
            start: Session::with_extras(model, extras)?,
        })
    }

    /// The generator for a question after this prompt.
    pub fn generator(&self, question: &str) -> Result<Generator, String> {
        let ids = self.vocab.encode(question)?;
        let greedy = Sampling {
            temperature: 0.0,
            top_k: 0,
            seed: 0,
        };
        let stop: Vec<u32> = ['\n', '.']
            .iter()
            .filter_map(|&c| self.vocab.id(c))
            .collect();
        Ok(Generator::new(&ids, ANSWER_CHARS, greedy, self.start.remaining())?.stop_at(&stop))
    }

    /// `noun`'s answer to "{frame}{noun} is", scored.
    pub fn answer(&self, frame: &str, noun: &Noun) -> Result<Answer, String> {
        let (tokens, probs) = self.continuation(&question(frame, &noun.singular))?;
        Ok(pluralize::score(noun, &self.vocab.decode(&tokens)?, &probs))
    }

    /// The greedy continuation of `question` after this prompt: its tokens and their
    /// probabilities. Without extras it equals `sample::complete` of `pluralize::generator`.
    pub fn continuation(&self, question: &str) -> Result<(Vec<u32>, Vec<f32>), String> {
        let mut gen = self.generator(question)?;
        let mut session = self.start.clone();
        let mut fresh = true;
        while let Some(feed) = gen.feed() {
            if feed.restart && !fresh {
                session = self.start.clone();
            }
            fresh = false;
            let logits = session.feed(feed.tokens)?;
            gen.give(&logits)?;
        }
        Ok(gen.finish())
    }
}

/// Accuracy of a set of answers.
pub fn accuracy(answers: &[Answer]) -> f64 {
    pluralize::Summary::of(answers).accuracy()
}

/// The best of chapter 4's hard prompts with 0 to `HARD_SHOTS` shots (examples chosen with `seed`)
/// on `nouns`: (shots, accuracy). Four or more shots fall back (the oldest examples leave the
/// context), so chapter 4's best is among these.
pub fn best_hard_prompt(
    model: &Model,
    vocab: &Vocab,
    train: &[&Noun],
    nouns: &[&Noun],
    seed: u64,
) -> Result<(usize, f64), String> {
    let mut best = (0, -1.0);
    for shots in 0..=HARD_SHOTS {
        let ex = pluralize::examples(train, shots, false, seed)?;
        let answers = nouns
            .iter()
            .map(|n| pluralize::answer(model, vocab, &pluralize::prompt(&ex, &n.singular), n))
            .collect::<Result<Vec<_>, _>>()?;
        let a = accuracy(&answers);
        if a > best.1 {
            best = (shots, a);
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lm::plurals::{Rule, Split};

    fn noun(s: &str, p: &str) -> Noun {
        Noun {
            singular: s.into(),
            plural: p.into(),
            rule: Rule::S,
            split: Split::Train,
            tagged: 1,
        }
    }

    #[test]
    fn the_loss_positions_follow_the_stated_rule() {
        let vocab = Vocab::from_chars("\n .Tabcdefghijklmnopqrstuvwxyz").unwrap();
        let cat = encode(&vocab, "", &noun("cat", "cats")).unwrap();
        let ox = encode(&vocab, "", &noun("ox", "oxen")).unwrap();
        assert_eq!(cat.question, 6, "\"cat is\"");
        let pad = vocab.id('\n').unwrap();
        let MicroBatch {
            tokens: x,
            targets: y,
            weights: w,
            ..
        } = micro_batch(&[&cat, &ox], pad, LossOn::Answer);
        // "cat is cats." has 12 characters: 11 inputs, 11 targets.
        let t = 11;
        assert_eq!(x.len(), 2 * t);
        let text = |ids: &[u32]| vocab.decode(ids).unwrap();
        assert_eq!(text(&y[..t]), "at is cats.");
        let weighted: String = (0..t)
            .filter(|&i| w[i] > 0.0)
            .map(|i| text(&y[i..i + 1]))
            .collect();
        assert_eq!(weighted, " cats.", "the answer and its terminator only");
        assert_eq!(text(&x[t..2 * t]), "ox is oxen\n");
        let w = micro_batch(&[&cat, &ox], pad, LossOn::PromptAndAnswer).weights;
        assert_eq!(
            w[t..].iter().filter(|&&v| v > 0.0).count(),
            10,
            "no padding"
        );
        let w = micro_batch(&[&cat, &ox], pad, LossOn::All).weights;
        assert!(w.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn bad_settings_are_named() {
        let mut s = TuneSettings::new(Method::Soft);
        assert!(s.validate().is_ok());
        s.tokens = 0;
        assert!(s.validate().unwrap_err().contains("tokens = 0"));
        s.tokens = 1000;
        assert!(s.validate().unwrap_err().contains("tokens = 1000"));
        s.tokens = 4;
        s.lr = f32::NAN;
        assert!(s.validate().unwrap_err().contains("learning rate"));
        s.lr = 0.01;
        s.epochs = MAX_EPOCHS + 1;
        assert!(s.validate().unwrap_err().contains("epochs"));
        assert_eq!(LossOn::parse("all"), Some(LossOn::All));
        assert_eq!(LossOn::parse("none"), None);
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;
    use crate::lm::model::Config;
    use crate::lm::plurals::{Rule, Split};

    /// A batch's gradient summed over micro-batches equals the gradient of the whole batch in one
    /// pass (padding to the longest sequence adds no loss).
    #[test]
    fn micro_batches_sum_to_the_batch_gradient() {
        let vocab = Vocab::from_chars("\n .Tabcdefghijklmnopqrstuvwxyz").unwrap();
        let mut c = Config::tiny();
        c.vocab = vocab.len();
        c.context = 24;
        let model = Model::new(c, 3).unwrap();
        let words = [
            ("cat", "cats"),
            ("box", "boxes"),
            ("city", "cities"),
            ("leaf", "leaves"),
            ("ox", "oxen"),
            ("man", "men"),
        ];
        let nouns: Vec<Noun> = words
            .iter()
            .map(|(s, p)| Noun {
                singular: s.to_string(),
                plural: p.to_string(),
                rule: Rule::S,
                split: Split::Train,
                tagged: 1,
            })
            .collect();
        let train: Vec<&Noun> = nouns.iter().collect();
        let mut s = TuneSettings::new(Method::Soft);
        s.tokens = 3;
        s.init = Init::Random;
        let mut tuner = Tuner::new(&model, &vocab, &train, s).unwrap();
        let before = tuner.params().to_vec();
        let all: Vec<&Example> = tuner.order.iter().map(|&i| &tuner.examples[i]).collect();
        let (_, _, whole) = tuner.loss_grad(&all).unwrap();
        let (_, d1, g1) = tuner.loss_grad(&all[..MICRO]).unwrap();
        let (_, d2, g2) = tuner.loss_grad(&all[MICRO..]).unwrap();
        for ((a, b), w) in g1.iter().zip(&g2).zip(&whole) {
            let summed = ((d1 * *a as f64 + d2 * *b as f64) / (d1 + d2)) as f32;
            assert!(
                (summed - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{summed} vs {w}"
            );
        }
        // Two micro-batches (4 + 2 nouns) make the one batch; Adam's first step moves each
        // coordinate by lr sign(g) (up to eps), so the accumulated gradient's signs show.
        tuner.step().unwrap();
        tuner.step().unwrap();
        let moved: Vec<f32> = tuner
            .params()
            .iter()
            .zip(&before)
            .map(|(a, b)| (b - a) / s.lr)
            .collect();
        let mut checked = 0;
        for (i, (m, g)) in moved.iter().zip(&whole).enumerate() {
            if g.abs() > 1e-4 {
                checked += 1;
                assert!(
                    (m - g.signum()).abs() < 1e-2,
                    "coordinate {i}: moved {m} lr, whole-batch gradient {g}"
                );
            }
        }
        assert!(checked > whole.len() / 2, "{checked} of {}", whole.len());
        assert_eq!(model.params, Model::new(c, 3).unwrap().params);
    }
}

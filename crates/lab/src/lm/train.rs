//! Training: AdamW with a warmed-up cosine schedule and gradient clipping, on random windows.
//!
//! - Windows: t + 1 consecutive tokens from a uniform start (seeded), input the first t, target the
//!   last t, so every position predicts its next character; t = the model's context.
//! - Learning rate: lr (s + 1) / W for s < W warmup steps, then
//!   min_lr + (lr - min_lr) (1 + cos(pi (s - W) / (S - W))) / 2 over the remaining S - W steps.
//! - Clipping: g <- g min(1, c / |g|) with c = 1.
//! - AdamW: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, mhat = m / (1 - b1^s), vhat likewise,
//!   w <- w - lr (mhat / (sqrt vhat + eps) + lambda w), the decay lambda only on weight matrices
//!   (not embeddings, biases or layer-norm parameters).

use super::backward::Wants;
use super::batch::{Inputs, Targets};
use super::model::{Kind, Model};
use crate::rng::Rng;
use std::ops::Range;

#[derive(Clone, Debug, PartialEq)]
pub struct TrainSettings {
    pub steps: usize,
    /// Windows per step.
    pub batch: usize,
    /// Peak learning rate, and the floor the cosine decays to.
    pub lr: f32,
    pub min_lr: f32,
    pub warmup: usize,
    pub weight_decay: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Largest gradient norm; larger gradients are scaled down to it.
    pub clip: f32,
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            steps: 2000,
            batch: 32,
            lr: 2e-3,
            min_lr: 2e-4,
            warmup: 100,
            weight_decay: 0.1,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            clip: 1.0,
            seed: 0,
        }
    }
}

impl TrainSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.steps == 0 || self.batch == 0 {
            return Err(format!(
                "steps ({}) and batch ({}) must be positive",
                self.steps, self.batch
            ));
        }
        let rates = [("lr", self.lr), ("min_lr", self.min_lr), ("eps", self.eps)];
        for (name, v) in rates
            .into_iter()
            .chain([("weight_decay", self.weight_decay)])
        {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("{name} = {v}, want a finite number >= 0"));
            }
        }
        if !self.clip.is_finite() || self.clip <= 0.0 {
            return Err(format!("clip = {}, want a finite number > 0", self.clip));
        }
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(format!("{name} = {b}, want 0 <= beta < 1"));
            }
        }
        Ok(())
    }
}

/// The learning rate at step `s` (counted from 0).
pub fn learning_rate(st: &TrainSettings, s: usize) -> f32 {
    if s < st.warmup {
        return st.lr * (s + 1) as f32 / st.warmup as f32;
    }
    let span = st.steps.saturating_sub(st.warmup).max(1);
    let f = ((s - st.warmup) as f32 / span as f32).min(1.0);
    st.min_lr + (st.lr - st.min_lr) * 0.5 * (1.0 + (std::f32::consts::PI * f).cos())
}

/// Scales `g` so that its Euclidean norm is at most `max`; returns the norm before.
pub fn clip_grad_norm(g: &mut [f32], max: f32) -> f32 {
    let norm = g.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt() as f32;
    if norm > max && norm > 0.0 {
        let f = max / norm;
        g.iter_mut().for_each(|x| *x *= f);
    }
    norm
}

/// AdamW's state for a vector of parameters; `decay` lists the ranges that get weight decay.
#[derive(Clone, Debug)]
pub struct AdamW {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub decay: Vec<Range<usize>>,
}

impl AdamW {
    pub fn new(n: usize, st: &TrainSettings, decay: Vec<Range<usize>>) -> Self {
        AdamW {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            beta1: st.beta1,
            beta2: st.beta2,
            eps: st.eps,
            weight_decay: st.weight_decay,
            decay,
        }
    }

    /// One update of `params` by `grads` (same length as the state) at learning rate `lr`.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f32) -> Result<(), String> {
        if params.len() != self.m.len() || grads.len() != self.m.len() {
            return Err(format!(
                "AdamW holds {} values, given {} parameters and {} gradients",
                self.m.len(),
                params.len(),
                grads.len()
            ));
        }
        self.t = self.t.saturating_add(1);
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for i in 0..params.len() {
            let g = grads[i];
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g;
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g;
            let update = (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + self.eps);
            params[i] -= lr * update;
        }
        let shrink = 1.0 - lr * self.weight_decay;
        for r in &self.decay {
            params[r.clone()].iter_mut().for_each(|p| *p *= shrink);
        }
        Ok(())
    }
}

/// `batch` windows of t + 1 tokens at seeded uniform starts: (inputs, targets), each batch x t.
pub fn random_windows(
    tokens: &[u32],
    batch: usize,
    t: usize,
    rng: &mut Rng,
) -> Result<(Vec<u32>, Vec<u32>), String> {
    if tokens.len() < t + 1 {
        return Err(format!(
            "{} tokens are too few for windows of {} (context + 1)",
            tokens.len(),
            t + 1
        ));
    }
    let (mut x, mut y) = (Vec::with_capacity(batch * t), Vec::with_capacity(batch * t));
    for _ in 0..batch {
        let s = rng.below(tokens.len() - t);
        x.extend_from_slice(&tokens[s..s + t]);
        y.extend_from_slice(&tokens[s + 1..s + t + 1]);
    }
    Ok((x, y))
}

/// The starts of `windows` evenly spaced windows of context + 1 tokens over `len` tokens (the
/// first at 0, the last at the end).
pub fn eval_starts(len: usize, t: usize, windows: usize) -> Result<Vec<usize>, String> {
    if windows == 0 {
        return Err("no windows to evaluate".into());
    }
    if len < t + 1 {
        return Err(format!(
            "{len} held-out tokens are too few for a window of {}",
            t + 1
        ));
    }
    let last = len - t - 1;
    Ok((0..windows)
        .map(|i| {
            let at = (i as u64 * last as u64).checked_div(windows as u64 - 1);
            at.unwrap_or(0) as usize
        })
        .collect())
}

/// Mean cross-entropy of the windows at `starts` (one batch).
pub fn windows_loss(model: &Model, tokens: &[u32], starts: &[usize]) -> Result<f32, String> {
    let t = model.config.context;
    let window = |s: usize, o: usize| {
        tokens.get(s + o..s + o + t).ok_or(format!(
            "a window at {s} runs past the {} tokens",
            tokens.len()
        ))
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for &s in starts {
        x.extend_from_slice(window(s, 0)?);
        y.extend_from_slice(window(s, 1)?);
    }
    model.loss(&x, &y, starts.len(), t)
}

/// Mean cross-entropy (nats per character) over `windows` evenly spaced windows of context + 1
/// tokens (`eval_starts`), in batches of 8: the same number every time.
pub fn eval_loss(model: &Model, tokens: &[u32], windows: usize) -> Result<f32, String> {
    let starts = eval_starts(tokens.len(), model.config.context, windows)?;
    let mut total = 0.0f64;
    for chunk in starts.chunks(8) {
        total += windows_loss(model, tokens, chunk)? as f64 * chunk.len() as f64;
    }
    Ok((total / windows as f64) as f32)
}

/// What one training step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Steps done, this one included.
    pub step: usize,
    /// Training loss of this step's batch (before the update).
    pub loss: f32,
    pub lr: f32,
    /// Gradient norm before clipping.
    pub grad_norm: f32,
}

/// A training run that advances one step per call, so a caller can show progress.
pub struct Trainer {
    model: Model,
    settings: TrainSettings,
    adam: AdamW,
    step: usize,
    rng: Rng,
}

impl Trainer {
    pub fn new(model: Model, settings: TrainSettings) -> Result<Trainer, String> {
        settings.validate()?;
        model.check()?;
        let decay = model
            .tensors()
            .iter()
            .filter(|t| matches!(t.kind, Kind::Matrix | Kind::ResidualMatrix))
            .map(|t| t.range())
            .collect();
        let adam = AdamW::new(model.param_count(), &settings, decay);
        let rng = Rng::stream(settings.seed, 0x7472);
        Ok(Trainer {
            model,
            settings,
            adam,
            step: 0,
            rng,
        })
    }

    /// One step on a random batch of windows of `tokens`.
    pub fn step(&mut self, tokens: &[u32]) -> Result<StepReport, String> {
        if self.is_done() {
            return Err(format!("all {} steps are done", self.settings.steps));
        }
        let (b, t) = (self.settings.batch, self.model.config.context);
        let (x, y) = random_windows(tokens, b, t, &mut self.rng)?;
        let (loss, grads) = self.model.forward_backward(
            &Inputs::new(&x, b, t),
            &Targets::new(&y),
            Wants::WEIGHTS,
        )?;
        if !loss.is_finite() {
            return Err(format!("the loss became {loss} at step {}", self.step + 1));
        }
        let mut g = grads.weights.unwrap_or_default();
        let grad_norm = clip_grad_norm(&mut g, self.settings.clip);
        let lr = learning_rate(&self.settings, self.step);
        self.adam.step(&mut self.model.params, &g, lr)?;
        self.step += 1;
        Ok(StepReport {
            step: self.step,
            loss,
            lr,
            grad_norm,
        })
    }

    pub fn steps_done(&self) -> usize {
        self.step
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.settings.steps
    }

    pub fn settings(&self) -> &TrainSettings {
        &self.settings
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn into_model(self) -> Model {
        self.model
    }
}

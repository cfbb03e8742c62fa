//! A batch for the forward and backward passes, and its checks: `batch` sequences of `t` token
//! ids (each < vocab), optional extras (a soft prompt of K vectors, K + t <= context; per-layer
//! prefixes of P keys and values), and targets with optional weights w >= 0, sum w > 0. Every
//! malformed batch is an `Err` naming what does not fit.

use super::model::Model;

/// Optional input-side extras for soft prompting, shared by every sequence of a batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras<'a> {
    /// K x width vectors read at positions 0..K, before the tokens.
    pub soft: Option<&'a [f32]>,
    /// Per layer l: P keys (rows `2 l P .. 2 l P + P` of width `width`) then P values; every query
    /// attends to them. Length layers x 2 x P x width.
    pub prefix: Option<&'a [f32]>,
}

/// A batch of token sequences (row-major, `batch` x `t`) and its extras.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    pub tokens: &'a [u32],
    pub batch: usize,
    pub t: usize,
    pub extras: Extras<'a>,
}

impl<'a> Inputs<'a> {
    pub fn new(tokens: &'a [u32], batch: usize, t: usize) -> Self {
        Inputs {
            tokens,
            batch,
            t,
            extras: Extras::default(),
        }
    }
    pub fn with_soft(mut self, soft: &'a [f32]) -> Self {
        self.extras.soft = Some(soft);
        self
    }
    pub fn with_prefix(mut self, prefix: &'a [f32]) -> Self {
        self.extras.prefix = Some(prefix);
        self
    }
}

/// The next token at every token position (`batch` x `t`) and an optional per-position weight
/// (>= 0; 0 = no loss there; the loss is the weighted mean over positions).
#[derive(Clone, Copy, Debug)]
pub struct Targets<'a> {
    pub ids: &'a [u32],
    pub weights: Option<&'a [f32]>,
}

impl<'a> Targets<'a> {
    pub fn new(ids: &'a [u32]) -> Self {
        Targets { ids, weights: None }
    }
    pub fn with_weights(mut self, weights: &'a [f32]) -> Self {
        self.weights = Some(weights);
        self
    }
}

/// Sizes of one forward pass: K soft vectors, P prefix entries, L = K + t rows per sequence.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub batch: usize,
    pub t: usize,
    pub k: usize,
    pub p: usize,
    pub l: usize,
}

impl Dims {
    pub fn rows(&self) -> usize {
        self.batch * self.l
    }
    /// Keys per sequence: prefix, then the sequence's own.
    pub fn keys(&self) -> usize {
        self.p + self.l
    }
}

fn check_finite(name: &str, v: &[f32]) -> Result<(), String> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(format!("{name} value {i} is {}, not finite", v[i])),
        None => Ok(()),
    }
}

/// K and P of the extras; an error if their lengths do not fit the model.
pub(crate) fn extras_dims(model: &Model, e: &Extras) -> Result<(usize, usize), String> {
    model.check()?;
    let c = &model.config;
    let k = match e.soft {
        None => 0,
        Some(s) if !s.len().is_multiple_of(c.width) => {
            return Err(format!(
                "soft prompt has {} values, not a multiple of width {}",
                s.len(),
                c.width
            ))
        }
        Some(s) => {
            check_finite("soft prompt", s)?;
            s.len() / c.width
        }
    };
    let per = 2 * c.layers * c.width;
    let p = match e.prefix {
        None => 0,
        Some(s) if !s.len().is_multiple_of(per) => {
            return Err(format!(
                "prefix has {} values, not a multiple of layers x 2 x width = {per}",
                s.len()
            ))
        }
        Some(s) => {
            check_finite("prefix", s)?;
            s.len() / per
        }
    };
    Ok((k, p))
}

/// Checks token ids against the vocabulary.
pub(crate) fn check_ids(name: &str, ids: &[u32], vocab: usize) -> Result<(), String> {
    match ids.iter().position(|&i| i as usize >= vocab) {
        Some(j) => Err(format!(
            "{name} {j} is {}, outside the vocabulary of {vocab}",
            ids[j]
        )),
        None => Ok(()),
    }
}

impl Inputs<'_> {
    pub(crate) fn dims(&self, model: &Model) -> Result<Dims, String> {
        model.check()?;
        let c = &model.config;
        if self.batch == 0 || self.t == 0 {
            return Err(format!(
                "empty batch: {} sequences of {} tokens",
                self.batch, self.t
            ));
        }
        if self.tokens.len() != self.batch * self.t {
            return Err(format!(
                "{} tokens given for {} sequences of {}",
                self.tokens.len(),
                self.batch,
                self.t
            ));
        }
        check_ids("token", self.tokens, c.vocab)?;
        let (k, p) = extras_dims(model, &self.extras)?;
        if k + self.t > c.context {
            return Err(format!(
                "{k} soft vectors + {} tokens exceed the context of {}",
                self.t, c.context
            ));
        }
        Ok(Dims {
            batch: self.batch,
            t: self.t,
            k,
            p,
            l: k + self.t,
        })
    }
}

/// (sequence, token index) of each position that carries loss, and its weight.
pub(crate) type Picked = (Vec<(usize, usize)>, Vec<f32>);

/// The token positions that carry loss, and their weights; errors for a malformed target set.
pub(crate) fn loss_positions(model: &Model, d: &Dims, targets: &Targets) -> Result<Picked, String> {
    let n = d.batch * d.t;
    if targets.ids.len() != n {
        return Err(format!(
            "{} targets given for {n} token positions",
            targets.ids.len()
        ));
    }
    check_ids("target", targets.ids, model.config.vocab)?;
    let weights: Vec<f32> = match targets.weights {
        None => vec![1.0; n],
        Some(ws) if ws.len() != n => {
            return Err(format!(
                "{} target weights given for {n} token positions",
                ws.len()
            ))
        }
        Some(ws) => {
            if let Some(i) = ws.iter().position(|w| !w.is_finite() || *w < 0.0) {
                return Err(format!(
                    "target weight {i} is {}, want finite and >= 0",
                    ws[i]
                ));
            }
            ws.to_vec()
        }
    };
    let picked: Vec<usize> = (0..n).filter(|&i| weights[i] > 0.0).collect();
    if picked.is_empty() {
        return Err("every target weight is 0: no position to take the loss at".into());
    }
    let positions = picked.iter().map(|&i| (i / d.t, i % d.t)).collect();
    Ok((positions, picked.iter().map(|&i| weights[i]).collect()))
}

impl crate::lm::Model {
    /// Whether `inputs` and `targets` make a batch this model can take (the checks of the forward
    /// pass, without running it): an `Err` naming what does not fit.
    pub fn check_batch(&self, inputs: &Inputs, targets: &Targets) -> Result<(), String> {
        let d = inputs.dims(self)?;
        loss_positions(self, &d, targets).map(|_| ())
    }
}

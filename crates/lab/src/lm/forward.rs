//! The forward pass over a batch of sequences, keeping what the backward pass needs.
//!
//! Sequence b is K soft-prompt vectors s_0 .. s_{K-1} (optional, shared by the batch) followed by
//! t tokens; row j enters as e_j + wpe[j], where e_j = s_j for j < K and wte[token] after, so the
//! tokens' positions start at K and K + t <= context. Each layer (pre-layer-norm):
//!   x <- x + Attn(ln1(x)),  x <- x + W_out gelu(W_fc ln2(x) + b_fc) + b_out,
//! where attention also sees P prefix keys and values per layer (optional, shared by the batch, not
//! positioned) ahead of the causal keys. Logits z = ln_f(x) wte^T; the loss is the weighted mean
//! cross-entropy sum_i w_i (logsumexp z_i - z_i[y_i]) / sum_i w_i over token positions (w_i = 1
//! unless a target mask is given; positions with w_i = 0 are not even projected to logits).

use super::attention::{self, Shape};
use super::batch::{loss_positions, Dims, Inputs, Targets};
use super::gemm::{gemm, View, ViewMut};
use super::layers::{gelu, layer_norm, linear, softmax};
use super::model::{LayerOffsets, Model};

/// What one layer's forward pass keeps for the backward pass.
pub(crate) struct LayerTape {
    pub ln1_out: Vec<f32>,
    pub ln1_xhat: Vec<f32>,
    pub ln1_rstd: Vec<f32>,
    pub qkv: Vec<f32>,
    /// Per sequence: keys (P + L) x width, prefix first; likewise values.
    pub keys: Vec<f32>,
    pub values: Vec<f32>,
    pub probs: Vec<f32>,
    pub att: Vec<f32>,
    pub ln2_out: Vec<f32>,
    pub ln2_xhat: Vec<f32>,
    pub ln2_rstd: Vec<f32>,
    pub fc_pre: Vec<f32>,
    pub fc_act: Vec<f32>,
}

/// The first rows of each layer's keys and values: the prefix of layer `l`, if any.
pub(crate) fn prefix_kv(
    prefix: Option<&[f32]>,
    layer: usize,
    p: usize,
    width: usize,
) -> (&[f32], &[f32]) {
    match prefix {
        Some(s) if p > 0 => {
            let n = p * width;
            (&s[2 * layer * n..][..n], &s[(2 * layer + 1) * n..][..n])
        }
        _ => (&[], &[]),
    }
}

/// Row j of sequence b: soft vector or token embedding, plus position j.
pub(crate) fn embed(model: &Model, inputs: &Inputs, d: &Dims) -> Vec<f32> {
    let (w, lay) = (model.config.width, model.layout());
    let mut x = vec![0.0f32; d.rows() * w];
    for b in 0..d.batch {
        for j in 0..d.l {
            let row = &mut x[(b * d.l + j) * w..][..w];
            let src = if j < d.k {
                &inputs.extras.soft.unwrap_or(&[])[j * w..][..w]
            } else {
                let tok = inputs.tokens[b * d.t + j - d.k] as usize;
                model.p(lay.wte + tok * w, w)
            };
            let pos = model.p(lay.wpe + j * w, w);
            for c in 0..w {
                row[c] = src[c] + pos[c];
            }
        }
    }
    x
}

/// Layer norm of the `width`-wide rows of `x` with gain and shift at `g`, `b`: (out, xhat, rstd).
pub(crate) fn norm(model: &Model, x: &[f32], g: usize, b: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let w = model.config.width;
    let n = x.len() / w;
    let (mut out, mut xhat, mut rstd) = (vec![0.0f32; n * w], vec![0.0f32; n * w], vec![0.0f32; n]);
    layer_norm(
        x,
        model.p(g, w),
        model.p(b, w),
        &mut out,
        &mut xhat,
        &mut rstd,
    );
    (out, xhat, rstd)
}

/// Attention of every sequence from the packed q, k, v rows `qkv` (N x 3 width), behind the
/// layer's prefix: (keys, values, probs, output), keys and values per sequence prefix first.
fn attend_batch(
    model: &Model,
    d: &Dims,
    prefix: (&[f32], &[f32]),
    qkv: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let c = &model.config;
    let (w, m) = (c.width, d.keys());
    let mut keys = vec![0.0f32; d.batch * m * w];
    let mut values = vec![0.0f32; d.batch * m * w];
    let s = Shape {
        n: d.l,
        m,
        heads: c.heads,
        d: c.head_dim(),
        q_stride: 3 * w,
    };
    let mut probs = vec![0.0f32; d.batch * s.probs_len()];
    let mut att = vec![0.0f32; d.rows() * w];
    let blocks = keys
        .chunks_exact_mut(m * w)
        .zip(values.chunks_exact_mut(m * w))
        .zip(probs.chunks_exact_mut(s.probs_len()))
        .zip(att.chunks_exact_mut(d.l * w))
        .zip(qkv.chunks_exact(d.l * 3 * w));
    for ((((kb, vb), pb), ab), q) in blocks {
        kb[..d.p * w].copy_from_slice(prefix.0);
        vb[..d.p * w].copy_from_slice(prefix.1);
        for (j, row) in q.chunks_exact(3 * w).enumerate() {
            kb[(d.p + j) * w..][..w].copy_from_slice(&row[w..2 * w]);
            vb[(d.p + j) * w..][..w].copy_from_slice(&row[2 * w..]);
        }
        attention::forward(s, q, kb, vb, pb, ab);
    }
    (keys, values, probs, att)
}

/// One layer applied to the residual stream `x` (N x width) in place.
pub(crate) fn layer_forward(
    model: &Model,
    lo: &LayerOffsets,
    d: &Dims,
    prefix: (&[f32], &[f32]),
    x: &mut [f32],
) -> LayerTape {
    let (w, mlp, n) = (model.config.width, model.config.mlp, d.rows());
    let (ln1_out, ln1_xhat, ln1_rstd) = norm(model, x, lo.ln1_g, lo.ln1_b);
    let mut qkv = vec![0.0f32; n * 3 * w];
    let (qkv_w, qkv_b) = (model.p(lo.qkv_w, w * 3 * w), model.p(lo.qkv_b, 3 * w));
    linear(&ln1_out, qkv_w, qkv_b, &mut qkv, n, w);
    let (keys, values, probs, att) = attend_batch(model, d, prefix, &qkv);
    let mut y = vec![0.0f32; n * w];
    let (proj_w, proj_b) = (model.p(lo.proj_w, w * w), model.p(lo.proj_b, w));
    linear(&att, proj_w, proj_b, &mut y, n, w);
    x.iter_mut().zip(&y).for_each(|(a, b)| *a += b);
    let (ln2_out, ln2_xhat, ln2_rstd) = norm(model, x, lo.ln2_g, lo.ln2_b);
    let mut fc_pre = vec![0.0f32; n * mlp];
    let (fc_w, fc_b) = (model.p(lo.fc_w, w * mlp), model.p(lo.fc_b, mlp));
    linear(&ln2_out, fc_w, fc_b, &mut fc_pre, n, w);
    let fc_act: Vec<f32> = fc_pre.iter().map(|&v| gelu(v)).collect();
    let (out_w, out_b) = (model.p(lo.out_w, mlp * w), model.p(lo.out_b, w));
    linear(&fc_act, out_w, out_b, &mut y, n, mlp);
    x.iter_mut().zip(&y).for_each(|(a, b)| *a += b);
    LayerTape {
        ln1_out,
        ln1_xhat,
        ln1_rstd,
        qkv,
        keys,
        values,
        probs,
        att,
        ln2_out,
        ln2_xhat,
        ln2_rstd,
        fc_pre,
        fc_act,
    }
}

/// Everything the forward pass kept: the layers' tapes, the rows (indices into the N rows) that
/// were projected to logits, their ln_f, and their logits.
pub(crate) struct Tape {
    pub dims: Dims,
    pub layers: Vec<LayerTape>,
    pub rows: Vec<usize>,
    pub lnf_out: Vec<f32>,
    pub lnf_xhat: Vec<f32>,
    pub lnf_rstd: Vec<f32>,
    /// The selected rows' logits (rows x vocab); `softmax_loss` turns them into probabilities.
    pub logits: Vec<f32>,
}

/// Runs the layers, then ln_f and the tied projection on the token positions `positions` (each a
/// (sequence, token index) pair).
pub(crate) fn forward(
    model: &Model,
    inputs: &Inputs,
    d: Dims,
    positions: &[(usize, usize)],
) -> Tape {
    let c = &model.config;
    let (w, v) = (c.width, c.vocab);
    let mut x = embed(model, inputs, &d);
    let layers = (0..c.layers)
        .map(|l| {
            let kv = prefix_kv(inputs.extras.prefix, l, d.p, w);
            layer_forward(model, &model.layout().layers[l], &d, kv, &mut x)
        })
        .collect();
    let rows: Vec<usize> = positions.iter().map(|&(b, i)| b * d.l + d.k + i).collect();
    let sel: Vec<f32> = rows
        .iter()
        .flat_map(|&r| &x[r * w..][..w])
        .copied()
        .collect();
    let s = rows.len();
    let lay = model.layout();
    let (lnf_out, lnf_xhat, lnf_rstd) = norm(model, &sel, lay.lnf_g, lay.lnf_b);
    let mut logits = vec![0.0f32; s * v];
    gemm(
        View::new(&lnf_out, s, w),
        View::new(model.p(lay.wte, v * w), v, w).t(),
        ViewMut::new(&mut logits, s, v),
        0.0,
    );
    Tape {
        dims: d,
        layers,
        rows,
        lnf_out,
        lnf_xhat,
        lnf_rstd,
        logits,
    }
}

/// Weighted mean cross-entropy of the tape's selected rows; their logits become probabilities.
pub(crate) fn softmax_loss(
    tape: &mut Tape,
    targets: &Targets,
    weights: &[f32],
    vocab: usize,
) -> f32 {
    let d = tape.dims;
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (s, &r) in tape.rows.iter().enumerate() {
        let (b, i) = (r / d.l, r % d.l - d.k);
        let y = targets.ids[b * d.t + i] as usize;
        let row = &mut tape.logits[s * vocab..][..vocab];
        let z = row[y];
        let lse = softmax(row);
        num += weights[s] as f64 * (lse - z) as f64;
        den += weights[s] as f64;
    }
    (num / den) as f32
}

impl Model {
    /// The residual stream after each layer: layers x batch x (K + t) x width, row j of sequence b
    /// being what position j carries into the next layer.
    pub fn hidden_states(&self, inputs: &Inputs) -> Result<Vec<f32>, String> {
        let d = inputs.dims(self)?;
        let w = self.config.width;
        let mut x = embed(self, inputs, &d);
        let mut out = Vec::with_capacity(self.config.layers * x.len());
        for l in 0..self.config.layers {
            let kv = prefix_kv(inputs.extras.prefix, l, d.p, w);
            layer_forward(self, &self.layout().layers[l], &d, kv, &mut x);
            out.extend_from_slice(&x);
        }
        Ok(out)
    }

    /// Logits (batch x t x vocab) at every token position.
    pub fn logits(&self, inputs: &Inputs) -> Result<Vec<f32>, String> {
        let d = inputs.dims(self)?;
        let all: Vec<(usize, usize)> = (0..d.batch)
            .flat_map(|b| (0..d.t).map(move |i| (b, i)))
            .collect();
        Ok(forward(self, inputs, d, &all).logits)
    }

    /// Mean cross-entropy (nats) of `targets` given `tokens`, both `batch` x `t`.
    pub fn loss(
        &self,
        tokens: &[u32],
        targets: &[u32],
        batch: usize,
        t: usize,
    ) -> Result<f32, String> {
        self.loss_with(&Inputs::new(tokens, batch, t), &Targets::new(targets))
    }

    /// The weighted mean cross-entropy with extras and an optional target mask.
    pub fn loss_with(&self, inputs: &Inputs, targets: &Targets) -> Result<f32, String> {
        let d = inputs.dims(self)?;
        let (positions, weights) = loss_positions(self, &d, targets)?;
        let mut tape = forward(self, inputs, d, &positions);
        Ok(softmax_loss(
            &mut tape,
            targets,
            &weights,
            self.config.vocab,
        ))
    }
}

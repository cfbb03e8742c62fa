//! The backward pass: reverse-mode derivatives of the weighted mean cross-entropy of `forward`
//! with respect to the weights, the soft prompt and the prefix. With d = sum_i w_i, the logits'
//! gradient is dz_i = w_i (softmax(z_i) - onehot(y_i)) / d; then, backwards through the tied
//! projection (dh = dz wte, dwte = dz^T h), ln_f, each layer (residual branches add their input
//! gradients to the stream's), and the embedding (dwpe[j] += dx_j; dwte[token] += dx_j or
//! dsoft[j] += dx_j). Shared extras collect the sum over the batch.

use super::attention::{self, Shape};
use super::batch::{loss_positions, Dims, Inputs, Targets};
use super::forward::{forward, softmax_loss, LayerTape};
use super::gemm::{gemm, View, ViewMut};
use super::layers::{gelu_grad, layer_norm_back, linear_back};
use super::model::{LayerOffsets, Model};

/// Which gradients to compute. Skipping the weights' skips about half of the backward pass's
/// matrix products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wants {
    pub weights: bool,
    pub soft: bool,
    pub prefix: bool,
}

impl Wants {
    /// Only the weights' gradient (ordinary training).
    pub const WEIGHTS: Wants = Wants {
        weights: true,
        soft: false,
        prefix: false,
    };
    /// Only the extras' gradients (soft prompting with frozen weights).
    pub const EXTRAS: Wants = Wants {
        weights: false,
        soft: true,
        prefix: true,
    };
    pub const ALL: Wants = Wants {
        weights: true,
        soft: true,
        prefix: true,
    };
}

/// Gradients of the loss, each laid out like its input. A field is `Some` when it was wanted and,
/// for the extras, when that extra was given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grads {
    pub weights: Option<Vec<f32>>,
    pub soft: Option<Vec<f32>>,
    pub prefix: Option<Vec<f32>>,
}

/// Two adjacent tensors (a of length `la` at `off`, b right after it) of a gradient vector.
fn pair(
    g: &mut Option<Vec<f32>>,
    off: usize,
    la: usize,
    lb: usize,
) -> Option<(&mut [f32], &mut [f32])> {
    g.as_mut().map(|g| g[off..off + la + lb].split_at_mut(la))
}

/// Back through one layer: `dx` holds the gradient of the layer's output and becomes that of its
/// input. Weight gradients go to `gw`, the prefix's (this layer's keys and values) to `dpre`.
fn layer_backward(
    model: &Model,
    lo: &LayerOffsets,
    tape: &LayerTape,
    d: &Dims,
    dx: &mut [f32],
    gw: &mut Option<Vec<f32>>,
    mut dpre: Option<(&mut [f32], &mut [f32])>,
) {
    let c = &model.config;
    let (w, mlp, n, m) = (c.width, c.mlp, d.rows(), d.keys());
    // MLP branch.
    let mut d_act = vec![0.0f32; n * mlp];
    let out_w = model.p(lo.out_w, mlp * w);
    let dwb = pair(gw, lo.out_w, mlp * w, w);
    linear_back(dx, &tape.fc_act, out_w, n, mlp, &mut d_act, false, dwb);
    d_act
        .iter_mut()
        .zip(&tape.fc_pre)
        .for_each(|(g, &x)| *g *= gelu_grad(x));
    let mut d_ln = vec![0.0f32; n * w];
    let dwb = pair(gw, lo.fc_w, w * mlp, mlp);
    linear_back(
        &d_act,
        &tape.ln2_out,
        model.p(lo.fc_w, w * mlp),
        n,
        w,
        &mut d_ln,
        false,
        dwb,
    );
    drop(d_act);
    let g2 = model.p(lo.ln2_g, w);
    let dgb = pair(gw, lo.ln2_g, w, w);
    layer_norm_back(&d_ln, &tape.ln2_xhat, &tape.ln2_rstd, g2, dx, dgb);
    // Attention branch.
    let mut d_att = vec![0.0f32; n * w];
    let dwb = pair(gw, lo.proj_w, w * w, w);
    linear_back(
        dx,
        &tape.att,
        model.p(lo.proj_w, w * w),
        n,
        w,
        &mut d_att,
        false,
        dwb,
    );
    let s = Shape {
        n: d.l,
        m,
        heads: c.heads,
        d: c.head_dim(),
        q_stride: 3 * w,
    };
    let mut dqkv = vec![0.0f32; n * 3 * w];
    let (mut dk, mut dv) = (vec![0.0f32; m * w], vec![0.0f32; m * w]);
    for (b, dq) in dqkv.chunks_exact_mut(d.l * 3 * w).enumerate() {
        let kv = b * m * w..(b + 1) * m * w;
        attention::backward(
            s,
            &tape.qkv[b * d.l * 3 * w..][..d.l * 3 * w],
            &tape.keys[kv.clone()],
            &tape.values[kv],
            &tape.probs[b * s.probs_len()..][..s.probs_len()],
            &d_att[b * d.l * w..][..d.l * w],
            dq,
            &mut dk,
            &mut dv,
        );
        if let Some((pk, pv)) = dpre.as_mut() {
            pk.iter_mut().zip(&dk[..d.p * w]).for_each(|(a, g)| *a += g);
            pv.iter_mut().zip(&dv[..d.p * w]).for_each(|(a, g)| *a += g);
        }
        for (j, row) in dq.chunks_exact_mut(3 * w).enumerate() {
            row[w..2 * w].copy_from_slice(&dk[(d.p + j) * w..][..w]);
            row[2 * w..].copy_from_slice(&dv[(d.p + j) * w..][..w]);
        }
    }
    drop(d_att);
    let dwb = pair(gw, lo.qkv_w, w * 3 * w, 3 * w);
    let qkv_w = model.p(lo.qkv_w, w * 3 * w);
    linear_back(&dqkv, &tape.ln1_out, qkv_w, n, w, &mut d_ln, false, dwb);
    let g1 = model.p(lo.ln1_g, w);
    let dgb = pair(gw, lo.ln1_g, w, w);
    layer_norm_back(&d_ln, &tape.ln1_xhat, &tape.ln1_rstd, g1, dx, dgb);
}

impl Model {
    /// The weighted mean cross-entropy and the wanted gradients.
    pub fn forward_backward(
        &self,
        inputs: &Inputs,
        targets: &Targets,
        wants: Wants,
    ) -> Result<(f32, Grads), String> {
        let d = inputs.dims(self)?;
        let (positions, weights) = loss_positions(self, &d, targets)?;
        let mut tape = forward(self, inputs, d, &positions);
        let (v, w) = (self.config.vocab, self.config.width);
        let loss = softmax_loss(&mut tape, targets, &weights, v);
        let den: f64 = weights.iter().map(|&x| x as f64).sum();
        for (s, &(b, i)) in positions.iter().enumerate() {
            let row = &mut tape.logits[s * v..][..v];
            row[targets.ids[b * d.t + i] as usize] -= 1.0;
            let f = (weights[s] as f64 / den) as f32;
            row.iter_mut().for_each(|g| *g *= f);
        }
        let lay = self.layout().clone();
        let mut gw = wants.weights.then(|| vec![0.0f32; self.param_count()]);
        let ns = positions.len();
        let mut dsel = vec![0.0f32; ns * w];
        let wte = self.p(lay.wte, v * w);
        gemm(
            View::new(&tape.logits, ns, v),
            View::new(wte, v, w),
            ViewMut::new(&mut dsel, ns, w),
            0.0,
        );
        if let Some(g) = gw.as_mut() {
            gemm(
                View::new(&tape.logits, ns, v).t(),
                View::new(&tape.lnf_out, ns, w),
                ViewMut::new(&mut g[lay.wte..lay.wte + v * w], v, w),
                0.0,
            );
        }
        let mut dx = vec![0.0f32; d.rows() * w];
        let mut dsel_in = vec![0.0f32; ns * w];
        let dgb = pair(&mut gw, lay.lnf_g, w, w);
        let gf = self.p(lay.lnf_g, w);
        layer_norm_back(&dsel, &tape.lnf_xhat, &tape.lnf_rstd, gf, &mut dsel_in, dgb);
        for (s, &r) in tape.rows.iter().enumerate() {
            dx[r * w..][..w].copy_from_slice(&dsel_in[s * w..][..w]);
        }
        let mut gp = match inputs.extras.prefix {
            Some(p) if wants.prefix => Some(vec![0.0f32; p.len()]),
            _ => None,
        };
        for l in (0..self.config.layers).rev() {
            let dpre = gp.as_mut().map(|g| {
                let n = d.p * w;
                g[2 * l * n..(2 * l + 2) * n].split_at_mut(n)
            });
            let (lo, tl) = (&lay.layers[l], &tape.layers[l]);
            layer_backward(self, lo, tl, &d, &mut dx, &mut gw, dpre);
        }
        let mut gs = match inputs.extras.soft {
            Some(s) if wants.soft => Some(vec![0.0f32; s.len()]),
            _ => None,
        };
        for b in 0..d.batch {
            for j in 0..d.l {
                let g = &dx[(b * d.l + j) * w..][..w];
                let add = |dst: &mut [f32]| dst.iter_mut().zip(g).for_each(|(a, x)| *a += x);
                if let Some(gw) = gw.as_mut() {
                    add(&mut gw[lay.wpe + j * w..][..w]);
                    if j >= d.k {
                        let tok = inputs.tokens[b * d.t + j - d.k] as usize;
                        add(&mut gw[lay.wte + tok * w..][..w]);
                    }
                }
                if let (Some(gs), true) = (gs.as_mut(), j < d.k) {
                    add(&mut gs[j * w..][..w]);
                }
            }
        }
        let grads = Grads {
            weights: gw,
            soft: gs,
            prefix: gp,
        };
        Ok((loss, grads))
    }
}

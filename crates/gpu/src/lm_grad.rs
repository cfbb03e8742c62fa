//! A soft prompt's (or a prefix's) gradient on the device: the language model's forward and
//! backward passes with frozen weights, composed from the engine's kernels (`lm_ops`, `matmul`),
//! the device's twin of `glassbox_lab::lm::Model::forward_backward` with `Wants::EXTRAS` (its CPU
//! reference). Forward: x = embed (soft rows, then tokens) + wpe; per layer
//!   x1 = x + Attn(ln1(x)) W_proj + b_proj,  x = x1 + gelu(ln2(x1) W_fc + b_fc) W_out + b_out;
//! logits z = ln_f(x) wte^T on the rows that carry loss; L = sum_i w_i nll_i / sum_i w_i.
//! Backward, the weights frozen (no weight gradients): dz = w (softmax - onehot) / sum w,
//! dh = dz wte, back through ln_f, then per layer (last first) the MLP branch and the attention
//! branch, each adding its input gradient to the residual stream's; the soft prompt's gradient is
//! the stream's at rows 0 .. K summed over the batch, the prefix's the attention's key and value
//! gradients. Each kernel is one submission with its read-back; the glue (row selection, sums)
//! is on the CPU.

use crate::{Gpu, GpuError};
use glassbox_lab::kernels::MatmulShape;
use glassbox_lab::lm::{Inputs, Model, Targets};

/// What one layer's forward pass keeps for the backward pass.
struct Tape {
    x_in: Vec<f32>,
    mean1: Vec<f32>,
    rstd1: Vec<f32>,
    qkv: Vec<f32>,
    probs: Vec<f32>,
    x_mid: Vec<f32>,
    mean2: Vec<f32>,
    rstd2: Vec<f32>,
    fc_pre: Vec<f32>,
}

fn invalid(e: String) -> GpuError {
    GpuError::Invalid(e)
}

impl Gpu {
    /// `a` (m x k) times `b` (k x n), or times b^T when `b_t` (b stored n x k).
    async fn lm_mul(
        &self,
        a: &[f32],
        b: &[f32],
        (m, k, n): (usize, usize, usize),
        b_t: bool,
    ) -> Result<Vec<f32>, GpuError> {
        let mut s = MatmulShape::new(m, k, n);
        s.b_transposed = b_t;
        self.matmul(a, b, s).await
    }

    /// The loss and the gradients of the soft prompt and the prefix given in `inputs` (each None
    /// when not given), the model frozen.
    pub async fn lm_extras_grad(
        &self,
        model: &Model,
        inputs: &Inputs<'_>,
        targets: &Targets<'_>,
    ) -> Result<(f32, Option<Vec<f32>>, Option<Vec<f32>>), GpuError> {
        let c = model.config;
        let lay = model.layout();
        let (w, heads, hd, mlp, v) = (c.width, c.heads, c.head_dim(), c.mlp, c.vocab);
        let soft = inputs.extras.soft.unwrap_or(&[]);
        let k = soft.len() / w;
        let (b, t) = (inputs.batch, inputs.t);
        let l = k + t;
        let n = b * l;
        let p_rows = match inputs.extras.prefix {
            Some(p) => p.len() / (2 * c.layers * w),
            None => 0,
        };
        model.check_batch(inputs, targets).map_err(invalid)?;
        let weights: Vec<f32> = match targets.weights {
            Some(ws) => ws.to_vec(),
            None => vec![1.0; b * t],
        };
        let prm = |off: usize, len: usize| &model.params[off..off + len];
        let prefix_kv = |layer: usize| match inputs.extras.prefix {
            Some(p) if p_rows > 0 => {
                let s = p_rows * w;
                (&p[2 * layer * s..][..s], &p[(2 * layer + 1) * s..][..s])
            }
            _ => (&[][..], &[][..]),
        };
        let mut x = self
            .lm_embed(
                inputs.tokens,
                b,
                prm(lay.wte, v * w),
                prm(lay.wpe, c.context * w),
                soft,
                w,
            )
            .await?;
        let mut tapes = Vec::with_capacity(c.layers);
        for (li, o) in lay.layers.iter().enumerate() {
            let (ln1, mean1, rstd1) = self
                .lm_layer_norm(&x, prm(o.ln1_g, w), prm(o.ln1_b, w))
                .await?;
            let qkv = self
                .lm_mul(&ln1, prm(o.qkv_w, w * 3 * w), (n, w, 3 * w), false)
                .await?;
            let qkv = self.lm_add(&qkv, None, prm(o.qkv_b, 3 * w)).await?;
            let (pk, pv) = prefix_kv(li);
            let (att, probs) = self.lm_attention(&qkv, pk, pv, b, l, heads, hd).await?;
            let y = self
                .lm_mul(&att, prm(o.proj_w, w * w), (n, w, w), false)
                .await?;
            let x_mid = self.lm_add(&y, Some(&x), prm(o.proj_b, w)).await?;
            let (ln2, mean2, rstd2) = self
                .lm_layer_norm(&x_mid, prm(o.ln2_g, w), prm(o.ln2_b, w))
                .await?;
            let fc = self
                .lm_mul(&ln2, prm(o.fc_w, w * mlp), (n, w, mlp), false)
                .await?;
            let fc_pre = self.lm_add(&fc, None, prm(o.fc_b, mlp)).await?;
            let act = self.lm_gelu(&fc_pre).await?;
            let y = self
                .lm_mul(&act, prm(o.out_w, mlp * w), (n, mlp, w), false)
                .await?;
            let x_out = self.lm_add(&y, Some(&x_mid), prm(o.out_b, w)).await?;
            tapes.push(Tape {
                x_in: std::mem::replace(&mut x, x_out),
                mean1,
                rstd1,
                qkv,
                probs,
                x_mid,
                mean2,
                rstd2,
                fc_pre,
            });
        }
        // The rows that carry loss, their ln_f and logits.
        let picked: Vec<usize> = (0..b * t).filter(|&i| weights[i] > 0.0).collect();
        let rows: Vec<usize> = picked.iter().map(|&i| (i / t) * l + k + i % t).collect();
        let sel: Vec<f32> = rows
            .iter()
            .flat_map(|&r| &x[r * w..][..w])
            .copied()
            .collect();
        let s = rows.len();
        let (lnf, meanf, rstdf) = self
            .lm_layer_norm(&sel, prm(lay.lnf_g, w), prm(lay.lnf_b, w))
            .await?;
        let logits = self
            .lm_mul(&lnf, prm(lay.wte, v * w), (s, w, v), true)
            .await?;
        let ids: Vec<u32> = picked.iter().map(|&i| targets.ids[i]).collect();
        let ws: Vec<f32> = picked.iter().map(|&i| weights[i]).collect();
        let (loss, _, dlogits) = self.lm_cross_entropy(&logits, &ids, Some(&ws)).await?;
        // Backward.
        let dlnf = self
            .lm_mul(&dlogits, prm(lay.wte, v * w), (s, v, w), false)
            .await?;
        let (dsel, _, _) = self
            .lm_layer_norm_backward(&dlnf, &sel, prm(lay.lnf_g, w), &meanf, &rstdf)
            .await?;
        let mut dx = vec![0.0f32; n * w];
        for (j, &r) in rows.iter().enumerate() {
            dx[r * w..][..w].copy_from_slice(&dsel[j * w..][..w]);
        }
        let mut dprefix = inputs.extras.prefix.map(|p| vec![0.0f32; p.len()]);
        for (li, o) in lay.layers.iter().enumerate().rev() {
            let tp = &tapes[li];
            // MLP branch: x = x_mid + gelu(ln2(x_mid) W_fc + b_fc) W_out + b_out.
            let d_act = self
                .lm_mul(&dx, prm(o.out_w, mlp * w), (n, w, mlp), true)
                .await?;
            let d_pre = self.lm_gelu_backward(&tp.fc_pre, &d_act).await?;
            let d_ln2 = self
                .lm_mul(&d_pre, prm(o.fc_w, w * mlp), (n, mlp, w), true)
                .await?;
            let (d_mid, _, _) = self
                .lm_layer_norm_backward(&d_ln2, &tp.x_mid, prm(o.ln2_g, w), &tp.mean2, &tp.rstd2)
                .await?;
            dx.iter_mut().zip(&d_mid).for_each(|(a, g)| *a += g);
            // Attention branch: x_mid = x_in + Attn(ln1(x_in)) W_proj + b_proj.
            let d_att = self
                .lm_mul(&dx, prm(o.proj_w, w * w), (n, w, w), true)
                .await?;
            let (pk, pv) = prefix_kv(li);
            let (dqkv, dpk, dpv) = self
                .lm_attention_backward(&tp.qkv, pk, pv, &tp.probs, &d_att, b, l, heads, hd)
                .await?;
            if let Some(g) = dprefix.as_mut() {
                let s = p_rows * w;
                g[2 * li * s..][..s].copy_from_slice(&dpk);
                g[(2 * li + 1) * s..][..s].copy_from_slice(&dpv);
            }
            let d_ln1 = self
                .lm_mul(&dqkv, prm(o.qkv_w, w * 3 * w), (n, 3 * w, w), true)
                .await?;
            let (d_in, _, _) = self
                .lm_layer_norm_backward(&d_ln1, &tp.x_in, prm(o.ln1_g, w), &tp.mean1, &tp.rstd1)
                .await?;
            dx.iter_mut().zip(&d_in).for_each(|(a, g)| *a += g);
        }
        let dsoft = inputs.extras.soft.map(|_| {
            let mut g = vec![0.0f32; k * w];
            for bi in 0..b {
                for (a, x) in g.iter_mut().zip(&dx[bi * l * w..][..k * w]) {
                    *a += x;
                }
            }
            g
        });
        Ok((loss, dsoft, dprefix))
    }
}

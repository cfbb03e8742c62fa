//! The language model's kernels (src/kernels/lm_*.wgsl), each taking and returning host slices.
//! CPU references: `glassbox_lab::lm::{layers, attention}` (the embedding and the loss are inline
//! in the lab's forward and backward passes; the parity tests restate them).
//!
//! - Layer norm over the d-wide rows of x: y = (x - mean) rstd g + b, rstd = 1 / sqrt(var + 1e-5);
//!   backward with xhat = (x - mean) rstd, dxhat = g dy: dx = rstd (dxhat - mean dxhat - xhat
//!   mean(dxhat xhat)), dg = sum over rows dy xhat, db = sum over rows dy.
//! - GELU (tanh form): y = x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3), and dy/dx.
//! - Causal attention of a batch of sequences, qkv = [q | k | v] (batch t rows of 3 width), heads
//!   of dh columns, n_p prefix keys and values (shared by the batch) ahead of each sequence's own:
//!   S = Q K^T / sqrt(dh), P = softmax over the keys query i sees (j < n_p + i + 1), O = P V;
//!   backward: dV = P^T dO, dS = P (dO V^T - rowsum(P dO V^T)) / sqrt(dh), dQ = dS K, dK = dS^T Q,
//!   the prefix's gradients summed over the batch.
//! - Embedding: x[b L + j] = (j < K ? soft[j] : wte[token]) + wpe[j]; its gradient scatters dx back
//!   (d_wte by token id, d_wpe and d_soft by position), in fixed order: no float atomics.
//! - Weighted cross-entropy of logits z: nll = logsumexp z - z[y], loss = sum w nll / sum w,
//!   dz = w (softmax z - onehot y) / sum w.
//!
//! The pipelines are compiled with the engine's others (`ops::Kernels`). Integer data (token ids, targets, row lists) travel as exact f32 values.

use crate::ops::grid;
use crate::{Gpu, GpuError};

fn f(v: f32) -> u32 {
    v.to_bits()
}

fn same_len(what: &str, got: usize, want: usize) -> Result<(), GpuError> {
    if got == want {
        Ok(())
    } else {
        Err(GpuError::Invalid(format!(
            "{what} has {got} values, want {want}"
        )))
    }
}

/// The product of `sizes`, or `Invalid` if it overflows.
fn product(what: &str, sizes: &[usize]) -> Result<usize, GpuError> {
    sizes
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .ok_or_else(|| GpuError::Invalid(format!("{what}: sizes {sizes:?} overflow")))
}

/// `v` as an exact f32 (integers below 2^24), or `Invalid`.
fn exact(what: &str, v: usize) -> Result<f32, GpuError> {
    if v < 1 << 24 {
        Ok(v as f32)
    } else {
        Err(GpuError::Invalid(format!(
            "{what} {v} is too large to travel as an exact f32 (at most 2^24 - 1)"
        )))
    }
}

fn positive(what: &str, v: usize) -> Result<(), GpuError> {
    if v == 0 {
        Err(GpuError::Invalid(format!("{what} is 0, want at least 1")))
    } else {
        Ok(())
    }
}

impl Gpu {
    /// Layer norm of the `g.len()`-wide rows of `x` (eps `glassbox_lab::lm::layers::LN_EPS`):
    /// (y, mean per row, rstd = 1 / sqrt(var + eps) per row).
    /// CPU reference: `glassbox_lab::lm::layers::layer_norm`.
    pub async fn lm_layer_norm(
        &self,
        x: &[f32],
        g: &[f32],
        b: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), GpuError> {
        let d = g.len();
        positive("layer norm width", d)?;
        same_len("layer norm shift", b.len(), d)?;
        if !x.len().is_multiple_of(d) {
            return Err(GpuError::Invalid(format!(
                "layer norm input has {} values, not a multiple of the width {d}",
                x.len()
            )));
        }
        let n = x.len() / d;
        self.check_alive()?;
        let k = &self.kernels;
        let dims = vec![n as u32, d as u32, f(glassbox_lab::lm::layers::LN_EPS)];
        let gb = [g, b].concat();
        let len = n * d + 2 * n;
        let out = self
            .run_passes(&[(&k.lm_layer_norm, dims, grid(n, 1))], &[x, &gb], len, len)
            .await?;
        Ok((
            out[..n * d].to_vec(),
            out[n * d..n * d + n].to_vec(),
            out[n * d + n..].to_vec(),
        ))
    }

    /// The layer norm's backward pass from the forward's `mean` and `rstd`: (dx, dg, db), dg and db
    /// summed over the rows. CPU reference: `glassbox_lab::lm::layers::layer_norm_back`.
    pub async fn lm_layer_norm_backward(
        &self,
        dy: &[f32],
        x: &[f32],
        g: &[f32],
        mean: &[f32],
        rstd: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), GpuError> {
        let (n, d) = (mean.len(), g.len());
        positive("layer norm width", d)?;
        let nd = product("layer norm", &[n, d])?;
        same_len("layer norm input", x.len(), nd)?;
        same_len("layer norm dy", dy.len(), nd)?;
        same_len("layer norm rstd", rstd.len(), n)?;
        self.check_alive()?;
        let k = &self.kernels;
        let gms = [g, mean, rstd].concat();
        let len = nd + 2 * d;
        let passes = [
            (
                &k.lm_layer_norm_backward,
                vec![n as u32, d as u32, 0],
                grid(n, 1),
            ),
            (
                &k.lm_layer_norm_backward,
                vec![n as u32, d as u32, 1],
                grid(d, 1),
            ),
        ];
        let out = self.run_passes(&passes, &[dy, x, &gms], len, len).await?;
        Ok((
            out[..nd].to_vec(),
            out[nd..nd + d].to_vec(),
            out[nd + d..].to_vec(),
        ))
    }

    /// GELU (tanh form) of every element. CPU reference: `glassbox_lab::lm::layers::gelu`.
    pub async fn lm_gelu(&self, x: &[f32]) -> Result<Vec<f32>, GpuError> {
        self.check_alive()?;
        let k = &self.kernels;
        let dims = vec![x.len() as u32, 0];
        self.run_passes(
            &[(&k.lm_gelu, dims, grid(x.len(), 256))],
            &[x, &[]],
            x.len(),
            x.len(),
        )
        .await
    }

    /// x + bias (broadcast over rows of `bias.len()`), plus `y` when given: a linear layer's bias
    /// and the residual stream, in place on the device. CPU reference: the additions in
    /// `glassbox_lab::lm::layers::linear` and the forward pass's residual updates.
    pub async fn lm_add(
        &self,
        x: &[f32],
        y: Option<&[f32]>,
        bias: &[f32],
    ) -> Result<Vec<f32>, GpuError> {
        positive("bias length", bias.len())?;
        if !x.len().is_multiple_of(bias.len()) {
            return Err(GpuError::Invalid(format!(
                "{} values are not rows of the bias's {}",
                x.len(),
                bias.len()
            )));
        }
        if let Some(y) = y {
            same_len("residual branch", y.len(), x.len())?;
        }
        self.check_alive()?;
        let xb = self.resident("x", x.len(), Some(x));
        let bb = self.storage("bias", bias);
        let yb = self.storage("y", y.unwrap_or(bias));
        let dims = [x.len() as u32, bias.len() as u32, y.is_some() as u32];
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("lm_add"),
            });
        let bind = [&bb, &yb, &xb];
        self.encode(
            &mut enc,
            &self.kernels.lm_add,
            &dims,
            &bind,
            grid(x.len(), 256),
        );
        self.submit_and_read(enc, &xb, x.len()).await
    }

    /// dx = dy gelu'(x). CPU reference: `glassbox_lab::lm::layers::gelu_grad`.
    pub async fn lm_gelu_backward(&self, x: &[f32], dy: &[f32]) -> Result<Vec<f32>, GpuError> {
        same_len("gelu dy", dy.len(), x.len())?;
        self.check_alive()?;
        let k = &self.kernels;
        let dims = vec![x.len() as u32, 1];
        self.run_passes(
            &[(&k.lm_gelu, dims, grid(x.len(), 256))],
            &[x, dy],
            x.len(),
            x.len(),
        )
        .await
    }

    /// Sizes of an attention call: (width, keys per sequence m = P + t, P, uniform words), after
    /// checking the operands' lengths.
    fn lm_attention_dims(
        qkv: &[f32],
        prefix_k: &[f32],
        prefix_v: &[f32],
        (batch, t, heads, head_dim): (usize, usize, usize, usize),
    ) -> Result<(usize, usize, usize, Vec<u32>), GpuError> {
        positive("attention batch", batch)?;
        positive("attention sequence length", t)?;
        positive("attention heads", heads)?;
        positive("attention head dimension", head_dim)?;
        let width = product("attention width", &[heads, head_dim])?;
        same_len(
            "attention qkv",
            qkv.len(),
            product("attention qkv", &[batch, t, 3, width])?,
        )?;
        same_len("attention prefix values", prefix_v.len(), prefix_k.len())?;
        if !prefix_k.len().is_multiple_of(width) {
            return Err(GpuError::Invalid(format!(
                "attention prefix keys have {} values, not a multiple of the width {width}",
                prefix_k.len()
            )));
        }
        let p = prefix_k.len() / width;
        let m = p + t;
        let dims = vec![
            batch as u32,
            t as u32,
            heads as u32,
            head_dim as u32,
            p as u32,
            f(1.0 / (head_dim as f32).sqrt()),
        ];
        Ok((width, m, p, dims))
    }

    /// Causal multi-head attention of `batch` sequences of `t` rows, laid out as the language
    /// model's: `qkv` is batch t rows of [q | k | v] (each `heads` x `head_dim` wide, head h at
    /// columns h head_dim ..); `prefix_k`, `prefix_v` are P rows of width each (P may be 0) that
    /// every query sees ahead of its sequence's own keys. Returns (the attention output, batch t x
    /// width; the probabilities, batch x heads x t x (P + t), zero where masked).
    /// CPU reference: `glassbox_lab::lm::attention::forward` per sequence.
    #[allow(clippy::too_many_arguments)]
    pub async fn lm_attention(
        &self,
        qkv: &[f32],
        prefix_k: &[f32],
        prefix_v: &[f32],
        batch: usize,
        t: usize,
        heads: usize,
        head_dim: usize,
    ) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        let (width, m, _, dims) =
            Self::lm_attention_dims(qkv, prefix_k, prefix_v, (batch, t, heads, head_dim))?;
        let att_len = product("attention output", &[batch, t, width])?;
        let probs_len = product("attention probabilities", &[batch, heads, t, m])?;
        self.check_alive()?;
        let k = &self.kernels;
        let pre = [prefix_k, prefix_v].concat();
        let mut dims = dims;
        dims.push(prefix_k.len() as u32);
        let len = att_len + probs_len;
        let out = self
            .run_passes(
                &[(&k.lm_attention, dims, grid(batch * heads * t, 1))],
                &[qkv, &pre],
                len,
                len,
            )
            .await?;
        Ok((out[..att_len].to_vec(), out[att_len..].to_vec()))
    }

    /// The attention's backward pass from the forward's probabilities and the output's gradient
    /// `dout` (batch t x width): (dqkv laid out like `qkv`, d prefix_k, d prefix_v), the prefix's
    /// gradients summed over the batch. CPU reference: `glassbox_lab::lm::attention::backward`
    /// per sequence.
    #[allow(clippy::too_many_arguments)]
    pub async fn lm_attention_backward(
        &self,
        qkv: &[f32],
        prefix_k: &[f32],
        prefix_v: &[f32],
        probs: &[f32],
        dout: &[f32],
        batch: usize,
        t: usize,
        heads: usize,
        head_dim: usize,
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), GpuError> {
        let (width, m, p, dims) =
            Self::lm_attention_dims(qkv, prefix_k, prefix_v, (batch, t, heads, head_dim))?;
        let probs_len = product("attention probabilities", &[batch, heads, t, m])?;
        same_len("attention probabilities", probs.len(), probs_len)?;
        same_len("attention output gradient", dout.len(), batch * t * width)?;
        self.check_alive()?;
        let k = &self.kernels;
        let src = [qkv, prefix_k, prefix_v].concat();
        let grads = qkv.len() + 2 * p * width;
        let len = grads
            .checked_add(probs_len)
            .ok_or_else(|| GpuError::Invalid("attention backward sizes overflow".into()))?;
        let passes = [
            (
                &k.lm_attention_backward,
                dims.clone(),
                grid(batch * heads * t, 1),
            ),
            (
                &k.lm_attention_kv_grad,
                dims,
                grid((batch * t + p) * width, 64),
            ),
        ];
        let out = self
            .run_passes(&passes, &[&src, probs, dout], len, grads)
            .await?;
        let pw = p * width;
        Ok((
            out[..qkv.len()].to_vec(),
            out[qkv.len()..qkv.len() + pw].to_vec(),
            out[qkv.len() + pw..].to_vec(),
        ))
    }

    /// The language model's input rows for `batch` sequences of `tokens.len() / batch` ids: the
    /// K = `soft.len() / width` soft-prompt vectors, then the tokens' rows of `wte`, each plus its
    /// position's row of `wpe` (K + t <= wpe's rows). Returns batch (K + t) rows of width.
    pub async fn lm_embed(
        &self,
        tokens: &[u32],
        batch: usize,
        wte: &[f32],
        wpe: &[f32],
        soft: &[f32],
        width: usize,
    ) -> Result<Vec<f32>, GpuError> {
        let (t, k, vocab) = embed_dims(tokens.len(), batch, wte, wpe, soft, width)?;
        if let Some(i) = tokens.iter().position(|&id| id as usize >= vocab) {
            return Err(GpuError::Invalid(format!(
                "token {i} is {}, outside the vocabulary of {vocab}",
                tokens[i]
            )));
        }
        let ids = tokens
            .iter()
            .map(|&id| exact("token id", id as usize))
            .collect::<Result<Vec<f32>, _>>()?;
        let len = product("embedding output", &[batch, k + t, width])?;
        self.check_alive()?;
        let kern = &self.kernels;
        let dims = vec![batch as u32, t as u32, k as u32, width as u32, 0];
        self.run_passes(
            &[(&kern.lm_embed, dims, grid(len, 256))],
            &[&ids, wte, wpe, soft],
            len,
            len,
        )
        .await
    }

    /// The embedding's gradient from `dx` (batch (K + t) rows of width, K = `soft_rows`):
    /// (d_wte, vocab x width; d_wpe, context x width, zero past K + t; d_soft, K x width), each row
    /// the sum of the dx rows that read it, in increasing row order.
    #[allow(clippy::too_many_arguments)]
    pub async fn lm_embed_backward(
        &self,
        dx: &[f32],
        tokens: &[u32],
        batch: usize,
        vocab: usize,
        context: usize,
        soft_rows: usize,
        width: usize,
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), GpuError> {
        positive("embedding batch", batch)?;
        positive("embedding width", width)?;
        positive("vocabulary", vocab)?;
        if !tokens.len().is_multiple_of(batch) || tokens.is_empty() {
            return Err(GpuError::Invalid(format!(
                "{} tokens do not make {batch} sequences of at least one",
                tokens.len()
            )));
        }
        let t = tokens.len() / batch;
        let (k, l) = (soft_rows, soft_rows + t);
        if l > context {
            return Err(GpuError::Invalid(format!(
                "{k} soft vectors + {t} tokens exceed the context of {context}"
            )));
        }
        let rows = product("embedding gradient", &[batch, l])?;
        same_len(
            "embedding gradient dx",
            dx.len(),
            product("embedding gradient", &[rows, width])?,
        )?;
        if let Some(i) = tokens.iter().position(|&id| id as usize >= vocab) {
            return Err(GpuError::Invalid(format!(
                "token {i} is {}, outside the vocabulary of {vocab}",
                tokens[i]
            )));
        }
        exact("embedding row count", rows)?;
        // Per id, the dx rows holding it, in increasing order (a counting sort).
        let mut offsets = vec![0usize; vocab + 1];
        for &id in tokens {
            offsets[id as usize + 1] += 1;
        }
        for v in 0..vocab {
            offsets[v + 1] += offsets[v];
        }
        let mut next = offsets.clone();
        let mut list = vec![0.0f32; tokens.len()];
        for (i, &id) in tokens.iter().enumerate() {
            let (b, j) = (i / t, i % t);
            list[next[id as usize]] = (b * l + k + j) as f32;
            next[id as usize] += 1;
        }
        let lists: Vec<f32> = offsets.iter().map(|&o| o as f32).chain(list).collect();
        let out_rows = vocab
            .checked_add(context)
            .and_then(|r| r.checked_add(k))
            .ok_or_else(|| GpuError::Invalid("embedding gradient sizes overflow".into()))?;
        let len = product("embedding gradient", &[out_rows, width])?;
        self.check_alive()?;
        let kern = &self.kernels;
        let dims = vec![
            batch as u32,
            t as u32,
            k as u32,
            width as u32,
            vocab as u32,
            context as u32,
        ];
        let out = self
            .run_passes(
                &[(&kern.lm_embed_backward, dims, grid(len, 256))],
                &[dx, &lists],
                len,
                len,
            )
            .await?;
        let (a, b) = (vocab * width, (vocab + context) * width);
        Ok((out[..a].to_vec(), out[a..b].to_vec(), out[b..].to_vec()))
    }

    /// Cross-entropy of each row of `logits` (n x vocab, n = `targets.len()`) against its target,
    /// weighted by `weights` (n values >= 0, 0 = no loss; None = all 1, sum > 0): (the weighted
    /// mean loss sum w nll / sum w, summed in f64; each row's nll = logsumexp - z[target],
    /// unweighted; dlogits = w (softmax - onehot) / sum w). As the lab's forward and backward.
    pub async fn lm_cross_entropy(
        &self,
        logits: &[f32],
        targets: &[u32],
        weights: Option<&[f32]>,
    ) -> Result<(f32, Vec<f32>, Vec<f32>), GpuError> {
        let n = targets.len();
        positive("cross-entropy rows", n)?;
        if logits.is_empty() || !logits.len().is_multiple_of(n) {
            return Err(GpuError::Invalid(format!(
                "{} logits do not make {n} rows of at least one",
                logits.len()
            )));
        }
        let v = logits.len() / n;
        if let Some(i) = targets.iter().position(|&y| y as usize >= v) {
            return Err(GpuError::Invalid(format!(
                "target {i} is {}, outside the vocabulary of {v}",
                targets[i]
            )));
        }
        let w: Vec<f32> = match weights {
            None => vec![1.0; n],
            Some(ws) => {
                same_len("cross-entropy weights", ws.len(), n)?;
                if let Some(i) = ws.iter().position(|w| !w.is_finite() || *w < 0.0) {
                    return Err(GpuError::Invalid(format!(
                        "weight {i} is {}, want finite and >= 0",
                        ws[i]
                    )));
                }
                ws.to_vec()
            }
        };
        let den: f64 = w.iter().map(|&x| x as f64).sum();
        if den <= 0.0 {
            return Err(GpuError::Invalid(
                "every weight is 0: no row to take the loss at".into(),
            ));
        }
        let mut tf = targets
            .iter()
            .map(|&y| exact("target", y as usize))
            .collect::<Result<Vec<f32>, _>>()?;
        tf.extend(w.iter().map(|&x| (x as f64 / den) as f32));
        self.check_alive()?;
        let k = &self.kernels;
        let len = n * v + n;
        let out = self
            .run_passes(
                &[(&k.lm_cross_entropy, vec![n as u32, v as u32], grid(n, 1))],
                &[logits, &tf],
                len,
                len,
            )
            .await?;
        let nll = out[n * v..].to_vec();
        let num: f64 = w.iter().zip(&nll).map(|(&a, &b)| a as f64 * b as f64).sum();
        Ok(((num / den) as f32, nll, out[..n * v].to_vec()))
    }
}

/// (t, K, vocab) of an embedding call, after checking the operands.
fn embed_dims(
    tokens: usize,
    batch: usize,
    wte: &[f32],
    wpe: &[f32],
    soft: &[f32],
    width: usize,
) -> Result<(usize, usize, usize), GpuError> {
    positive("embedding batch", batch)?;
    positive("embedding width", width)?;
    if tokens == 0 || !tokens.is_multiple_of(batch) {
        return Err(GpuError::Invalid(format!(
            "{tokens} tokens do not make {batch} sequences of at least one"
        )));
    }
    for (what, m) in [("wte", wte), ("wpe", wpe), ("soft prompt", soft)] {
        if !m.len().is_multiple_of(width) {
            return Err(GpuError::Invalid(format!(
                "{what} has {} values, not a multiple of the width {width}",
                m.len()
            )));
        }
    }
    let (t, k, vocab, context) = (
        tokens / batch,
        soft.len() / width,
        wte.len() / width,
        wpe.len() / width,
    );
    positive("vocabulary", vocab)?;
    if k + t > context {
        return Err(GpuError::Invalid(format!(
            "{k} soft vectors + {t} tokens exceed the context of {context}"
        )));
    }
    Ok((t, k, vocab))
}

//! The network from convolution `s` on, in evaluation mode, on the device: the GPU twin of
//! `glassbox_lab::shift::suffix` (surgical fine-tuning). Batch-norm uses the running statistics,
//! constants, so every image is computed alone:
//!   prefix: conv2d -> bn_apply (+ReLU, running statistics) -> [maxpool] for convolutions 0..s;
//!   from s: the same for convolutions s.., then head_forward; softmax_ce gives each image's loss
//!   and dL/dz = (softmax(z) - onehot(y)) / n;
//!   backward, per block i from the last down to the lowest tuned one (never below s):
//!   [maxpool_backward] -> bn_backward_eval (dy = da [y > 0], dz = dy gamma / sqrt(var + eps),
//!   dgamma = sum dy x_hat, dbeta = sum dy) -> conv2d_weight_grad (dW = sum dz x, only for a tuned
//!   weight) and conv2d flipped, the input gradient (only above the lowest tuned block).
//! A chunk of n images of a batch of B contributes dL/dz scaled by n / B; every gradient is linear
//! in dL/dz (the ReLU masks and the pooling arg-maxes come from the forward pass), so the scale is
//! applied to the gradients read back.

use crate::network::{conv_shape, encode_bn_pool, encode_conv, f, GpuNetwork};
use crate::ops::{conv_pass, grid};
use crate::{Gpu, GpuError};
use glassbox_lab::shift::Tensor;
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::nn::BN_EPS;
use std::ops::Range;

/// What a backward pass needs from an evaluation-mode forward pass over some blocks.
struct Eval {
    /// acts[j]: the input of the range's j-th block; the last: the output of its last block. A
    /// pooled block's output holds the pooled values, then the arg-max indices.
    acts: Vec<wgpu::Buffer>,
    x_hat: Vec<wgpu::Buffer>,
    y: Vec<wgpu::Buffer>,
}

/// A piece of a device buffer to read back: (buffer, offset, length), in f32s.
type Piece = (wgpu::Buffer, usize, usize);

impl GpuNetwork {
    /// Values entering convolution `i` for `n` images (i = number of convolutions: the head's input).
    fn input_len(&self, i: usize, n: usize) -> usize {
        match self.blocks.get(i) {
            Some(b) => n.saturating_mul(b.c_in * b.size * b.size),
            None => {
                let h = self.template.head_shape(1);
                n.saturating_mul(h.c * h.hw)
            }
        }
    }

    /// `data` is `n` images entering convolution `s`, and the blocks `run` fit the adapter.
    fn check_suffix(
        &self,
        gpu: &Gpu,
        s: usize,
        data: &[f32],
        n: usize,
        run: Range<usize>,
    ) -> Result<(), GpuError> {
        gpu.check_alive()?;
        let convs = self.blocks.len();
        if s > convs {
            return Err(GpuError::Invalid(format!(
                "convolution {s} does not exist: the network has {convs}"
            )));
        }
        let want = self.input_len(s, n);
        if n == 0 || data.len() != want {
            return Err(GpuError::Invalid(format!(
                "{n} images entering convolution {s} need {want} values, got {}",
                data.len()
            )));
        }
        let largest = self.blocks[run]
            .iter()
            .map(|b| {
                n.saturating_mul(b.c_out.max(b.c_in) * b.size * b.size)
                    .saturating_add(2 * b.c_out)
            })
            .chain([want, self.input_len(convs, n)])
            .max()
            .unwrap_or(0);
        crate::network::fits(gpu, n, largest)
    }

    /// Blocks `run` in evaluation mode on `input` (n images); x_hat and y are kept for the blocks
    /// from `keep_from` on.
    fn encode_eval(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        run: Range<usize>,
        input: wgpu::Buffer,
        n: usize,
        keep_from: usize,
    ) -> Eval {
        let mut ev = Eval {
            acts: vec![input],
            x_hat: Vec::new(),
            y: Vec::new(),
        };
        for i in run {
            let b = &self.blocks[i];
            let x = ev.acts.last().expect("the input");
            let z = encode_conv(gpu, enc, b, x, n);
            let (out, x_hat, y) = encode_bn_pool(gpu, enc, b, &z, &b.running, n, i >= keep_from);
            ev.acts.push(out);
            ev.x_hat.push(x_hat);
            ev.y.push(y);
        }
        ev
    }

    fn encode_head(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        a: &wgpu::Buffer,
        n: usize,
    ) -> wgpu::Buffer {
        let s = self.template.head_shape(n);
        let logits = gpu.resident("logits", n * s.k, None);
        gpu.encode(
            enc,
            &gpu.kernels.head_forward,
            &[s.n, s.c, s.hw, s.k].map(|v| v as u32),
            &[a, &self.fc, &logits],
            grid(s.n * s.k, 64),
        );
        logits
    }

    /// Activations entering convolution `s` (eval mode) for n images x (N x 1 x 32 x 32).
    pub async fn prefix(
        &self,
        gpu: &Gpu,
        s: usize,
        x: &[f32],
        n: usize,
    ) -> Result<Vec<f32>, GpuError> {
        if s > self.blocks.len() {
            return Err(GpuError::Invalid(format!(
                "convolution {s} does not exist: the network has {}",
                self.blocks.len()
            )));
        }
        self.check_suffix(gpu, 0, x, n, 0..s)?;
        let mut enc = Self::encoder(gpu, "network prefix");
        let input = gpu.resident("images", x.len(), Some(x));
        let ev = self.encode_eval(gpu, &mut enc, 0..s, input, n, usize::MAX);
        let out = ev.acts.last().expect("the input");
        gpu.submit_and_read(enc, out, self.input_len(s, n)).await
    }

    /// Logits of n images whose activations entering conv s are `act` (eval mode).
    pub async fn logits_from(
        &self,
        gpu: &Gpu,
        s: usize,
        act: &[f32],
        n: usize,
    ) -> Result<Vec<f32>, GpuError> {
        let convs = self.blocks.len();
        self.check_suffix(gpu, s, act, n, s.min(convs)..convs)?;
        let mut enc = Self::encoder(gpu, "network suffix forward");
        let input = gpu.resident("suffix input", act.len(), Some(act));
        let ev = self.encode_eval(gpu, &mut enc, s..convs, input, n, usize::MAX);
        let logits = self.encode_head(gpu, &mut enc, ev.acts.last().expect("the input"), n);
        gpu.submit_and_read(enc, &logits, n * self.template.classes())
            .await
    }

    /// The GPU twin of lab's `accumulate_grads`, but returning instead of adding:
    /// (loss summed over the n images, one gradient Vec per entry of `tensors`, in that order),
    /// with dlogits scaled by n / batch exactly as the lab does. Records all dispatches in one command
    /// buffer and reads back only the loss terms and the requested gradients.
    ///
    /// Every tensor must belong to convolution `s` or a later one, or to the head. The backward pass
    /// stops at the lowest convolution with a requested tensor (the gradients of the tensors above
    /// it do not depend on the blocks below).
    pub async fn suffix_grads(
        &self,
        gpu: &Gpu,
        s: usize,
        tensors: &[Tensor],
        act: &[f32],
        labels: &[u32],
        batch: usize,
    ) -> Result<(f64, Vec<Vec<f32>>), GpuError> {
        let n = labels.len();
        let convs = self.blocks.len();
        self.check_suffix(gpu, s, act, n, s.min(convs)..convs)?;
        self.check_labels(labels)?;
        if batch == 0 {
            return Err(GpuError::Invalid("the batch has no images".into()));
        }
        for t in tensors {
            match t.conv() {
                Some(i) if i >= convs => {
                    return Err(GpuError::Invalid(format!(
                        "{} does not exist: the network has {convs} convolutions",
                        t.name()
                    )))
                }
                Some(i) if i < s => {
                    return Err(GpuError::Invalid(format!(
                        "{} lies before convolution {} where the pass starts",
                        t.name(),
                        s + 1
                    )))
                }
                _ => {}
            }
        }
        let wants = |t: Tensor| tensors.contains(&t);
        // The lowest block the backward pass reaches (None: no gradient wanted, only the loss).
        let lowest = tensors.iter().map(|t| t.conv().unwrap_or(convs)).min();
        let k = &gpu.kernels;
        let hs = self.template.head_shape(n);
        let mut enc = Self::encoder(gpu, "network suffix gradients");
        let input = gpu.resident("suffix input", act.len(), Some(act));
        let keep_from = lowest.unwrap_or(usize::MAX);
        let ev = self.encode_eval(gpu, &mut enc, s..convs, input, n, keep_from);
        let head_in = ev.acts.last().expect("the input");
        let logits = self.encode_head(gpu, &mut enc, head_in, n);
        let y: Vec<f32> = labels.iter().map(|&v| v as f32).collect();
        let label_buf = gpu.resident("labels", n, Some(&y));
        let loss_terms = gpu.resident("cross-entropy", n * hs.k + n, None);
        gpu.encode(
            &mut enc,
            &k.softmax_ce,
            &[n as u32, hs.k as u32],
            &[&logits, &label_buf, &loss_terms],
            grid(n, 64),
        );
        let mut pieces: Vec<Piece> = vec![(loss_terms.clone(), n * hs.k, n)];
        if let Some(lowest) = lowest {
            let dfc = gpu.resident("fc gradient", hs.k * hs.c + hs.k, None);
            let mut d_act = gpu.resident("head input gradient", n * hs.c * hs.hw, None);
            gpu.encode(
                &mut enc,
                &k.head_backward,
                &[hs.n, hs.c, hs.hw, hs.k].map(|v| v as u32),
                &[head_in, &loss_terms, &self.fc, &dfc, &d_act],
                grid((hs.k * hs.c + hs.k).max(n * hs.c * hs.hw), 256),
            );
            // Per block: (its weight gradient if wanted, the bn_backward_eval output holding dz,
            // then dgamma, then dbeta; the offset of dgamma).
            let mut block_grads: Vec<Option<(Option<wgpu::Buffer>, wgpu::Buffer, usize)>> =
                (0..convs).map(|_| None).collect();
            for i in (lowest..convs).rev() {
                let b = &self.blocks[i];
                let j = i - s;
                let hw = b.size * b.size;
                let len = n * b.c_out * hw;
                let da = if b.pool {
                    let da = gpu.resident("pool gradient", len, None);
                    let d = [
                        (n * b.c_out) as u32,
                        b.size as u32,
                        b.size as u32,
                        (len / 4) as u32,
                    ];
                    gpu.encode(
                        &mut enc,
                        &k.maxpool_backward,
                        &d,
                        &[&d_act, &ev.acts[j + 1], &da],
                        grid(len, 256),
                    );
                    da
                } else {
                    d_act
                };
                // gamma (from gamma, beta) then the running variance (from means, variances).
                let gv = gpu.resident("gamma, variance", 2 * b.c_out, None);
                let c4 = (b.c_out * 4) as u64;
                enc.copy_buffer_to_buffer(&b.gb, 0, &gv, 0, c4);
                enc.copy_buffer_to_buffer(&b.running, c4, &gv, c4, c4);
                let out = gpu.resident("dz, dgamma, dbeta", len + 2 * b.c_out, None);
                let d = [n as u32, b.c_out as u32, hw as u32, f(BN_EPS)];
                gpu.encode(
                    &mut enc,
                    &k.bn_backward_eval,
                    &d,
                    &[&da, &ev.y[j], &ev.x_hat[j], &gv, &out],
                    (b.c_out as u32, 1, 1),
                );
                let dw = wants(Tensor::ConvWeight(i)).then(|| {
                    let dw = gpu.resident("weight gradient", b.c_out * b.c_in * 9, None);
                    gpu.encode_conv2d_weight_grad(
                        &mut enc,
                        conv_shape(n, b),
                        &ev.acts[j],
                        &out,
                        &dw,
                    );
                    dw
                });
                d_act = gpu.resident(
                    "input gradient",
                    if i > lowest { n * b.c_in * hw } else { 1 },
                    None,
                );
                if i > lowest {
                    let (kernel, dims, groups) = conv_pass(k, conv_shape(n, b), true);
                    gpu.encode(&mut enc, kernel, &dims, &[&out, &b.weight, &d_act], groups);
                }
                block_grads[i] = Some((dw, out, len));
            }
            for &t in tensors {
                let piece = match t {
                    Tensor::FcWeight => Some((dfc.clone(), 0, hs.k * hs.c)),
                    Tensor::FcBias => Some((dfc.clone(), hs.k * hs.c, hs.k)),
                    Tensor::ConvWeight(i) => block_grads[i].as_ref().and_then(|(dw, _, _)| {
                        let b = &self.blocks[i];
                        dw.as_ref().map(|dw| (dw.clone(), 0, b.c_out * b.c_in * 9))
                    }),
                    Tensor::Gamma(i) => block_grads[i]
                        .as_ref()
                        .map(|(_, out, at)| (out.clone(), *at, self.blocks[i].c_out)),
                    Tensor::Beta(i) => block_grads[i].as_ref().map(|(_, out, at)| {
                        let c = self.blocks[i].c_out;
                        (out.clone(), at + c, c)
                    }),
                };
                pieces.push(piece.ok_or_else(|| {
                    GpuError::Failed(format!("{}: no gradient was recorded", t.name()))
                })?);
            }
        }
        let mut out = Self::gather_and_read(gpu, enc, &pieces).await?.into_iter();
        let loss = out
            .next()
            .unwrap_or_default()
            .iter()
            .map(|&v| v as f64)
            .sum();
        let scale = n as f32 / batch as f32;
        let grads = out
            .map(|mut g| {
                g.iter_mut().for_each(|v| *v *= scale);
                g
            })
            .collect();
        Ok((loss, grads))
    }

    /// Copy the pieces, in order, into one buffer; submit and read it back with one mapping.
    async fn gather_and_read(
        gpu: &Gpu,
        mut enc: wgpu::CommandEncoder,
        pieces: &[Piece],
    ) -> Result<Vec<Vec<f32>>, GpuError> {
        let total: usize = pieces.iter().map(|p| p.2).sum();
        let results = gpu.resident("results", total, None);
        let mut at = 0;
        for (buf, offset, len) in pieces {
            if *len > 0 {
                enc.copy_buffer_to_buffer(
                    buf,
                    (offset * 4) as u64,
                    &results,
                    (at * 4) as u64,
                    (len * 4) as u64,
                );
            }
            at += len;
        }
        let flat = gpu.submit_and_read(enc, &results, total).await?;
        let mut at = 0;
        Ok(pieces
            .iter()
            .map(|&(_, _, len)| {
                let v = flat.get(at..at + len).unwrap_or_default().to_vec();
                at += len;
                v
            })
            .collect())
    }

    /// Overwrite the given tensors on the device with their values in `net` (queue writes; gamma and
    /// beta live packed in one buffer per block, the head's W then b in one buffer).
    pub fn write_tensors(
        &self,
        gpu: &Gpu,
        net: &Network,
        tensors: &[Tensor],
    ) -> Result<(), GpuError> {
        gpu.check_alive()?;
        let hs = self.template.head_shape(1);
        let mut writes = Vec::with_capacity(tensors.len());
        for &t in tensors {
            let (buf, offset, want) = match t {
                Tensor::ConvWeight(i) | Tensor::Gamma(i) | Tensor::Beta(i)
                    if i >= self.blocks.len() || i >= net.blocks.len() =>
                {
                    return Err(GpuError::Invalid(format!(
                        "{} does not exist: the network on the device has {} convolutions, the one given {}",
                        t.name(),
                        self.blocks.len(),
                        net.blocks.len()
                    )))
                }
                Tensor::ConvWeight(i) => {
                    let b = &self.blocks[i];
                    (&b.weight, 0, b.c_out * b.c_in * 9)
                }
                Tensor::Gamma(i) => (&self.blocks[i].gb, 0, self.blocks[i].c_out),
                Tensor::Beta(i) => {
                    let c = self.blocks[i].c_out;
                    (&self.blocks[i].gb, c, c)
                }
                Tensor::FcWeight => (&self.fc, 0, hs.k * hs.c),
                Tensor::FcBias => (&self.fc, hs.k * hs.c, hs.k),
            };
            let data = t.get(net);
            if data.len() != want {
                return Err(GpuError::Invalid(format!(
                    "{} has {} values, the network on the device {want}",
                    t.name(),
                    data.len()
                )));
            }
            writes.push((buf, offset, data));
        }
        for (buf, offset, data) in writes {
            if !data.is_empty() {
                gpu.queue
                    .write_buffer(buf, (offset * 4) as u64, bytemuck::cast_slice(data));
            }
        }
        Ok(())
    }
}

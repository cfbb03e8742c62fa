//! The image lab's network held on the GPU: weights, batch-norm running statistics and momentum
//! buffers stay on the device; a call uploads one batch, records every layer's dispatches in one
//! command buffer and reads back only what it returns (logits, the loss, or the gradients).
//! The same mathematics as `glassbox_lab::vision::network` (its module comment), kernel by kernel:
//!   conv2d -> bn_stats + bn_running (training) -> bn_apply (+ReLU) -> maxpool, ..., head_forward;
//!   softmax_ce -> head_backward -> [maxpool_backward] -> bn_backward -> conv2d_weight_grad and
//!   conv2d flipped (the input gradient), ...; then sgd on each parameter tensor (weights; gamma
//!   and beta together; the linear layer's weight and bias together).

use crate::ops::{conv_pass, grid};
use crate::{Gpu, GpuError};
use glassbox_lab::vision::network::{Grads, Network, BN_MOMENTUM};
use glassbox_lab::vision::nn::{count_correct, ConvShape, BN_EPS};

/// One convolution block on the device. `gb` holds gamma then beta; `running` the running means
/// then variances (the layout of the `bn_stats` output).
pub(crate) struct Block {
    pub(crate) c_in: usize,
    pub(crate) c_out: usize,
    pub(crate) size: usize,
    pub(crate) pool: bool,
    pub(crate) weight: wgpu::Buffer,
    pub(crate) gb: wgpu::Buffer,
    pub(crate) running: wgpu::Buffer,
    vel_weight: wgpu::Buffer,
    vel_gb: wgpu::Buffer,
}

/// A network uploaded to one `Gpu`. Every method takes that same `Gpu`.
pub struct GpuNetwork {
    pub(crate) template: Network,
    /// Pruning masks (1 kept, 0 pruned) of each prunable layer's weights, re-applied after every
    /// training step: conv blocks in order, then the linear weight.
    masks: std::cell::RefCell<Vec<Option<wgpu::Buffer>>>,
    pub(crate) blocks: Vec<Block>,
    /// The linear layer: W (K x C) then b (K).
    pub(crate) fc: wgpu::Buffer,
    vel_fc: wgpu::Buffer,
}

/// What the backward pass needs from a training forward pass.
struct Forward {
    /// acts[i] is block i's input; acts[blocks] the head's input. A pooled block's output holds the
    /// pooled values, then the arg-max indices.
    acts: Vec<wgpu::Buffer>,
    stats: Vec<wgpu::Buffer>,
    x_hat: Vec<wgpu::Buffer>,
    y: Vec<wgpu::Buffer>,
    logits: wgpu::Buffer,
}

/// Gradient buffers, parameter tensor by parameter tensor.
struct Backward {
    loss_terms: wgpu::Buffer,
    dfc: wgpu::Buffer,
    blocks: Vec<(wgpu::Buffer, wgpu::Buffer)>,
}

pub(crate) fn f(v: f32) -> u32 {
    v.to_bits()
}

/// Whether a layer of `largest` values (for a batch of `n` images) fits one storage binding.
pub(crate) fn fits(gpu: &Gpu, n: usize, largest: usize) -> Result<(), GpuError> {
    let limit = (gpu.info.max_storage_buffer_binding_size as usize / 4).min(1 << 24);
    if largest > limit {
        return Err(GpuError::Invalid(format!(
            "a batch of {n} images is too large for this adapter ({largest} values in one layer, limit {limit})"
        )));
    }
    Ok(())
}

/// Block `b`'s convolution of `x` (n images): its output z.
pub(crate) fn encode_conv(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    b: &Block,
    x: &wgpu::Buffer,
    n: usize,
) -> wgpu::Buffer {
    let len = n * b.c_out * b.size * b.size;
    let z = gpu.resident("z", len, None);
    let (kernel, dims, groups) = conv_pass(&gpu.kernels, conv_shape(n, b), false);
    gpu.encode(enc, kernel, &dims, &[x, &b.weight, &z], groups);
    z
}

/// Block `b`'s batch norm of z with `stats` (means then variances: the batch's or the running
/// ones), its ReLU and, if the block pools, its max-pooling: (the block's output, x_hat, y), x_hat
/// and y kept for the backward pass only when `keep` (else one-value placeholders).
pub(crate) fn encode_bn_pool(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    b: &Block,
    z: &wgpu::Buffer,
    stats: &wgpu::Buffer,
    n: usize,
    keep: bool,
) -> (wgpu::Buffer, wgpu::Buffer, wgpu::Buffer) {
    let k = &gpu.kernels;
    let hw = b.size * b.size;
    let len = n * b.c_out * hw;
    let kept = if keep { len } else { 1 };
    let (x_hat, y) = (
        gpu.resident("x_hat", kept, None),
        gpu.resident("y", kept, None),
    );
    let a = gpu.resident("activations", len, None);
    let d = [n as u32, b.c_out as u32, hw as u32, keep as u32, f(BN_EPS)];
    gpu.encode(
        enc,
        &k.bn_apply,
        &d,
        &[z, stats, &b.gb, &x_hat, &y, &a],
        grid(len, 256),
    );
    let out = if b.pool {
        let pooled = gpu.resident("pooled", 2 * (len / 4), None);
        let d = [(n * b.c_out) as u32, b.size as u32, b.size as u32];
        gpu.encode(enc, &k.maxpool, &d, &[&a, &pooled], grid(len / 4, 256));
        pooled
    } else {
        a
    };
    (out, x_hat, y)
}

/// Block `b`'s convolution over `n` images.
pub(crate) fn conv_shape(n: usize, b: &Block) -> ConvShape {
    ConvShape {
        n,
        c_in: b.c_in,
        c_out: b.c_out,
        h: b.size,
        w: b.size,
    }
}

impl Gpu {
    /// Upload `net` (weights and running statistics; momentum buffers start at zero).
    pub fn upload(&self, net: &Network) -> Result<GpuNetwork, GpuError> {
        self.check_alive()?;
        let blocks = net
            .blocks
            .iter()
            .map(|b| {
                let gb: Vec<f32> = b.gamma.iter().chain(&b.beta).copied().collect();
                let running: Vec<f32> = b
                    .running_mean
                    .iter()
                    .chain(&b.running_var)
                    .copied()
                    .collect();
                Block {
                    c_in: b.c_in,
                    c_out: b.c_out,
                    size: b.size,
                    pool: b.pool,
                    weight: self.resident("weight", b.weight.len(), Some(&b.weight)),
                    gb: self.resident("gamma, beta", gb.len(), Some(&gb)),
                    running: self.resident("running", running.len(), Some(&running)),
                    vel_weight: self.resident("velocity", b.weight.len(), None),
                    vel_gb: self.resident("velocity", gb.len(), None),
                }
            })
            .collect();
        let fc: Vec<f32> = net.fc_weight.iter().chain(&net.fc_bias).copied().collect();
        Ok(GpuNetwork {
            masks: Default::default(),
            template: net.clone(),
            blocks,
            fc: self.resident("fc", fc.len(), Some(&fc)),
            vel_fc: self.resident("velocity", fc.len(), None),
        })
    }
}

impl GpuNetwork {
    pub(crate) fn encoder(gpu: &Gpu, label: &str) -> wgpu::CommandEncoder {
        gpu.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }

    /// The largest tensor of a batch of `n` must fit one binding, and its flat indices must be exact
    /// in f32 (arg-max indices travel as f32).
    fn check_batch(&self, gpu: &Gpu, x: &[f32], n: usize) -> Result<(), GpuError> {
        gpu.check_alive()?;
        let a = &self.template.arch;
        let want = n * a.in_channels * a.size * a.size;
        if n == 0 || x.len() != want {
            return Err(GpuError::Invalid(format!(
                "a batch of {n} images needs {want} values, got {}",
                x.len()
            )));
        }
        let largest = self
            .blocks
            .iter()
            .map(|b| n * b.c_out.max(b.c_in) * b.size * b.size)
            .max()
            .unwrap_or(0);
        fits(gpu, n, largest)
    }

    fn encode_forward(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        x: &[f32],
        n: usize,
        train: bool,
    ) -> Forward {
        let k = &gpu.kernels;
        let mut fwd = Forward {
            acts: vec![gpu.resident("images", x.len(), Some(x))],
            stats: Vec::new(),
            x_hat: Vec::new(),
            y: Vec::new(),
            logits: gpu.resident("logits", n * self.template.classes(), None),
        };
        for (i, b) in self.blocks.iter().enumerate() {
            let z = encode_conv(gpu, enc, b, &fwd.acts[i], n);
            let stats = if train {
                let hw = b.size * b.size;
                let s = gpu.resident("batch statistics", 2 * b.c_out, None);
                let d = [n, b.c_out, hw].map(|v| v as u32);
                gpu.encode(enc, &k.bn_stats, &d, &[&z, &s], (b.c_out as u32, 1, 1));
                let d = [b.c_out as u32, (n * hw) as u32, f(BN_MOMENTUM)];
                gpu.encode(enc, &k.bn_running, &d, &[&s, &b.running], grid(b.c_out, 64));
                s
            } else {
                b.running.clone()
            };
            let (out, x_hat, y) = encode_bn_pool(gpu, enc, b, &z, &stats, n, train);
            fwd.acts.push(out);
            fwd.stats.push(stats);
            fwd.x_hat.push(x_hat);
            fwd.y.push(y);
        }
        let s = self.template.head_shape(n);
        gpu.encode(
            enc,
            &k.head_forward,
            &[s.n, s.c, s.hw, s.k].map(|v| v as u32),
            &[fwd.acts.last().expect("the input"), &self.fc, &fwd.logits],
            grid(s.n * s.k, 64),
        );
        fwd
    }

    fn encode_backward(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        fwd: &Forward,
        labels: &[u32],
    ) -> Backward {
        let k = &gpu.kernels;
        let n = labels.len();
        let s = self.template.head_shape(n);
        let y: Vec<f32> = labels.iter().map(|&v| v as f32).collect();
        let labels = gpu.resident("labels", n, Some(&y));
        let loss_terms = gpu.resident("cross-entropy", n * s.k + n, None);
        gpu.encode(
            enc,
            &k.softmax_ce,
            &[n as u32, s.k as u32],
            &[&fwd.logits, &labels, &loss_terms],
            grid(n, 64),
        );
        let dfc = gpu.resident("fc gradient", s.k * s.c + s.k, None);
        let mut d_act = gpu.resident("head input gradient", n * s.c * s.hw, None);
        gpu.encode(
            enc,
            &k.head_backward,
            &[s.n, s.c, s.hw, s.k].map(|v| v as u32),
            &[
                fwd.acts.last().expect("the input"),
                &loss_terms,
                &self.fc,
                &dfc,
                &d_act,
            ],
            grid((s.k * s.c + s.k).max(n * s.c * s.hw), 256),
        );
        let mut grads = Vec::new();
        for (i, b) in self.blocks.iter().enumerate().rev() {
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
                    enc,
                    &k.maxpool_backward,
                    &d,
                    &[&d_act, &fwd.acts[i + 1], &da],
                    grid(len, 256),
                );
                da
            } else {
                d_act
            };
            let dz = gpu.resident("dz", len, None);
            let dgb = gpu.resident("gamma, beta gradient", 2 * b.c_out, None);
            let d = [n as u32, b.c_out as u32, hw as u32, f(BN_EPS)];
            gpu.encode(
                enc,
                &k.bn_backward,
                &d,
                &[
                    &da,
                    &fwd.y[i],
                    &fwd.x_hat[i],
                    &b.gb,
                    &fwd.stats[i],
                    &dz,
                    &dgb,
                ],
                (b.c_out as u32, 1, 1),
            );
            let dw = gpu.resident("weight gradient", b.c_out * b.c_in * 9, None);
            gpu.encode_conv2d_weight_grad(enc, conv_shape(n, b), &fwd.acts[i], &dz, &dw);
            d_act = gpu.resident(
                "input gradient",
                if i > 0 { n * b.c_in * hw } else { 1 },
                None,
            );
            if i > 0 {
                let (kernel, dims, groups) = conv_pass(k, conv_shape(n, b), true);
                gpu.encode(enc, kernel, &dims, &[&dz, &b.weight, &d_act], groups);
            }
            grads.push((dw, dgb));
        }
        grads.reverse();
        Backward {
            loss_terms,
            dfc,
            blocks: grads,
        }
    }

    fn mean_loss(terms: &[f32], n: usize) -> f32 {
        (terms[terms.len() - n..]
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>()
            / n as f64) as f32
    }

    /// Logits (N x classes) in evaluation mode (running statistics).
    pub async fn logits(&self, gpu: &Gpu, x: &[f32], n: usize) -> Result<Vec<f32>, GpuError> {
        self.check_batch(gpu, x, n)?;
        let mut enc = Self::encoder(gpu, "network forward");
        let fwd = self.encode_forward(gpu, &mut enc, x, n, false);
        gpu.submit_and_read(enc, &fwd.logits, n * self.template.classes())
            .await
    }

    /// Training mode: the batch's mean loss and every gradient (read back), updating the running
    /// statistics on the device like `Network::loss_and_grads`.
    pub async fn loss_and_grads(
        &self,
        gpu: &Gpu,
        x: &[f32],
        labels: &[u32],
    ) -> Result<(f32, Grads), GpuError> {
        let n = labels.len();
        self.check_batch(gpu, x, n)?;
        self.check_labels(labels)?;
        let mut enc = Self::encoder(gpu, "network forward and backward");
        let fwd = self.encode_forward(gpu, &mut enc, x, n, true);
        let bwd = self.encode_backward(gpu, &mut enc, &fwd, labels);
        let s = self.template.head_shape(n);
        let mut srcs = vec![(&bwd.loss_terms, n * s.k + n), (&bwd.dfc, s.k * s.c + s.k)];
        for ((dw, dgb), b) in bwd.blocks.iter().zip(&self.blocks) {
            srcs.push((dw, b.c_out * b.c_in * 9));
            srcs.push((dgb, 2 * b.c_out));
        }
        let mut out = gpu.submit_and_read_many(enc, &srcs).await?.into_iter();
        let mut next = || out.next().unwrap_or_default();
        let loss = Self::mean_loss(&next(), n);
        let mut fc_weight = next();
        let fc_bias = fc_weight.split_off(s.k * s.c);
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                let dw = next();
                let mut dgamma = next();
                let dbeta = dgamma.split_off(b.c_out);
                (dw, dgamma, dbeta)
            })
            .collect();
        Ok((
            loss,
            Grads {
                blocks,
                fc_weight,
                fc_bias,
            },
        ))
    }

    pub(crate) fn check_labels(&self, labels: &[u32]) -> Result<(), GpuError> {
        let k = self.template.classes();
        match labels.iter().find(|&&y| y as usize >= k) {
            Some(y) => Err(GpuError::Invalid(format!("label {y} is not below {k}"))),
            None => Ok(()),
        }
    }

    /// One SGD-with-momentum step on a batch, entirely on the device; returns the batch's mean loss
    /// and how many of its images the network (before the update) classified right.
    pub async fn train_step(
        &self,
        gpu: &Gpu,
        x: &[f32],
        labels: &[u32],
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) -> Result<(f32, usize), GpuError> {
        let n = labels.len();
        self.check_batch(gpu, x, n)?;
        self.check_labels(labels)?;
        let mut enc = Self::encoder(gpu, "network training step");
        let fwd = self.encode_forward(gpu, &mut enc, x, n, true);
        let bwd = self.encode_backward(gpu, &mut enc, &fwd, labels);
        let s = self.template.head_shape(n);
        let mut groups = vec![(&self.fc, &bwd.dfc, &self.vel_fc, s.k * s.c + s.k)];
        for (b, (dw, dgb)) in self.blocks.iter().zip(&bwd.blocks) {
            groups.push((&b.weight, dw, &b.vel_weight, b.c_out * b.c_in * 9));
            groups.push((&b.gb, dgb, &b.vel_gb, 2 * b.c_out));
        }
        for (w, g, v, len) in groups {
            let out = gpu.resident("sgd", 2 * len, None);
            let d = [len as u32, f(lr), f(momentum), f(weight_decay)];
            gpu.encode(
                &mut enc,
                &gpu.kernels.sgd,
                &d,
                &[w, g, v, &out],
                grid(len, 256),
            );
            let bytes = (len * 4) as u64;
            enc.copy_buffer_to_buffer(&out, 0, w, 0, bytes);
            enc.copy_buffer_to_buffer(&out, bytes, v, 0, bytes);
        }
        self.encode_masks(gpu, &mut enc);
        let out = gpu
            .submit_and_read_many(
                enc,
                &[(&bwd.loss_terms, n * s.k + n), (&fwd.logits, n * s.k)],
            )
            .await?;
        Ok((
            Self::mean_loss(&out[0], n),
            count_correct(&out[1], labels, s.k),
        ))
    }

    /// Keep the pruned weights at zero through training: one keep-mask per prunable layer (conv
    /// blocks, then the linear weight; None = dense), applied now and after every `train_step`.
    pub async fn set_masks(&self, gpu: &Gpu, masks: &[Option<Vec<bool>>]) -> Result<(), GpuError> {
        gpu.check_alive()?;
        if masks.len() != self.blocks.len() + 1 {
            return Err(GpuError::Invalid(format!(
                "{} masks for {} layers",
                masks.len(),
                self.blocks.len() + 1
            )));
        }
        let mut bufs = Vec::new();
        for (i, m) in masks.iter().enumerate() {
            let want = self.weight_len(i);
            bufs.push(match m {
                None => None,
                Some(m) if m.len() == want => {
                    let f: Vec<f32> = m.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
                    Some(gpu.resident("mask", f.len(), Some(&f)))
                }
                Some(m) => {
                    return Err(GpuError::Invalid(format!(
                        "mask {i} has {} values, the layer {want}",
                        m.len()
                    )))
                }
            });
        }
        *self.masks.borrow_mut() = bufs;
        let mut enc = Self::encoder(gpu, "masks");
        self.encode_masks(gpu, &mut enc);
        gpu.submit_and_read(enc, &self.fc, 1).await.map(|_| ())
    }

    fn weight_len(&self, i: usize) -> usize {
        match self.blocks.get(i) {
            Some(b) => b.c_out * b.c_in * 9,
            None => self.template.fc_weight.len(),
        }
    }

    fn encode_masks(&self, gpu: &Gpu, enc: &mut wgpu::CommandEncoder) {
        for (i, m) in self.masks.borrow().iter().enumerate() {
            if let Some(m) = m {
                let w = match self.blocks.get(i) {
                    Some(b) => &b.weight,
                    // The linear weight is the first K x C values of `fc`.
                    None => &self.fc,
                };
                let len = self.weight_len(i);
                gpu.encode(
                    enc,
                    &gpu.kernels.mask,
                    &[len as u32],
                    &[m, w],
                    grid(len, 256),
                );
            }
        }
    }

    /// The network as it is now on the device (weights and running statistics).
    pub async fn download(&self, gpu: &Gpu) -> Result<Network, GpuError> {
        let enc = Self::encoder(gpu, "download");
        let mut srcs = Vec::new();
        for b in &self.blocks {
            srcs.push((&b.weight, b.c_out * b.c_in * 9));
            srcs.push((&b.gb, 2 * b.c_out));
            srcs.push((&b.running, 2 * b.c_out));
        }
        let k = self.template.classes();
        let c = self.template.head_shape(1).c;
        srcs.push((&self.fc, k * c + k));
        let mut out = gpu.submit_and_read_many(enc, &srcs).await?.into_iter();
        let mut net = self.template.clone();
        for b in net.blocks.iter_mut() {
            b.weight = out.next().unwrap_or_default();
            let mut gb = out.next().unwrap_or_default();
            b.beta = gb.split_off(b.c_out);
            b.gamma = gb;
            let mut running = out.next().unwrap_or_default();
            b.running_var = running.split_off(b.c_out);
            b.running_mean = running;
        }
        let mut fc = out.next().unwrap_or_default();
        net.fc_bias = fc.split_off(k * c);
        net.fc_weight = fc;
        Ok(net)
    }
}

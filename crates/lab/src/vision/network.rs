//! The image lab's network on the CPU: a VGG-style stack (see `vgg`) with batch-norm, trained by
//! SGD with momentum. Forward and backward passes, batch-norm in train and eval modes.
//!
//! Per convolution block, for a batch of N images:
//!   z = W * x (3 x 3, pad 1),  x_hat = (z - mu) / sqrt(var + eps) with mu, var over (N, H, W),
//!   y = gamma x_hat + beta,  a = relu(y),  then (where the architecture says) 2 x 2 max-pooling.
//! Head: f = mean over space of the last block, logits = f W_fc^T + b_fc, softmax cross-entropy.
//! Batch-norm backward (per channel, M = N H W values):
//!   dgamma = sum dy x_hat,  dbeta = sum dy,
//!   dz = gamma / (M sqrt(var + eps)) (M dy - sum dy - x_hat sum(dy x_hat)).
//! Convolutions run as im2col + SGEMM: dW = sum_n dZ_n cols_n^T, dcols_n = W^T dZ_n, dx = col2im(dcols).

use crate::kernels::{MatmulShape, PreparedProduct};
use crate::rng::Rng;
use crate::vision::nn::{
    batchnorm_apply, batchnorm_running_update, batchnorm_stats, count_correct, head_backward,
    head_forward, maxpool2x2, maxpool2x2_backward, relu, relu_batchnorm_backward,
    relu_batchnorm_backward_eval, softmax_cross_entropy, HeadShape,
};
use crate::vision::vgg::{Arch, Stage};
use std::ops::Range;

pub use crate::vision::nn::BN_EPS;
pub const BN_MOMENTUM: f32 = 0.1;

/// One convolution block's parameters and batch-norm running statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvBlock {
    pub c_in: usize,
    pub c_out: usize,
    /// Resolution of the block's input (square).
    pub size: usize,
    pub pool: bool,
    pub weight: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub running_mean: Vec<f32>,
    pub running_var: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub arch: Arch,
    pub blocks: Vec<ConvBlock>,
    pub fc_weight: Vec<f32>,
    pub fc_bias: Vec<f32>,
}

/// Gradients, laid out like the parameters (`Network::params_mut` order).
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    pub blocks: Vec<BlockGrads>,
    pub fc_weight: Vec<f32>,
    pub fc_bias: Vec<f32>,
}

impl Grads {
    /// Every gradient in one vector, in `Network::params_and_grads` order (what a worker sends back).
    pub fn flat(&self) -> Vec<f32> {
        let mut out = Vec::new();
        for (dw, dg, db) in &self.blocks {
            out.extend_from_slice(dw);
            out.extend_from_slice(dg);
            out.extend_from_slice(db);
        }
        out.extend_from_slice(&self.fc_weight);
        out.extend_from_slice(&self.fc_bias);
        out
    }

    /// `flat`'s inverse for `net`'s shapes; Err when the length is not `net.param_count()`.
    pub fn from_flat(net: &Network, flat: &[f32]) -> Result<Grads, String> {
        if flat.len() != net.param_count() {
            return Err(format!(
                "{} gradients for a network of {} parameters",
                flat.len(),
                net.param_count()
            ));
        }
        let mut rest = flat;
        let mut take = |n: usize| {
            let (a, b) = rest.split_at(n);
            rest = b;
            a.to_vec()
        };
        let blocks = net
            .blocks
            .iter()
            .map(|b| (take(b.weight.len()), take(b.c_out), take(b.c_out)))
            .collect();
        let fc_weight = take(net.fc_weight.len());
        let fc_bias = take(net.fc_bias.len());
        Ok(Grads {
            blocks,
            fc_weight,
            fc_bias,
        })
    }
}

/// One image's unfolding (C_in 9) x (S S) for the 3 x 3 convolution, and its transpose.
fn im2col(x: &[f32], c_in: usize, size: usize, cols: &mut [f32]) {
    crate::kernels::conv::im2col3x3(x, c_in, size, size, cols);
}

fn col2im(cols: &[f32], c_in: usize, size: usize, dx: &mut [f32]) {
    crate::kernels::conv::col2im3x3(cols, c_in, size, size, dx);
}

fn gemm(a: &[f32], b: &[f32], s: MatmulShape, c: &mut [f32]) {
    if let Ok(p) = PreparedProduct::new(a, b, s) {
        let _ = p.rows(0..s.m, c);
    }
}

/// Batch-norm's mode in a forward pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bn {
    /// The batch's statistics, and the running ones updated with this momentum
    /// (r <- (1 - m) r + m s; m = 1 / (k + 1) at the k-th batch averages the batches' statistics).
    Train(f32),
    /// The running statistics, constants.
    Eval,
}

/// One block's gradients: (dW, dgamma, dbeta).
pub type BlockGrads = (Vec<f32>, Vec<f32>, Vec<f32>);

/// What the backward pass needs from the forward pass of one block.
pub struct BlockCache {
    /// Forward in evaluation mode (running statistics, constants for the backward pass).
    eval: bool,
    input: Vec<f32>,
    x_hat: Vec<f32>,
    y: Vec<f32>,
    var: Vec<f32>,
    argmax: Vec<u32>,
}

/// One training step's forward and backward pass, a block at a time, so that the page can yield to
/// the browser between blocks (`advance` does one block's forward or backward pass).
pub struct StepJob {
    n: usize,
    labels: Vec<u32>,
    act: Vec<f32>,
    caches: Vec<BlockCache>,
    phase: Phase,
    loss: f32,
    correct: usize,
    block_grads: Vec<BlockGrads>,
    fc: Option<(Vec<f32>, Vec<f32>)>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Forward(usize),
    Backward(usize),
    Done,
}

impl StepJob {
    /// A step on the batch `x` (N x C x S x S) with its labels.
    pub fn new(x: Vec<f32>, labels: Vec<u32>) -> StepJob {
        StepJob {
            n: labels.len(),
            labels,
            act: x,
            caches: Vec::new(),
            phase: Phase::Forward(0),
            loss: 0.0,
            correct: 0,
            block_grads: Vec::new(),
            fc: None,
        }
    }

    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Run the next phase (one block forward, the head, or one block backward).
    pub fn advance(&mut self, net: &mut Network) {
        let n = self.n;
        match self.phase {
            Phase::Forward(i) if i < net.blocks.len() => {
                let input = std::mem::take(&mut self.act);
                let (next, cache) = net.block_forward(i, input, n, Bn::Train(BN_MOMENTUM));
                self.act = next;
                self.caches.push(cache);
                self.phase = Phase::Forward(i + 1);
            }
            Phase::Forward(_) => {
                let s = net.head_shape(n);
                let logits = head_forward(&self.act, &net.fc_weight, &net.fc_bias, s);
                let (loss, dlogits) = softmax_cross_entropy(&logits, &self.labels, s.k);
                self.correct = count_correct(&logits, &self.labels, s.k);
                let (dw, db, da) = head_backward(&self.act, &dlogits, &net.fc_weight, s);
                self.loss = loss;
                self.fc = Some((dw, db));
                self.act = da;
                self.phase = match net.blocks.len() {
                    0 => Phase::Done,
                    b => Phase::Backward(b - 1),
                };
            }
            Phase::Backward(i) => {
                let cache = self.caches.pop().expect("one cache per block");
                let d_out = std::mem::take(&mut self.act);
                let (dx, grads) = net.block_backward(i, cache, d_out, n, i > 0, true);
                self.act = dx;
                self.block_grads.push(grads);
                self.phase = if i == 0 {
                    Phase::Done
                } else {
                    Phase::Backward(i - 1)
                };
            }
            Phase::Done => {}
        }
    }

    /// How many images of the batch the network (before this step's update) classified right.
    pub fn correct(&self) -> usize {
        self.correct
    }

    /// The batch's mean loss and the gradients (once `done`).
    pub fn finish(mut self) -> (f32, Grads) {
        self.block_grads.reverse();
        let (fc_weight, fc_bias) = self.fc.unwrap_or_default();
        (
            self.loss,
            Grads {
                blocks: self.block_grads,
                fc_weight,
                fc_bias,
            },
        )
    }
}

/// How a weight starts: normal with this standard deviation, or uniform in +-this bound.
enum Init {
    Normal(f64),
    Uniform(f64),
}

impl Network {
    /// He-normal convolution weights, batch-norm at identity, uniform linear layer; seeded.
    pub fn new(arch: &Arch, seed: u64) -> Network {
        let mut rng = Rng::stream(seed, 41);
        Network::shaped(arch, |init| match init {
            Init::Normal(std) => (rng.normal() * std) as f32,
            Init::Uniform(bound) => rng.uniform(-bound, bound) as f32,
        })
    }

    /// The network of `arch` with each weight `draw`n in order (the blocks' convolutions with
    /// He's normal, then the head's weights and biases uniform); batch norm starts as identity.
    fn shaped(arch: &Arch, mut draw: impl FnMut(Init) -> f32) -> Network {
        let mut blocks = Vec::new();
        let (mut c, mut size) = (arch.in_channels, arch.size);
        for (i, s) in arch.stages.iter().enumerate() {
            if let Stage::Conv(out) = *s {
                let std = (2.0 / (c * 9) as f64).sqrt();
                let pool = matches!(arch.stages.get(i + 1), Some(Stage::Pool));
                blocks.push(ConvBlock {
                    c_in: c,
                    c_out: out,
                    size,
                    pool,
                    weight: (0..out * c * 9).map(|_| draw(Init::Normal(std))).collect(),
                    gamma: vec![1.0; out],
                    beta: vec![0.0; out],
                    running_mean: vec![0.0; out],
                    running_var: vec![1.0; out],
                });
                c = out;
                if pool {
                    size /= 2;
                }
            }
        }
        let bound = 1.0 / (c as f64).sqrt();
        Network {
            arch: arch.clone(),
            blocks,
            fc_weight: (0..arch.classes * c)
                .map(|_| draw(Init::Uniform(bound)))
                .collect(),
            fc_bias: (0..arch.classes)
                .map(|_| draw(Init::Uniform(bound)))
                .collect(),
        }
    }

    pub fn classes(&self) -> usize {
        self.arch.classes
    }

    fn features(&self) -> usize {
        self.blocks
            .last()
            .map(|b| b.c_out)
            .unwrap_or(self.arch.in_channels)
    }

    /// Shape of the head for a batch of `n`.
    pub fn head_shape(&self, n: usize) -> HeadShape {
        let out = self
            .blocks
            .last()
            .map(|b| if b.pool { b.size / 2 } else { b.size })
            .unwrap_or(self.arch.size);
        HeadShape {
            n,
            c: self.features(),
            hw: out * out,
            k: self.classes(),
        }
    }

    /// Logits (N x classes) of a batch (N x C x S x S). `train` uses batch statistics (and updates
    /// the running ones); otherwise the running statistics.
    pub fn forward(&mut self, x: &[f32], n: usize, train: bool) -> Vec<f32> {
        let mut act = x.to_vec();
        for i in 0..self.blocks.len() {
            let bn = if train {
                Bn::Train(BN_MOMENTUM)
            } else {
                Bn::Eval
            };
            act = self.block_forward(i, act, n, bn).0;
        }
        head_forward(&act, &self.fc_weight, &self.fc_bias, self.head_shape(n))
    }

    /// Block `i` on its input: (output, what its backward pass needs), batch-norm in mode `bn`.
    pub fn block_forward(
        &mut self,
        i: usize,
        input: Vec<f32>,
        n: usize,
        bn: Bn,
    ) -> (Vec<f32>, BlockCache) {
        let mut z = self.block_conv_buffer(i, n);
        self.block_conv(i, &input, 0..n, &mut z);
        self.block_finish(i, input, z, n, bn)
    }

    /// Room for block `i`'s convolution outputs z of `n` images (N x C_out x H x W).
    pub fn block_conv_buffer(&self, i: usize, n: usize) -> Vec<f32> {
        let b = &self.blocks[i];
        vec![0.0f32; n * b.c_out * b.size * b.size]
    }

    /// Block `i`'s convolution z = W * x of the images `imgs` of its input (each image alone, by
    /// im2col and a GEMM) into their places in `z`: the first half of `block_forward`, so a batch
    /// can be convolved a few images at a time with the same result.
    pub fn block_conv(&self, i: usize, input: &[f32], imgs: Range<usize>, z: &mut [f32]) {
        let b = &self.blocks[i];
        let (hw, k) = (b.size * b.size, b.c_in * 9);
        let mut cols = vec![0.0f32; k * hw];
        for img in imgs {
            im2col(
                &input[img * b.c_in * hw..(img + 1) * b.c_in * hw],
                b.c_in,
                b.size,
                &mut cols,
            );
            gemm(
                &b.weight,
                &cols,
                MatmulShape::new(b.c_out, k, hw),
                &mut z[img * b.c_out * hw..(img + 1) * b.c_out * hw],
            );
        }
    }

    /// The rest of block `i` on the convolved batch `z` of `n` images: batch-norm in mode `bn`
    /// (in training mode its statistics are the whole batch's, and the running ones move), ReLU
    /// and the pool; (output, what its backward pass needs).
    pub fn block_finish(
        &mut self,
        i: usize,
        input: Vec<f32>,
        z: Vec<f32>,
        n: usize,
        bn: Bn,
    ) -> (Vec<f32>, BlockCache) {
        let b = &mut self.blocks[i];
        let hw = b.size * b.size;
        let (mean, var) = match bn {
            Bn::Train(momentum) => {
                let (mean, var) = batchnorm_stats(&z, n, b.c_out, hw);
                batchnorm_running_update(
                    &mut b.running_mean,
                    &mut b.running_var,
                    &mean,
                    &var,
                    n * hw,
                    momentum,
                );
                (mean, var)
            }
            Bn::Eval => (b.running_mean.clone(), b.running_var.clone()),
        };
        let (x_hat, y) = batchnorm_apply(&z, &mean, &var, &b.gamma, &b.beta, n, b.c_out, hw);
        let a = relu(&y);
        let (next, argmax) = if b.pool {
            maxpool2x2(&a, n * b.c_out, b.size, b.size)
        } else {
            (a, Vec::new())
        };
        let cache = BlockCache {
            eval: bn == Bn::Eval,
            input,
            x_hat,
            y,
            var,
            argmax,
        };
        (next, cache)
    }

    /// Backward through block `i` given the gradient of its output: (dx if wanted, (dW if wanted
    /// else empty, dgamma, dbeta)), in the mode of its forward pass.
    pub fn block_backward(
        &self,
        i: usize,
        cache: BlockCache,
        d_out: Vec<f32>,
        n: usize,
        want_dx: bool,
        want_dw: bool,
    ) -> (Vec<f32>, BlockGrads) {
        let b = &self.blocks[i];
        let hw = b.size * b.size;
        let da = if b.pool {
            maxpool2x2_backward(&d_out, &cache.argmax, n * b.c_out * hw)
        } else {
            d_out
        };
        let backward = if cache.eval {
            relu_batchnorm_backward_eval
        } else {
            relu_batchnorm_backward
        };
        let (dz, dgamma, dbeta) = backward(
            &da,
            &cache.y,
            &cache.x_hat,
            &b.gamma,
            &cache.var,
            n,
            b.c_out,
            hw,
        );
        let kk = b.c_in * 9;
        let mut dw = vec![0.0f32; if want_dw { b.c_out * kk } else { 0 }];
        let mut dw_img = vec![0.0f32; if want_dw { b.c_out * kk } else { 0 }];
        let mut cols = vec![0.0f32; if want_dw { kk * hw } else { 0 }];
        let mut dcols = vec![0.0f32; kk * hw];
        let mut dx = vec![0.0f32; if want_dx { n * b.c_in * hw } else { 0 }];
        for img in 0..n {
            let dz_img = &dz[img * b.c_out * hw..(img + 1) * b.c_out * hw];
            if want_dw {
                im2col(
                    &cache.input[img * b.c_in * hw..(img + 1) * b.c_in * hw],
                    b.c_in,
                    b.size,
                    &mut cols,
                );
                gemm(
                    dz_img,
                    &cols,
                    MatmulShape {
                        b_transposed: true,
                        ..MatmulShape::new(b.c_out, hw, kk)
                    },
                    &mut dw_img,
                );
                dw.iter_mut().zip(&dw_img).for_each(|(a, g)| *a += g);
            }
            if want_dx {
                gemm(
                    &b.weight,
                    dz_img,
                    MatmulShape {
                        a_transposed: true,
                        ..MatmulShape::new(kk, b.c_out, hw)
                    },
                    &mut dcols,
                );
                col2im(
                    &dcols,
                    b.c_in,
                    b.size,
                    &mut dx[img * b.c_in * hw..(img + 1) * b.c_in * hw],
                );
            }
        }
        (dx, (dw, dgamma, dbeta))
    }

    /// Mean cross-entropy of a batch and the gradient of every parameter (train mode).
    pub fn loss_and_grads(&mut self, x: &[f32], labels: &[u32], n: usize) -> (f32, Grads) {
        let mut job = StepJob::new(
            x[..n * self.arch.in_channels * self.arch.size * self.arch.size].to_vec(),
            labels[..n].to_vec(),
        );
        while !job.done() {
            job.advance(self);
        }
        job.finish()
    }

    /// Parameters and their gradients, paired, in a fixed order.
    pub fn params_and_grads<'a>(&'a mut self, g: &'a Grads) -> Vec<(&'a mut [f32], &'a [f32])> {
        let mut out: Vec<(&mut [f32], &[f32])> = Vec::new();
        for (b, (dw, dg, db)) in self.blocks.iter_mut().zip(&g.blocks) {
            out.push((&mut b.weight, dw));
            out.push((&mut b.gamma, dg));
            out.push((&mut b.beta, db));
        }
        out.push((&mut self.fc_weight, &g.fc_weight));
        out.push((&mut self.fc_bias, &g.fc_bias));
        out
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.weight.len() + 2 * b.c_out)
            .sum::<usize>()
            + self.fc_weight.len()
            + self.fc_bias.len()
    }
}

/// Weights file, version 1: the magic `GBNET001`; u32 LE in_channels, size, classes, number of
/// stages, then each stage (0 = 2 x 2 max-pool, else a convolution's output channels); then f32 LE
/// per block: weight, gamma, beta, running mean, running variance; then the linear weight and bias;
/// then a 64-bit FNV-1a checksum of everything before it.
const WEIGHTS_MAGIC: &[u8; 8] = b"GBNET001";

impl Network {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = WEIGHTS_MAGIC.to_vec();
        let stages: Vec<u32> = self
            .arch
            .stages
            .iter()
            .map(|s| match s {
                Stage::Pool => 0,
                Stage::Conv(c) => *c as u32,
            })
            .collect();
        for v in [
            self.arch.in_channels as u32,
            self.arch.size as u32,
            self.arch.classes as u32,
            stages.len() as u32,
        ]
        .into_iter()
        .chain(stages)
        {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let mut put = |v: &[f32]| {
            v.iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes()))
        };
        for b in &self.blocks {
            for t in [
                &b.weight,
                &b.gamma,
                &b.beta,
                &b.running_mean,
                &b.running_var,
            ] {
                put(t);
            }
        }
        put(&self.fc_weight);
        put(&self.fc_bias);
        let sum = crate::vision::data::fnv1a64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Network, String> {
        if bytes.len() < 32 || &bytes[..8] != WEIGHTS_MAGIC {
            return Err("not a Glassbox weights file (version 1), or truncated".into());
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().map_err(|_| "checksum".to_string())?);
        if crate::vision::data::fnv1a64(body) != stored {
            return Err("the weights file is corrupt (checksum mismatch)".into());
        }
        let mut at = 8;
        let mut u32_at = || -> Result<usize, String> {
            let v = body.get(at..at + 4).ok_or("header is truncated")?;
            at += 4;
            Ok(u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as usize)
        };
        let (in_channels, size, classes, n) = (u32_at()?, u32_at()?, u32_at()?, u32_at()?);
        if n > 64 || in_channels == 0 || classes == 0 || size == 0 || size > 1024 {
            return Err("implausible architecture in the weights file".into());
        }
        let stages = (0..n)
            .map(|_| u32_at().map(|c| if c == 0 { Stage::Pool } else { Stage::Conv(c) }))
            .collect::<Result<Vec<_>, _>>()?;
        if !stages.iter().any(|s| matches!(s, Stage::Conv(_))) {
            return Err("the weights file describes a network without convolutions".into());
        }
        let pools = stages.iter().filter(|s| matches!(s, Stage::Pool)).count();
        if pools >= usize::BITS as usize || size >> pools == 0 {
            return Err("the weights file pools the image away to nothing".into());
        }
        let arch = Arch {
            name: "loaded",
            in_channels,
            size,
            stages,
            classes,
        };
        // Every value is read from the file below: no random start to draw first.
        let mut net = Network::shaped(&arch, |_| 0.0);
        let floats = &body[at..];
        let want: usize = net
            .blocks
            .iter()
            .map(|b| b.weight.len() + 4 * b.c_out)
            .sum::<usize>()
            + net.fc_weight.len()
            + net.fc_bias.len();
        if floats.len() != want * 4 {
            return Err(format!(
                "the weights file has {} values, the architecture needs {want}",
                floats.len() / 4
            ));
        }
        let mut vals = floats
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        let mut fill =
            |t: &mut Vec<f32>| t.iter_mut().for_each(|x| *x = vals.next().unwrap_or(0.0));
        for b in net.blocks.iter_mut() {
            fill(&mut b.weight);
            fill(&mut b.gamma);
            fill(&mut b.beta);
            fill(&mut b.running_mean);
            fill(&mut b.running_var);
        }
        fill(&mut net.fc_weight);
        fill(&mut net.fc_bias);
        if arch.stages == Arch::lab().stages && arch.in_channels == 1 {
            net.arch.name = "lab";
        }
        Ok(net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::vgg::Stage::{Conv, Pool};

    #[test]
    fn gradients_flatten_and_back() {
        let arch = tiny_arch();
        let mut net = Network::new(&arch, 1);
        let mut rng = crate::rng::Rng::new(2);
        let pixels = arch.in_channels * arch.size * arch.size;
        let x: Vec<f32> = (0..2 * pixels).map(|_| rng.normal() as f32).collect();
        let (_, g) = net.loss_and_grads(&x, &[0, 2], 2);
        let flat = g.flat();
        assert_eq!(flat.len(), net.param_count());
        assert_eq!(Grads::from_flat(&net, &flat), Ok(g));
        assert!(Grads::from_flat(&net, &flat[1..]).is_err());
    }

    #[test]
    fn weights_round_trip_and_corruption_is_detected() {
        let net = Network::new(&tiny_arch(), 9);
        let bytes = net.to_bytes();
        let back = Network::from_bytes(&bytes).unwrap();
        assert_eq!(back.blocks, net.blocks);
        assert_eq!(back.fc_weight, net.fc_weight);
        let mut bad = bytes.clone();
        bad[40] ^= 1;
        assert!(Network::from_bytes(&bad).is_err());
        assert!(Network::from_bytes(&bytes[..bytes.len() - 3]).is_err());
    }

    fn tiny_arch() -> Arch {
        Arch {
            name: "tiny",
            in_channels: 2,
            size: 8,
            stages: vec![Conv(3), Pool, Conv(4), Conv(4), Pool],
            classes: 5,
        }
    }

    #[test]
    fn parameter_count_matches_the_calculator() {
        for arch in [tiny_arch(), Arch::lab()] {
            let net = Network::new(&arch, 0);
            assert_eq!(
                net.param_count() as u64,
                crate::vision::vgg::stats(&arch).params
            );
        }
    }

    #[test]
    fn every_gradient_matches_finite_differences() {
        let arch = tiny_arch();
        let mut net = Network::new(&arch, 3);
        let mut rng = Rng::new(5);
        let n = 3;
        let x: Vec<f32> = (0..n * 2 * 64).map(|_| rng.normal() as f32).collect();
        let labels = vec![0u32, 3, 4];
        // Make batch-norm non-trivial.
        for b in net.blocks.iter_mut() {
            b.gamma
                .iter_mut()
                .for_each(|g| *g = 1.0 + rng.uniform(-0.3, 0.3) as f32);
            b.beta
                .iter_mut()
                .for_each(|g| *g = rng.uniform(-0.3, 0.3) as f32);
        }
        let (_, grads) = net.clone().loss_and_grads(&x, &labels, n);
        let loss_at = |net: &Network| net.clone().loss_and_grads(&x, &labels, n).0 as f64;
        let mut checked = 0;
        let groups = net.clone().params_and_grads(&grads).len();
        for group in 0..groups {
            let len = net.clone().params_and_grads(&grads)[group].0.len();
            for idx in (0..len).step_by((len / 6).max(1)) {
                let h = 2e-3f32;
                let mut plus = net.clone();
                plus.params_and_grads(&grads)[group].0[idx] += h;
                let mut minus = net.clone();
                minus.params_and_grads(&grads)[group].0[idx] -= h;
                let fd = (loss_at(&plus) - loss_at(&minus)) / (2.0 * h as f64);
                let g = net.clone().params_and_grads(&grads)[group].1[idx] as f64;
                assert!(
                    (fd - g).abs() <= 1e-2 * (1e-2 + fd.abs().max(g.abs())),
                    "group {group} idx {idx}: fd {fd} analytic {g}"
                );
                checked += 1;
            }
        }
        assert!(checked > 30);
    }

    #[test]
    fn a_few_steps_lower_the_loss() {
        let arch = tiny_arch();
        let mut net = Network::new(&arch, 1);
        let mut rng = Rng::new(2);
        let n = 16;
        let x: Vec<f32> = (0..n * 2 * 64).map(|_| rng.normal() as f32).collect();
        let labels: Vec<u32> = (0..n).map(|i| (i % 5) as u32).collect();
        let first = net.loss_and_grads(&x, &labels, n).0;
        let mut vel: Vec<Vec<f32>> = Vec::new();
        for _ in 0..30 {
            let (_, g) = net.loss_and_grads(&x, &labels, n);
            let pg = net.params_and_grads(&g);
            if vel.is_empty() {
                vel = pg.iter().map(|(p, _)| vec![0.0; p.len()]).collect();
            }
            for ((p, g), v) in pg.into_iter().zip(vel.iter_mut()) {
                crate::vision::nn::sgd_momentum(p, g, v, 0.05, 0.9, 0.0);
            }
        }
        let last = net.loss_and_grads(&x, &labels, n).0;
        assert!(last < 0.5 * first, "{first} -> {last}");
    }
}

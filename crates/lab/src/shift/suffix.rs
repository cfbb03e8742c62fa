//! The network from convolution `s` on, in evaluation mode (batch-norm's running statistics are
//! constants), for fine-tuning a chosen set of tensors while everything before `s` stays frozen.
//!
//! With fixed statistics every image is computed alone, so a batch's gradient is the sum of its
//! chunks' gradients: for a batch of B images split into chunks of n, the chunk's logits get
//! dL/dz = (softmax(z) - onehot(y)) / B, and the chunks' gradients add up to the batch mean's.
//! Backward stops at convolution `s`: no dx below the first tuned layer, no dW for a frozen one.
//! Optimiser: Adam with L2 weight decay (PyTorch's `Adam(weight_decay=wd)`), per tensor:
//!   g <- g + wd theta, m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
//!   theta <- theta - lr c (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),
//! with b1 = 0.9, b2 = 0.999, eps = 1e-8 and c the tensor's learning-rate multiplier (1, or
//! Auto-RGN's).

use super::blocks::Tensor;
use crate::vision::network::{Bn, Network};
use crate::vision::nn::{count_correct, head_backward, head_forward, softmax_cross_entropy};

/// Activations entering convolution `s` for the images `x` (N x 1 x 32 x 32), evaluation mode.
pub fn prefix(net: &mut Network, s: usize, x: &[f32], n: usize) -> Vec<f32> {
    let mut act = x.to_vec();
    for i in 0..s.min(net.blocks.len()) {
        act = net.block_forward(i, act, n, Bn::Eval).0;
    }
    act
}

/// Logits of `n` images whose activations entering convolution `s` are `act`.
pub fn logits_from(net: &mut Network, s: usize, act: &[f32], n: usize) -> Vec<f32> {
    let mut a = act.to_vec();
    for i in s..net.blocks.len() {
        a = net.block_forward(i, a, n, Bn::Eval).0;
    }
    head_forward(&a, &net.fc_weight, &net.fc_bias, net.head_shape(n))
}

/// Images classified right.
pub fn correct_from(net: &mut Network, s: usize, act: &[f32], labels: &[u32]) -> usize {
    let n = labels.len();
    count_correct(&logits_from(net, s, act, n), labels, net.classes())
}

/// A chunk's contribution to a batch of `batch` images: the loss summed over the chunk (divide
/// by the batch for its mean) and the gradients of `tensors` (added into `grads`, one per tensor).
pub fn accumulate_grads(
    net: &mut Network,
    s: usize,
    tensors: &[Tensor],
    act: &[f32],
    labels: &[u32],
    batch: usize,
    grads: &mut [Vec<f32>],
) -> f64 {
    let n = labels.len();
    let convs = net.blocks.len();
    let mut caches = Vec::with_capacity(convs - s.min(convs));
    let mut a = act.to_vec();
    for i in s..convs {
        let (next, cache) = net.block_forward(i, a, n, Bn::Eval);
        caches.push(cache);
        a = next;
    }
    let hs = net.head_shape(n);
    let logits = head_forward(&a, &net.fc_weight, &net.fc_bias, hs);
    let (loss, mut dlogits) = softmax_cross_entropy(&logits, labels, hs.k);
    let scale = n as f32 / batch as f32;
    dlogits.iter_mut().for_each(|d| *d *= scale);
    let wants = |t: Tensor| tensors.iter().position(|&u| u == t);
    let wants_head = wants(Tensor::FcWeight).is_some() || wants(Tensor::FcBias).is_some();
    let (dw, db, mut d) = head_backward(&a, &dlogits, &net.fc_weight, hs);
    if wants_head {
        add(grads, wants(Tensor::FcWeight), &dw);
        add(grads, wants(Tensor::FcBias), &db);
    }
    for i in (s..convs).rev() {
        let cache = caches.pop().expect("one cache per convolution");
        let want_dw = wants(Tensor::ConvWeight(i)).is_some();
        let (dx, (dwi, dgamma, dbeta)) = net.block_backward(i, cache, d, n, i > s, want_dw);
        add(grads, wants(Tensor::ConvWeight(i)), &dwi);
        add(grads, wants(Tensor::Gamma(i)), &dgamma);
        add(grads, wants(Tensor::Beta(i)), &dbeta);
        d = dx;
    }
    loss as f64 * n as f64
}

/// `acc[k] += grads[k]` for each tensor (an empty `grads[k]`: zero).
pub(super) fn add_into(acc: &mut [Vec<f32>], grads: &[Vec<f32>]) {
    for (k, g) in grads.iter().enumerate().filter(|(_, g)| !g.is_empty()) {
        add(acc, Some(k), g);
    }
}

/// `grads[at] += g` (an empty `grads[at]` starts at zero).
fn add(grads: &mut [Vec<f32>], at: Option<usize>, g: &[f32]) {
    if let Some(k) = at {
        let acc = &mut grads[k];
        if acc.is_empty() {
            acc.resize(g.len(), 0.0);
        }
        acc.iter_mut().zip(g).for_each(|(a, b)| *a += b);
    }
}

/// Adam's moments for a set of tensors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Adam {
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    t: i32,
}

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const ADAM_EPS: f64 = 1e-8;

impl Adam {
    /// One step on `tensors` with their gradients, learning rate `lr` times each multiplier.
    pub fn step(
        &mut self,
        net: &mut Network,
        tensors: &[Tensor],
        grads: &[Vec<f32>],
        lr: f64,
        multipliers: &[f64],
        weight_decay: f64,
    ) {
        self.t += 1;
        let (c1, c2) = (1.0 - BETA1.powi(self.t), 1.0 - BETA2.powi(self.t));
        self.m.resize(tensors.len(), Vec::new());
        self.v.resize(tensors.len(), Vec::new());
        for (k, &t) in tensors.iter().enumerate() {
            let w = t.get_mut(net);
            let (m, v) = (&mut self.m[k], &mut self.v[k]);
            m.resize(w.len(), 0.0);
            v.resize(w.len(), 0.0);
            let step = lr * multipliers.get(k).copied().unwrap_or(1.0);
            for (i, x) in w.iter_mut().enumerate() {
                let g = grads[k].get(i).copied().unwrap_or(0.0) as f64 + weight_decay * *x as f64;
                let mi = BETA1 * m[i] as f64 + (1.0 - BETA1) * g;
                let vi = BETA2 * v[i] as f64 + (1.0 - BETA2) * g * g;
                m[i] = mi as f32;
                v[i] = vi as f32;
                *x = (*x as f64 - step * (mi / c1) / ((vi / c2).sqrt() + ADAM_EPS)) as f32;
            }
        }
    }
}

/// ||g|| / ||theta|| of each tensor (0 where theta is zero).
pub fn relative_grad_norms(net: &Network, tensors: &[Tensor], grads: &[Vec<f32>]) -> Vec<f64> {
    let norm = |v: &[f32]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    tensors
        .iter()
        .zip(grads)
        .map(|(t, g)| {
            let w = norm(t.get(net));
            if w > 0.0 {
                norm(g) / w
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::shift::blocks::Tune;
    use crate::vision::vgg::{Arch, Stage};

    fn tiny() -> Network {
        let arch = Arch {
            name: "tiny",
            in_channels: 1,
            size: 8,
            stages: vec![
                Stage::Conv(3),
                Stage::Conv(3),
                Stage::Pool,
                Stage::Conv(4),
                Stage::Conv(4),
                Stage::Pool,
                Stage::Conv(4),
                Stage::Conv(4),
                Stage::Conv(5),
                Stage::Conv(5),
                Stage::Pool,
            ],
            classes: 3,
        };
        let mut net = Network::new(&arch, 5);
        let mut rng = Rng::new(8);
        for b in &mut net.blocks {
            for (m, v) in b.running_mean.iter_mut().zip(&mut b.running_var) {
                *m = rng.uniform(-0.2, 0.2) as f32;
                *v = rng.uniform(0.5, 2.0) as f32;
            }
        }
        net
    }

    fn mean_loss(net: &mut Network, x: &[f32], y: &[u32]) -> f64 {
        let logits = logits_from(net, 0, x, y.len());
        softmax_cross_entropy(&logits, y, 3).0 as f64
    }

    #[test]
    fn eval_mode_gradients_match_finite_differences_and_chunks_add_up() {
        let mut net = tiny();
        let mut rng = Rng::new(1);
        let n = 4;
        let x: Vec<f32> = (0..n * 64).map(|_| rng.normal() as f32).collect();
        let y = vec![0, 2, 1, 2];
        let tensors = Tune::All.tensors(&net);
        let mut whole = vec![Vec::new(); tensors.len()];
        accumulate_grads(&mut net, 0, &tensors, &x, &y, n, &mut whole);
        let mut chunked = vec![Vec::new(); tensors.len()];
        for c in 0..2 {
            accumulate_grads(
                &mut net,
                0,
                &tensors,
                &x[c * 128..(c + 1) * 128],
                &y[c * 2..(c + 1) * 2],
                n,
                &mut chunked,
            );
        }
        for (a, b) in whole.iter().flatten().zip(chunked.iter().flatten()) {
            assert!((a - b).abs() < 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
        }
        // Central differences at three steps (a ReLU or max-pool switching inside the smallest
        // step is rare; f32 noise grows as the step shrinks): one must agree.
        for (k, &t) in tensors.iter().enumerate() {
            for i in [0, t.get(&net).len() / 2] {
                let g = whole[k][i] as f64;
                let old = t.get(&net)[i];
                let numeric: Vec<f64> = [1e-3f32, 3e-4, 1e-4]
                    .iter()
                    .map(|&h| {
                        t.get_mut(&mut net)[i] = old + h;
                        let up = mean_loss(&mut net, &x, &y);
                        t.get_mut(&mut net)[i] = old - h;
                        let down = mean_loss(&mut net, &x, &y);
                        t.get_mut(&mut net)[i] = old;
                        (up - down) / (2.0 * h as f64)
                    })
                    .collect();
                assert!(
                    numeric
                        .iter()
                        .any(|d| (d - g).abs() < 2e-3 + 3e-2 * g.abs()),
                    "{}[{i}]: {g} vs {numeric:?}",
                    t.name()
                );
            }
        }
    }

    #[test]
    fn a_late_start_gives_the_same_gradients_as_the_whole_network() {
        let mut net = tiny();
        let mut rng = Rng::new(2);
        let x: Vec<f32> = (0..3 * 64).map(|_| rng.normal() as f32).collect();
        let y = vec![1, 0, 2];
        let tensors = Tune::Block(2).tensors(&net);
        let mut from0 = vec![Vec::new(); tensors.len()];
        accumulate_grads(&mut net, 0, &tensors, &x, &y, 3, &mut from0);
        let s = Tune::Block(2).first_conv(&net);
        let act = prefix(&mut net, s, &x, 3);
        let mut from_s = vec![Vec::new(); tensors.len()];
        accumulate_grads(&mut net, s, &tensors, &act, &y, 3, &mut from_s);
        assert_eq!(from0, from_s);
        assert_eq!(
            correct_from(&mut net, s, &act, &y),
            correct_from(&mut net, 0, &x, &y)
        );
    }

    #[test]
    fn adam_moves_only_its_tensors_and_decays_toward_zero() {
        let mut net = tiny();
        let before = net.clone();
        let tensors = Tune::Head.tensors(&net);
        let grads: Vec<Vec<f32>> = tensors
            .iter()
            .map(|t| vec![0.0; t.get(&net).len()])
            .collect();
        let mut adam = Adam::default();
        adam.step(&mut net, &tensors, &grads, 1e-2, &[1.0, 0.0], 1e-1);
        assert_eq!(net.blocks, before.blocks);
        assert_eq!(net.fc_bias, before.fc_bias); // multiplier 0
        for (a, b) in net.fc_weight.iter().zip(&before.fc_weight) {
            // First Adam step: theta moves by lr sign(g) (g = wd theta here).
            assert!((a - (b - 1e-2 * b.signum())).abs() < 1e-6);
        }
    }
}

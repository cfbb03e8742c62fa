//! Training and evaluating the image lab's network on the CPU.
//!
//! SGD with momentum 0.9 and weight decay, a cosine learning-rate schedule
//! lr_t = lr_0 (1 + cos(pi t / T)) / 2 over all T steps, mini-batches drawn in a seeded random order,
//! and data augmentation: a random shift of up to 2 pixels (the 28 x 28 image placed anywhere in the
//! 32 x 32 frame, i.e. padding and a random crop) and a horizontal flip with probability 1/2.
//! Evaluation uses batch-norm's running statistics.

use crate::rng::Rng;
use crate::vision::data::{Split, MEAN, PADDED, SIDE, STD};
use crate::vision::network::{Grads, Network};
use crate::vision::nn::{argmax_rows, sgd_momentum};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub augment: bool,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 4,
            batch: 128,
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 5e-4,
            augment: true,
            seed: 0,
        }
    }
}

/// Image `i` as 1 x 32 x 32 normalised floats, shifted by (dy, dx) in -2..=2 and optionally flipped.
pub fn place_image(split: &Split, i: usize, dy: isize, dx: isize, flip: bool, out: &mut [f32]) {
    let black = -MEAN / STD;
    out[..PADDED * PADDED].fill(black);
    let img = split.image(i);
    let pad = ((PADDED - SIDE) / 2) as isize;
    for r in 0..SIDE {
        for c in 0..SIDE {
            let (rr, cc) = (r as isize + pad + dy, c as isize + pad + dx);
            if rr < 0 || cc < 0 || rr >= PADDED as isize || cc >= PADDED as isize {
                continue;
            }
            let src = if flip {
                img[r * SIDE + SIDE - 1 - c]
            } else {
                img[r * SIDE + c]
            };
            out[rr as usize * PADDED + cc as usize] = (src as f32 / 255.0 - MEAN) / STD;
        }
    }
}

/// A batch of images `idx` (with augmentation drawn from `rng` when given) and their labels.
pub fn batch(split: &Split, idx: &[usize], mut rng: Option<&mut Rng>) -> (Vec<f32>, Vec<u32>) {
    let px = PADDED * PADDED;
    let mut x = vec![0.0f32; idx.len() * px];
    for (b, &i) in idx.iter().enumerate() {
        let (dy, dx, flip) = match rng.as_deref_mut() {
            Some(r) => (
                r.below(5) as isize - 2,
                r.below(5) as isize - 2,
                r.below(2) == 1,
            ),
            None => (0, 0, false),
        };
        place_image(split, i, dy, dx, flip, &mut x[b * px..(b + 1) * px]);
    }
    (x, idx.iter().map(|&i| split.labels[i] as u32).collect())
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub accuracy: f64,
    pub per_class: Vec<f64>,
    /// confusion[true][predicted]
    pub confusion: Vec<Vec<u32>>,
    pub images: usize,
    /// Indices of misclassified images (in order), with their predictions.
    pub mistakes: Vec<(usize, u32)>,
}

/// Images per forward pass when the page evaluates a network (on its thread, or in a worker):
/// batches start at multiples of it, so every split of the work into jobs at those multiples
/// computes each image in the same batch, and gives the same logits bit for bit.
pub const EVAL_BATCH: usize = 10;

/// The logits (`classes` per image, eval mode) of images `range` of a split, forward passes of
/// `EVAL_BATCH` images starting at `range.start`.
pub fn logits(net: &mut Network, split: &Split, range: std::ops::Range<usize>) -> Vec<f32> {
    let idx: Vec<usize> = range.collect();
    let mut out = Vec::with_capacity(idx.len() * net.classes());
    for chunk in idx.chunks(EVAL_BATCH) {
        let (x, _) = batch(split, chunk, None);
        out.extend(net.forward(&x, chunk.len(), false));
    }
    out
}

/// Predicted class of each image of a split, in batches (eval mode).
pub fn predict(net: &mut Network, split: &Split, range: std::ops::Range<usize>) -> Vec<u32> {
    let k = net.classes();
    let idx: Vec<usize> = range.collect();
    let mut out = Vec::with_capacity(idx.len());
    for chunk in idx.chunks(250) {
        let (x, _) = batch(split, chunk, None);
        out.extend(argmax_rows(&net.forward(&x, chunk.len(), false), k));
    }
    out
}

pub fn summarise(split: &Split, predictions: &[u32], classes: usize) -> Evaluation {
    let mut confusion = vec![vec![0u32; classes]; classes];
    let mut mistakes = Vec::new();
    for (i, &p) in predictions.iter().enumerate() {
        let y = split.labels[i] as usize;
        confusion[y][p as usize] += 1;
        if p as usize != y {
            mistakes.push((i, p));
        }
    }
    let correct: u32 = (0..classes).map(|c| confusion[c][c]).sum();
    let per_class = (0..classes)
        .map(|c| confusion[c][c] as f64 / confusion[c].iter().sum::<u32>().max(1) as f64)
        .collect();
    Evaluation {
        accuracy: correct as f64 / predictions.len().max(1) as f64,
        per_class,
        confusion,
        images: predictions.len(),
        mistakes,
    }
}

pub fn evaluate(net: &mut Network, split: &Split) -> Evaluation {
    let p = predict(net, split, 0..split.len());
    summarise(split, &p, net.classes())
}

/// One epoch's report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub test_accuracy: f64,
    pub seconds: f64,
}

/// The optimiser's state: the step count and one velocity per parameter tensor.
pub struct Trainer {
    pub config: TrainConfig,
    pub step: usize,
    pub total_steps: usize,
    velocity: Vec<Vec<f32>>,
    rng: Rng,
}

impl Trainer {
    pub fn new(config: TrainConfig, train_len: usize) -> Trainer {
        let per_epoch = train_len.div_ceil(config.batch.max(1));
        Trainer {
            total_steps: (per_epoch * config.epochs).max(1),
            rng: Rng::stream(config.seed, 77),
            config,
            step: 0,
            velocity: Vec::new(),
        }
    }

    pub fn learning_rate(&self) -> f32 {
        let t = self.step as f64 / self.total_steps as f64;
        (self.config.lr as f64 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())) as f32
    }

    /// A seeded random order of the training set for one epoch.
    pub fn epoch_order(&mut self, len: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..len).collect();
        self.rng.shuffle(&mut order);
        order
    }

    /// The images `idx` as a batch, augmented with this trainer's random stream when configured.
    pub fn batch(&mut self, split: &Split, idx: &[usize]) -> (Vec<f32>, Vec<u32>) {
        let aug = if self.config.augment {
            Some(&mut self.rng)
        } else {
            None
        };
        batch(split, idx, aug)
    }

    /// Apply one SGD-with-momentum update with `grads` at the current learning rate.
    pub fn apply(&mut self, net: &mut Network, grads: &Grads) {
        let lr = self.learning_rate();
        let pg = net.params_and_grads(grads);
        if self.velocity.is_empty() {
            self.velocity = pg.iter().map(|(p, _)| vec![0.0; p.len()]).collect();
        }
        for ((p, g), v) in pg.into_iter().zip(self.velocity.iter_mut()) {
            sgd_momentum(p, g, v, lr, self.config.momentum, self.config.weight_decay);
        }
        self.step += 1;
    }

    /// One SGD step on the images `idx`; returns the batch loss.
    pub fn step(&mut self, net: &mut Network, split: &Split, idx: &[usize]) -> f32 {
        let (x, y) = self.batch(split, idx);
        let (loss, grads) = net.loss_and_grads(&x, &y, idx.len());
        self.apply(net, &grads);
        loss
    }
}

/// Fine-tune for `epochs` passes over `split` (SGD with momentum, cosine schedule from `lr`, batch
/// 128, augmentation), calling `after_step` after every step (to re-apply pruning masks, or to pull
/// the weights back onto their k-means centroids); returns each epoch's mean batch loss.
pub fn finetune(
    net: &mut Network,
    split: &Split,
    epochs: usize,
    lr: f32,
    seed: u64,
    mut after_step: impl FnMut(&mut Network),
) -> Vec<f64> {
    let config = TrainConfig {
        epochs,
        lr,
        seed,
        ..TrainConfig::default()
    };
    let batch = config.batch;
    let mut trainer = Trainer::new(config, split.len());
    let mut losses = Vec::new();
    for _ in 0..epochs {
        let order = trainer.epoch_order(split.len());
        let mut sum = 0.0f64;
        let mut steps = 0;
        for idx in order.chunks(batch) {
            sum += trainer.step(net, split, idx) as f64;
            steps += 1;
            after_step(net);
        }
        losses.push(sum / steps.max(1) as f64);
    }
    losses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_and_flips_move_the_pixels() {
        let split = Split {
            images: (0..SIDE * SIDE).map(|i| (i % 251) as u8).collect(),
            labels: vec![3],
        };
        let mut a = vec![0.0f32; PADDED * PADDED];
        let mut b = vec![0.0f32; PADDED * PADDED];
        place_image(&split, 0, 0, 0, false, &mut a);
        place_image(&split, 0, 1, -2, false, &mut b);
        assert_eq!(a[2 * PADDED + 2], b[3 * PADDED]);
        place_image(&split, 0, 0, 0, true, &mut b);
        assert_eq!(a[2 * PADDED + 2], b[2 * PADDED + 2 + SIDE - 1]);
    }

    /// The page's workers each get one job's images (a split of their own, from index 0); any split
    /// at multiples of `EVAL_BATCH` gives the single run's logits bit for bit.
    #[test]
    fn logits_split_into_jobs_equal_one_run_bit_for_bit() {
        let arch = crate::vision::vgg::Arch::lab();
        let net = Network::new(&arch, 7);
        let n = 47;
        let split = Split {
            images: (0..n * SIDE * SIDE)
                .map(|i| ((i * 37) % 256) as u8)
                .collect(),
            labels: vec![0; n],
        };
        let whole = logits(&mut net.clone(), &split, 0..n);
        assert_eq!(whole.len(), n * net.classes());
        let k = net.classes();
        for cuts in [
            vec![0, 10, 20, 30, 40, n],
            vec![0, 30, n],
            vec![0, 20, 40, n],
        ] {
            let mut joined = Vec::new();
            for w in cuts.windows(2) {
                let job = Split {
                    images: split.images[w[0] * SIDE * SIDE..w[1] * SIDE * SIDE].to_vec(),
                    labels: vec![0; w[1] - w[0]],
                };
                joined.extend(logits(&mut net.clone(), &job, 0..w[1] - w[0]));
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&joined), bits(&whole), "cuts {cuts:?}");
        }
        assert_eq!(
            predict(&mut net.clone(), &split, 0..n),
            argmax_rows(&whole, k)
        );
    }

    #[test]
    fn cosine_schedule_starts_at_lr_and_ends_near_zero() {
        let mut t = Trainer::new(
            TrainConfig {
                epochs: 1,
                batch: 10,
                lr: 0.1,
                ..Default::default()
            },
            100,
        );
        assert!((t.learning_rate() - 0.1).abs() < 1e-7);
        t.step = 5;
        assert!((t.learning_rate() - 0.05).abs() < 1e-6);
        t.step = 10;
        assert!(t.learning_rate().abs() < 1e-7);
        let order = t.epoch_order(50);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }
}

//! The three shifts of surgical fine-tuning (Lee et al., ICLR 2023) and the data they are learnt on.
//!
//! - Input-level: an MNIST-C corruption at a severity (see `corruptions`), labels unchanged.
//! - Label-level: `flip`, y -> 9 - y on clean images. No class keeps its label, so the network
//!   starts near 0%; the head alone can solve it exactly (W' = P W, b' = P b for the permutation P).
//! - Feature-level: `stage-noise`, each parameter tensor t of block k perturbed once,
//!   t <- t + alpha std(t) e with e ~ N(0, 1) element-wise; clean images and labels.
//!
//! The data are drawn from the test split, which the network never trained on: per class, a
//! seeded shuffle of that class's images gives `images / 10` training, `max(1, images / 100)`
//! validation and `test / 10` test images, disjoint. Corruption noise for test-split image i comes
//! from `Rng::stream(seed, i)`, the same stream the corruption heatmap uses for that image.

use super::blocks::{check_blocks, Tune, BLOCKS};
use super::corruptions::{corrupt_range, Corruption, MAX_SEVERITY};
use crate::rng::Rng;
use crate::vision::data::{padded_image, Split, PADDED};
use crate::vision::network::Network;

pub const CLASSES: usize = 10;

/// A distribution shift.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shift {
    Corruption {
        corruption: Corruption,
        severity: u8,
    },
    Flip,
    /// Block 0..4 (block1..block4) perturbed with noise of `alpha` times each tensor's std.
    StageNoise {
        block: usize,
        alpha: f64,
    },
}

impl Shift {
    /// `corruption`, `flip` or `stage-noise`.
    pub fn kind(&self) -> &'static str {
        match self {
            Shift::Corruption { .. } => "corruption",
            Shift::Flip => "flip",
            Shift::StageNoise { .. } => "stage-noise",
        }
    }

    /// A one-line description (`gaussian_noise at severity 5`, `stage-noise on block2, alpha 1`).
    pub fn describe(&self) -> String {
        match self {
            Shift::Corruption {
                corruption,
                severity,
            } => format!("{} at severity {severity}", corruption.name()),
            Shift::Flip => "flip (y -> 9 - y)".into(),
            Shift::StageNoise { block, alpha } => {
                format!("stage-noise on block{}, alpha {alpha}", block + 1)
            }
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Shift::Corruption { severity, .. } if !(1..=MAX_SEVERITY).contains(&severity) => Err(
                format!("severity must be 1 to {MAX_SEVERITY} (got {severity})"),
            ),
            Shift::StageNoise { block, .. } if block >= BLOCKS => Err(format!(
                "noise block must be block1 to block{BLOCKS} (got block{})",
                block + 1
            )),
            Shift::StageNoise { alpha, .. } if !(alpha.is_finite() && alpha >= 0.0) => {
                Err(format!("alpha must be a finite number >= 0 (got {alpha})"))
            }
            _ => Ok(()),
        }
    }

    /// The network the shift starts from: the pretrained one, perturbed for `stage-noise`.
    pub fn network(&self, pretrained: &Network, seed: u64) -> Result<Network, String> {
        self.validate()?;
        let mut net = pretrained.clone();
        if let Shift::StageNoise { block, alpha } = *self {
            check_blocks(&net)?;
            for (k, t) in Tune::Block(block)
                .tensors(pretrained)
                .into_iter()
                .enumerate()
            {
                let w = t.get_mut(&mut net);
                let n = w.len().max(1) as f64;
                let mean = w.iter().map(|&x| x as f64).sum::<f64>() / n;
                let std = (w.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
                let mut rng = Rng::stream(seed, 900 + k as u64);
                for x in w.iter_mut() {
                    *x += (alpha * std * rng.normal()) as f32;
                }
            }
        }
        Ok(net)
    }

    /// A split's images and labels under the shift (a stage-noise shift leaves the data clean).
    fn apply(&self, test: &Split, indices: &[usize], seed: u64) -> Result<Split, String> {
        let mut out = Split {
            images: Vec::with_capacity(indices.len() * test.image(0).len()),
            labels: Vec::with_capacity(indices.len()),
        };
        for &i in indices {
            match *self {
                Shift::Corruption {
                    corruption,
                    severity,
                } => out
                    .images
                    .extend(corrupt_range(test, corruption, severity, seed, i..i + 1)?),
                _ => out.images.extend_from_slice(test.image(i)),
            }
            let y = test.labels[i];
            out.labels.push(match self {
                Shift::Flip => (CLASSES as u8 - 1).saturating_sub(y),
                _ => y,
            });
        }
        Ok(out)
    }
}

/// Images ready for the network: N x 1 x 32 x 32 normalised floats, and labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensors {
    pub x: Vec<f32>,
    pub labels: Vec<u32>,
}

impl Tensors {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn from_split(split: &Split) -> Tensors {
        let px = PADDED * PADDED;
        let mut x = vec![0.0f32; split.len() * px];
        for i in 0..split.len() {
            padded_image(split, i, &mut x[i * px..(i + 1) * px]);
        }
        Tensors {
            x,
            labels: split.labels.iter().map(|&y| y as u32).collect(),
        }
    }
}

/// The shifted data of one experiment, with the test-split indices it was drawn from.
#[derive(Clone, Debug, PartialEq)]
pub struct ShiftedData {
    pub train: Tensors,
    pub val: Tensors,
    pub test: Tensors,
    /// The shifted training images as bytes (for showing examples).
    pub train_split: Split,
    pub indices: [Vec<usize>; 3],
}

/// Sizes of the three sets: (train, validation, test) per class.
pub fn per_class(images: usize, test: usize) -> Result<(usize, usize, usize), String> {
    if images < CLASSES || !images.is_multiple_of(CLASSES) {
        return Err(format!(
            "images must be a positive multiple of {CLASSES} (got {images})"
        ));
    }
    if test < CLASSES || !test.is_multiple_of(CLASSES) {
        return Err(format!(
            "test images must be a positive multiple of {CLASSES} (got {test})"
        ));
    }
    let train = images / CLASSES;
    Ok((train, (train / 10).max(1), test / CLASSES))
}

impl ShiftedData {
    /// Draw `images` training images (and the validation and test sets) from `test` under `shift`.
    pub fn draw(
        test: &Split,
        shift: &Shift,
        images: usize,
        test_images: usize,
        seed: u64,
    ) -> Result<ShiftedData, String> {
        let mut d = ShiftedData::plan(test, shift, images, test_images, seed)?;
        for set in 0..3 {
            d.fill(test, shift, seed, set, d.indices[set].len())?;
        }
        Ok(d)
    }

    /// The draw's indices, with no image shifted yet (`fill` shifts them a few at a time).
    pub fn plan(
        test: &Split,
        shift: &Shift,
        images: usize,
        test_images: usize,
        seed: u64,
    ) -> Result<ShiftedData, String> {
        shift.validate()?;
        let (n_train, n_val, n_test) = per_class(images, test_images)?;
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); CLASSES];
        for (i, &y) in test.labels.iter().enumerate() {
            if let Some(c) = by_class.get_mut(y as usize) {
                c.push(i);
            }
        }
        let mut rng = Rng::stream(seed, 77);
        let mut sets: [Vec<usize>; 3] = Default::default();
        for (c, idx) in by_class.iter_mut().enumerate() {
            if idx.len() < n_train + n_val + n_test {
                return Err(format!(
                    "class {c} has {} test images, fewer than the {} asked for (images {images}, test {test_images})",
                    idx.len(),
                    n_train + n_val + n_test
                ));
            }
            rng.shuffle(idx);
            sets[0].extend_from_slice(&idx[..n_train]);
            sets[1].extend_from_slice(&idx[n_train..n_train + n_val]);
            sets[2].extend_from_slice(&idx[n_train + n_val..n_train + n_val + n_test]);
        }
        Ok(ShiftedData {
            train: Tensors::default(),
            val: Tensors::default(),
            test: Tensors::default(),
            train_split: Split {
                images: Vec::new(),
                labels: Vec::new(),
            },
            indices: sets,
        })
    }

    /// Images of set `set` (0 train, 1 validation, 2 test) shifted so far.
    pub fn filled(&self, set: usize) -> usize {
        [&self.train, &self.val, &self.test][set.min(2)].len()
    }

    /// Shift up to `count` more images of set `set`.
    pub fn fill(
        &mut self,
        test: &Split,
        shift: &Shift,
        seed: u64,
        set: usize,
        count: usize,
    ) -> Result<(), String> {
        let from = self.filled(set);
        let to = (from + count).min(self.indices[set.min(2)].len());
        let part = shift.apply(test, &self.indices[set.min(2)][from..to], seed)?;
        let t = Tensors::from_split(&part);
        let target = match set {
            0 => &mut self.train,
            1 => &mut self.val,
            _ => &mut self.test,
        };
        target.x.extend(t.x);
        target.labels.extend(t.labels);
        if set == 0 {
            self.train_split.images.extend(part.images);
            self.train_split.labels.extend(part.labels);
        }
        Ok(())
    }
}

/// The map between the old head and a new one: the K x K matrix M (row-major) that best writes
/// the new head's rows as mixtures of the old one's, [W' b'] ~ M [W b] in least squares,
/// M = [W' b'] [W b]^T ([W b] [W b]^T)^-1. Under `flip` the exact answer is the permutation
/// P (row y holds a 1 at 9 - y), which `flip_permutation` gives.
pub fn head_map(old: &Network, new: &Network) -> Result<Vec<f64>, String> {
    let k = old.classes();
    let c = old.fc_weight.len() / k.max(1);
    if new.classes() != k || new.fc_weight.len() != old.fc_weight.len() {
        return Err("the two heads differ in shape".into());
    }
    let row = |n: &Network, r: usize| -> Vec<f64> {
        let mut v: Vec<f64> = n.fc_weight[r * c..(r + 1) * c]
            .iter()
            .map(|&x| x as f64)
            .collect();
        v.push(n.fc_bias[r] as f64);
        v
    };
    let (a, b): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (0..k).map(|r| (row(old, r), row(new, r))).unzip();
    let g = ndarray::Array2::from_shape_fn((k, k), |(i, j)| crate::linalg::dot(&a[i], &a[j]));
    // G M^T = A B^T, column j of the right-hand side being row j of M.
    let mut rhs = ndarray::Array2::from_shape_fn((k, k), |(i, j)| crate::linalg::dot(&a[i], &b[j]));
    let chol = crate::linalg::Cholesky::factor(g.view()).map_err(|e| format!("{e:?}"))?;
    chol.solve_in_place(rhs.view_mut());
    Ok((0..k * k).map(|idx| rhs[[idx % k, idx / k]]).collect())
}

/// The flip's permutation matrix (K x K, row-major): row y has its 1 at K - 1 - y.
pub fn flip_permutation(k: usize) -> Vec<f64> {
    (0..k * k)
        .map(|idx| if idx % k == k - 1 - idx / k { 1.0 } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::vgg::Arch;

    fn fake_test_split(per_class: usize) -> Split {
        let n = per_class * CLASSES;
        let mut rng = Rng::new(3);
        Split {
            images: (0..n * 784).map(|_| rng.below(256) as u8).collect(),
            labels: (0..n).map(|i| (i % CLASSES) as u8).collect(),
        }
    }

    #[test]
    fn draws_disjoint_balanced_sets_deterministically() {
        let split = fake_test_split(40);
        let shift = Shift::Corruption {
            corruption: Corruption::GaussianNoise,
            severity: 5,
        };
        let d = ShiftedData::draw(&split, &shift, 200, 100, 4).unwrap();
        assert_eq!((d.train.len(), d.val.len(), d.test.len()), (200, 20, 100));
        let mut all: Vec<usize> = d.indices.concat();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 320);
        for c in 0..CLASSES as u32 {
            assert_eq!(d.train.labels.iter().filter(|&&y| y == c).count(), 20);
        }
        assert_eq!(d, ShiftedData::draw(&split, &shift, 200, 100, 4).unwrap());
        assert_ne!(
            d.indices,
            ShiftedData::draw(&split, &shift, 200, 100, 5)
                .unwrap()
                .indices
        );
        // The corruption is the one the heatmap applies to that test image.
        let i = d.indices[0][7];
        let one = corrupt_range(&split, Corruption::GaussianNoise, 5, 4, i..i + 1).unwrap();
        assert_eq!(d.train_split.image(7), &one[..]);
        assert!(ShiftedData::draw(&split, &shift, 400, 100, 4)
            .unwrap_err()
            .contains("fewer"));
        assert!(ShiftedData::draw(&split, &shift, 0, 100, 4)
            .unwrap_err()
            .contains("images"));
    }

    #[test]
    fn head_map_recovers_a_permuted_head() {
        let old = Network::new(&Arch::lab(), 3);
        let mut new = old.clone();
        let c = old.fc_weight.len() / 10;
        for y in 0..10 {
            new.fc_weight[y * c..(y + 1) * c]
                .copy_from_slice(&old.fc_weight[(9 - y) * c..(10 - y) * c]);
            new.fc_bias[y] = old.fc_bias[9 - y];
        }
        let m = head_map(&old, &new).unwrap();
        for (a, b) in m.iter().zip(flip_permutation(10)) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn flip_has_no_fixed_point_and_keeps_images() {
        let split = fake_test_split(20);
        let d = ShiftedData::draw(&split, &Shift::Flip, 100, 50, 1).unwrap();
        for (k, &i) in d.indices[0].iter().enumerate() {
            assert_eq!(d.train.labels[k], 9 - split.labels[i] as u32);
            assert_eq!(d.train_split.image(k), split.image(i));
        }
    }

    #[test]
    fn stage_noise_perturbs_only_its_block_by_alpha_std() {
        let mut net = Network::new(&Arch::lab(), 2);
        let mut rng = Rng::new(5);
        for b in &mut net.blocks {
            b.gamma
                .iter_mut()
                .for_each(|g| *g = rng.uniform(0.5, 1.5) as f32);
            b.beta
                .iter_mut()
                .for_each(|g| *g = rng.uniform(-0.5, 0.5) as f32);
        }
        let shift = Shift::StageNoise {
            block: 1,
            alpha: 0.5,
        };
        let noisy = shift.network(&net, 9).unwrap();
        let inside = Tune::Block(1).param_count(&net);
        assert_eq!(super::super::blocks::params_changed(&net, &noisy), inside);
        let (a, b) = (&net.blocks[3].weight, &noisy.blocks[3].weight);
        let n = a.len() as f64;
        let std = |v: &dyn Fn(usize) -> f64| {
            let m = (0..a.len()).map(v).sum::<f64>() / n;
            ((0..a.len()).map(|i| (v(i) - m).powi(2)).sum::<f64>() / n).sqrt()
        };
        let s_w = std(&|i| a[i] as f64);
        let s_d = std(&|i| (b[i] - a[i]) as f64);
        assert!((s_d / s_w - 0.5).abs() < 0.03, "{s_d} / {s_w}");
        assert_eq!(shift.network(&net, 9).unwrap(), noisy);
        assert!(Shift::StageNoise {
            block: 4,
            alpha: 1.0
        }
        .validate()
        .is_err());
        assert!(Shift::StageNoise {
            block: 0,
            alpha: f64::NAN
        }
        .validate()
        .unwrap_err()
        .contains("alpha"));
        assert!(Shift::Corruption {
            corruption: Corruption::Contrast,
            severity: 7
        }
        .validate()
        .unwrap_err()
        .contains("severity"));
    }
}

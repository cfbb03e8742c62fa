//! Quantization of the image lab's network (chapter 7): k-means and linear.
//!
//! k-means with n bits: each weight tensor gets 2^n centroids (k-means on its values, seeded), and each
//! weight is replaced by its centroid, so the tensor holds at most 2^n distinct values; storage is an
//! n-bit index per weight plus the codebook (2^n values at 32 bits). Quantization-aware training keeps
//! the assignment and, after every optimiser step, sets each centroid to the mean of the weights
//! assigned to it and each weight to its centroid.
//! Linear: r = S (q - Z) with q an n-bit signed integer in [q_min, q_max] = [-2^(n-1), 2^(n-1) - 1],
//! S = (r_max - r_min) / (q_max - q_min), Z = round(q_min - r_min / S) clamped to [q_min, q_max]
//! (rounding half to even, as the original lab's Python);
//! quantize q = clamp(round(r / S) + Z, q_min, q_max), dequantize r' = S (q - Z), so |r' - r| <= S / 2
//! for r in [r_min, r_max] (when Z needed no clamping).

use crate::kmeans;
use crate::network::Network;
use crate::prune;
use crate::rng::Rng;
use serde::Serialize;

/// Scale, zero point and integer range of a linear quantization.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LinearParams {
    pub scale: f64,
    pub zero_point: i64,
    pub qmin: i64,
    pub qmax: i64,
}

/// S and Z mapping [r_min, r_max] onto the signed `bits`-bit integers.
pub fn linear_params(rmin: f64, rmax: f64, bits: u32) -> Result<LinearParams, String> {
    if !(1..=32).contains(&bits) {
        return Err(format!("bits must be 1 to 32 (got {bits})"));
    }
    if !rmin.is_finite() || !rmax.is_finite() || rmax <= rmin {
        return Err(format!(
            "the range needs r_min < r_max, both finite (got {rmin}, {rmax})"
        ));
    }
    let qmin = -(1i64 << (bits - 1));
    let qmax = (1i64 << (bits - 1)) - 1;
    let scale = (rmax - rmin) / (qmax - qmin) as f64;
    let zero_point = ((qmin as f64 - rmin / scale).round_ties_even() as i64).clamp(qmin, qmax);
    Ok(LinearParams {
        scale,
        zero_point,
        qmin,
        qmax,
    })
}

impl LinearParams {
    pub fn quantize(&self, r: f64) -> i64 {
        ((r / self.scale).round_ties_even() as i64 + self.zero_point).clamp(self.qmin, self.qmax)
    }

    pub fn dequantize(&self, q: i64) -> f64 {
        self.scale * (q - self.zero_point) as f64
    }
}

/// A k-means-quantized tensor: its codebook and each weight's centroid index.
#[derive(Clone, Debug, PartialEq)]
pub struct Codebook {
    pub centroids: Vec<f32>,
    pub assignment: Vec<u32>,
}

impl Codebook {
    /// k-means with 2^bits centroids on the values of `w`: initial centroids drawn (seeded) from the
    /// values, then `rounds` assignment/update rounds (fewer when the assignment stops changing).
    pub fn fit(w: &[f32], bits: u32, seed: u64, rounds: usize) -> Result<Codebook, String> {
        if !(1..=8).contains(&bits) {
            return Err(format!("bits must be 1 to 8 (got {bits})"));
        }
        if w.is_empty() {
            return Err("k-means needs at least one value".into());
        }
        let k = 1usize << bits;
        let mut rng = Rng::stream(seed, 7);
        let mut centroids: Vec<f32> = (0..k).map(|_| w[rng.below(w.len())]).collect();
        centroids.sort_by(f32::total_cmp);
        let mut assignment = kmeans::assign(w, &centroids);
        for _ in 0..rounds {
            centroids = kmeans::update(w, &assignment, &centroids);
            let next = kmeans::assign(w, &centroids);
            if next == assignment {
                break;
            }
            assignment = next;
        }
        Ok(Codebook {
            centroids,
            assignment,
        })
    }

    /// Each weight replaced by its centroid.
    pub fn apply(&self, w: &mut [f32]) {
        for (v, &a) in w.iter_mut().zip(&self.assignment) {
            *v = self.centroids[a as usize];
        }
    }

    /// Quantization-aware training's step: centroids to the mean of their (trained) weights, then
    /// the weights to their centroids.
    pub fn update_and_apply(&mut self, w: &mut [f32]) {
        self.centroids = kmeans::update(w, &self.assignment, &self.centroids);
        self.apply(w);
    }

    /// Sum of squared differences between `w` and its quantized values.
    pub fn error(&self, w: &[f32]) -> f64 {
        kmeans::inertia(w, &self.assignment, &self.centroids)
    }
}

/// One codebook per prunable layer (conv weights, then the linear weight), `prune::layer_names` order.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeansQuantizer {
    pub bits: u32,
    pub codebooks: Vec<Codebook>,
}

/// k-means rounds per tensor (the assignment usually settles well before).
pub const KMEANS_ROUNDS: usize = 30;

impl KMeansQuantizer {
    /// Fit every layer's codebook to `net` and quantize its weights.
    pub fn quantize(net: &mut Network, bits: u32, seed: u64) -> Result<KMeansQuantizer, String> {
        let layers = net.blocks.len() + 1;
        let mut codebooks = Vec::with_capacity(layers);
        for i in 0..layers {
            let cb = Codebook::fit(prune::weights(net, i), bits, seed + i as u64, KMEANS_ROUNDS)?;
            cb.apply(prune::weights_mut(net, i));
            codebooks.push(cb);
        }
        Ok(KMeansQuantizer { bits, codebooks })
    }

    /// After an optimiser step: every codebook updated from its layer's weights and re-applied.
    pub fn update_and_apply(&mut self, net: &mut Network) {
        for (i, cb) in self.codebooks.iter_mut().enumerate() {
            cb.update_and_apply(prune::weights_mut(net, i));
        }
    }

    /// Model size in bits: `bits` per quantized weight plus each codebook at 32 bits per centroid, and
    /// every other parameter (batch-norm, the linear bias) at 32 bits.
    pub fn model_bits(&self, net: &Network) -> u64 {
        let quantized: u64 = self
            .codebooks
            .iter()
            .map(|c| c.assignment.len() as u64 * self.bits as u64 + 32 * c.centroids.len() as u64)
            .sum();
        let weights: u64 = self
            .codebooks
            .iter()
            .map(|c| c.assignment.len() as u64)
            .sum();
        quantized + prune::model_bits(net, false) - 32 * weights
    }
}

/// Number of distinct values in a tensor.
pub fn distinct_values(w: &[f32]) -> usize {
    let mut v: Vec<u32> = w.iter().map(|x| x.to_bits()).collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vgg::{Arch, Stage::*};

    #[test]
    fn scale_and_zero_point_by_hand() {
        // The homework's example: r in [-0.25, 0.75] on 2 bits.
        let p = linear_params(-0.25, 0.75, 2).unwrap();
        assert_eq!((p.qmin, p.qmax), (-2, 1));
        assert!((p.scale - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(p.zero_point, -1);
        // Symmetric 8-bit: Z = round(-128 + 127.5) = round(-0.5) = 0 (half to even).
        let p = linear_params(-1.0, 1.0, 8).unwrap();
        assert!((p.scale - 2.0 / 255.0).abs() < 1e-12);
        assert_eq!(p.zero_point, 0);
        // A range that is all positive puts Z at q_min; one far from zero clamps Z.
        assert_eq!(linear_params(0.0, 6.0, 8).unwrap().zero_point, -128);
        assert_eq!(linear_params(10.0, 11.0, 8).unwrap().zero_point, -128);
        assert_eq!(linear_params(-11.0, -10.0, 8).unwrap().zero_point, 127);
        assert!(linear_params(1.0, 1.0, 8).is_err());
        assert!(linear_params(0.0, 1.0, 0).is_err());
        assert!(linear_params(f64::NAN, 1.0, 8).is_err());
    }

    #[test]
    fn round_trip_error_is_at_most_half_a_step() {
        for (lo, hi, bits) in [
            (-0.25, 0.75, 2),
            (-1.0, 3.0, 4),
            (-0.3, 0.2, 8),
            (0.0, 6.0, 8),
        ] {
            let p = linear_params(lo, hi, bits).unwrap();
            for i in 0..=1000 {
                let r = lo + (hi - lo) * i as f64 / 1000.0;
                let back = p.dequantize(p.quantize(r));
                assert!(
                    (back - r).abs() <= p.scale / 2.0 + 1e-12,
                    "{lo} {hi} {bits}: {r} -> {back}"
                );
            }
        }
    }

    #[test]
    fn kmeans_has_at_most_2_to_the_n_values_reproduces_and_never_gets_worse() {
        let mut rng = Rng::new(3);
        let w: Vec<f32> = (0..2000).map(|_| 0.1 * rng.normal() as f32).collect();
        for bits in [1, 2, 4, 8] {
            let a = Codebook::fit(&w, bits, 5, 30).unwrap();
            let b = Codebook::fit(&w, bits, 5, 30).unwrap();
            assert_eq!(a, b, "seeded runs reproduce");
            let mut q = w.clone();
            a.apply(&mut q);
            assert!(distinct_values(&q) <= 1 << bits);
            // More rounds never increase the error.
            let mut last = f64::INFINITY;
            for rounds in [0, 1, 2, 5, 30] {
                let e = Codebook::fit(&w, bits, 5, rounds).unwrap().error(&w);
                assert!(
                    e <= last + 1e-9,
                    "{bits} bits, {rounds} rounds: {e} > {last}"
                );
                last = e;
            }
        }
        assert!(Codebook::fit(&w, 9, 0, 1).is_err());
        assert!(Codebook::fit(&[], 2, 0, 1).is_err());
    }

    #[test]
    fn the_network_is_quantized_and_qat_keeps_the_codebook() {
        let arch = Arch {
            name: "q",
            in_channels: 1,
            size: 8,
            stages: vec![Conv(4), Pool, Conv(6), Pool],
            classes: 3,
        };
        let mut net = Network::new(&arch, 2);
        let dense_bits = prune::model_bits(&net, false);
        let mut q = KMeansQuantizer::quantize(&mut net, 2, 0).unwrap();
        for i in 0..3 {
            assert!(distinct_values(prune::weights(&net, i)) <= 4);
        }
        // 2-bit indices + 4 centroids per layer instead of 32-bit weights.
        let weights = (36 + 216 + 18) as u64;
        assert_eq!(
            q.model_bits(&net),
            dense_bits - 32 * weights + 2 * weights + 3 * 4 * 32
        );
        // A training step moves the weights; QAT pulls them back onto (moved) centroids.
        let mut rng = Rng::new(1);
        let x: Vec<f32> = (0..4 * 64).map(|_| rng.normal() as f32).collect();
        let (_, g) = net.loss_and_grads(&x, &[0, 1, 2, 1], 4);
        for (p, g) in net.params_and_grads(&g) {
            for (w, d) in p.iter_mut().zip(g) {
                *w -= 0.1 * d;
            }
        }
        let before = q.codebooks[0].centroids.clone();
        q.update_and_apply(&mut net);
        assert_ne!(q.codebooks[0].centroids, before);
        for i in 0..3 {
            assert!(distinct_values(prune::weights(&net, i)) <= 4);
        }
    }
}

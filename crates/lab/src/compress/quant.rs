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

use crate::compress::kmeans;
use crate::compress::prune;
use crate::rng::Rng;
use crate::vision::network::Network;
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

/// Symmetric linear quantization of each row (output channel) of `w` on `bits` signed bits:
/// Z = 0, S = max|w_row| / q_max with q_max = 2^(bits-1) - 1, q = clamp(round(w / S), -q_max, q_max).
/// Returns the integers and each row's scale (1 for a row of zeros).
pub fn symmetric_per_channel(
    w: &[f32],
    rows: usize,
    bits: u32,
) -> Result<(Vec<i32>, Vec<f64>), String> {
    if !(2..=16).contains(&bits) {
        return Err(format!(
            "symmetric quantization needs 2 to 16 bits (got {bits})"
        ));
    }
    if rows == 0 || !w.len().is_multiple_of(rows) {
        return Err(format!("{} weights do not split into {rows} rows", w.len()));
    }
    let q_max = ((1i64 << (bits - 1)) - 1) as f64;
    let per = w.len() / rows;
    let mut q = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(rows);
    for row in w.chunks(per) {
        let m = row.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
        let s = if m > 0.0 { m / q_max } else { 1.0 };
        q.extend(
            row.iter()
                .map(|&v| (v as f64 / s).round_ties_even().clamp(-q_max, q_max) as i32),
        );
        scales.push(s);
    }
    Ok((q, scales))
}

/// Every conv and linear weight of `net` quantized symmetrically per output channel on `bits`
/// bits and replaced by its dequantized value S q (the float network then computes with exactly
/// the values an integer kernel would use). Returns the model size in bits: `bits` per weight, a
/// 32-bit scale per output channel, every other parameter at 32 bits.
pub fn linear_quantize_weights(net: &mut Network, bits: u32) -> Result<u64, String> {
    let layers = net.blocks.len() + 1;
    let mut size = prune::model_bits(net, false);
    for i in 0..layers {
        let rows = net.blocks.get(i).map(|b| b.c_out).unwrap_or(net.classes());
        let w = prune::weights_mut(net, i);
        let (q, scales) = symmetric_per_channel(w, rows, bits)?;
        let per = w.len() / rows;
        for (j, (v, qi)) in w.iter_mut().zip(&q).enumerate() {
            *v = (scales[j / per] * *qi as f64) as f32;
        }
        size = size - 32 * w.len() as u64 + bits as u64 * w.len() as u64 + 32 * rows as u64;
    }
    Ok(size)
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
        let mut job = KMeansJob::new(w.to_vec(), bits, seed, rounds)?;
        while !job.done() {
            job.advance(usize::MAX);
        }
        Ok(job.codebook())
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

/// k-means on one tensor as a resumable job: each round assigns every weight to its nearest
/// centroid (a pass the page runs in slices on the CPU, or at once on the GPU with
/// `set_assignment`), then moves each centroid to the mean of its weights (on the CPU, in double
/// precision, on both paths). It stops after `rounds` updates or when an assignment repeats.
pub struct KMeansJob {
    w: Vec<f32>,
    centroids: Vec<f32>,
    /// The last complete assignment, once there is one.
    assignment: Option<Vec<u32>>,
    /// The pass under way, and how far it has got.
    pass: Vec<u32>,
    updates: usize,
    rounds: usize,
    done: bool,
}

impl KMeansJob {
    pub fn new(w: Vec<f32>, bits: u32, seed: u64, rounds: usize) -> Result<KMeansJob, String> {
        if !(1..=8).contains(&bits) {
            return Err(format!("bits must be 1 to 8 (got {bits})"));
        }
        if w.is_empty() {
            return Err("k-means needs at least one value".into());
        }
        let k = 1usize << bits;
        let mut rng = Rng::stream(seed, 7);
        let drawn: Vec<f64> = (0..k).map(|_| f64::from(w[rng.below(w.len())])).collect();
        // Sorted (widened exactly, so narrowing gives the drawn values back).
        let centroids: Vec<f32> = crate::rank::ascending(&drawn)
            .into_iter()
            .map(|c| c as f32)
            .collect();
        Ok(KMeansJob {
            pass: Vec::with_capacity(w.len()),
            w,
            centroids,
            assignment: None,
            updates: 0,
            rounds,
            done: false,
        })
    }

    pub fn weights(&self) -> &[f32] {
        &self.w
    }

    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    pub fn done(&self) -> bool {
        self.done
    }

    /// (updates done, most updates): for a progress bar.
    pub fn progress(&self) -> (usize, usize) {
        (self.updates, self.rounds)
    }

    /// Assign about `ops / k` more weights on the CPU (one distance per weight and centroid).
    pub fn advance(&mut self, ops: usize) {
        if self.done {
            return;
        }
        let start = self.pass.len();
        let n = (ops / self.centroids.len())
            .max(1)
            .min(self.w.len() - start);
        let part = kmeans::assign(&self.w[start..start + n], &self.centroids);
        self.pass.extend(part);
        if self.pass.len() == self.w.len() {
            let a = std::mem::take(&mut self.pass);
            self.set_assignment(a);
        }
    }

    /// A whole pass's assignment, computed elsewhere (the GPU kernel), for the current centroids.
    pub fn set_assignment(&mut self, a: Vec<u32>) {
        self.pass.clear();
        if self.assignment.as_ref() == Some(&a) || self.updates >= self.rounds {
            self.assignment = Some(a);
            self.done = true;
            return;
        }
        self.centroids = kmeans::update(&self.w, &a, &self.centroids);
        self.updates += 1;
        self.assignment = Some(a);
    }

    /// The codebook: the centroids and the assignment that goes with them.
    pub fn codebook(self) -> Codebook {
        Codebook {
            centroids: self.centroids,
            assignment: self.assignment.unwrap_or_default(),
        }
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
    crate::rank::distinct(w.iter().map(|x| x.to_bits() as u64).collect()).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::vgg::{Arch, Stage::*};

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

    #[test]
    fn symmetric_per_channel_quantization_by_hand() {
        // Row 0: max 0.5 on 4 bits (q_max 7): S = 0.5 / 7; row 1 all zeros: scale 1, q 0.
        let (q, s) = symmetric_per_channel(&[0.5, -0.25, 0.1, 0.0, 0.0, 0.0], 2, 4).unwrap();
        assert_eq!(q, vec![7, -4, 1, 0, 0, 0]);
        assert!((s[0] - 0.5 / 7.0).abs() < 1e-12 && s[1] == 1.0);
        // 2 bits: q_max = 1, so every weight becomes -S, 0 or S.
        let (q, _) = symmetric_per_channel(&[0.9, 0.4, -0.6, 0.1], 1, 2).unwrap();
        assert_eq!(q, vec![1, 0, -1, 0]);
        assert!(symmetric_per_channel(&[1.0], 1, 1).is_err());
        assert!(symmetric_per_channel(&[1.0, 2.0, 3.0], 2, 8).is_err());
        let arch = Arch {
            name: "q",
            in_channels: 1,
            size: 8,
            stages: vec![Conv(4), Pool, Conv(6), Pool],
            classes: 3,
        };
        let mut net = Network::new(&arch, 2);
        let dense = prune::model_bits(&net, false);
        let size = linear_quantize_weights(&mut net, 4).unwrap();
        let weights = (36 + 216 + 18) as u64;
        assert_eq!(size, dense - 32 * weights + 4 * weights + 32 * (4 + 6 + 3));
        // At most 15 values per output channel (-7..7 times its scale).
        for c in 0..6 {
            let row = &prune::weights(&net, 1)[c * 36..(c + 1) * 36];
            assert!(distinct_values(row) <= 15);
        }
    }
}

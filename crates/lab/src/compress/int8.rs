//! Integer-only inference of the image lab's network (chapter 7), built as the original lab builds it.
//!
//! 1. Batch-norm folded into each convolution (eval mode), per output channel o:
//!    W'_o = W_o g_o,  b'_o = beta_o - mu_o g_o,  with g_o = gamma_o / sqrt(var_o + eps).
//! 2. Weights symmetric per output channel: S_w,o = max|W'_o| / 127, q_w = round(W' / S_w,o), Z_w = 0.
//! 3. Activations linear with ranges calibrated on training images: the input's [min, max], each
//!    block's output after its ReLU [0, max], so S = r_max / 255 and Z = round(q_min - r_min / S).
//! 4. Bias in int32 at the scale S_in S_w,o: q_b = round(b' / (S_in S_w,o)).
//! 5. Convolution: acc = sum (q_x - Z_in) q_w + q_b in int32 (padding is q_x = Z_in, a real 0),
//!    q_y = clamp(Z_out + round(M_o acc), -128, 127) with M_o = S_in S_w,o / S_out held as a
//!    fixed-point multiplier m 2^-n (m a 23-bit integer): round(M acc) = (m acc + 2^(n-1)) >> n.
//!    There is no ReLU: the output range starts at r_min = 0, so Z_out = q_min = -128 and the clamp
//!    already sends every negative value to the real 0.
//! 6. Max-pooling on the int8 values (max commutes with a monotone quantization).
//! 7. Head: mean over space, then the linear layer with one symmetric weight scale S_fc for all
//!    classes: acc_k = sum_c q_w,kc sum_hw (q_x - Z) + q_b,k with q_b,k = round(b_k HW / (S_x S_fc)),
//!    so logit_k = acc_k S_x S_fc / HW and the prediction is the argmax of the int32 acc_k.

use crate::compress::quant::{linear_params, symmetric_per_channel, LinearParams};
use crate::rng::Rng;
use crate::vision::data::Split;
use crate::vision::network::{Network, BN_EPS};
use crate::vision::nn::{conv2d_forward_im2col, head_forward, maxpool2x2, ConvShape};

/// A positive real multiplier as m 2^-shift, m in [2^22, 2^23].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Multiplier {
    pub m: i64,
    pub shift: u32,
}

impl Multiplier {
    pub fn new(real: f64) -> Result<Multiplier, String> {
        if !(real.is_finite() && real > 0.0) {
            return Err(format!(
                "a rescale multiplier must be positive (got {real})"
            ));
        }
        let (mut v, mut shift) = (real, 0i32);
        while v < (1u64 << 22) as f64 {
            v *= 2.0;
            shift += 1;
        }
        while v >= (1u64 << 23) as f64 {
            v /= 2.0;
            shift -= 1;
        }
        // Shifts up to 48 keep m acc + 2^(n-1) exact in a double, so the float simulation is exact.
        if !(1..=48).contains(&shift) {
            return Err(format!("rescale multiplier {real} is out of range"));
        }
        Ok(Multiplier {
            m: v.round() as i64,
            shift: shift as u32,
        })
    }

    /// round(M acc), halves rounded up.
    pub fn apply(&self, acc: i64) -> i64 {
        (acc * self.m + (1i64 << (self.shift - 1))) >> self.shift
    }

    /// The multiplier's exact value.
    pub fn value(&self) -> f64 {
        self.m as f64 / (1u64 << self.shift) as f64
    }
}

/// Batch-norm folded into each block's convolution: (weights, bias) per block.
pub fn fold_batchnorm(net: &Network) -> Vec<(Vec<f32>, Vec<f32>)> {
    net.blocks
        .iter()
        .map(|b| {
            let per = b.c_in * 9;
            let mut w = b.weight.clone();
            let mut bias = vec![0.0f32; b.c_out];
            for o in 0..b.c_out {
                let g = b.gamma[o] / (b.running_var[o] + BN_EPS).sqrt();
                for v in &mut w[o * per..(o + 1) * per] {
                    *v *= g;
                }
                bias[o] = b.beta[o] - b.running_mean[o] * g;
            }
            (w, bias)
        })
        .collect()
}

/// The float network with folded batch-norm (eval mode): logits of a batch of `n`, and each
/// block's largest activation after its ReLU. `relu: false` leaves the ReLUs out.
pub fn folded_forward(
    net: &Network,
    folded: &[(Vec<f32>, Vec<f32>)],
    x: &[f32],
    n: usize,
    relu: bool,
) -> (Vec<f32>, Vec<f32>) {
    let mut act = x.to_vec();
    let mut maxima = Vec::with_capacity(net.blocks.len());
    for (b, (w, bias)) in net.blocks.iter().zip(folded) {
        let s = ConvShape {
            n,
            c_in: b.c_in,
            c_out: b.c_out,
            h: b.size,
            w: b.size,
        };
        let mut y = vec![0.0f32; s.y_len()];
        conv2d_forward_im2col(&act, w, s, 0..n, &mut y);
        let hw = b.size * b.size;
        let mut m = 0.0f32;
        for (i, v) in y.iter_mut().enumerate() {
            *v += bias[(i / hw) % b.c_out];
            if relu {
                *v = v.max(0.0);
            }
            m = m.max(*v);
        }
        maxima.push(m);
        act = if b.pool {
            maxpool2x2(&y, n * b.c_out, b.size, b.size).0
        } else {
            y
        };
    }
    let logits = head_forward(&act, &net.fc_weight, &net.fc_bias, net.head_shape(n));
    (logits, maxima)
}

/// Activation ranges seen on calibration images: the input's [min, max] and each block's largest
/// output after its ReLU. Images can be added a batch at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub input_lo: f32,
    pub input_hi: f32,
    pub maxima: Vec<f32>,
    pub images: usize,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            input_lo: f32::INFINITY,
            input_hi: f32::NEG_INFINITY,
            maxima: Vec::new(),
            images: 0,
        }
    }
}

impl Calibration {
    /// Widen the ranges with a batch of `n` images.
    pub fn add(&mut self, net: &Network, folded: &[(Vec<f32>, Vec<f32>)], x: &[f32], n: usize) {
        if n == 0 {
            return;
        }
        for &v in x {
            self.input_lo = self.input_lo.min(v);
            self.input_hi = self.input_hi.max(v);
        }
        let (_, m) = folded_forward(net, folded, x, n, true);
        if self.maxima.is_empty() {
            self.maxima = m;
        } else {
            for (a, b) in self.maxima.iter_mut().zip(m) {
                *a = a.max(b);
            }
        }
        self.images += n;
    }
}

/// One convolution block in integers.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantConv {
    pub c_in: usize,
    pub c_out: usize,
    pub size: usize,
    pub pool: bool,
    /// c_out x c_in x 3 x 3
    pub weight: Vec<i8>,
    pub bias: Vec<i32>,
    pub multiplier: Vec<Multiplier>,
    pub weight_scale: Vec<f64>,
    pub input: LinearParams,
    pub output: LinearParams,
}

/// The linear head in integers (one weight scale for every class).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantHead {
    pub c: usize,
    pub hw: usize,
    pub k: usize,
    pub weight: Vec<i8>,
    pub bias: Vec<i32>,
    pub weight_scale: f64,
    pub input: LinearParams,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Int8Network {
    pub input: LinearParams,
    pub convs: Vec<QuantConv>,
    pub head: QuantHead,
    /// Apply max(q, Z_out) after every convolution: the ReLU the integer model does without.
    pub explicit_relu: bool,
}

/// Per-row symmetric int8 weights: (q, scale per row).
fn symmetric_rows(w: &[f32], rows: usize) -> Result<(Vec<i8>, Vec<f64>), String> {
    let (q, scales) = symmetric_per_channel(w, rows, 8)?;
    Ok((q.into_iter().map(|v| v as i8).collect(), scales))
}

/// The range [0, max] of a block's output on 8 bits (a dead block gets a tiny range).
fn relu_range(max: f32) -> Result<LinearParams, String> {
    linear_params(0.0, (max as f64).max(1e-6), 8)
}

impl Int8Network {
    /// Quantize `net` with activation ranges calibrated on the images `calibration` (n x 1 x S x S).
    pub fn build(net: &Network, calibration: &[f32], n: usize) -> Result<Int8Network, String> {
        let folded = fold_batchnorm(net);
        let mut c = Calibration::default();
        c.add(net, &folded, calibration, n);
        Int8Network::from_calibration(net, &folded, &c)
    }

    /// Quantize `net` (its folded blocks `folded`) with the ranges of `c`.
    pub fn from_calibration(
        net: &Network,
        folded: &[(Vec<f32>, Vec<f32>)],
        c: &Calibration,
    ) -> Result<Int8Network, String> {
        if c.images == 0 {
            return Err("calibration needs at least one image".into());
        }
        let (lo, hi, maxima) = (c.input_lo, c.input_hi, &c.maxima);
        let input = linear_params(lo as f64, (hi as f64).max(lo as f64 + 1e-6), 8)?;
        let mut convs = Vec::with_capacity(net.blocks.len());
        let mut act = input;
        for ((b, (w, bias)), &m) in net.blocks.iter().zip(folded).zip(maxima) {
            let output = relu_range(m)?;
            let (weight, weight_scale) = symmetric_rows(w, b.c_out)?;
            let mut qb = Vec::with_capacity(b.c_out);
            let mut multiplier = Vec::with_capacity(b.c_out);
            for o in 0..b.c_out {
                let s = act.scale * weight_scale[o];
                qb.push((bias[o] as f64 / s).round_ties_even() as i32);
                multiplier.push(Multiplier::new(s / output.scale)?);
            }
            convs.push(QuantConv {
                c_in: b.c_in,
                c_out: b.c_out,
                size: b.size,
                pool: b.pool,
                weight,
                bias: qb,
                multiplier,
                weight_scale,
                input: act,
                output,
            });
            act = output;
        }
        let hs = net.head_shape(1);
        let (weight, scale) = symmetric_rows(&net.fc_weight, 1)?;
        let s = act.scale * scale[0] / hs.hw as f64;
        let bias = net
            .fc_bias
            .iter()
            .map(|&b| (b as f64 / s).round_ties_even() as i32)
            .collect();
        Ok(Int8Network {
            input,
            convs,
            head: QuantHead {
                c: hs.c,
                hw: hs.hw,
                k: hs.k,
                weight,
                bias,
                weight_scale: scale[0],
                input: act,
            },
            explicit_relu: false,
        })
    }

    /// One image (1 x S x S floats) on the input's 8 bits.
    pub fn quantize_input(&self, x: &[f32]) -> Vec<i8> {
        x.iter()
            .map(|&v| self.input.quantize(v as f64) as i8)
            .collect()
    }

    /// Logit accumulators (int32) of one quantized image; logit_k = acc_k * `logit_scale()`.
    pub fn forward(&self, q: &[i8]) -> Vec<i32> {
        let mut act = q.to_vec();
        for c in &self.convs {
            act = self.conv_forward(c, &act);
        }
        self.head_forward(&act)
    }

    /// The real value of one unit of the logit accumulators.
    pub fn logit_scale(&self) -> f64 {
        self.head.input.scale * self.head.weight_scale / self.head.hw as f64
    }

    pub fn predict(&self, x: &[f32]) -> u32 {
        argmax(&self.forward(&self.quantize_input(x)))
    }

    fn conv_forward(&self, c: &QuantConv, x: &[i8]) -> Vec<i8> {
        let (s, hw) = (c.size, c.size * c.size);
        let z_in = c.input.zero_point as i16;
        // im2col of (q - Z_in) as i16: rows (channel, ky, kx), columns pixels; padding is 0.
        let kk = c.c_in * 9;
        let mut cols = vec![0i16; kk * hw];
        for ci in 0..c.c_in {
            let plane = &x[ci * hw..(ci + 1) * hw];
            for ky in 0..3 {
                for kx in 0..3 {
                    let row = &mut cols[(ci * 9 + ky * 3 + kx) * hw..][..hw];
                    for y in 0..s {
                        let yy = y as isize + ky as isize - 1;
                        if yy < 0 || yy >= s as isize {
                            continue;
                        }
                        for xx in 0..s {
                            let xs = xx as isize + kx as isize - 1;
                            if xs >= 0 && xs < s as isize {
                                row[y * s + xx] =
                                    plane[yy as usize * s + xs as usize] as i16 - z_in;
                            }
                        }
                    }
                }
            }
        }
        let (z_out, lo, hi) = (c.output.zero_point, c.output.qmin, c.output.qmax);
        let mut out = vec![0i8; c.c_out * hw];
        // Four output channels at a time share each row of `cols`.
        const BLOCK: usize = 4;
        let mut acc = vec![0i32; BLOCK * hw];
        for o0 in (0..c.c_out).step_by(BLOCK) {
            let rows = BLOCK.min(c.c_out - o0);
            for r in 0..rows {
                acc[r * hw..(r + 1) * hw].fill(c.bias[o0 + r]);
            }
            for k in 0..kk {
                let col = &cols[k * hw..(k + 1) * hw];
                for r in 0..rows {
                    let w = c.weight[(o0 + r) * kk + k] as i32;
                    if w == 0 {
                        continue;
                    }
                    for (a, &v) in acc[r * hw..(r + 1) * hw].iter_mut().zip(col) {
                        *a += w * v as i32;
                    }
                }
            }
            for r in 0..rows {
                let m = c.multiplier[o0 + r];
                let dst = &mut out[(o0 + r) * hw..(o0 + r + 1) * hw];
                for (q, &a) in dst.iter_mut().zip(&acc[r * hw..(r + 1) * hw]) {
                    let mut v = (z_out + m.apply(a as i64)).clamp(lo, hi);
                    if self.explicit_relu {
                        v = v.max(z_out);
                    }
                    *q = v as i8;
                }
            }
        }
        if c.pool {
            pool_i8(&out, c.c_out, s)
        } else {
            out
        }
    }

    fn head_forward(&self, x: &[i8]) -> Vec<i32> {
        let h = &self.head;
        let z = h.input.zero_point as i32;
        let sums: Vec<i32> = (0..h.c)
            .map(|c| {
                x[c * h.hw..(c + 1) * h.hw]
                    .iter()
                    .map(|&v| v as i32 - z)
                    .sum()
            })
            .collect();
        (0..h.k)
            .map(|k| {
                h.bias[k]
                    + h.weight[k * h.c..(k + 1) * h.c]
                        .iter()
                        .zip(&sums)
                        .map(|(&w, &s)| w as i32 * s)
                        .sum::<i32>()
            })
            .collect()
    }

    /// The same integer network computed in double precision by direct convolution, as a check
    /// on the integer code: it gives the same accumulators exactly.
    pub fn simulate_f64(&self, q: &[i8]) -> Vec<f64> {
        let mut act: Vec<f64> = q.iter().map(|&v| v as f64).collect();
        for c in &self.convs {
            let s = c.size as isize;
            let z_in = c.input.zero_point as f64;
            let mut y = vec![0.0f64; c.c_out * c.size * c.size];
            for o in 0..c.c_out {
                let m = c.multiplier[o].value();
                for py in 0..s {
                    for px in 0..s {
                        let mut acc = c.bias[o] as f64;
                        for ci in 0..c.c_in {
                            for ky in -1..=1isize {
                                for kx in -1..=1isize {
                                    let (yy, xx) = (py + ky, px + kx);
                                    if yy < 0 || xx < 0 || yy >= s || xx >= s {
                                        continue;
                                    }
                                    let v = act[(ci as isize * s * s + yy * s + xx) as usize];
                                    let w = c.weight[o * c.c_in * 9
                                        + ci * 9
                                        + ((ky + 1) * 3 + kx + 1) as usize];
                                    acc += (v - z_in) * w as f64;
                                }
                            }
                        }
                        let r = c.output.zero_point as f64 + (acc * m + 0.5).floor();
                        y[(o as isize * s * s + py * s + px) as usize] =
                            r.clamp(c.output.qmin as f64, c.output.qmax as f64);
                    }
                }
            }
            act = if c.pool {
                let half = c.size / 2;
                let mut p = vec![0.0f64; c.c_out * half * half];
                for (i, v) in p.iter_mut().enumerate() {
                    let (ch, r, col) = (i / (half * half), (i / half) % half, i % half);
                    let at = |dy: usize, dx: usize| {
                        y[ch * c.size * c.size + (2 * r + dy) * c.size + 2 * col + dx]
                    };
                    *v = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
                }
                p
            } else {
                y
            };
        }
        let h = &self.head;
        let z = h.input.zero_point as f64;
        (0..h.k)
            .map(|k| {
                let mut acc = h.bias[k] as f64;
                for c in 0..h.c {
                    let s: f64 = act[c * h.hw..(c + 1) * h.hw].iter().map(|v| v - z).sum();
                    acc += h.weight[k * h.c + c] as f64 * s;
                }
                acc
            })
            .collect()
    }

    /// Storage of the integer model in bits: int8 weights, int32 biases, and per channel an int32
    /// multiplier and a shift (the batch-norm parameters are gone, folded into weights and biases).
    pub fn model_bits(&self) -> u64 {
        let convs: u64 = self
            .convs
            .iter()
            .map(|c| 8 * c.weight.len() as u64 + 32 * c.bias.len() as u64 + 40 * c.c_out as u64)
            .sum();
        convs + 8 * self.head.weight.len() as u64 + 32 * self.head.bias.len() as u64
    }
}

/// A seeded batch of `n` training images (no augmentation) for calibrating activation ranges.
pub fn calibration_batch(train: &Split, n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::stream(seed, 0xCA11);
    let idx: Vec<usize> = (0..n.min(train.len()))
        .map(|_| rng.below(train.len()))
        .collect();
    crate::vision::train::batch(train, &idx, None).0
}

impl Int8Network {
    /// Predicted class of the images `range` of a split.
    pub fn predict_split(&self, split: &Split, range: std::ops::Range<usize>) -> Vec<u32> {
        let px = crate::vision::data::PADDED * crate::vision::data::PADDED;
        let mut x = vec![0.0f32; px];
        range
            .map(|i| {
                crate::vision::data::padded_image(split, i, &mut x);
                self.predict(&x)
            })
            .collect()
    }

    /// How many ReLU operations the integer model runs.
    pub fn relu_layers(&self) -> usize {
        if self.explicit_relu {
            self.convs.len()
        } else {
            0
        }
    }
}

fn pool_i8(x: &[i8], planes: usize, size: usize) -> Vec<i8> {
    let half = size / 2;
    let mut out = Vec::with_capacity(planes * half * half);
    for p in 0..planes {
        let plane = &x[p * size * size..(p + 1) * size * size];
        for r in 0..half {
            for c in 0..half {
                let at = |dy: usize, dx: usize| plane[(2 * r + dy) * size + 2 * c + dx];
                out.push(at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1)));
            }
        }
    }
    out
}

/// Index of the largest value (the lowest index on ties).
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> u32 {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::vision::vgg::{Arch, Stage::*};

    /// A small network with batch-norm statistics that are not the identity.
    fn trained_looking(seed: u64) -> Network {
        let arch = Arch {
            name: "t",
            in_channels: 1,
            size: 8,
            stages: vec![Conv(4), Pool, Conv(6), Conv(5), Pool],
            classes: 3,
        };
        let mut net = Network::new(&arch, seed);
        let mut rng = Rng::new(seed + 100);
        for b in &mut net.blocks {
            for o in 0..b.c_out {
                b.gamma[o] = rng.uniform(0.5, 1.5) as f32;
                b.beta[o] = rng.uniform(-0.3, 0.3) as f32;
                b.running_mean[o] = rng.uniform(-0.5, 0.5) as f32;
                b.running_var[o] = rng.uniform(0.3, 2.0) as f32;
            }
        }
        net
    }

    fn images(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * 64).map(|_| rng.normal() as f32).collect()
    }

    #[test]
    fn folding_batchnorm_leaves_the_outputs_unchanged() {
        let mut net = trained_looking(1);
        let x = images(5, 2);
        let want = net.forward(&x, 5, false);
        let (got, _) = folded_forward(&net, &fold_batchnorm(&net), &x, 5, true);
        for (a, b) in want.iter().zip(&got) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn the_integer_pipeline_matches_its_float_simulation_exactly() {
        let net = trained_looking(3);
        let q = Int8Network::build(&net, &images(16, 4), 16).unwrap();
        for i in 0..20 {
            let x = images(1, 50 + i);
            let qx = q.quantize_input(&x);
            let ints = q.forward(&qx);
            let sim = q.simulate_f64(&qx);
            assert_eq!(ints.iter().map(|&v| v as f64).collect::<Vec<_>>(), sim);
        }
    }

    #[test]
    fn the_clamp_does_the_relus_work_and_the_logits_follow_the_float_network() {
        let mut net = trained_looking(5);
        // Calibrate on the images tested (random images outside the calibrated ranges saturate).
        let calib = images(40, 6);
        let mut q = Int8Network::build(&net, &calib, 40).unwrap();
        // Every block's output range starts at 0: Z = q_min.
        assert!(q.convs.iter().all(|c| c.output.zero_point == -128));
        let mut agree = 0;
        for i in 0..40 {
            let x = &calib[i * 64..(i + 1) * 64];
            let qx = q.quantize_input(x);
            let without = q.forward(&qx);
            q.explicit_relu = true;
            assert_eq!(q.forward(&qx), without, "an explicit ReLU changed nothing");
            q.explicit_relu = false;
            let f = net.forward(x, 1, false);
            let ints: Vec<f64> = without
                .iter()
                .map(|&a| a as f64 * q.logit_scale())
                .collect();
            let spread = f.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
            for (a, b) in f.iter().zip(&ints) {
                assert!(
                    (*a as f64 - b).abs() < 0.1 * spread + 0.05,
                    "{f:?} vs {ints:?}"
                );
            }
            agree += (argmax(&f) == argmax(&without)) as usize;
        }
        assert!(agree >= 36, "{agree} of 40 predictions agree");
    }

    #[test]
    fn calibrating_in_batches_gives_the_same_network() {
        let net = trained_looking(7);
        let x = images(12, 8);
        let whole = Int8Network::build(&net, &x, 12).unwrap();
        let folded = fold_batchnorm(&net);
        let mut c = Calibration::default();
        for b in 0..3 {
            c.add(&net, &folded, &x[b * 4 * 64..(b + 1) * 4 * 64], 4);
        }
        assert_eq!(
            Int8Network::from_calibration(&net, &folded, &c).unwrap(),
            whole
        );
        assert!(Int8Network::from_calibration(&net, &folded, &Calibration::default()).is_err());
    }

    #[test]
    fn multipliers_are_exact_to_23_bits() {
        for real in [0.3, 1e-4, 0.0123456, 1.7, 1000.0] {
            let m = Multiplier::new(real).unwrap();
            assert!((m.value() - real).abs() <= real * 2f64.powi(-22));
            assert!((1 << 22..=1 << 23).contains(&m.m));
        }
        let m = Multiplier::new(0.25).unwrap();
        // round(0.25 * 6) = round(1.5) = 2 (halves up); round(0.25 * -6) = -1.
        assert_eq!((m.apply(6), m.apply(-6), m.apply(5)), (2, -1, 1));
        assert!(Multiplier::new(0.0).is_err());
        assert!(Multiplier::new(f64::NAN).is_err());
        assert!(Multiplier::new(1e30).is_err());
        assert_eq!(argmax(&[1, 3, 3, 2]), 1);
    }
}

//! Layers of a convolutional network on the CPU, in f32, tensors in NCHW order. These are the
//! reference implementations the GPU kernels are checked against, and the CPU path itself.
//!
//! - conv2d (3 x 3, padding 1, stride 1, no bias):  y[n,o,h,w] = sum_{c,i,j} W[o,c,i,j] x[n,c,h+i-1,w+j-1]
//!   dx[n,c,h,w] = sum_{o,i,j} W[o,c,i,j] dy[n,o,h-i+1,w-j+1];  dW[o,c,i,j] = sum_{n,h,w} dy[n,o,h,w] x[n,c,h+i-1,w+j-1]
//!   (out-of-range x and dy read as 0).
//! - ReLU y = max(x, 0), dx = dy [x > 0];  2 x 2 max-pooling (stride 2) routes dy to the arg-max.
//! - Batch-norm statistics per channel: mean and biased variance over N, H, W.
//! - Batch-norm applied with given statistics: x_hat = (z - mu) / sqrt(var + eps), y = gamma x_hat + beta;
//!   running statistics r <- (1 - m) r + m s (unbiased variance). Backward through a = relu(y), per
//!   channel over its M = N H W values: dy = da [y > 0], dgamma = sum dy x_hat, dbeta = sum dy,
//!   dz = gamma / (M sqrt(var + eps)) (M dy - sum dy - x_hat sum(dy x_hat)). In evaluation mode
//!   (fixed statistics) dz = dy gamma / sqrt(var + eps), with the same dgamma and dbeta.
//! - Head: f[n,c] = mean over space of a[n,c], logits = f W^T + b (W is K x C);
//!   dW = dlogits^T f, db = sum_n dlogits, da[n,c,p] = (dlogits W)[n,c] / HW.
//! - Softmax cross-entropy, mean over the batch: L = mean_n (logsumexp(z_n) - z_n[y_n]),
//!   dL/dz = (softmax(z) - onehot(y)) / N.
//! - SGD with momentum and weight decay: v <- mu v + (g + wd w), w <- w - lr v.

/// Shape of a 3 x 3, padding-1 convolution's input (N, C_in, H, W) and its C_out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub n: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub h: usize,
    pub w: usize,
}

impl ConvShape {
    pub fn x_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    pub fn y_len(&self) -> usize {
        self.n * self.c_out * self.h * self.w
    }
    pub fn w_len(&self) -> usize {
        self.c_out * self.c_in * 9
    }
    /// Multiply-adds of the forward pass.
    pub fn macs(&self) -> u64 {
        (self.n * self.c_out * self.h * self.w * self.c_in * 9) as u64
    }
}

fn x_at(x: &[f32], s: &ConvShape, n: usize, c: usize, h: isize, w: isize) -> f32 {
    if h < 0 || w < 0 || h >= s.h as isize || w >= s.w as isize {
        return 0.0;
    }
    x[((n * s.c_in + c) * s.h + h as usize) * s.w + w as usize]
}

pub fn conv2d_forward(x: &[f32], weight: &[f32], s: ConvShape) -> Vec<f32> {
    let mut y = vec![0.0f32; s.y_len()];
    for n in 0..s.n {
        for o in 0..s.c_out {
            for h in 0..s.h {
                for w in 0..s.w {
                    let mut acc = 0.0f32;
                    for c in 0..s.c_in {
                        for i in 0..3 {
                            for j in 0..3 {
                                let wv = weight[((o * s.c_in + c) * 3 + i) * 3 + j];
                                acc += wv
                                    * x_at(
                                        x,
                                        &s,
                                        n,
                                        c,
                                        h as isize + i as isize - 1,
                                        w as isize + j as isize - 1,
                                    );
                            }
                        }
                    }
                    y[((n * s.c_out + o) * s.h + h) * s.w + w] = acc;
                }
            }
        }
    }
    y
}

/// The CPU path of the forward convolution: per image, unfold the input into a (C_in 9) x (H W)
/// matrix (im2col) and multiply by the weights as a C_out x (C_in 9) matrix (SGEMM). Same result as
/// `conv2d_forward` up to rounding; `images` selects a range of the batch so work can be sliced.
pub fn conv2d_forward_im2col(
    x: &[f32],
    weight: &[f32],
    s: ConvShape,
    images: std::ops::Range<usize>,
    y: &mut [f32],
) {
    let hw = s.h * s.w;
    let rows = s.c_in * 9;
    let mut cols = vec![0.0f32; rows * hw];
    for n in images.start..images.end.min(s.n) {
        let image = &x[n * s.c_in * hw..(n + 1) * s.c_in * hw];
        crate::kernels::conv::im2col3x3(image, s.c_in, s.h, s.w, &mut cols);
        let shape = crate::kernels::MatmulShape::new(s.c_out, rows, hw);
        let out = &mut y[n * s.c_out * hw..(n + 1) * s.c_out * hw];
        if let Ok(p) = crate::kernels::PreparedProduct::new(weight, &cols, shape) {
            let _ = p.rows(0..s.c_out, out);
        }
    }
}

pub fn conv2d_backward_input(dy: &[f32], weight: &[f32], s: ConvShape) -> Vec<f32> {
    let mut dx = vec![0.0f32; s.x_len()];
    for n in 0..s.n {
        for c in 0..s.c_in {
            for h in 0..s.h {
                for w in 0..s.w {
                    let mut acc = 0.0f32;
                    for o in 0..s.c_out {
                        for i in 0..3 {
                            for j in 0..3 {
                                let (hh, ww) =
                                    (h as isize - i as isize + 1, w as isize - j as isize + 1);
                                if hh < 0 || ww < 0 || hh >= s.h as isize || ww >= s.w as isize {
                                    continue;
                                }
                                acc += weight[((o * s.c_in + c) * 3 + i) * 3 + j]
                                    * dy[((n * s.c_out + o) * s.h + hh as usize) * s.w
                                        + ww as usize];
                            }
                        }
                    }
                    dx[((n * s.c_in + c) * s.h + h) * s.w + w] = acc;
                }
            }
        }
    }
    dx
}

pub fn conv2d_backward_weight(x: &[f32], dy: &[f32], s: ConvShape) -> Vec<f32> {
    let mut dw = vec![0.0f32; s.w_len()];
    for o in 0..s.c_out {
        for c in 0..s.c_in {
            for i in 0..3 {
                for j in 0..3 {
                    let mut acc = 0.0f32;
                    for n in 0..s.n {
                        for h in 0..s.h {
                            for w in 0..s.w {
                                acc += dy[((n * s.c_out + o) * s.h + h) * s.w + w]
                                    * x_at(
                                        x,
                                        &s,
                                        n,
                                        c,
                                        h as isize + i as isize - 1,
                                        w as isize + j as isize - 1,
                                    );
                            }
                        }
                    }
                    dw[((o * s.c_in + c) * 3 + i) * 3 + j] = acc;
                }
            }
        }
    }
    dw
}

pub fn relu(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| v.max(0.0)).collect()
}

pub fn relu_backward(x: &[f32], dy: &[f32]) -> Vec<f32> {
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| if v > 0.0 { g } else { 0.0 })
        .collect()
}

/// 2 x 2 max-pooling with stride 2 over (N*C) planes of H x W (H, W even). Returns the pooled
/// values and, for each, the flat input index of its maximum (the first one on ties).
pub fn maxpool2x2(x: &[f32], planes: usize, h: usize, w: usize) -> (Vec<f32>, Vec<u32>) {
    let (oh, ow) = (h / 2, w / 2);
    let mut y = vec![0.0f32; planes * oh * ow];
    let mut arg = vec![0u32; planes * oh * ow];
    for p in 0..planes {
        for i in 0..oh {
            for j in 0..ow {
                let mut best = f32::NEG_INFINITY;
                let mut at = 0usize;
                for (di, dj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let idx = (p * h + 2 * i + di) * w + 2 * j + dj;
                    if x[idx] > best {
                        best = x[idx];
                        at = idx;
                    }
                }
                y[(p * oh + i) * ow + j] = best;
                arg[(p * oh + i) * ow + j] = at as u32;
            }
        }
    }
    (y, arg)
}

pub fn maxpool2x2_backward(dy: &[f32], arg: &[u32], x_len: usize) -> Vec<f32> {
    let mut dx = vec![0.0f32; x_len];
    for (&g, &a) in dy.iter().zip(arg) {
        dx[a as usize] += g;
    }
    dx
}

/// Per-channel mean and biased variance of an NCHW tensor.
pub fn batchnorm_stats(x: &[f32], n: usize, c: usize, hw: usize) -> (Vec<f32>, Vec<f32>) {
    let count = (n * hw) as f64;
    let mut mean = vec![0.0f32; c];
    let mut var = vec![0.0f32; c];
    for ch in 0..c {
        let vals = (0..n).flat_map(|b| x[(b * c + ch) * hw..(b * c + ch + 1) * hw].iter());
        let m = vals.clone().map(|&v| v as f64).sum::<f64>() / count;
        let v = vals.map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / count;
        mean[ch] = m as f32;
        var[ch] = v as f32;
    }
    (mean, var)
}

pub const BN_EPS: f32 = 1e-5;

/// Batch-norm with the given per-channel statistics (the batch's in training, the running ones in
/// evaluation): (x_hat, y).
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_apply(
    z: &[f32],
    mean: &[f32],
    var: &[f32],
    gamma: &[f32],
    beta: &[f32],
    n: usize,
    c: usize,
    hw: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut x_hat = vec![0.0f32; n * c * hw];
    let mut y = vec![0.0f32; n * c * hw];
    for b in 0..n {
        for ch in 0..c {
            let is = 1.0 / (var[ch] + BN_EPS).sqrt();
            for idx in (b * c + ch) * hw..(b * c + ch + 1) * hw {
                let xh = (z[idx] - mean[ch]) * is;
                x_hat[idx] = xh;
                y[idx] = gamma[ch] * xh + beta[ch];
            }
        }
    }
    (x_hat, y)
}

/// Running statistics after one training batch of `count` values per channel (momentum `m`).
pub fn batchnorm_running_update(
    running_mean: &mut [f32],
    running_var: &mut [f32],
    mean: &[f32],
    var: &[f32],
    count: usize,
    m: f32,
) {
    let unbias = if count > 1 {
        count as f32 / (count - 1) as f32
    } else {
        1.0
    };
    for ch in 0..mean.len() {
        running_mean[ch] = (1.0 - m) * running_mean[ch] + m * mean[ch];
        running_var[ch] = (1.0 - m) * running_var[ch] + m * var[ch] * unbias;
    }
}

/// Gradient through a = relu(batch-norm(z)) in training mode, given da: (dz, dgamma, dbeta).
#[allow(clippy::too_many_arguments)]
pub fn relu_batchnorm_backward(
    da: &[f32],
    y: &[f32],
    x_hat: &[f32],
    gamma: &[f32],
    var: &[f32],
    n: usize,
    c: usize,
    hw: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let m = (n * hw) as f32;
    let mut dz = vec![0.0f32; n * c * hw];
    let (mut dgamma, mut dbeta) = (vec![0.0f32; c], vec![0.0f32; c]);
    let dy = |i: usize| if y[i] > 0.0 { da[i] } else { 0.0 };
    for ch in 0..c {
        let (mut sdy, mut sdyx) = (0.0f64, 0.0f64);
        for b in 0..n {
            let r = (b * c + ch) * hw..(b * c + ch + 1) * hw;
            for (i, &xh) in r.clone().zip(&x_hat[r]) {
                sdy += dy(i) as f64;
                sdyx += (dy(i) * xh) as f64;
            }
        }
        dgamma[ch] = sdyx as f32;
        dbeta[ch] = sdy as f32;
        let scale = gamma[ch] / ((var[ch] + BN_EPS).sqrt() * m);
        for b in 0..n {
            for i in (b * c + ch) * hw..(b * c + ch + 1) * hw {
                dz[i] = scale * (m * dy(i) - sdy as f32 - x_hat[i] * sdyx as f32);
            }
        }
    }
    (dz, dgamma, dbeta)
}

/// Gradient through a = relu(gamma x_hat + beta) with fixed statistics (evaluation mode: the
/// running mean and variance are constants): dy = da [y > 0], dgamma = sum dy x_hat, dbeta = sum dy,
/// dz = dy gamma / sqrt(var + eps).
#[allow(clippy::too_many_arguments)]
pub fn relu_batchnorm_backward_eval(
    da: &[f32],
    y: &[f32],
    x_hat: &[f32],
    gamma: &[f32],
    var: &[f32],
    n: usize,
    c: usize,
    hw: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut dz = vec![0.0f32; n * c * hw];
    let (mut dgamma, mut dbeta) = (vec![0.0f32; c], vec![0.0f32; c]);
    for ch in 0..c {
        let (mut sdy, mut sdyx) = (0.0f64, 0.0f64);
        let scale = gamma[ch] / (var[ch] + BN_EPS).sqrt();
        for b in 0..n {
            for i in (b * c + ch) * hw..(b * c + ch + 1) * hw {
                let dy = if y[i] > 0.0 { da[i] } else { 0.0 };
                sdy += dy as f64;
                sdyx += (dy * x_hat[i]) as f64;
                dz[i] = scale * dy;
            }
        }
        dgamma[ch] = sdyx as f32;
        dbeta[ch] = sdy as f32;
    }
    (dz, dgamma, dbeta)
}

/// Shape of the head: N images of C channels of HW positions, K classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadShape {
    pub n: usize,
    pub c: usize,
    pub hw: usize,
    pub k: usize,
}

fn spatial_means(a: &[f32], s: HeadShape) -> Vec<f32> {
    (0..s.n * s.c)
        .map(|i| a[i * s.hw..(i + 1) * s.hw].iter().sum::<f32>() / s.hw as f32)
        .collect()
}

/// Logits (N x K) of the mean-over-space + linear head.
pub fn head_forward(a: &[f32], w: &[f32], b: &[f32], s: HeadShape) -> Vec<f32> {
    let f = spatial_means(a, s);
    let mut logits = vec![0.0f32; s.n * s.k];
    for r in 0..s.n {
        for j in 0..s.k {
            let row = &w[j * s.c..(j + 1) * s.c];
            logits[r * s.k + j] = b[j]
                + row
                    .iter()
                    .zip(&f[r * s.c..(r + 1) * s.c])
                    .map(|(w, f)| w * f)
                    .sum::<f32>();
        }
    }
    logits
}

/// The head's gradients: (dW, db, da).
pub fn head_backward(
    a: &[f32],
    dlogits: &[f32],
    w: &[f32],
    s: HeadShape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let f = spatial_means(a, s);
    let mut dw = vec![0.0f32; s.k * s.c];
    let mut db = vec![0.0f32; s.k];
    let mut da = vec![0.0f32; s.n * s.c * s.hw];
    for j in 0..s.k {
        for r in 0..s.n {
            let g = dlogits[r * s.k + j];
            db[j] += g;
            for ch in 0..s.c {
                dw[j * s.c + ch] += g * f[r * s.c + ch];
            }
        }
    }
    for r in 0..s.n {
        for ch in 0..s.c {
            let g: f32 = (0..s.k)
                .map(|j| dlogits[r * s.k + j] * w[j * s.c + ch])
                .sum();
            da[(r * s.c + ch) * s.hw..(r * s.c + ch + 1) * s.hw].fill(g / s.hw as f32);
        }
    }
    (dw, db, da)
}

/// The predicted class (arg-max, first on ties) of each row of logits (N x K).
pub fn argmax_rows(logits: &[f32], k: usize) -> Vec<u32> {
    logits
        .chunks_exact(k.max(1))
        .map(|row| (0..row.len()).fold(0, |b, j| if row[j] > row[b] { j } else { b }) as u32)
        .collect()
}

/// How many rows of logits predict their label.
pub fn count_correct(logits: &[f32], labels: &[u32], k: usize) -> usize {
    argmax_rows(logits, k)
        .iter()
        .zip(labels)
        .filter(|(p, y)| p == y)
        .count()
}

/// Mean softmax cross-entropy of logits (N x K) against labels, and its gradient.
pub fn softmax_cross_entropy(logits: &[f32], labels: &[u32], k: usize) -> (f32, Vec<f32>) {
    let n = labels.len();
    let mut grad = vec![0.0f32; n * k];
    let mut loss = 0.0f64;
    for (r, &y) in labels.iter().enumerate() {
        let z = &logits[r * k..(r + 1) * k];
        let max = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        loss += (lse - z[y as usize]) as f64;
        for j in 0..k {
            let p = (z[j] - lse).exp();
            grad[r * k + j] = (p - if j == y as usize { 1.0 } else { 0.0 }) / n as f32;
        }
    }
    ((loss / n.max(1) as f64) as f32, grad)
}

/// One SGD-with-momentum step in place.
pub fn sgd_momentum(
    w: &mut [f32],
    g: &[f32],
    v: &mut [f32],
    lr: f32,
    momentum: f32,
    weight_decay: f32,
) {
    for i in 0..w.len() {
        v[i] = momentum * v[i] + g[i] + weight_decay * w[i];
        w[i] -= lr * v[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn randv(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.normal() as f32).collect()
    }

    /// Check an analytic gradient against central differences of a scalar function, in f64 sums.
    fn check_grad(f: &dyn Fn(&[f32]) -> f64, x: &[f32], grad: &[f32], tol: f64) {
        let h = 1e-2f32;
        for i in (0..x.len()).step_by((x.len() / 40).max(1)) {
            let mut xp = x.to_vec();
            xp[i] += h;
            let mut xm = x.to_vec();
            xm[i] -= h;
            let fd = (f(&xp) - f(&xm)) / (2.0 * h as f64);
            assert!(
                (fd - grad[i] as f64).abs() <= tol * (1.0 + fd.abs()),
                "index {i}: fd {fd} analytic {}",
                grad[i]
            );
        }
    }

    #[test]
    fn conv_gradients_match_finite_differences() {
        let mut rng = Rng::new(1);
        let s = ConvShape {
            n: 2,
            c_in: 3,
            c_out: 4,
            h: 5,
            w: 6,
        };
        let x = randv(s.x_len(), &mut rng);
        let w = randv(s.w_len(), &mut rng);
        let r = randv(s.y_len(), &mut rng); // L = <r, conv(x, w)>, so dL/dy = r
        let loss = |x: &[f32], w: &[f32]| {
            conv2d_forward(x, w, s)
                .iter()
                .zip(&r)
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum::<f64>()
        };
        check_grad(
            &|xv| loss(xv, &w),
            &x,
            &conv2d_backward_input(&r, &w, s),
            1e-3,
        );
        check_grad(
            &|wv| loss(&x, wv),
            &w,
            &conv2d_backward_weight(&x, &r, s),
            1e-3,
        );
    }

    #[test]
    fn im2col_convolution_matches_the_direct_one() {
        let mut rng = Rng::new(3);
        let s = ConvShape {
            n: 3,
            c_in: 5,
            c_out: 7,
            h: 9,
            w: 6,
        };
        let x = randv(s.x_len(), &mut rng);
        let w = randv(s.w_len(), &mut rng);
        let mut y = vec![0.0f32; s.y_len()];
        conv2d_forward_im2col(&x, &w, s, 0..2, &mut y);
        conv2d_forward_im2col(&x, &w, s, 2..3, &mut y);
        let want = conv2d_forward(&x, &w, s);
        let err = y
            .iter()
            .zip(&want)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-4, "{err}");
    }

    #[test]
    fn softmax_cross_entropy_gradient_and_value() {
        let mut rng = Rng::new(2);
        let (n, k) = (5, 7);
        let z = randv(n * k, &mut rng);
        let labels: Vec<u32> = (0..n).map(|i| (i * 3 % k) as u32).collect();
        let (loss, grad) = softmax_cross_entropy(&z, &labels, k);
        check_grad(
            &|zv| softmax_cross_entropy(zv, &labels, k).0 as f64,
            &z,
            &grad,
            1e-3,
        );
        // Uniform logits give ln K.
        let (l0, _) = softmax_cross_entropy(&vec![0.0; n * k], &labels, k);
        assert!((l0 - (k as f32).ln()).abs() < 1e-6);
        assert!(loss > 0.0);
    }

    #[test]
    fn relu_pool_and_stats() {
        assert_eq!(relu(&[-1.0, 0.0, 2.0]), vec![0.0, 0.0, 2.0]);
        assert_eq!(
            relu_backward(&[-1.0, 0.0, 2.0], &[5.0, 5.0, 5.0]),
            vec![0.0, 0.0, 5.0]
        );
        let x = [1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 7.0];
        let (y, arg) = maxpool2x2(&x, 1, 2, 4);
        assert_eq!(y, vec![5.0, 8.0]);
        assert_eq!(arg, vec![1, 6]);
        assert_eq!(
            maxpool2x2_backward(&[1.0, 2.0], &arg, 8),
            vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]
        );
        let (m, v) = batchnorm_stats(&[1.0, 3.0, 10.0, 10.0, 5.0, 7.0, 20.0, 20.0], 2, 2, 2);
        assert_eq!(m, vec![4.0, 15.0]);
        assert_eq!(v, vec![5.0, 25.0]);
        let (mut w, mut vel) = (vec![1.0f32], vec![0.5f32]);
        sgd_momentum(&mut w, &[2.0], &mut vel, 0.1, 0.9, 0.01);
        assert!((vel[0] - (0.45 + 2.0 + 0.01)).abs() < 1e-6);
        assert!((w[0] - (1.0 - 0.1 * 2.46)).abs() < 1e-6);
    }
}

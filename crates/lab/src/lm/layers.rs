//! The model's building blocks on rows of f32, forward and backward.
//!
//! - Layer norm over each row x of width w: xhat = (x - mean x) / sqrt(var x + 1e-5), y = g xhat + b;
//!   backward: dg = sum dy xhat, db = sum dy, dx = rstd (dxhat - mean dxhat - xhat mean(dxhat xhat))
//!   with dxhat = g dy.
//! - Linear y = x W + b (W is in x out): dx = dy W^T, dW = x^T dy, db = sum over rows of dy.
//! - GELU, tanh form (as GPT-2): y = x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3);
//!   dy/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 0.044715 x^2) / 2.

use super::gemm::{gemm, View, ViewMut};

pub const LN_EPS: f32 = 1e-5;
const GELU_S: f32 = 0.797_884_6; // sqrt(2 / pi)
const GELU_C: f32 = 0.044_715;

/// Layer norm of each `w`-wide row of `x` into `out`, keeping xhat and 1/sigma for the backward pass.
pub fn layer_norm(
    x: &[f32],
    g: &[f32],
    b: &[f32],
    out: &mut [f32],
    xhat: &mut [f32],
    rstd: &mut [f32],
) {
    let w = g.len();
    for (r, row) in x.chunks_exact(w).enumerate() {
        let mean = row.iter().sum::<f32>() / w as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / w as f32;
        let s = 1.0 / (var + LN_EPS).sqrt();
        rstd[r] = s;
        let (xh, o) = (&mut xhat[r * w..][..w], &mut out[r * w..][..w]);
        for j in 0..w {
            xh[j] = (row[j] - mean) * s;
            o[j] = xh[j] * g[j] + b[j];
        }
    }
}

/// Layer norm without saving anything (inference).
pub(crate) fn layer_norm_plain(x: &[f32], g: &[f32], b: &[f32], out: &mut [f32]) {
    let w = g.len();
    for (row, o) in x.chunks_exact(w).zip(out.chunks_exact_mut(w)) {
        let mean = row.iter().sum::<f32>() / w as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / w as f32;
        let s = 1.0 / (var + LN_EPS).sqrt();
        for j in 0..w {
            o[j] = (row[j] - mean) * s * g[j] + b[j];
        }
    }
}

/// Adds the input gradient of a layer norm to `dx`; accumulates dg, db when given.
pub fn layer_norm_back(
    dy: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    g: &[f32],
    dx: &mut [f32],
    mut dgb: Option<(&mut [f32], &mut [f32])>,
) {
    let w = g.len();
    let mut dxh = vec![0.0f32; w];
    for (r, &s) in rstd.iter().enumerate() {
        let (dyr, xh) = (&dy[r * w..][..w], &xhat[r * w..][..w]);
        let (mut m1, mut m2) = (0.0f32, 0.0f32);
        for j in 0..w {
            dxh[j] = dyr[j] * g[j];
            m1 += dxh[j];
            m2 += dxh[j] * xh[j];
        }
        let (m1, m2) = (m1 / w as f32, m2 / w as f32);
        let dxr = &mut dx[r * w..][..w];
        for j in 0..w {
            dxr[j] += s * (dxh[j] - m1 - xh[j] * m2);
        }
        if let Some((dg, db)) = dgb.as_mut() {
            for j in 0..w {
                dg[j] += dyr[j] * xh[j];
                db[j] += dyr[j];
            }
        }
    }
}

/// y = x W + b for `n` rows; W is `inp` x `out`.
pub(crate) fn linear(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32], n: usize, inp: usize) {
    let out = b.len();
    for row in y.chunks_exact_mut(out) {
        row.copy_from_slice(b);
    }
    gemm(
        View::new(x, n, inp),
        View::new(w, inp, out),
        ViewMut::new(y, n, out),
        1.0,
    );
}

/// The backward pass of `linear`: dx = dy W^T (written, or added when `add_dx`), and, when given,
/// dW = x^T dy and db = sum of dy's rows (both written).
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear_back(
    dy: &[f32],
    x: &[f32],
    w: &[f32],
    n: usize,
    inp: usize,
    dx: &mut [f32],
    add_dx: bool,
    dwb: Option<(&mut [f32], &mut [f32])>,
) {
    let out = dy.len() / n.max(1);
    gemm(
        View::new(dy, n, out),
        View::new(w, inp, out).t(),
        ViewMut::new(dx, n, inp),
        if add_dx { 1.0 } else { 0.0 },
    );
    if let Some((dw, db)) = dwb {
        gemm(
            View::new(x, n, inp).t(),
            View::new(dy, n, out),
            ViewMut::new(dw, inp, out),
            0.0,
        );
        db.fill(0.0);
        for row in dy.chunks_exact(out) {
            for (d, v) in db.iter_mut().zip(row) {
                *d += v;
            }
        }
    }
}

/// tanh u = 1 - 2 / (e^{2u} + 1): one `exp` (several times faster than `f32::tanh`, absolute
/// error about 1e-7; e^{2u} overflowing to infinity gives exactly 1).
fn tanh(u: f32) -> f32 {
    1.0 - 2.0 / ((2.0 * u).exp() + 1.0)
}

pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + tanh(GELU_S * (x + GELU_C * x * x * x)))
}

pub fn gelu_grad(x: f32) -> f32 {
    let t = tanh(GELU_S * (x + GELU_C * x * x * x));
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_S * (1.0 + 3.0 * GELU_C * x * x)
}

/// Softmax of `z` in place; returns log-sum-exp.
pub fn softmax(z: &mut [f32]) -> f32 {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    z.iter_mut().for_each(|v| *v *= inv);
    max + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_gradient_matches_differences_and_layer_norm_normalises() {
        for i in -400..=400 {
            let u = i as f32 * 0.05;
            assert!((tanh(u) - u.tanh()).abs() < 3e-7, "tanh {u}");
        }
        assert_eq!((tanh(100.0), tanh(-100.0)), (1.0, -1.0));
        for &x in &[-3.0f32, -1.0, -0.1, 0.0, 0.5, 2.0] {
            let h = 1e-3f32;
            let fd = (gelu(x + h) - gelu(x - h)) / (2.0 * h);
            assert!(
                (fd - gelu_grad(x)).abs() < 1e-3,
                "{x}: {fd} vs {}",
                gelu_grad(x)
            );
        }
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let (mut y, mut xh, mut rs) = ([0.0f32; 4], [0.0f32; 4], [0.0f32; 1]);
        layer_norm(&x, &[1.0; 4], &[0.0; 4], &mut y, &mut xh, &mut rs);
        assert!(y.iter().sum::<f32>().abs() < 1e-6);
        assert!((y.iter().map(|v| v * v).sum::<f32>() / 4.0 - 1.0).abs() < 1e-4);
        let mut p = [1.0f32, 2.0, 3.0];
        let lse = softmax(&mut p);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((lse - (1f32.exp() + 2f32.exp() + 3f32.exp()).ln()).abs() < 1e-5);
    }
}

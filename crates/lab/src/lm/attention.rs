//! Causal multi-head attention of one sequence. Per head h (dimension d = width / heads), with
//! n queries Q and m keys K, values V (the last n keys belong to the queries' own positions; any
//! earlier ones are a cache or a prefix every query sees):
//!   S = Q K^T / sqrt(d),  P = softmax over the keys query i may see (j < m - n + i + 1),  O = P V.
//! Backward: dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(dP P)) / sqrt(d), dQ = dS K, dK = dS^T Q.

use super::gemm::{gemm, View, ViewMut};

/// How one sequence's attention operands are laid out: queries are `n` rows `q_stride` apart (head
/// h at columns h d ..), keys and values `m` contiguous rows of width heads x d.
#[derive(Clone, Copy)]
pub struct Shape {
    pub n: usize,
    pub m: usize,
    pub heads: usize,
    pub d: usize,
    pub q_stride: usize,
}

impl Shape {
    fn width(&self) -> usize {
        self.heads * self.d
    }
    /// Keys query i may see.
    fn visible(&self, i: usize) -> usize {
        self.m - self.n + i + 1
    }
    pub fn probs_len(&self) -> usize {
        self.heads * self.n * self.m
    }
}

/// O (n x width, contiguous) from Q, K, V; `probs` (heads x n x m) keeps P for the backward pass.
pub fn forward(s: Shape, q: &[f32], k: &[f32], v: &[f32], probs: &mut [f32], out: &mut [f32]) {
    let (n, m, d, w) = (s.n, s.m, s.d, s.width());
    let scale = 1.0 / (d as f32).sqrt();
    for h in 0..s.heads {
        let p = &mut probs[h * n * m..][..n * m];
        gemm(
            View::cols(q, n, s.q_stride, h * d, d),
            View::cols(k, m, w, h * d, d).t(),
            ViewMut::new(p, n, m),
            0.0,
        );
        for i in 0..n {
            let row = &mut p[i * m..][..m];
            let vis = s.visible(i);
            row[..vis].iter_mut().for_each(|x| *x *= scale);
            super::layers::softmax(&mut row[..vis]);
            row[vis..].fill(0.0);
        }
        gemm(
            View::new(p, n, m),
            View::cols(v, m, w, h * d, d),
            ViewMut::cols(out, n, w, h * d, d),
            0.0,
        );
    }
}

/// Gradients of Q (written into `dq`, rows `q_stride` apart), K and V (written, m x width) from dO.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    s: Shape,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    probs: &[f32],
    dout: &[f32],
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    let (n, m, d, w) = (s.n, s.m, s.d, s.width());
    let scale = 1.0 / (d as f32).sqrt();
    let mut ds = vec![0.0f32; n * m];
    for h in 0..s.heads {
        let p = &probs[h * n * m..][..n * m];
        let dout_h = View::cols(dout, n, w, h * d, d);
        gemm(
            View::new(p, n, m).t(),
            dout_h,
            ViewMut::cols(dv, m, w, h * d, d),
            0.0,
        );
        gemm(
            dout_h,
            View::cols(v, m, w, h * d, d).t(),
            ViewMut::new(&mut ds, n, m),
            0.0,
        );
        for i in 0..n {
            let (pr, dr) = (&p[i * m..][..m], &mut ds[i * m..][..m]);
            let vis = s.visible(i);
            let dot: f32 = pr[..vis].iter().zip(&dr[..vis]).map(|(a, b)| a * b).sum();
            for j in 0..vis {
                dr[j] = pr[j] * (dr[j] - dot) * scale;
            }
            dr[vis..].fill(0.0);
        }
        gemm(
            View::new(&ds, n, m),
            View::cols(k, m, w, h * d, d),
            ViewMut::cols(dq, n, s.q_stride, h * d, d),
            0.0,
        );
        gemm(
            View::new(&ds, n, m).t(),
            View::cols(q, n, s.q_stride, h * d, d),
            ViewMut::cols(dk, m, w, h * d, d),
            0.0,
        );
    }
}

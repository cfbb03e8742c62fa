//! Masked scaled dot-product attention: the reference of the GPU kernel, whole or a slice of
//! query rows at a time.
//!
//! For each batch b and query i: s_ij = q_i . k_j / sqrt(d), with s_ij = -inf where mask_ij is set
//! (masked = may not attend), a_i = softmax_j(s_i), out_i = sum_j a_ij v_j. A query whose keys are
//! all masked attends to nothing and its output is 0 (never NaN).

/// Dimensions: `batch` heads or sequences sharing one mask of t_q x t_k.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionShape {
    pub batch: usize,
    pub t_q: usize,
    pub t_k: usize,
    pub d: usize,
    pub d_v: usize,
}

impl AttentionShape {
    pub fn q_len(&self) -> usize {
        self.batch * self.t_q * self.d
    }
    pub fn k_len(&self) -> usize {
        self.batch * self.t_k * self.d
    }
    pub fn v_len(&self) -> usize {
        self.batch * self.t_k * self.d_v
    }
    pub fn out_len(&self) -> usize {
        self.batch * self.t_q * self.d_v
    }
    /// FLOPs of the two products (Q K^T and A V), a multiply-add counted as 2.
    pub fn flops(&self) -> f64 {
        2.0 * (self.batch * self.t_q * self.t_k * (self.d + self.d_v)) as f64
    }
}

/// Attention weights (t_q x t_k per batch) and outputs (t_q x d_v per batch).
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    masked: &[bool],
    s: AttentionShape,
) -> (Vec<f32>, Vec<f32>) {
    let mut weights = vec![0.0f32; s.batch * s.t_q * s.t_k];
    let mut out = vec![0.0f32; s.out_len()];
    attention_rows(
        q,
        k,
        v,
        masked,
        s,
        0..s.batch * s.t_q,
        &mut weights,
        &mut out,
    );
    (weights, out)
}

/// The rows `rows` of `attention` (row r is query r % t_q of batch r / t_q), written into the
/// full-size `weights` and `out`; the page computes a large attention a slice of rows at a time.
#[allow(clippy::too_many_arguments)]
pub fn attention_rows(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    masked: &[bool],
    s: AttentionShape,
    rows: std::ops::Range<usize>,
    weights: &mut [f32],
    out: &mut [f32],
) {
    let scale = 1.0 / (s.d as f32).sqrt();
    let mut scores = vec![0.0f32; s.t_k];
    for row in rows {
        let (b, i) = (row / s.t_q, row % s.t_q);
        let qi = &q[row * s.d..(row + 1) * s.d];
        let hidden = &masked[i * s.t_k..(i + 1) * s.t_k];
        let mut max = f32::NEG_INFINITY;
        for (j, sc) in scores.iter_mut().enumerate() {
            if !hidden[j] {
                let kj = &k[(b * s.t_k + j) * s.d..(b * s.t_k + j + 1) * s.d];
                *sc = qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale;
                max = max.max(*sc);
            }
        }
        let w = &mut weights[row * s.t_k..(row + 1) * s.t_k];
        let o = &mut out[row * s.d_v..(row + 1) * s.d_v];
        w.fill(0.0);
        o.fill(0.0);
        if max == f32::NEG_INFINITY {
            continue;
        }
        let mut total = 0.0f32;
        for j in 0..s.t_k {
            if !hidden[j] {
                w[j] = (scores[j] - max).exp();
                total += w[j];
            }
        }
        for j in 0..s.t_k {
            if hidden[j] {
                continue;
            }
            w[j] /= total;
            let vj = &v[(b * s.t_k + j) * s.d_v..(b * s.t_k + j + 1) * s.d_v];
            for (oc, vc) in o.iter_mut().zip(vj) {
                *oc += w[j] * vc;
            }
        }
    }
}

/// Attention computed a few query rows at a time, so that the page's CPU path can yield to the
/// browser between slices of a large computation.
pub struct AttentionJob {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    masked: Vec<bool>,
    pub shape: AttentionShape,
    weights: Vec<f32>,
    out: Vec<f32>,
    next: usize,
}

impl AttentionJob {
    pub fn new(
        q: Vec<f32>,
        k: Vec<f32>,
        v: Vec<f32>,
        masked: Vec<bool>,
        shape: AttentionShape,
    ) -> AttentionJob {
        AttentionJob {
            weights: vec![0.0; shape.batch * shape.t_q * shape.t_k],
            out: vec![0.0; shape.out_len()],
            q,
            k,
            v,
            masked,
            shape,
            next: 0,
        }
    }

    fn rows(&self) -> usize {
        self.shape.batch * self.shape.t_q
    }

    pub fn done(&self) -> bool {
        self.next >= self.rows()
    }

    pub fn progress(&self) -> f64 {
        self.next as f64 / self.rows().max(1) as f64
    }

    /// Compute the next rows, about `flops` floating-point operations' worth (at least one row).
    pub fn advance(&mut self, flops: f64) {
        let s = self.shape;
        let per_row = (2 * s.t_k * (s.d + s.d_v)).max(1) as f64;
        let n = ((flops / per_row) as usize).max(1);
        let end = (self.next + n).min(self.rows());
        let rows = self.next..end;
        attention_rows(
            &self.q,
            &self.k,
            &self.v,
            &self.masked,
            s,
            rows,
            &mut self.weights,
            &mut self.out,
        );
        self.next = end;
    }

    /// (weights, outputs), as `attention` returns them.
    pub fn finish(self) -> (Vec<f32>, Vec<f32>) {
        (self.weights, self.out)
    }

    /// Start again on the same inputs (to time repeated runs).
    pub fn restart(&mut self) {
        self.next = 0;
    }
}

/// The raw scores q_i . k_j / sqrt(d) of every (batch, query, key), masked or not.
pub fn raw_scores(q: &[f32], k: &[f32], s: AttentionShape) -> Vec<f32> {
    let scale = 1.0 / (s.d as f32).sqrt();
    let mut out = Vec::with_capacity(s.batch * s.t_q * s.t_k);
    for b in 0..s.batch {
        for i in 0..s.t_q {
            let qi = &q[(b * s.t_q + i) * s.d..(b * s.t_q + i + 1) * s.d];
            for j in 0..s.t_k {
                let kj = &k[(b * s.t_k + j) * s.d..(b * s.t_k + j + 1) * s.d];
                out.push(qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_keys_get_no_weight_and_rows_sum_to_one() {
        let s = AttentionShape {
            batch: 1,
            t_q: 2,
            t_k: 3,
            d: 2,
            d_v: 1,
        };
        let q = [1.0, 0.0, 0.0, 1.0];
        let k = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let v = [10.0, 20.0, 30.0];
        let masked = [false, true, false, true, true, true];
        let (w, out) = attention(&q, &k, &v, &masked, s);
        assert_eq!(w[1], 0.0);
        assert!((w[0] + w[2] - 1.0).abs() < 1e-6);
        // Query 0: scores 1/sqrt2 for keys 0 and 2 -> equal weights.
        assert!((w[0] - 0.5).abs() < 1e-6 && (out[0] - 20.0).abs() < 1e-5);
        // Query 1 is fully masked: zero weights and output.
        assert_eq!(&w[3..6], &[0.0, 0.0, 0.0]);
        assert_eq!(out[1], 0.0);
    }

    #[test]
    fn attention_a_slice_of_rows_at_a_time_equals_all_at_once() {
        let mut rng = crate::rng::Rng::new(24);
        let s = AttentionShape {
            batch: 3,
            t_q: 5,
            t_k: 7,
            d: 4,
            d_v: 2,
        };
        let rnd = |n: usize, rng: &mut crate::rng::Rng| {
            (0..n).map(|_| rng.normal() as f32).collect::<Vec<f32>>()
        };
        let (q, k, v) = (
            rnd(s.q_len(), &mut rng),
            rnd(s.k_len(), &mut rng),
            rnd(s.v_len(), &mut rng),
        );
        let masked: Vec<bool> = (0..s.t_q * s.t_k).map(|i| i % 3 == 0).collect();
        let (w, out) = attention(&q, &k, &v, &masked, s);
        let (mut w2, mut out2) = (vec![9.0; w.len()], vec![9.0; out.len()]);
        for a in (0..15).step_by(4) {
            attention_rows(
                &q,
                &k,
                &v,
                &masked,
                s,
                a..(a + 4).min(15),
                &mut w2,
                &mut out2,
            );
        }
        assert_eq!(w, w2);
        assert_eq!(out, out2);
        let mut job = AttentionJob::new(q.clone(), k.clone(), v.clone(), masked.clone(), s);
        while !job.done() {
            job.advance(100.0);
        }
        assert_eq!(job.finish(), (w.clone(), out.clone()));
        // Raw scores agree with the unmasked weights' ratios.
        let sc = raw_scores(&q, &k, s);
        let r = (sc[1] - sc[2]).exp();
        assert!((w[1] / w[2] - r).abs() < 1e-4 * r.max(1.0));
    }
}

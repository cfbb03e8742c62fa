//! Masked scaled dot-product attention, the reference for the GPU kernel.
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
    let scale = 1.0 / (s.d as f32).sqrt();
    let mut weights = vec![0.0f32; s.batch * s.t_q * s.t_k];
    let mut out = vec![0.0f32; s.out_len()];
    for b in 0..s.batch {
        for i in 0..s.t_q {
            let qi = &q[(b * s.t_q + i) * s.d..(b * s.t_q + i + 1) * s.d];
            let scores: Vec<Option<f32>> = (0..s.t_k)
                .map(|j| {
                    (!masked[i * s.t_k + j]).then(|| {
                        let kj = &k[(b * s.t_k + j) * s.d..(b * s.t_k + j + 1) * s.d];
                        qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale
                    })
                })
                .collect();
            let max = scores
                .iter()
                .flatten()
                .cloned()
                .fold(f32::NEG_INFINITY, f32::max);
            if max == f32::NEG_INFINITY {
                continue;
            }
            let exps: Vec<f32> = scores
                .iter()
                .map(|s| s.map(|v| (v - max).exp()).unwrap_or(0.0))
                .collect();
            let total: f32 = exps.iter().sum();
            for j in 0..s.t_k {
                let a = exps[j] / total;
                weights[(b * s.t_q + i) * s.t_k + j] = a;
                for c in 0..s.d_v {
                    out[(b * s.t_q + i) * s.d_v + c] += a * v[(b * s.t_k + j) * s.d_v + c];
                }
            }
        }
    }
    (weights, out)
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
}

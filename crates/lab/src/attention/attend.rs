//! Masked scaled dot-product attention (the reference for the GPU kernel), the combined self- and
//! cross-attention mask of a captioning decoder, and the cost of global against windowed attention.
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

/// The mask of one layer that does causal self-attention over a caption and cross-attention to
/// image tokens at once. Keys are rows and queries are columns (as the homework draws the grid),
/// caption tokens first, then image tokens (which are keys only). A caption token may attend to
/// itself, to earlier caption tokens and to every image token; a padding token is masked as a key
/// and as a query.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CaptionMask {
    pub queries: Vec<String>,
    pub keys: Vec<String>,
    /// masked[key][query]
    pub masked: Vec<Vec<bool>>,
}

pub const PAD: &str = "<PAD>";

pub fn caption_mask(caption: &[String], image_tokens: usize) -> CaptionMask {
    let queries: Vec<String> = caption.to_vec();
    let keys: Vec<String> = caption
        .iter()
        .cloned()
        .chain((1..=image_tokens).map(|i| format!("<ENC{i}>")))
        .collect();
    let masked = keys
        .iter()
        .enumerate()
        .map(|(k, key)| {
            queries
                .iter()
                .enumerate()
                .map(|(q, query)| {
                    let key_is_caption = k < caption.len();
                    query == PAD || (key_is_caption && (key == PAD || k > q))
                })
                .collect()
        })
        .collect();
    CaptionMask {
        queries,
        keys,
        masked,
    }
}

/// Split a caption such as "<SOS> a mountain range <PAD>" into tokens.
pub fn tokenize(caption: &str) -> Vec<String> {
    caption.split_whitespace().map(str::to_string).collect()
}

/// Cost of one head's attention over an H x H image cut into P x P patches (T = (H/P)^2 tokens of
/// dimension D): global attention makes every token attend to all T, windowed attention to the K x K
/// patches of its window. FLOPs of the two products QK^T and AV, a multiply-add counted as 2:
/// global 4 T^2 D = O(D H^4 / P^4), windowed 4 T K^2 D = O(H^2 K^2 D / P^2).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AttentionCost {
    pub tokens: u64,
    pub global_flops: u64,
    pub windowed_flops: u64,
    pub ratio: f64,
}

pub fn attention_cost(
    image: usize,
    patch: usize,
    window: usize,
    dim: usize,
) -> Result<AttentionCost, String> {
    if patch == 0 || image == 0 || !image.is_multiple_of(patch) {
        return Err(format!(
            "the patch size ({patch}) must divide the image size ({image})"
        ));
    }
    let side = image / patch;
    if window == 0 || !side.is_multiple_of(window) {
        return Err(format!(
            "the window ({window} patches) must divide the {side} patches per side"
        ));
    }
    if dim == 0 {
        return Err("the dimension must be at least 1".into());
    }
    let t = (side * side) as u64;
    let (k2, d) = ((window * window) as u64, dim as u64);
    let global_flops = 4 * t * t * d;
    let windowed_flops = 4 * t * k2 * d;
    Ok(AttentionCost {
        tokens: t,
        global_flops,
        windowed_flops,
        ratio: global_flops as f64 / windowed_flops as f64,
    })
}

/// Tokens of a side x side patch grid (row-major) regrouped window by window: windows of
/// window x window patches in row-major order, the patches of each window row-major inside it.
/// Each token is `d` values.
pub fn gather_windows(x: &[f32], side: usize, window: usize, d: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for t in window_order(side, window) {
        out.extend_from_slice(&x[t * d..(t + 1) * d]);
    }
    out
}

/// The inverse of `gather_windows`: back to the patch grid's order.
pub fn scatter_windows(x: &[f32], side: usize, window: usize, d: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    for (src, t) in window_order(side, window).into_iter().enumerate() {
        out[t * d..(t + 1) * d].copy_from_slice(&x[src * d..(src + 1) * d]);
    }
    out
}

/// Grid positions of the tokens in window order.
fn window_order(side: usize, window: usize) -> Vec<usize> {
    let windows = side / window;
    let mut order = Vec::with_capacity(side * side);
    for wy in 0..windows {
        for wx in 0..windows {
            for iy in 0..window {
                for ix in 0..window {
                    order.push((wy * window + iy) * side + wx * window + ix);
                }
            }
        }
    }
    order
}

/// The shape of windowed attention: one batch entry per window, K^2 queries and keys each.
pub fn windowed_shape(side: usize, window: usize, d: usize) -> AttentionShape {
    let windows = side / window;
    AttentionShape {
        batch: windows * windows,
        t_q: window * window,
        t_k: window * window,
        d,
        d_v: d,
    }
}

/// Windowed attention: tokens (row-major on the patch grid) are grouped into windows of K x K
/// patches and each window attends only within itself.
pub fn windowed_attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    side: usize,
    window: usize,
    d: usize,
) -> Vec<f32> {
    let s = windowed_shape(side, window, d);
    let g = |x: &[f32]| gather_windows(x, side, window, d);
    let (_, out) = attention(&g(q), &g(k), &g(v), &vec![false; s.t_q * s.t_k], s);
    scatter_windows(&out, side, window, d)
}

/// Image sizes for the timing experiment: H = m P K for growing m (so that the window divides the
/// patch grid), roughly doubling the token count each time, up to `max_tokens` tokens.
pub fn timing_sizes(patch: usize, window: usize, max_tokens: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut m = 1usize;
    while (m * window).pow(2) <= max_tokens {
        sizes.push(m * patch * window);
        // Next m: at least 1.4 times larger, so that T roughly doubles.
        m = (m + 1).max((m as f64 * 1.4).round() as usize);
    }
    sizes
}

/// Which patches one query patch (row, col) sees on a side x side grid: every patch under global
/// attention; under windowed attention the K x K window that contains it. Row-major booleans.
pub fn visible_patches(side: usize, window: usize, query: (usize, usize)) -> Vec<bool> {
    let w = window.max(1);
    (0..side * side)
        .map(|t| (t / side) / w == query.0 / w && (t % side) / w == query.1 / w)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_homeworks_grid() {
        let m = caption_mask(&tokenize("<SOS> a mountain range <PAD>"), 3);
        assert_eq!(
            m.keys,
            vec!["<SOS>", "a", "mountain", "range", "<PAD>", "<ENC1>", "<ENC2>", "<ENC3>"]
        );
        assert_eq!(m.queries.len(), 5);
        // Rows are keys, columns queries; 1 = masked. Query <PAD> (last column) is all masked.
        let want = [
            [0, 0, 0, 0, 1], // <SOS>
            [1, 0, 0, 0, 1], // a
            [1, 1, 0, 0, 1], // mountain
            [1, 1, 1, 0, 1], // range
            [1, 1, 1, 1, 1], // <PAD>
            [0, 0, 0, 0, 1], // <ENC1>
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1],
        ];
        for (k, row) in want.iter().enumerate() {
            let got: Vec<u8> = m.masked[k].iter().map(|&b| b as u8).collect();
            assert_eq!(got, row.to_vec(), "key {}", m.keys[k]);
        }
    }

    #[test]
    fn mask_rules_hold_for_any_caption_padding_and_image_tokens() {
        let mut rng = crate::rng::Rng::new(21);
        for _ in 0..200 {
            let len = 1 + rng.below(9);
            let caption: Vec<String> = (0..len)
                .map(|i| {
                    if rng.below(4) == 0 {
                        PAD.to_string()
                    } else {
                        format!("w{i}")
                    }
                })
                .collect();
            let images = rng.below(6);
            let m = caption_mask(&caption, images);
            assert_eq!(m.keys.len(), len + images);
            for (k, key) in m.keys.iter().enumerate() {
                for (q, query) in m.queries.iter().enumerate() {
                    let allowed = query != PAD && (k >= len || (key != PAD && k <= q));
                    assert_eq!(m.masked[k][q], !allowed, "{caption:?} key {k} query {q}");
                }
            }
        }
    }

    #[test]
    fn cost_formulas_match_counted_operations() {
        for (image, patch, window, dim) in [(224, 16, 7, 64), (64, 8, 2, 32), (32, 4, 8, 16)] {
            let c = attention_cost(image, patch, window, dim).unwrap();
            let side = image / patch;
            let t = side * side;
            let global = AttentionShape {
                batch: 1,
                t_q: t,
                t_k: t,
                d: dim,
                d_v: dim,
            }
            .flops();
            let windows = (side / window) * (side / window);
            let windowed = AttentionShape {
                batch: windows,
                t_q: window * window,
                t_k: window * window,
                d: dim,
                d_v: dim,
            }
            .flops();
            assert_eq!(c.global_flops as f64, global);
            assert_eq!(c.windowed_flops as f64, windowed);
            assert_eq!(c.tokens as usize, t);
        }
        // Doubling the image multiplies global cost by 16 and windowed by 4.
        let a = attention_cost(64, 8, 2, 8).unwrap();
        let b = attention_cost(128, 8, 2, 8).unwrap();
        assert_eq!(b.global_flops, 16 * a.global_flops);
        assert_eq!(b.windowed_flops, 4 * a.windowed_flops);
        assert!(attention_cost(100, 16, 2, 8).is_err());
        assert!(attention_cost(64, 8, 3, 8).is_err());
    }

    #[test]
    fn windowed_attention_equals_masked_global_attention() {
        let mut rng = crate::rng::Rng::new(22);
        let (side, window, d) = (4, 2, 3);
        let t = side * side;
        let rnd = |n: usize, rng: &mut crate::rng::Rng| {
            (0..n).map(|_| rng.normal() as f32).collect::<Vec<f32>>()
        };
        let (q, k, v) = (
            rnd(t * d, &mut rng),
            rnd(t * d, &mut rng),
            rnd(t * d, &mut rng),
        );
        let win = |tok: usize| ((tok / side) / window, (tok % side) / window);
        let masked: Vec<bool> = (0..t * t).map(|i| win(i / t) != win(i % t)).collect();
        let (_, global) = attention(
            &q,
            &k,
            &v,
            &masked,
            AttentionShape {
                batch: 1,
                t_q: t,
                t_k: t,
                d,
                d_v: d,
            },
        );
        let windowed = windowed_attention(&q, &k, &v, side, window, d);
        for (a, b) in global.iter().zip(&windowed) {
            assert!((a - b).abs() < 1e-5);
        }
    }

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

    #[test]
    fn timing_sizes_grow_and_windows_divide_them() {
        let sizes = timing_sizes(16, 7, 3136);
        assert_eq!(sizes.first(), Some(&112));
        assert_eq!(sizes.last(), Some(&896));
        for w in sizes.windows(2) {
            assert!(w[1] > w[0]);
        }
        for h in sizes {
            assert!(attention_cost(h, 16, 7, 64).is_ok());
        }
        assert!(timing_sizes(8, 64, 100).is_empty());
    }

    #[test]
    fn a_query_sees_its_window_or_everything() {
        let v = visible_patches(4, 2, (1, 2));
        let seen: Vec<usize> = (0..16).filter(|&t| v[t]).collect();
        assert_eq!(seen, vec![2, 3, 6, 7]);
        // A window as large as the grid is global attention.
        assert!(visible_patches(4, 4, (3, 0)).iter().all(|&b| b));
        let s = windowed_shape(4, 2, 3);
        assert_eq!((s.batch, s.t_q), (4, 4));
        let x: Vec<f32> = (0..16 * 3).map(|i| i as f32).collect();
        assert_eq!(scatter_windows(&gather_windows(&x, 4, 2, 3), 4, 2, 3), x);
    }
}

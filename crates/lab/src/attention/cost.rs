//! Global against windowed attention over an image's patches: the cost of each, the regrouping of
//! tokens into windows, windowed attention as plain attention within each window, and the sizes the
//! page times.

use super::dot_product::{attention, AttentionShape};

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

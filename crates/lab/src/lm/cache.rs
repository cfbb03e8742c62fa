//! Generation with a key/value cache. Attention at position j only needs the keys and values of
//! positions <= j (and the prefix), and those never change once computed, so a `Session` keeps
//! them per layer and runs each new position (or a block of them) through the layers once:
//! the cost of a token is linear, not quadratic, in what came before. The logits equal the
//! uncached forward pass's at every position, up to rounding (single rows are multiplied by plain
//! loops rather than sgemm, which sums in another order).

use super::attention::{self, Shape};
use super::batch::{check_ids, extras_dims, Extras};
use super::forward::prefix_kv;
use super::gemm::{gemm, View, ViewMut};
use super::layers::{gelu, layer_norm_plain, linear};
use super::model::Model;

/// A model reading one text position by position, with its per-layer keys and values cached.
/// A clone continues from the same point (a prompt read once, then each question after it).
#[derive(Clone)]
pub struct Session<'m> {
    model: &'m Model,
    /// Per layer: the prefix's keys (P rows) then one per position fed; likewise values.
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    /// Positions fed so far, soft prompt included.
    pos: usize,
    /// Soft prompt vectors at the start.
    soft: usize,
    logits: Option<Vec<f32>>,
}

impl<'m> Session<'m> {
    /// An empty session without extras.
    pub fn new(model: &'m Model) -> Result<Self, String> {
        Session::with_extras(model, Extras::default())
    }

    fn empty(model: &'m Model) -> Self {
        let layers = model.config.layers;
        Session {
            model,
            keys: vec![Vec::new(); layers],
            values: vec![Vec::new(); layers],
            pos: 0,
            soft: 0,
            logits: None,
        }
    }

    /// A session whose cache starts with the prefix, and which has read the soft prompt.
    pub fn with_extras(model: &'m Model, extras: Extras) -> Result<Self, String> {
        let (k, p) = extras_dims(model, &extras)?;
        let c = &model.config;
        if k >= c.context {
            return Err(format!(
                "soft prompt of {k} vectors leaves no room in the context of {}",
                c.context
            ));
        }
        let mut s = Session::empty(model);
        for l in 0..c.layers {
            let (pk, pv) = prefix_kv(extras.prefix, l, p, c.width);
            s.keys[l].extend_from_slice(pk);
            s.values[l].extend_from_slice(pv);
        }
        if k > 0 {
            let w = c.width;
            let soft = extras.soft.unwrap_or(&[]);
            let mut x = soft.to_vec();
            for (j, row) in x.chunks_exact_mut(w).enumerate() {
                let wpe = model.p(model.layout().wpe + j * w, w);
                row.iter_mut().zip(wpe).for_each(|(a, b)| *a += b);
            }
            s.run(&mut x, k);
            s.pos = k;
            s.soft = k;
        }
        Ok(s)
    }

    /// Positions read so far (soft prompt included).
    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Soft prompt vectors at the start.
    pub fn soft_len(&self) -> usize {
        self.soft
    }

    /// Layer `l`'s cached keys and values (prefix, then one row per position read).
    pub fn cache(&self, l: usize) -> (&[f32], &[f32]) {
        (&self.keys[l], &self.values[l])
    }

    /// Positions still free in the context.
    pub fn remaining(&self) -> usize {
        self.model.config.context - self.pos
    }

    /// Next-token logits after the last token fed, if any was.
    pub fn logits(&self) -> Option<&[f32]> {
        self.logits.as_deref()
    }

    /// Reads `tokens` and returns the next-token logits after the last of them.
    pub fn feed(&mut self, tokens: &[u32]) -> Result<Vec<f32>, String> {
        self.feed_rows(tokens, false)
    }

    /// Reads `tokens` and returns the logits at each of them (tokens x vocab).
    pub fn feed_all(&mut self, tokens: &[u32]) -> Result<Vec<f32>, String> {
        self.feed_rows(tokens, true)
    }

    fn feed_rows(&mut self, tokens: &[u32], every: bool) -> Result<Vec<f32>, String> {
        let c = &self.model.config;
        if tokens.is_empty() {
            return Err("no tokens to feed".into());
        }
        check_ids("token", tokens, c.vocab)?;
        if tokens.len() > self.remaining() {
            return Err(format!(
                "{} tokens do not fit: {} of the context of {} are used",
                tokens.len(),
                self.pos,
                c.context
            ));
        }
        let (w, lay) = (c.width, self.model.layout());
        let mut x = vec![0.0f32; tokens.len() * w];
        for (i, (row, &t)) in x.chunks_exact_mut(w).zip(tokens).enumerate() {
            let e = self.model.p(lay.wte + t as usize * w, w);
            let p = self.model.p(lay.wpe + (self.pos + i) * w, w);
            for j in 0..w {
                row[j] = e[j] + p[j];
            }
        }
        let n = tokens.len();
        self.run(&mut x, n);
        self.pos += n;
        let rows = if every { 0..n } else { n - 1..n };
        let logits = self.project(&x[rows.start * w..rows.end * w], rows.len());
        self.logits = Some(logits[logits.len() - c.vocab..].to_vec());
        Ok(logits)
    }

    /// The layers applied to `n` new rows `x` (embedded), extending the cache.
    fn run(&mut self, x: &mut [f32], n: usize) {
        let m = self.model;
        let c = &m.config;
        let w = c.width;
        let mut h = vec![0.0f32; n * w];
        let mut qkv = vec![0.0f32; n * 3 * w];
        let mut att = vec![0.0f32; n * w];
        let mut y = vec![0.0f32; n * w];
        let mut fc = vec![0.0f32; n * c.mlp];
        for (l, lo) in m.layout().layers.iter().enumerate() {
            layer_norm_plain(x, m.p(lo.ln1_g, w), m.p(lo.ln1_b, w), &mut h);
            linear(
                &h,
                m.p(lo.qkv_w, w * 3 * w),
                m.p(lo.qkv_b, 3 * w),
                &mut qkv,
                n,
                w,
            );
            for row in qkv.chunks_exact(3 * w) {
                self.keys[l].extend_from_slice(&row[w..2 * w]);
                self.values[l].extend_from_slice(&row[2 * w..]);
            }
            let s = Shape {
                n,
                m: self.keys[l].len() / w,
                heads: c.heads,
                d: c.head_dim(),
                q_stride: 3 * w,
            };
            let mut probs = vec![0.0f32; s.probs_len()];
            attention::forward(
                s,
                &qkv,
                &self.keys[l],
                &self.values[l],
                &mut probs,
                &mut att,
            );
            linear(&att, m.p(lo.proj_w, w * w), m.p(lo.proj_b, w), &mut y, n, w);
            x.iter_mut().zip(&y).for_each(|(a, b)| *a += b);
            layer_norm_plain(x, m.p(lo.ln2_g, w), m.p(lo.ln2_b, w), &mut h);
            linear(
                &h,
                m.p(lo.fc_w, w * c.mlp),
                m.p(lo.fc_b, c.mlp),
                &mut fc,
                n,
                w,
            );
            fc.iter_mut().for_each(|v| *v = gelu(*v));
            linear(
                &fc,
                m.p(lo.out_w, c.mlp * w),
                m.p(lo.out_b, w),
                &mut y,
                n,
                c.mlp,
            );
            x.iter_mut().zip(&y).for_each(|(a, b)| *a += b);
        }
    }

    /// Logits of `rows` final residual rows: ln_f, then the tied projection.
    fn project(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let m = self.model;
        let (w, v, lay) = (m.config.width, m.config.vocab, m.layout());
        let mut h = vec![0.0f32; rows * w];
        layer_norm_plain(x, m.p(lay.lnf_g, w), m.p(lay.lnf_b, w), &mut h);
        let mut logits = vec![0.0f32; rows * v];
        gemm(
            View::new(&h, rows, w),
            View::new(m.p(lay.wte, v * w), v, w).t(),
            ViewMut::new(&mut logits, rows, v),
            0.0,
        );
        logits
    }
}

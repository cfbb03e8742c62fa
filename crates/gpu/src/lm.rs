//! The language model on the device: its weights uploaded once (`GpuLm`) and a reading session
//! with a key/value cache per layer (`GpuLmSession`), the device's twin of
//! `glassbox_lab::lm::Session` (its CPU reference). A feed of r rows at positions s .. s + r
//! (soft-prompt vectors first, on a session's first feed, then tokens), x the residual rows:
//!   x = embed + wpe[s ..]; per layer: h = ln1(x); [q|k|v] = h W_qkv + b_qkv;
//!   o = attention of the r queries over the cache (the layer's prefix, then positions < s) and
//!   their own causal keys; the new keys and values join the cache; x += o W_proj + b_proj;
//!   h = ln2(x); x += gelu(h W_fc + b_fc) W_out + b_out;
//! then logits z = ln_f(x) wte^T. One feed is one command buffer; only the logits are read back.
//! `generate` answers a `glassbox_lab::lm::Generator`'s feeds with such sessions.

use crate::matmul::matmul_pass;
use crate::ops::grid;
use crate::{Gpu, GpuError};
use glassbox_lab::kernels::MatmulShape;
use glassbox_lab::lm::layers::LN_EPS;
use glassbox_lab::lm::{Config, Extras, Generator, Model, Sampling};

struct Layer {
    ln1: wgpu::Buffer,
    qkv_w: wgpu::Buffer,
    qkv_b: wgpu::Buffer,
    proj_w: wgpu::Buffer,
    proj_b: wgpu::Buffer,
    ln2: wgpu::Buffer,
    fc_w: wgpu::Buffer,
    fc_b: wgpu::Buffer,
    out_w: wgpu::Buffer,
    out_b: wgpu::Buffer,
}

/// A model's weights on the device (layer norms as [gain | shift]).
pub struct GpuLm {
    config: Config,
    wte: wgpu::Buffer,
    wpe: wgpu::Buffer,
    lnf: wgpu::Buffer,
    layers: Vec<Layer>,
}

impl Gpu {
    /// Upload `model`'s weights.
    pub fn upload_lm(&self, model: &Model) -> Result<GpuLm, GpuError> {
        model.check().map_err(GpuError::Invalid)?;
        self.check_alive()?;
        let c = model.config;
        let w = c.width;
        let lay = model.layout();
        let up = |label: &str, off: usize, len: usize| {
            self.resident(label, len, Some(&model.params[off..off + len]))
        };
        let norm = |label: &str, g: usize, b: usize| {
            let gb = [&model.params[g..g + w], &model.params[b..b + w]].concat();
            self.resident(label, 2 * w, Some(&gb))
        };
        let layers = lay
            .layers
            .iter()
            .map(|o| Layer {
                ln1: norm("ln1", o.ln1_g, o.ln1_b),
                qkv_w: up("qkv.w", o.qkv_w, w * 3 * w),
                qkv_b: up("qkv.b", o.qkv_b, 3 * w),
                proj_w: up("proj.w", o.proj_w, w * w),
                proj_b: up("proj.b", o.proj_b, w),
                ln2: norm("ln2", o.ln2_g, o.ln2_b),
                fc_w: up("fc.w", o.fc_w, w * c.mlp),
                fc_b: up("fc.b", o.fc_b, c.mlp),
                out_w: up("out.w", o.out_w, c.mlp * w),
                out_b: up("out.b", o.out_b, w),
            })
            .collect();
        Ok(GpuLm {
            config: c,
            wte: up("wte", lay.wte, c.vocab * w),
            wpe: up("wpe", lay.wpe, c.context * w),
            lnf: norm("ln_f", lay.lnf_g, lay.lnf_b),
            layers,
        })
    }
}

impl GpuLm {
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// One reading of a text on the device, with its keys and values cached.
pub struct GpuLmSession {
    config: Config,
    /// Prefix rows per layer; the cache holds `cap` = P + context rows of keys, then of values.
    prefix: usize,
    cap: usize,
    /// Positions read or pending (the soft prompt counts from the start).
    pos: usize,
    /// Soft-prompt rows not yet run (all of them until the first feed).
    soft_pending: usize,
    cache: Vec<wgpu::Buffer>,
    soft: wgpu::Buffer,
    tokens: wgpu::Buffer,
    x: wgpu::Buffer,
    h: wgpu::Buffer,
    qkv: wgpu::Buffer,
    att: wgpu::Buffer,
    y: wgpu::Buffer,
    fc: wgpu::Buffer,
    act: wgpu::Buffer,
    logits: wgpu::Buffer,
    read: wgpu::Buffer,
}

fn invalid(msg: String) -> GpuError {
    GpuError::Invalid(msg)
}

/// (soft rows K, prefix rows P) of `extras` for config `c`, checked as the lab checks them.
fn extras_rows(c: &Config, e: &Extras) -> Result<(usize, usize), GpuError> {
    let finite = |what: &str, v: &[f32]| match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(invalid(format!("{what} value {i} is {}, not finite", v[i]))),
        None => Ok(()),
    };
    let soft = e.soft.unwrap_or(&[]);
    let prefix = e.prefix.unwrap_or(&[]);
    let per = 2 * c.layers * c.width;
    if !soft.len().is_multiple_of(c.width) {
        return Err(invalid(format!(
            "soft prompt has {} values, not a multiple of width {}",
            soft.len(),
            c.width
        )));
    }
    if !prefix.len().is_multiple_of(per) {
        return Err(invalid(format!(
            "prefix has {} values, not a multiple of layers x 2 x width = {per}",
            prefix.len()
        )));
    }
    finite("soft prompt", soft)?;
    finite("prefix", prefix)?;
    let k = soft.len() / c.width;
    if k >= c.context {
        return Err(invalid(format!(
            "soft prompt of {k} vectors leaves no room in the context of {}",
            c.context
        )));
    }
    Ok((k, prefix.len() / per))
}

impl GpuLmSession {
    /// A session for `lm` whose cache starts with the extras' prefix and which reads their soft
    /// prompt (on the first feed).
    pub fn new(gpu: &Gpu, lm: &GpuLm, extras: Extras) -> Result<GpuLmSession, GpuError> {
        gpu.check_alive()?;
        let c = lm.config;
        let (k, p) = extras_rows(&c, &extras)?;
        let (w, n) = (c.width, c.context);
        let cap = p + n;
        let limit = gpu.info.max_storage_buffer_binding_size as usize / 4;
        let att_len = n * w + c.heads * n * cap;
        if att_len.max(n * c.vocab).max(n * c.mlp) > limit {
            return Err(invalid(
                "the language model's session exceeds this adapter's buffer limit".into(),
            ));
        }
        let cache = (0..c.layers)
            .map(|l| {
                let mut kv = vec![0.0f32; 2 * cap * w];
                if let Some(pre) = extras.prefix.filter(|_| p > 0) {
                    let s = p * w;
                    kv[..s].copy_from_slice(&pre[2 * l * s..][..s]);
                    kv[cap * w..][..s].copy_from_slice(&pre[(2 * l + 1) * s..][..s]);
                }
                gpu.resident("key/value cache", kv.len(), Some(&kv))
            })
            .collect();
        let scratch = |label: &str, len: usize| gpu.resident(label, len, None);
        Ok(GpuLmSession {
            config: c,
            prefix: p,
            cap,
            pos: k,
            soft_pending: k,
            cache,
            soft: gpu.resident("soft prompt", k * w, extras.soft.filter(|_| k > 0)),
            tokens: scratch("tokens", n),
            x: scratch("residual", n * w),
            h: scratch("layer norm", n * w + 2 * n),
            qkv: scratch("qkv", n * 3 * w),
            att: scratch("attention", att_len),
            y: scratch("linear", n * w),
            fc: scratch("fc", n * c.mlp),
            act: scratch("gelu", n * c.mlp),
            logits: scratch("logits", n * c.vocab),
            read: scratch("read", n * c.vocab),
        })
    }

    /// Positions read so far (the soft prompt included).
    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Positions still free in the context.
    pub fn remaining(&self) -> usize {
        self.config.context - self.pos
    }

    /// Reads `tokens`; returns the next-token logits after the last of them.
    pub async fn feed(
        &mut self,
        gpu: &Gpu,
        lm: &GpuLm,
        tokens: &[u32],
    ) -> Result<Vec<f32>, GpuError> {
        self.feed_rows(gpu, lm, tokens, false).await
    }

    /// Reads `tokens`; returns the logits at each of them (tokens x vocab).
    pub async fn feed_all(
        &mut self,
        gpu: &Gpu,
        lm: &GpuLm,
        tokens: &[u32],
    ) -> Result<Vec<f32>, GpuError> {
        self.feed_rows(gpu, lm, tokens, true).await
    }

    async fn feed_rows(
        &mut self,
        gpu: &Gpu,
        lm: &GpuLm,
        tokens: &[u32],
        every: bool,
    ) -> Result<Vec<f32>, GpuError> {
        let c = self.config;
        if lm.config != c {
            return Err(invalid("this session belongs to another model".into()));
        }
        if tokens.is_empty() {
            return Err(invalid("no tokens to feed".into()));
        }
        if let Some(i) = tokens.iter().position(|&t| t as usize >= c.vocab) {
            return Err(invalid(format!(
                "token {i} is {}, outside the vocabulary of {}",
                tokens[i], c.vocab
            )));
        }
        if tokens.len() > self.remaining() {
            return Err(invalid(format!(
                "{} tokens do not fit: {} of the context of {} are used",
                tokens.len(),
                self.pos,
                c.context
            )));
        }
        gpu.check_alive()?;
        let ids: Vec<f32> = tokens.iter().map(|&t| t as f32).collect();
        gpu.queue
            .write_buffer(&self.tokens, 0, bytemuck::cast_slice(&ids));
        let (k, n) = (self.soft_pending, tokens.len());
        let (rows, start) = (k + n, self.pos - k);
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("lm feed"),
            });
        self.encode_rows(gpu, lm, &mut enc, rows, start, n);
        let v = c.vocab;
        let (from, count) = if every { (k, n) } else { (rows - 1, 1) };
        enc.copy_buffer_to_buffer(
            &self.logits,
            (from * v * 4) as u64,
            &self.read,
            0,
            (count * v * 4) as u64,
        );
        let logits = gpu.submit_and_read(enc, &self.read, count * v).await?;
        self.pos += n;
        self.soft_pending = 0;
        Ok(logits)
    }

    /// Encode the model over `rows` rows at positions `start ..` (the first `rows - n` soft),
    /// extending the cache, up to the logits of every row.
    fn encode_rows(
        &self,
        gpu: &Gpu,
        lm: &GpuLm,
        enc: &mut wgpu::CommandEncoder,
        rows: usize,
        start: usize,
        n: usize,
    ) {
        let c = self.config;
        let (w, m, v, r) = (c.width, c.mlp, c.vocab, rows);
        let kern = &gpu.kernels;
        let u = |x: usize| x as u32;
        let mm = |enc: &mut wgpu::CommandEncoder, a, b, out, s: MatmulShape| {
            let (kernel, dims, groups) = matmul_pass(kern, &s);
            gpu.encode(enc, kernel, &dims, &[a, b, out], groups);
        };
        let add = |enc: &mut wgpu::CommandEncoder, bias, y, x, len: usize, nb: usize, mode| {
            let dims = [u(len), u(nb), mode];
            gpu.encode(enc, &kern.lm_add, &dims, &[bias, y, x], grid(len, 256));
        };
        let norm = |enc: &mut wgpu::CommandEncoder, gb| {
            let dims = [u(r), u(w), LN_EPS.to_bits()];
            gpu.encode(
                enc,
                &kern.lm_layer_norm,
                &dims,
                &[&self.x, gb, &self.h],
                grid(r, 1),
            );
        };
        let dims = [1, u(n), u(r - n), u(w), u(start)];
        let bind = [&self.tokens, &lm.wte, &lm.wpe, &self.soft, &self.x];
        gpu.encode(enc, &kern.lm_embed, &dims, &bind, grid(r * w, 256));
        let dh = c.head_dim();
        let seen = self.prefix + start;
        for (layer, cache) in lm.layers.iter().zip(&self.cache) {
            norm(enc, &layer.ln1);
            mm(
                enc,
                &self.h,
                &layer.qkv_w,
                &self.qkv,
                MatmulShape::new(r, w, 3 * w),
            );
            add(
                enc,
                &layer.qkv_b,
                &layer.qkv_b,
                &self.qkv,
                r * 3 * w,
                3 * w,
                0,
            );
            let scale = (1.0 / (dh as f32).sqrt()).to_bits();
            let dims = [1, u(r), u(c.heads), u(dh), u(seen), scale, u(self.cap * w)];
            let bind = [&self.qkv, cache, &self.att];
            gpu.encode(enc, &kern.lm_attention, &dims, &bind, grid(c.heads * r, 1));
            for i in 0..r {
                for (col, region) in [(w, 0), (2 * w, self.cap * w)] {
                    enc.copy_buffer_to_buffer(
                        &self.qkv,
                        ((i * 3 * w + col) * 4) as u64,
                        cache,
                        ((region + (seen + i) * w) * 4) as u64,
                        (w * 4) as u64,
                    );
                }
            }
            mm(
                enc,
                &self.att,
                &layer.proj_w,
                &self.y,
                MatmulShape::new(r, w, w),
            );
            add(enc, &layer.proj_b, &self.y, &self.x, r * w, w, 1);
            norm(enc, &layer.ln2);
            mm(
                enc,
                &self.h,
                &layer.fc_w,
                &self.fc,
                MatmulShape::new(r, w, m),
            );
            add(enc, &layer.fc_b, &layer.fc_b, &self.fc, r * m, m, 0);
            let bind = [&self.fc, &layer.fc_b, &self.act];
            gpu.encode(enc, &kern.lm_gelu, &[u(r * m), 0], &bind, grid(r * m, 256));
            mm(
                enc,
                &self.act,
                &layer.out_w,
                &self.y,
                MatmulShape::new(r, m, w),
            );
            add(enc, &layer.out_b, &self.y, &self.x, r * w, w, 1);
        }
        norm(enc, &lm.lnf);
        let s = MatmulShape {
            b_transposed: true,
            ..MatmulShape::new(r, w, v)
        };
        mm(enc, &self.h, &lm.wte, &self.logits, s);
    }
}

/// `n` new tokens after `prompt` on the device, as `glassbox_lab::lm::generate_with` does on the
/// CPU (the same `Generator`; the logits agree within float rounding, so the text does wherever
/// no two candidates tie that closely). Returns the tokens and the probability the model gave each.
pub async fn generate(
    gpu: &Gpu,
    lm: &GpuLm,
    extras: Extras<'_>,
    prompt: &[u32],
    n: usize,
    sampling: Sampling,
) -> Result<(Vec<u32>, Vec<f32>), GpuError> {
    let mut session = GpuLmSession::new(gpu, lm, extras)?;
    let mut gen = Generator::new(prompt, n, sampling, session.remaining()).map_err(invalid)?;
    while step(gpu, lm, extras, &mut session, &mut gen).await? {}
    Ok(gen.finish())
}

/// Answer `gen`'s next feed with `session` (a fresh one when the feed restarts and this one has
/// read anything); Ok(false) once the generation is complete.
pub async fn step(
    gpu: &Gpu,
    lm: &GpuLm,
    extras: Extras<'_>,
    session: &mut GpuLmSession,
    gen: &mut Generator,
) -> Result<bool, GpuError> {
    let Some(feed) = gen.feed() else {
        return Ok(false);
    };
    let logits = read_feed(gpu, lm, extras, session, feed.restart, feed.tokens).await?;
    gen.give(&logits).map_err(invalid)?;
    Ok(!gen.is_done())
}

/// Read a generator's feed (`Feed`: `restart`, `tokens`) with `session`, first replaced by a
/// fresh one when the feed restarts and this one has read anything; the next-token logits.
pub async fn read_feed(
    gpu: &Gpu,
    lm: &GpuLm,
    extras: Extras<'_>,
    session: &mut GpuLmSession,
    restart: bool,
    tokens: &[u32],
) -> Result<Vec<f32>, GpuError> {
    if restart && session.soft_pending == 0 && session.pos > 0 {
        *session = GpuLmSession::new(gpu, lm, extras)?;
    }
    session.feed(gpu, lm, tokens).await
}

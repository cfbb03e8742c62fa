//! The model's shape and parameters: a GPT-2-style decoder, pre-layer-norm, all parameters in one
//! flat f32 vector at named offsets. Token embedding wte (vocab x width, tied to the output
//! projection), learned positions wpe (context x width); per layer: ln1 (g, b), qkv (width x 3
//! width, and a bias), attention projection (width x width, and a bias), ln2 (g, b), fc (width x
//! mlp, and a bias), projection back (mlp x width, and a bias); a final ln_f (g, b). Weights act on
//! row vectors: y = x W + b. GPT-2's initialisation: weights ~ N(0, 0.02^2), the two residual
//! projections of each layer ~ N(0, (0.02 / sqrt(2 layers))^2), biases 0, layer-norm gains 1.

use crate::rng::Rng;

/// Largest accepted value of each size, so that a corrupt file cannot ask for absurd allocations.
pub const MAX_DIM: usize = 1 << 16;
/// Largest accepted parameter count.
pub const MAX_PARAMS: usize = 1 << 28;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub vocab: usize,
    pub layers: usize,
    pub heads: usize,
    pub width: usize,
    pub mlp: usize,
    /// Longest sequence (soft prompt included) the model reads.
    pub context: usize,
}

impl Config {
    /// The shipped model: 4 layers, 4 heads, width 128, MLP 512, context 128.
    pub fn standard(vocab: usize) -> Config {
        Config {
            vocab,
            layers: 4,
            heads: 4,
            width: 128,
            mlp: 512,
            context: 128,
        }
    }

    /// The small checkpoint chapter 4 sets beside the shipped one (about a tenth of its
    /// parameters): 2 layers, 4 heads, width 56, MLP 224, context 128.
    pub fn small(vocab: usize) -> Config {
        Config {
            vocab,
            layers: 2,
            heads: 4,
            width: 56,
            mlp: 224,
            context: 128,
        }
    }

    /// A small model for tests: vocab 11, 2 layers, 2 heads, width 16, MLP 32, context 16.
    pub fn tiny() -> Config {
        Config {
            vocab: 11,
            layers: 2,
            heads: 2,
            width: 16,
            mlp: 32,
            context: 16,
        }
    }

    pub fn head_dim(&self) -> usize {
        self.width / self.heads.max(1)
    }

    /// Every size positive and at most `MAX_DIM`, width divisible by heads, at most `MAX_PARAMS`.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("vocab", self.vocab),
            ("layers", self.layers),
            ("heads", self.heads),
            ("width", self.width),
            ("mlp", self.mlp),
            ("context", self.context),
        ];
        for (name, v) in fields {
            if v == 0 || v > MAX_DIM {
                return Err(format!("config {name} = {v}, want 1..={MAX_DIM}"));
            }
        }
        if !self.width.is_multiple_of(self.heads) {
            return Err(format!(
                "config width {} is not divisible by heads {}",
                self.width, self.heads
            ));
        }
        let n = Layout::count(self);
        if n > MAX_PARAMS as u128 {
            return Err(format!("config has {n} parameters, more than {MAX_PARAMS}"));
        }
        Ok(())
    }
}

/// What a parameter tensor is, which decides its initialisation and weight decay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// wte, wpe: N(0, 0.02^2), no weight decay.
    Embedding,
    /// A weight matrix: N(0, 0.02^2), decayed.
    Matrix,
    /// A weight matrix writing into the residual stream: N(0, (0.02 / sqrt(2 layers))^2), decayed.
    ResidualMatrix,
    /// A bias or layer-norm shift: 0.
    Bias,
    /// A layer-norm gain: 1.
    Gain,
}

/// One named tensor of the flat parameter vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tensor {
    pub name: String,
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub kind: Kind,
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// Offsets of one layer's tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerOffsets {
    pub ln1_g: usize,
    pub ln1_b: usize,
    pub qkv_w: usize,
    pub qkv_b: usize,
    pub proj_w: usize,
    pub proj_b: usize,
    pub ln2_g: usize,
    pub ln2_b: usize,
    pub fc_w: usize,
    pub fc_b: usize,
    pub out_w: usize,
    pub out_b: usize,
}

/// Offsets of every tensor in the flat parameter vector, in storage order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub wte: usize,
    pub wpe: usize,
    pub layers: Vec<LayerOffsets>,
    pub lnf_g: usize,
    pub lnf_b: usize,
    pub total: usize,
}

impl Layout {
    fn count(c: &Config) -> u128 {
        let (v, w, m, l) = (
            c.vocab as u128,
            c.width as u128,
            c.mlp as u128,
            c.layers as u128,
        );
        let per_layer = 4 * w + (w * 3 * w + 3 * w) + (w * w + w) + (w * m + m) + (m * w + w);
        v * w + c.context as u128 * w + l * per_layer + 2 * w
    }

    pub fn new(c: &Config) -> Layout {
        let tensors = tensors(c);
        let at = |name: &str| {
            tensors
                .iter()
                .find(|t| t.name == name)
                .map_or(0, |t| t.offset)
        };
        let layers = (0..c.layers)
            .map(|i| {
                let o = |part: &str| at(&format!("h{i}.{part}"));
                LayerOffsets {
                    ln1_g: o("ln1.g"),
                    ln1_b: o("ln1.b"),
                    qkv_w: o("qkv.w"),
                    qkv_b: o("qkv.b"),
                    proj_w: o("proj.w"),
                    proj_b: o("proj.b"),
                    ln2_g: o("ln2.g"),
                    ln2_b: o("ln2.b"),
                    fc_w: o("fc.w"),
                    fc_b: o("fc.b"),
                    out_w: o("out.w"),
                    out_b: o("out.b"),
                }
            })
            .collect();
        Layout {
            wte: at("wte"),
            wpe: at("wpe"),
            layers,
            lnf_g: at("ln_f.g"),
            lnf_b: at("ln_f.b"),
            total: tensors.last().map_or(0, |t| t.offset + t.len()),
        }
    }
}

/// Every tensor of a model with config `c`, in storage order.
pub fn tensors(c: &Config) -> Vec<Tensor> {
    let (w, m) = (c.width, c.mlp);
    let mut out = Vec::new();
    let mut offset = 0;
    let mut push = |name: String, rows: usize, cols: usize, kind: Kind| {
        out.push(Tensor {
            name,
            offset,
            rows,
            cols,
            kind,
        });
        offset += rows * cols;
    };
    push("wte".into(), c.vocab, w, Kind::Embedding);
    push("wpe".into(), c.context, w, Kind::Embedding);
    for i in 0..c.layers {
        let parts = [
            ("ln1.g", 1, w, Kind::Gain),
            ("ln1.b", 1, w, Kind::Bias),
            ("qkv.w", w, 3 * w, Kind::Matrix),
            ("qkv.b", 1, 3 * w, Kind::Bias),
            ("proj.w", w, w, Kind::ResidualMatrix),
            ("proj.b", 1, w, Kind::Bias),
            ("ln2.g", 1, w, Kind::Gain),
            ("ln2.b", 1, w, Kind::Bias),
            ("fc.w", w, m, Kind::Matrix),
            ("fc.b", 1, m, Kind::Bias),
            ("out.w", m, w, Kind::ResidualMatrix),
            ("out.b", 1, w, Kind::Bias),
        ];
        for (name, rows, cols, kind) in parts {
            push(format!("h{i}.{name}"), rows, cols, kind);
        }
    }
    push("ln_f.g".into(), 1, w, Kind::Gain);
    push("ln_f.b".into(), 1, w, Kind::Bias);
    out
}

/// A language model: its shape and its parameters, laid out as `Layout` says. The fields are open
/// for reading and for changing parameter values; a model whose config or parameter count was
/// changed afterwards is refused (an `Err`) by every computation.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub config: Config,
    pub params: Vec<f32>,
    layout: Layout,
    /// The config `layout` was built for.
    built: Config,
}

impl Model {
    /// GPT-2's initialisation, seeded: tensor k draws from `Rng::stream(seed, k)`.
    pub fn new(config: Config, seed: u64) -> Result<Model, String> {
        config.validate()?;
        let layout = Layout::new(&config);
        let mut params = vec![0.0f32; layout.total];
        let residual_std = 0.02 / (2.0 * config.layers as f64).sqrt();
        for (k, t) in tensors(&config).iter().enumerate() {
            let mut rng = Rng::stream(seed, k as u64);
            let slot = &mut params[t.range()];
            match t.kind {
                Kind::Embedding | Kind::Matrix => slot
                    .iter_mut()
                    .for_each(|p| *p = (0.02 * rng.normal()) as f32),
                Kind::ResidualMatrix => slot
                    .iter_mut()
                    .for_each(|p| *p = (residual_std * rng.normal()) as f32),
                Kind::Bias => slot.fill(0.0),
                Kind::Gain => slot.fill(1.0),
            }
        }
        Ok(Model {
            config,
            params,
            layout,
            built: config,
        })
    }

    /// A model from given parameters, which must number `param_count` and be finite.
    pub fn from_params(config: Config, params: Vec<f32>) -> Result<Model, String> {
        config.validate()?;
        let layout = Layout::new(&config);
        if params.len() != layout.total {
            return Err(format!(
                "config {config:?} has {} parameters, but {} were given",
                layout.total,
                params.len()
            ));
        }
        if let Some(i) = params.iter().position(|p| !p.is_finite()) {
            return Err(format!("parameter {i} is {}, not finite", params[i]));
        }
        Ok(Model {
            config,
            params,
            layout,
            built: config,
        })
    }

    /// An error if `config` or the number of parameters changed since the model was made.
    pub fn check(&self) -> Result<(), String> {
        if self.config != self.built {
            return Err(format!(
                "the model's config was changed to {:?} after it was built for {:?}; make a new \
                 model with Model::from_params",
                self.config, self.built
            ));
        }
        if self.params.len() != self.layout.total {
            return Err(format!(
                "the model has {} parameters, its config needs {}",
                self.params.len(),
                self.layout.total
            ));
        }
        Ok(())
    }

    pub fn param_count(&self) -> usize {
        self.layout.total
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn tensors(&self) -> Vec<Tensor> {
        tensors(&self.config)
    }

    /// Parameters `offset..offset + len`.
    pub(crate) fn p(&self, offset: usize, len: usize) -> &[f32] {
        &self.params[offset..offset + len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_covers_the_vector_and_init_follows_gpt2() {
        let c = Config::tiny();
        let m = Model::new(c, 1).unwrap();
        let ts = m.tensors();
        let w = c.width;
        let per_layer = 4 * w + w * 3 * w + 3 * w + w * w + w + w * c.mlp + c.mlp + c.mlp * w + w;
        let want = c.vocab * w + c.context * w + c.layers * per_layer + 2 * w;
        assert_eq!(m.param_count(), want);
        assert!(ts
            .windows(2)
            .all(|p| p[0].offset + p[0].len() == p[1].offset));
        assert_eq!(m.layout().layers[1].out_b + w, m.layout().lnf_g);
        assert!(m.params[m.layout().lnf_g..m.layout().lnf_g + w]
            .iter()
            .all(|&g| g == 1.0));
        let qkv = &m.params[m.layout().layers[0].qkv_w..][..w * 3 * w];
        let std = (qkv.iter().map(|x| x * x).sum::<f32>() / qkv.len() as f32).sqrt();
        assert!((std - 0.02).abs() < 0.003, "{std}");
        assert!(Config { heads: 3, ..c }.validate().is_err());
        assert!(Config { vocab: 0, ..c }.validate().is_err());
        assert!(Model::from_params(c, vec![0.0; 3]).is_err());
    }
}

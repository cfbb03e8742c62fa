//! A captioning transformer small enough to read in one sitting: a one-layer vision encoder and a
//! one-layer caption decoder, with seeded random weights (chapter 2). It is not trained: it exists
//! to show which outputs can depend on which inputs, and the masks are what decide that.
//!
//! Encoder: a 16 x 16 image cut into 4 x 4 patches gives T = 16 tokens p_t (16 pixels each);
//!   e_t = W_p p_t + pos_t,  h = e + Attn(e W_q, e W_k, e W_v) W_o,  out = h + W_2 relu(W_1 h + b_1),
//!   with attention unmasked: every patch sees every patch.
//! Image tokens: the T encoder outputs averaged in N groups of consecutive patches (reading order),
//!   so the decoder reads N image tokens (the homework's <ENC1..N>).
//! Decoder: caption token i is x_i = E(word_i) + pos_i (E: a seeded vector per word); one layer does
//!   self- and cross-attention at once, queries from the caption, keys and values from
//!   [caption; image tokens], with the combined mask of `attention::caption_mask`:
//!   y = x + Attn(x W_q, [x; img] W_k, [x; img] W_v; mask) W_o,  out = y + W_2 relu(W_1 y + b_1).
//! Everything after attention acts on each position alone, so output i depends on key j only where
//! the mask lets query i see key j.

use crate::attention::{self, caption_mask, AttentionShape};
use crate::rng::Rng;

/// Image side in pixels, patch side, patches per side, tokens, model width, MLP width.
pub const IMAGE: usize = 16;
pub const PATCH: usize = 4;
pub const SIDE: usize = IMAGE / PATCH;
pub const TOKENS: usize = SIDE * SIDE;
pub const DIM: usize = 16;
pub const HIDDEN: usize = 32;
/// Longest caption the decoder has positions for.
pub const MAX_CAPTION: usize = 12;
/// Grey levels of a pixel: 0 (black) to LEVELS - 1 (white).
pub const LEVELS: u8 = 16;

/// One transformer layer: projections for attention and a two-layer MLP, all row vectors times
/// matrices stored row-major (in x out).
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub w_q: Vec<f32>,
    pub w_k: Vec<f32>,
    pub w_v: Vec<f32>,
    pub w_o: Vec<f32>,
    pub w_1: Vec<f32>,
    pub b_1: Vec<f32>,
    pub w_2: Vec<f32>,
}

fn gaussian(rng: &mut Rng, n: usize, std: f64) -> Vec<f32> {
    (0..n).map(|_| (std * rng.normal()) as f32).collect()
}

/// x (rows x n_in) times w (n_in x n_out).
fn times(x: &[f32], w: &[f32], n_in: usize, n_out: usize) -> Vec<f32> {
    let rows = x.len() / n_in;
    let mut y = vec![0.0f32; rows * n_out];
    for r in 0..rows {
        for (i, &xi) in x[r * n_in..(r + 1) * n_in].iter().enumerate() {
            for (o, yo) in y[r * n_out..(r + 1) * n_out].iter_mut().enumerate() {
                *yo += xi * w[i * n_out + o];
            }
        }
    }
    y
}

impl Layer {
    fn new(rng: &mut Rng) -> Layer {
        let s = 1.0 / (DIM as f64).sqrt();
        Layer {
            w_q: gaussian(rng, DIM * DIM, s),
            w_k: gaussian(rng, DIM * DIM, s),
            w_v: gaussian(rng, DIM * DIM, s),
            w_o: gaussian(rng, DIM * DIM, s),
            w_1: gaussian(rng, DIM * HIDDEN, s),
            b_1: gaussian(rng, HIDDEN, 0.1),
            w_2: gaussian(rng, HIDDEN * DIM, 1.0 / (HIDDEN as f64).sqrt()),
        }
    }

    /// Queries from `x`, keys and values from `source` (rows of DIM values).
    pub fn project(&self, x: &[f32], source: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        (
            times(x, &self.w_q, DIM, DIM),
            times(source, &self.w_k, DIM, DIM),
            times(source, &self.w_v, DIM, DIM),
        )
    }

    /// The rest of the layer after attention: residual, output projection and MLP, position by position.
    pub fn finish(&self, x: &[f32], attended: &[f32]) -> Vec<f32> {
        let mut y = x.to_vec();
        for (yi, a) in y.iter_mut().zip(times(attended, &self.w_o, DIM, DIM)) {
            *yi += a;
        }
        let mut h = times(&y, &self.w_1, DIM, HIDDEN);
        for (i, v) in h.iter_mut().enumerate() {
            *v = (*v + self.b_1[i % HIDDEN]).max(0.0);
        }
        for (yi, m) in y.iter_mut().zip(times(&h, &self.w_2, HIDDEN, DIM)) {
            *yi += m;
        }
        y
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Captioner {
    pub seed: u64,
    /// Patch embedding (PATCH^2 x DIM) and the encoder's positions (TOKENS x DIM).
    pub w_patch: Vec<f32>,
    pub pos_enc: Vec<f32>,
    pub encoder: Layer,
    /// The decoder's positions (MAX_CAPTION x DIM).
    pub pos_dec: Vec<f32>,
    pub decoder: Layer,
}

/// The inputs of one attention computation and where it sits in the model.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionInputs {
    /// The layer's input rows (the queries' side), for the residual.
    pub x: Vec<f32>,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    /// masked[i * t_k + j]: query i may not see key j.
    pub masked: Vec<bool>,
    pub shape: AttentionShape,
}

/// What one layer computed: raw scores, the mask, the softmax weights (query-major, t_q x t_k)
/// and the outputs (t_q x DIM).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTrace {
    pub scores: Vec<f32>,
    pub masked: Vec<bool>,
    pub weights: Vec<f32>,
    pub outputs: Vec<f32>,
    pub t_q: usize,
    pub t_k: usize,
}

impl Captioner {
    pub fn new(seed: u64) -> Captioner {
        let mut rng = Rng::stream(seed, 0xCA97);
        Captioner {
            seed,
            w_patch: gaussian(&mut rng, PATCH * PATCH * DIM, 1.0 / PATCH as f64),
            pos_enc: gaussian(&mut rng, TOKENS * DIM, 0.5),
            encoder: Layer::new(&mut rng),
            pos_dec: gaussian(&mut rng, MAX_CAPTION * DIM, 0.5),
            decoder: Layer::new(&mut rng),
        }
    }

    /// E(word): a seeded vector per distinct word (so any word the reader types has one).
    pub fn word_embedding(&self, word: &str) -> Vec<f32> {
        let mut rng = Rng::stream(
            self.seed ^ crate::vision::data::fnv1a64(word.as_bytes()),
            0xE0B,
        );
        gaussian(&mut rng, DIM, 1.0)
    }

    /// The encoder's attention inputs for an image of IMAGE x IMAGE pixels in [0, 1].
    pub fn encoder_inputs(&self, pixels: &[f32]) -> Result<AttentionInputs, String> {
        if pixels.len() != IMAGE * IMAGE {
            return Err(format!(
                "the image must have {} pixels (got {})",
                IMAGE * IMAGE,
                pixels.len()
            ));
        }
        let mut x = times(&patches(pixels), &self.w_patch, PATCH * PATCH, DIM);
        for (v, p) in x.iter_mut().zip(&self.pos_enc) {
            *v += p;
        }
        let (q, k, v) = self.encoder.project(&x, &x);
        Ok(AttentionInputs {
            x,
            q,
            k,
            v,
            masked: vec![false; TOKENS * TOKENS],
            shape: AttentionShape {
                batch: 1,
                t_q: TOKENS,
                t_k: TOKENS,
                d: DIM,
                d_v: DIM,
            },
        })
    }

    /// The decoder's attention inputs: the caption's tokens, the image tokens (rows of DIM) and
    /// the mask (masked[key][query], keys = caption then image tokens), the correct one by default.
    pub fn decoder_inputs(
        &self,
        caption: &[String],
        image_tokens: &[f32],
        mask: Option<&[Vec<bool>]>,
    ) -> Result<AttentionInputs, String> {
        let (l, n) = (caption.len(), image_tokens.len() / DIM);
        if l == 0 || l > MAX_CAPTION {
            return Err(format!(
                "the caption must have 1 to {MAX_CAPTION} tokens (got {l})"
            ));
        }
        let correct;
        let mask = match mask {
            Some(m) => m,
            None => {
                correct = caption_mask(caption, n).masked;
                &correct
            }
        };
        if mask.len() != l + n || mask.iter().any(|r| r.len() != l) {
            return Err(format!(
                "the mask must have {} rows (keys) of {l} columns (queries)",
                l + n
            ));
        }
        let mut x = Vec::with_capacity(l * DIM);
        for (i, w) in caption.iter().enumerate() {
            let e = self.word_embedding(w);
            x.extend(e.iter().zip(&self.pos_dec[i * DIM..]).map(|(a, b)| a + b));
        }
        let mut source = x.clone();
        source.extend_from_slice(image_tokens);
        let (q, k, v) = self.decoder.project(&x, &source);
        let t_k = l + n;
        let masked = (0..l * t_k).map(|r| mask[r % t_k][r / t_k]).collect();
        Ok(AttentionInputs {
            x,
            q,
            k,
            v,
            masked,
            shape: AttentionShape {
                batch: 1,
                t_q: l,
                t_k,
                d: DIM,
                d_v: DIM,
            },
        })
    }
}

impl AttentionInputs {
    /// The layer's trace once its attention (weights, outputs) is known, from the CPU reference or
    /// the GPU kernel.
    pub fn finish(&self, layer: &Layer, weights: Vec<f32>, attended: &[f32]) -> LayerTrace {
        LayerTrace {
            scores: attention::raw_scores(&self.q, &self.k, self.shape),
            masked: self.masked.clone(),
            weights,
            outputs: layer.finish(&self.x, attended),
            t_q: self.shape.t_q,
            t_k: self.shape.t_k,
        }
    }

    /// The whole layer on the CPU reference.
    pub fn run(&self, layer: &Layer) -> LayerTrace {
        let (w, a) = attention::attention(&self.q, &self.k, &self.v, &self.masked, self.shape);
        self.finish(layer, w, &a)
    }
}

/// The patches of an image, each PATCH x PATCH pixels row-major, in reading order.
pub fn patches(pixels: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(pixels.len());
    for py in 0..SIDE {
        for px in 0..SIDE {
            for y in 0..PATCH {
                let row = (py * PATCH + y) * IMAGE + px * PATCH;
                out.extend_from_slice(&pixels[row..row + PATCH]);
            }
        }
    }
    out
}

/// The decoder's N image tokens: encoder outputs averaged over N runs of consecutive patches
/// (group j holds patches j T / N up to (j + 1) T / N).
pub fn image_tokens(encoder_out: &[f32], n: usize) -> Vec<f32> {
    let t = encoder_out.len() / DIM;
    let mut out = vec![0.0f32; n * DIM];
    for j in 0..n {
        let (a, b) = (j * t / n, ((j + 1) * t / n).max(j * t / n + 1).min(t));
        for r in a..b {
            for c in 0..DIM {
                out[j * DIM + c] += encoder_out[r * DIM + c] / (b - a) as f32;
            }
        }
    }
    out
}

/// Largest |a - b| over each row of DIM values (how much each position's output moved).
pub fn row_changes(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.chunks(DIM)
        .zip(b.chunks(DIM))
        .map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max)
        })
        .collect()
}

/// The bundled pictures, by name.
pub const PICTURES: [&str; 4] = ["mountains", "sun", "stripes", "checker"];

/// A bundled picture as grey levels 0..LEVELS-1, row-major IMAGE x IMAGE.
pub fn picture(name: &str) -> Option<Vec<u8>> {
    let top = LEVELS - 1;
    let at = |f: &dyn Fn(usize, usize) -> u8| -> Vec<u8> {
        (0..IMAGE * IMAGE)
            .map(|i| f(i / IMAGE, i % IMAGE))
            .collect()
    };
    Some(match name {
        // Two peaks with snow on them under a light sky.
        "mountains" => at(&|y, x| {
            let peak = |cx: i32, h: i32| h - (x as i32 - cx).abs();
            let height = peak(5, 11).max(peak(11, 8)).max(2);
            let ground = IMAGE as i32 - y as i32;
            if ground <= height {
                if height - ground < 2 && height > 6 {
                    top
                } else {
                    3
                }
            } else {
                12 - (y as u8 / 3)
            }
        }),
        // A sun low over the sea.
        "sun" => at(&|y, x| {
            let (dy, dx) = (y as i32 - 5, x as i32 - 10);
            if y >= 9 {
                if (x + y) % 3 == 0 {
                    8
                } else {
                    5
                }
            } else if dy * dy + dx * dx <= 9 {
                top
            } else {
                2
            }
        }),
        "stripes" => at(&|_, x| if (x / 2) % 2 == 0 { top } else { 0 }),
        // Patch-sized squares, so every patch is uniform.
        "checker" => at(&|y, x| {
            if (y / PATCH + x / PATCH).is_multiple_of(2) {
                top
            } else {
                1
            }
        }),
        _ => return None,
    })
}

/// Pixels in [0, 1] from grey levels.
pub fn to_pixels(levels: &[u8]) -> Vec<f32> {
    levels
        .iter()
        .map(|&l| l.min(LEVELS - 1) as f32 / (LEVELS - 1) as f32)
        .collect()
}

/// Grey levels as hexadecimal digits (one per pixel), for a link.
pub fn levels_to_hex(levels: &[u8]) -> String {
    levels
        .iter()
        .map(|&l| char::from_digit(l.min(LEVELS - 1) as u32, 16).unwrap_or('0'))
        .collect()
}

pub fn levels_from_hex(hex: &str) -> Result<Vec<u8>, String> {
    if hex.len() != IMAGE * IMAGE {
        return Err(format!(
            "a drawn image is {} hexadecimal digits, one per pixel (got {})",
            IMAGE * IMAGE,
            hex.len()
        ));
    }
    hex.chars()
        .map(|c| {
            c.to_digit(16)
                .map(|d| d as u8)
                .ok_or_else(|| format!("'{c}' is not a hexadecimal digit"))
        })
        .collect()
}

/// The whole model on the CPU reference: encoder trace, image tokens, decoder trace.
pub fn run(
    model: &Captioner,
    pixels: &[f32],
    caption: &[String],
    n_image_tokens: usize,
    mask: Option<&[Vec<bool>]>,
) -> Result<(LayerTrace, LayerTrace), String> {
    let enc = model.encoder_inputs(pixels)?.run(&model.encoder);
    let img = image_tokens(&enc.outputs, n_image_tokens);
    let dec = model
        .decoder_inputs(caption, &img, mask)?
        .run(&model.decoder);
    Ok((enc, dec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::tokenize;

    fn homework_caption() -> Vec<String> {
        tokenize("<SOS> a mountain range <PAD>")
    }

    #[test]
    fn a_later_caption_token_never_changes_an_earlier_output() {
        let m = Captioner::new(0);
        let px = to_pixels(&picture("mountains").unwrap());
        let base = homework_caption();
        let (_, before) = run(&m, &px, &base, 3, None).unwrap();
        for changed in 0..base.len() {
            let mut c = base.clone();
            c[changed] = "glacier".into();
            let (_, after) = run(&m, &px, &c, 3, None).unwrap();
            let moved = row_changes(&before.outputs, &after.outputs);
            for (i, d) in moved.iter().enumerate() {
                if i < changed {
                    assert_eq!(*d, 0.0, "token {changed} changed output {i}");
                } else if i == changed {
                    assert!(*d > 1e-3, "token {changed} left its own output alone");
                }
            }
        }
        // Without the causal mask, a later token does reach earlier outputs.
        let open = vec![vec![false; base.len()]; base.len() + 3];
        let (_, a) = run(&m, &px, &base, 3, Some(&open)).unwrap();
        let mut c = base.clone();
        c[3] = "glacier".into();
        let (_, b) = run(&m, &px, &c, 3, Some(&open)).unwrap();
        assert!(row_changes(&a.outputs, &b.outputs)[0] > 1e-4);
    }

    #[test]
    fn any_patch_changes_every_encoder_output_and_every_decoder_query() {
        let m = Captioner::new(1);
        let levels = picture("sun").unwrap();
        let (enc, dec) = run(&m, &to_pixels(&levels), &homework_caption(), 3, None).unwrap();
        for p in [0, 5, 15] {
            let mut l = levels.clone();
            // Invert one patch.
            for y in 0..PATCH {
                for x in 0..PATCH {
                    let i = ((p / SIDE) * PATCH + y) * IMAGE + (p % SIDE) * PATCH + x;
                    l[i] = LEVELS - 1 - l[i];
                }
            }
            let (enc2, dec2) = run(&m, &to_pixels(&l), &homework_caption(), 3, None).unwrap();
            assert!(row_changes(&enc.outputs, &enc2.outputs)
                .iter()
                .all(|&d| d > 1e-5));
            let d = row_changes(&dec.outputs, &dec2.outputs);
            // Every real caption token sees every image token; <PAD> makes no query.
            assert!(d[..4].iter().all(|&v| v > 1e-6), "{d:?}");
            assert_eq!(d[4], 0.0);
        }
    }

    #[test]
    fn the_trace_matches_a_direct_softmax() {
        let m = Captioner::new(2);
        let (_, dec) = run(
            &m,
            &to_pixels(&picture("checker").unwrap()),
            &homework_caption(),
            3,
            None,
        )
        .unwrap();
        for i in 0..dec.t_q {
            let row = i * dec.t_k..(i + 1) * dec.t_k;
            let open: Vec<usize> = row.clone().filter(|&r| !dec.masked[r]).collect();
            let z: f64 = open.iter().map(|&r| (dec.scores[r] as f64).exp()).sum();
            for r in row {
                let want = if dec.masked[r] {
                    0.0
                } else {
                    (dec.scores[r] as f64).exp() / z
                };
                assert!((dec.weights[r] as f64 - want).abs() < 1e-5, "{i} {r}");
            }
        }
        // Query <PAD> (the last) sees nothing.
        assert!(dec.weights[4 * dec.t_k..].iter().all(|&w| w == 0.0));
    }

    #[test]
    fn pictures_round_trip_through_hex_and_bad_input_is_an_error() {
        for name in PICTURES {
            let l = picture(name).unwrap();
            assert_eq!(l.len(), IMAGE * IMAGE);
            assert_eq!(levels_from_hex(&levels_to_hex(&l)).unwrap(), l);
        }
        assert!(picture("cat").is_none());
        assert!(levels_from_hex("12").is_err());
        assert!(levels_from_hex(&"g".repeat(256)).is_err());
        let m = Captioner::new(0);
        assert!(m.encoder_inputs(&[0.0; 10]).is_err());
        assert!(m.decoder_inputs(&[], &[], None).is_err());
        let bad = vec![vec![false; 2]; 2];
        assert!(m
            .decoder_inputs(&homework_caption(), &[], Some(&bad))
            .is_err());
    }

    #[test]
    fn image_tokens_average_consecutive_patches() {
        let enc: Vec<f32> = (0..TOKENS * DIM).map(|i| (i / DIM) as f32).collect();
        let img = image_tokens(&enc, 4);
        // Group 0 holds patches 0..4: mean index 1.5.
        assert_eq!(img[0], 1.5);
        assert_eq!(img[3 * DIM], 13.5);
        assert_eq!(image_tokens(&enc, 16), enc);
        assert!(image_tokens(&enc, 0).is_empty());
    }
}

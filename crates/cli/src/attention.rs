//! `glassbox attention ...`: the combined mask, the toy captioner with its causal check, the cost
//! of global and windowed attention, and its measured time (chapter 2).

use crate::bench::random;
use crate::out_dir::OutDir;
use crate::ranges::{self, Caption};
use crate::Failure;
use clap::{Args, Subcommand};
use glassbox_lab::attention::captioner::{self, Captioner};
use glassbox_lab::attention::{
    self, attention_cost, caption_mask, timing_sizes, windowed_attention, AttentionShape,
};
use glassbox_lab::figures::attention::{
    attention_heatmaps, draw_attention_cost, draw_attention_timing, draw_window_view, CostCurve,
    TimingData, TimingRow, WindowView,
};
use glassbox_lab::figures::heatmap::draw_heatmap;
use glassbox_lab::figures::{self, Palette};
use glassbox_lab::rng::Rng;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

const HOMEWORK_CAPTION: &str = "<SOS> a mountain range <PAD>";

#[derive(Subcommand)]
pub enum Command {
    /// The combined causal self- and cross-attention mask (keys as rows, queries as columns).
    Mask(Mask),
    /// The toy captioner on a bundled picture: the decoder's attention for every query, and the
    /// causal check (which outputs move when one caption token or one image patch changes).
    Model(Model),
    /// FLOPs of global and windowed attention over the patches of one image.
    Cost(Cost),
    /// Measured time of global and windowed attention (CPU path) at the image sizes the page
    /// measures.
    Bench(Bench),
}

#[derive(Args)]
pub struct Mask {
    /// The caption's tokens, separated by spaces (1 to 256).
    #[arg(long, default_value = HOMEWORK_CAPTION, value_parser = ranges::caption(256))]
    #[arg(value_name = "TOKENS")]
    caption: Caption,
    /// Image tokens the caption attends to, 0 to 256.
    #[arg(long, default_value_t = 3, value_parser = ranges::between(0usize, 256))]
    image_tokens: usize,
}

#[derive(Args)]
pub struct Model {
    /// The caption's tokens, separated by spaces (1 to 12).
    #[arg(long, default_value = HOMEWORK_CAPTION)]
    #[arg(value_parser = ranges::caption(captioner::MAX_CAPTION), value_name = "TOKENS")]
    caption: Caption,
    /// Image tokens the caption attends to, 0 to 8.
    #[arg(long, default_value_t = 3, value_parser = ranges::between(0usize, 8))]
    image_tokens: usize,
    /// The bundled picture the captioner looks at.
    #[arg(long, default_value = "mountains", value_parser = captioner::PICTURES)]
    picture: String,
    /// Seed of the captioner's random weights.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    /// The caption query whose attention the figures highlight (the last one at most).
    #[arg(long, default_value_t = 1, value_parser = ranges::whole::<usize>)]
    query: usize,
    /// Also write the decoder's scores, masked scores and weights (SVG, CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct Cost {
    /// Image side H in pixels (a multiple of --patch).
    #[arg(long, value_parser = ranges::at_least(1usize))]
    image: usize,
    /// Patch side P in pixels.
    #[arg(long, value_parser = ranges::at_least(1usize))]
    patch: usize,
    /// Window side K in patches (dividing the H / P patches per side).
    #[arg(long, value_parser = ranges::at_least(1usize))]
    window: usize,
    /// Token dimension D.
    #[arg(long, value_parser = ranges::at_least(1usize))]
    dim: usize,
    /// Row of the query patch in the window figure [default: the middle row].
    #[arg(long, value_parser = ranges::whole::<usize>)]
    query_row: Option<usize>,
    /// Column of the query patch in the window figure [default: the middle column].
    #[arg(long, value_parser = ranges::whole::<usize>)]
    query_col: Option<usize>,
    /// Also write the cost curve and the window view (SVG, CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct Bench {
    /// Patch side P in pixels.
    #[arg(long, default_value_t = 16, value_parser = ranges::at_least(1usize))]
    patch: usize,
    /// Window side K in patches.
    #[arg(long, default_value_t = 7, value_parser = ranges::at_least(1usize))]
    window: usize,
    /// Token dimension D.
    #[arg(long, default_value_t = 64, value_parser = ranges::at_least(1usize))]
    dim: usize,
    /// The largest image measured, in tokens.
    #[arg(long, default_value_t = 3136, value_parser = ranges::at_least(1usize))]
    max_tokens: usize,
    /// Also write the timing figure (SVG) and its data (CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

impl Command {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            Command::Mask(m) => m.run(),
            Command::Model(m) => m.run(),
            Command::Cost(c) => c.run(),
            Command::Bench(b) => b.run(),
        }
    }
}

impl Mask {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let mask = caption_mask(&self.caption.0, self.image_tokens);
        Ok(serde_json::to_value(mask).map_err(|e| e.to_string())?)
    }
}

impl Model {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let (caption, n, name) = (self.caption.0, self.image_tokens, self.picture);
        let levels = captioner::picture(&name).ok_or_else(|| {
            Failure::Input(format!(
                "--picture: '{name}' is not one of {}",
                captioner::PICTURES.join(", ")
            ))
        })?;
        let model = Captioner::new(self.seed);
        let pixels = captioner::to_pixels(&levels);
        let (enc, dec) = captioner::run(&model, &pixels, &caption, n, None)?;
        // Change each caption token in turn: which decoder outputs move?
        let token_changes: Vec<serde_json::Value> = (0..caption.len())
            .map(|i| {
                let mut c = caption.clone();
                c[i] = format!("{}-changed", c[i]);
                let (_, d) = captioner::run(&model, &pixels, &c, n, None)?;
                let moved = captioner::row_changes(&dec.outputs, &d.outputs);
                Ok(json!({"token": i, "outputs_changed": changed(&moved)}))
            })
            .collect::<Result<_, String>>()?;
        // Invert each patch in turn: which encoder outputs move?
        let patch_changes: Vec<serde_json::Value> = (0..captioner::TOKENS)
            .map(|p| {
                let mut l = levels.clone();
                for y in 0..captioner::PATCH {
                    for x in 0..captioner::PATCH {
                        let i = ((p / captioner::SIDE) * captioner::PATCH + y) * captioner::IMAGE
                            + (p % captioner::SIDE) * captioner::PATCH
                            + x;
                        l[i] = captioner::LEVELS - 1 - l[i];
                    }
                }
                let (e, _) = captioner::run(&model, &captioner::to_pixels(&l), &caption, n, None)?;
                let moved = captioner::row_changes(&enc.outputs, &e.outputs);
                Ok(json!({"patch": p, "outputs_changed": changed(&moved).len()}))
            })
            .collect::<Result<_, String>>()?;
        let keys = caption_mask(&caption, n).keys;
        let weights: Vec<Vec<f32>> = dec.weights.chunks(dec.t_k).map(|r| r.to_vec()).collect();
        if let Some(dir) = OutDir::open(self.out.as_deref())? {
            let query = self.query.min(caption.len() - 1);
            let p = Palette::LIGHT;
            for (h, stem) in attention_heatmaps(&dec, &caption, &keys, Some(query))
                .iter()
                .zip(["scores", "masked_scores", "weights"])
            {
                let svg = figures::to_svg(800, 480, |a| draw_heatmap(a, h, &p))?;
                dir.write(&format!("decoder_{stem}.svg"), &svg)?;
                dir.write(&format!("decoder_{stem}.csv"), &h.csv())?;
            }
        }
        Ok(json!({
            "caption": caption, "keys": keys, "picture": name, "image_tokens": n,
            "decoder_weights": weights,
            "caption_token_changes": token_changes,
            "patch_changes": patch_changes,
            "encoder_tokens": captioner::TOKENS,
        }))
    }
}

fn changed(moved: &[f32]) -> Vec<usize> {
    (0..moved.len()).filter(|&i| moved[i] != 0.0).collect()
}

impl Cost {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let (image, patch, window, dim) = (self.image, self.patch, self.window, self.dim);
        let c = attention_cost(image, patch, window, dim)
            .map_err(Failure::input_for("--image, --patch, --window, --dim"))?;
        if let Some(dir) = OutDir::open(self.out.as_deref())? {
            let p = Palette::LIGHT;
            let curve = CostCurve::new(image, patch, window, dim);
            let svg = figures::to_svg(800, 480, |a| draw_attention_cost(a, &curve, &p))?;
            dir.write("attention_cost.svg", &svg)?;
            dir.write("attention_cost.csv", &curve.csv())?;
            let side = image / patch;
            let view = WindowView {
                side,
                window,
                query: (
                    self.query_row.unwrap_or(side / 2).min(side - 1),
                    self.query_col.unwrap_or(side / 2).min(side - 1),
                ),
            };
            let svg = figures::to_svg(800, 420, |a| draw_window_view(a, &view, &p))?;
            dir.write("window_view.svg", &svg)?;
            dir.write("window_view.csv", &view.csv())?;
        }
        Ok(serde_json::to_value(c).map_err(|e| e.to_string())?)
    }
}

impl Bench {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let (patch, window, dim) = (self.patch, self.window, self.dim);
        let mut rng = Rng::new(23);
        let mut rows = Vec::new();
        for image in timing_sizes(patch, window, self.max_tokens) {
            let cost = attention_cost(image, patch, window, dim)?;
            let side = image / patch;
            let t = side * side;
            let (q, k, v) = (
                random(t * dim, &mut rng),
                random(t * dim, &mut rng),
                random(t * dim, &mut rng),
            );
            let s = AttentionShape {
                batch: 1,
                t_q: t,
                t_k: t,
                d: dim,
                d_v: dim,
            };
            let global_ms = best_ms(|| {
                attention::attention(&q, &k, &v, &vec![false; t * t], s);
            });
            let windowed_ms = best_ms(|| {
                windowed_attention(&q, &k, &v, side, window, dim);
            });
            rows.push(TimingRow::new(image, &cost, global_ms, windowed_ms));
        }
        let data = TimingData {
            rows,
            path: "native CPU".into(),
        };
        if let Some(dir) = OutDir::open(self.out.as_deref())? {
            let svg = figures::to_svg(800, 480, |a| {
                draw_attention_timing(a, &data, &Palette::LIGHT)
            })?;
            dir.write("attention_timing.svg", &svg)?;
            dir.write("attention_timing.csv", &data.csv())?;
        }
        let exponent = |pick: fn(&TimingRow) -> f64| {
            glassbox_lab::figures::attention::exponent(&data.rows, pick)
        };
        Ok(json!({
            "patch": patch, "window": window, "dim": dim, "path": "cpu", "results": data.rows,
            "global_exponent": exponent(|r| r.global_ms),
            "windowed_exponent": exponent(|r| r.windowed_ms),
        }))
    }
}

/// Best of three timings (at least 20 ms of repetitions each), in milliseconds.
fn best_ms(mut work: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        let mut reps = 0u32;
        while reps == 0 || start.elapsed().as_secs_f64() < 0.02 {
            work();
            reps += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e3 / reps as f64);
    }
    best
}

//! `glassbox attention ...`: the combined mask, the toy captioner with its causal check, the cost
//! of global and windowed attention, and its measured time (chapter 2).

use crate::{random, write, Flags};
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
use std::time::Instant;

const HOMEWORK_CAPTION: &str = "<SOS> a mountain range <PAD>";

fn caption_flag(f: &Flags, max: usize) -> Result<Vec<String>, String> {
    let caption = attention::tokenize(&f.get("caption", HOMEWORK_CAPTION.to_string())?);
    if caption.is_empty() || caption.len() > max {
        return Err(format!("--caption: give 1 to {max} tokens"));
    }
    Ok(caption)
}

/// The combined causal self- and cross-attention mask (keys as rows, queries as columns).
pub fn mask(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["caption", "image-tokens"])?;
    let caption = caption_flag(&f, 256)?;
    let images = f.get("image-tokens", 3usize)?;
    if images > 256 {
        return Err("--image-tokens: at most 256".into());
    }
    serde_json::to_value(caption_mask(&caption, images)).map_err(|e| e.to_string())
}

/// The toy captioner on a bundled picture: the decoder's attention for every query, and the causal
/// check (which outputs move when one caption token or one image patch changes).
pub fn model(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(
        args,
        &["caption", "image-tokens", "picture", "seed", "query", "out"],
    )?;
    let caption = caption_flag(&f, captioner::MAX_CAPTION)?;
    let n = f.get("image-tokens", 3usize)?;
    if n > 8 {
        return Err("--image-tokens: at most 8".into());
    }
    let name = f.get("picture", "mountains".to_string())?;
    let levels = captioner::picture(&name).ok_or_else(|| {
        format!(
            "--picture: '{name}' is not one of {}",
            captioner::PICTURES.join(", ")
        )
    })?;
    let model = Captioner::new(f.get("seed", 0u64)?);
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
    if let Some(dir) = f.out_dir()? {
        let query = f.get("query", 1usize)?.min(caption.len() - 1);
        let p = Palette::LIGHT;
        for (h, stem) in attention_heatmaps(&dec, &caption, &keys, Some(query))
            .iter()
            .zip(["scores", "masked_scores", "weights"])
        {
            let svg = figures::to_svg(800, 480, |a| draw_heatmap(a, h, &p))?;
            write(&dir, &format!("decoder_{stem}.svg"), &svg)?;
            write(&dir, &format!("decoder_{stem}.csv"), &h.csv())?;
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

fn changed(moved: &[f32]) -> Vec<usize> {
    (0..moved.len()).filter(|&i| moved[i] != 0.0).collect()
}

pub fn cost(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(
        args,
        &[
            "image",
            "patch",
            "window",
            "dim",
            "query-row",
            "query-col",
            "out",
        ],
    )?;
    let need = |k: &str| -> Result<usize, String> {
        f.0.get(k)
            .ok_or_else(|| format!("--{k} is required"))?
            .parse()
            .map_err(|_| format!("--{k}: not a whole number"))
    };
    let (image, patch, window, dim) = (
        need("image")?,
        need("patch")?,
        need("window")?,
        need("dim")?,
    );
    let c = attention_cost(image, patch, window, dim)?;
    if let Some(dir) = f.out_dir()? {
        let p = Palette::LIGHT;
        let curve = CostCurve::new(image, patch, window, dim);
        let svg = figures::to_svg(800, 480, |a| draw_attention_cost(a, &curve, &p))?;
        write(&dir, "attention_cost.svg", &svg)?;
        write(&dir, "attention_cost.csv", &curve.csv())?;
        let side = image / patch;
        let view = WindowView {
            side,
            window,
            query: (
                f.get("query-row", side / 2)?.min(side - 1),
                f.get("query-col", side / 2)?.min(side - 1),
            ),
        };
        let svg = figures::to_svg(800, 420, |a| draw_window_view(a, &view, &p))?;
        write(&dir, "window_view.svg", &svg)?;
        write(&dir, "window_view.csv", &view.csv())?;
    }
    serde_json::to_value(c).map_err(|e| e.to_string())
}

/// Measured time of global and windowed attention (CPU path) at the image sizes the page measures.
pub fn bench(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["patch", "window", "dim", "max-tokens", "out"])?;
    let (patch, window, dim) = (
        f.get("patch", 16usize)?,
        f.get("window", 7usize)?,
        f.get("dim", 64usize)?,
    );
    let max_tokens = f.get("max-tokens", 3136usize)?;
    let mut rng = Rng::new(23);
    let mut rows = Vec::new();
    for image in timing_sizes(patch, window, max_tokens) {
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
    if let Some(dir) = f.out_dir()? {
        let svg = figures::to_svg(800, 480, |a| {
            draw_attention_timing(a, &data, &Palette::LIGHT)
        })?;
        write(&dir, "attention_timing.svg", &svg)?;
        write(&dir, "attention_timing.csv", &data.csv())?;
    }
    let exponent =
        |pick: fn(&TimingRow) -> f64| glassbox_lab::figures::attention::exponent(&data.rows, pick);
    Ok(json!({
        "patch": patch, "window": window, "dim": dim, "path": "cpu", "results": data.rows,
        "global_exponent": exponent(|r| r.global_ms),
        "windowed_exponent": exponent(|r| r.windowed_ms),
    }))
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

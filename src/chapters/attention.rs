//! Chapter 2, "Attention in a captioning transformer": encoder or decoder (a checked exercise and a
//! toy captioner that runs on the reader's picture and caption, showing which outputs each input can
//! move), the combined self-/cross-attention mask as a checked exercise whose mask then drives the
//! toy decoder (scores, masked scores and softmax weights as heatmaps, and a causality check), and
//! the cost of global against windowed attention: calculator, FLOP plot, the patches one query sees,
//! and the measured time of both on the engine's attention kernel (WebGPU or CPU).

use crate::engine::Engine;
use crate::tasks::{run_in_slices, Slice};
use crate::ui::controls::{FieldInput, TextInput};
use crate::ui::exercise::{Choice, ChoiceExercise};
use crate::ui::math::{MathBlock, M};
use crate::ui::plot::{HeatmapPlot, Plot};
use crate::url_state::{read_fields, write_fields, Location, NumField};
use crate::web;
use glassbox_gpu::{Compute, Ran};
use glassbox_lab::attention::captioner::{
    self, image_tokens, picture, row_changes, AttentionInputs, Captioner, Layer, LayerTrace,
    PICTURES,
};
use glassbox_lab::attention::{
    attention_cost, caption_mask, gather_windows, scatter_windows, timing_sizes, tokenize,
    windowed_shape, AttentionJob, AttentionShape, CaptionMask, PAD,
};
use glassbox_lab::figures::attention::{
    attention_heatmaps, draw_attention_cost, draw_attention_timing, draw_window_view, exponent,
    CostCurve, TimingData, TimingRow, WindowView,
};
use glassbox_lab::rng::Rng;
use leptos::prelude::*;

pub const SLUG: &str = "attention";
const HOMEWORK_CAPTION: &str = "<SOS> a mountain range <PAD>";

/// The picture the toy encoder reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Picture {
    Bundled(&'static str),
    /// Grey levels, after the reader drew on a picture.
    Drawn(Vec<u8>),
}

impl Picture {
    pub fn levels(&self) -> Vec<u8> {
        match self {
            Picture::Bundled(name) => picture(name).unwrap_or_default(),
            Picture::Drawn(l) => l.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub caption: String,
    pub image_tokens: usize,
    pub picture: Picture,
    pub seed: u64,
    /// The decoder query whose column the heatmaps highlight.
    pub query: usize,
    /// The toy decoder uses the reader's grid instead of the correct mask.
    pub my_mask: bool,
    pub image: usize,
    pub patch: usize,
    pub window: usize,
    pub dim: usize,
    pub q_row: usize,
    pub q_col: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            caption: HOMEWORK_CAPTION.into(),
            image_tokens: 3,
            picture: Picture::Bundled("mountains"),
            seed: 0,
            query: 1,
            my_mask: false,
            image: 224,
            patch: 16,
            window: 7,
            dim: 64,
            q_row: 4,
            q_col: 9,
        }
    }
}

macro_rules! int_field {
    ($key:literal, $label:literal, $min:expr, $max:expr, $step:expr, $f:ident) => {
        NumField {
            key: $key,
            label: $label,
            min: $min,
            max: $max,
            step: $step,
            integer: true,
            get: |s: &Settings| s.$f as f64,
            set: |s: &mut Settings, v| s.$f = v as _,
        }
    };
}

static MODEL_FIELDS: [NumField<Settings>; 2] = [
    int_field!("images", "Image tokens", 0.0, 8.0, 1.0, image_tokens),
    int_field!("seed", "Model seed", 0.0, 1e9, 1.0, seed),
];

static COST_FIELDS: [NumField<Settings>; 4] = [
    int_field!("image", "Image size H (pixels)", 8.0, 4096.0, 8.0, image),
    int_field!("patch", "Patch size P", 1.0, 64.0, 1.0, patch),
    int_field!("window", "Window K (patches)", 1.0, 64.0, 1.0, window),
    int_field!("dim", "Dimension D", 1.0, 4096.0, 1.0, dim),
];

static QUERY_FIELDS: [NumField<Settings>; 2] = [
    int_field!("qr", "Query patch row", 0.0, 4095.0, 1.0, q_row),
    int_field!("qc", "Query patch column", 0.0, 4095.0, 1.0, q_col),
];

fn check_caption(t: &str) -> Result<(), String> {
    let n = tokenize(t).len();
    if (1..=captioner::MAX_CAPTION).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "Caption tokens (caption): give 1 to {} tokens separated by spaces (got {n})",
            captioner::MAX_CAPTION
        ))
    }
}

/// Settings and the reader's grid from the URL, with a notice per bad parameter.
pub fn settings_from_location(loc: &Location) -> (Settings, Option<Vec<Vec<bool>>>, Vec<String>) {
    let mut s = Settings::default();
    let mut notices = Vec::new();
    read_fields(loc, &MODEL_FIELDS, &mut s, &mut notices);
    read_fields(loc, &COST_FIELDS, &mut s, &mut notices);
    read_fields(loc, &QUERY_FIELDS, &mut s, &mut notices);
    if let Some(c) = loc.get("caption") {
        match check_caption(c) {
            Ok(()) => s.caption = c.to_string(),
            Err(e) => notices.push(format!("URL parameter {e}; using the homework's caption.")),
        }
    }
    let tokens = tokenize(&s.caption).len();
    if let Some(q) = loc.get("query") {
        match q.parse::<usize>() {
            Ok(i) if i < tokens => s.query = i,
            _ => notices.push(format!(
                "URL parameter query: '{q}' is not a caption position from 0 to {}; using {}.",
                tokens - 1,
                s.query.min(tokens - 1)
            )),
        }
    }
    s.query = s.query.min(tokens - 1);
    if let Some(p) = loc.get("picture") {
        if let Some(name) = PICTURES.iter().find(|n| **n == p) {
            s.picture = Picture::Bundled(name);
        } else {
            match captioner::levels_from_hex(p) {
                Ok(l) => s.picture = Picture::Drawn(l),
                Err(e) => notices.push(format!(
                    "URL parameter picture: not one of {} and not a drawn picture ({e}); using mountains.",
                    PICTURES.join(", ")
                )),
            }
        }
    }
    match loc.get("mask") {
        None | Some("answer") => {}
        Some("mine") => s.my_mask = true,
        Some(v) => notices.push(format!(
            "URL parameter mask: '{v}' is not answer or mine; using answer."
        )),
    }
    let mut grid = None;
    if let Some(g) = loc.get("grid") {
        let m = caption_mask(&tokenize(&s.caption), s.image_tokens);
        let (rows, cols) = (m.keys.len(), m.queries.len());
        let bits: Vec<Option<bool>> = g
            .chars()
            .map(|c| match c {
                '0' => Some(false),
                '1' => Some(true),
                _ => None,
            })
            .collect();
        if bits.len() == rows * cols && bits.iter().all(Option::is_some) {
            let b: Vec<bool> = bits.into_iter().flatten().collect();
            grid = Some(b.chunks(cols).map(|r| r.to_vec()).collect());
        } else {
            notices.push(format!(
                "URL parameter grid: expected {} digits 0 or 1 ({rows} keys x {cols} queries); starting from an empty grid.",
                rows * cols
            ));
        }
    }
    if s.my_mask && grid.is_none() {
        s.my_mask = false;
    }
    (s, grid, notices)
}

pub fn location_of(s: &Settings, grid: &[Vec<bool>]) -> Location {
    let d = Settings::default();
    let mut params = Vec::new();
    if s.caption != d.caption {
        params.push(("caption".into(), s.caption.clone()));
    }
    write_fields(&MODEL_FIELDS, s, &d, &mut params);
    match &s.picture {
        Picture::Bundled(n) if *n == "mountains" => {}
        Picture::Bundled(n) => params.push(("picture".into(), n.to_string())),
        Picture::Drawn(l) => params.push(("picture".into(), captioner::levels_to_hex(l))),
    }
    if s.query != d.query {
        params.push(("query".into(), s.query.to_string()));
    }
    if grid.iter().flatten().any(|&b| b) {
        let bits: String = grid
            .iter()
            .flatten()
            .map(|&b| if b { '1' } else { '0' })
            .collect();
        params.push(("grid".into(), bits));
        if s.my_mask {
            params.push(("mask".into(), "mine".into()));
        }
    }
    write_fields(&COST_FIELDS, s, &d, &mut params);
    write_fields(&QUERY_FIELDS, s, &d, &mut params);
    Location {
        route: SLUG.into(),
        params,
    }
}

/// Why a cell of the grid must be what it is, in words.
pub fn explain(m: &CaptionMask, key: usize, query: usize) -> String {
    let (k, q) = (&m.keys[key], &m.queries[query]);
    if q == PAD {
        format!("{q} (column) is padding: it makes no query, so its whole column is masked.")
    } else if key >= m.queries.len() {
        format!("{q} may look at every image token, {k} included (cross-attention is not causal).")
    } else if k == PAD {
        format!("{k} (row) is padding: it is hidden from every query.")
    } else if key > query {
        format!("{k} comes after {q}: a decoder may not look ahead, so this key is masked.")
    } else {
        format!("{k} is {q} itself or comes before it, so {q} may attend to it.")
    }
}

static VISION_CHOICES: [Choice; 2] = [
    Choice {
        label: "An encoder: every patch may attend to every other patch.",
        tex: false,
        correct: true,
        why: "The whole image is there from the start and nothing is generated patch by patch, so no \
              patch needs hiding from another (only padding would be masked). Below, changing any \
              patch moves every encoder output.",
    },
    Choice {
        label: "A decoder: each patch may attend only to the patches before it.",
        tex: false,
        correct: false,
        why: "Nothing is generated patch by patch, so hiding later patches would only throw away \
              information about the image. The vision transformer only builds a representation: it \
              is an encoder.",
    },
];

static LANGUAGE_CHOICES: [Choice; 2] = [
    Choice {
        label: "An encoder: every caption token may attend to every other caption token.",
        tex: false,
        correct: false,
        why: "A token that could see the tokens after it would learn to copy the next word instead of \
              predicting it, and when the model writes a caption those tokens do not exist yet. The \
              language transformer is a decoder.",
    },
    Choice {
        label: "A decoder: each caption token may attend only to itself and the tokens before it.",
        tex: false,
        correct: true,
        why: "It writes the caption one token at a time, so its self-attention is masked causally \
              (below, changing a later token never moves an earlier output). It reads the image \
              through cross-attention, which needs no causal mask.",
    },
];

/// One layer: attention on the engine (WebGPU or the CPU reference), the rest on the CPU.
async fn run_layer(
    compute: &Compute,
    inputs: &AttentionInputs,
    layer: &Layer,
) -> Result<(LayerTrace, Ran), String> {
    let i = inputs;
    let ((w, a), ran) = compute
        .attention(&i.q, &i.k, &i.v, &i.masked, i.shape)
        .await?;
    Ok((i.finish(layer, w, &a), ran))
}

/// What the toy captioner computed for the current inputs.
#[derive(Clone, Debug, PartialEq)]
struct ModelView {
    encoder: LayerTrace,
    decoder: LayerTrace,
    /// reach[j]: the earlier outputs (i < j) that moved when caption token j alone was changed.
    reach: Vec<Vec<usize>>,
    ran: Ran,
}

/// A word to put in place of `w` for the causality check.
fn substitute(w: &str) -> String {
    if w == "zebra" { "yak" } else { "zebra" }.to_string()
}

async fn run_model(
    compute: &Compute,
    model: &Captioner,
    pixels: &[f32],
    caption: &[String],
    n_image: usize,
    mask: &[Vec<bool>],
) -> Result<ModelView, String> {
    let enc_in = model.encoder_inputs(pixels)?;
    let (encoder, ran) = run_layer(compute, &enc_in, &model.encoder).await?;
    let img = image_tokens(&encoder.outputs, n_image);
    let dec_in = model.decoder_inputs(caption, &img, Some(mask))?;
    let (decoder, _) = run_layer(compute, &dec_in, &model.decoder).await?;
    let mut reach = Vec::with_capacity(caption.len());
    for j in 0..caption.len() {
        let mut c = caption.to_vec();
        c[j] = substitute(&c[j]);
        let inputs = model.decoder_inputs(&c, &img, Some(mask))?;
        let (changed, _) = run_layer(compute, &inputs, &model.decoder).await?;
        let moved = row_changes(&decoder.outputs, &changed.outputs);
        reach.push((0..j).filter(|&i| moved[i] != 0.0).collect());
    }
    Ok(ModelView {
        encoder,
        decoder,
        reach,
        ran,
    })
}

/// How much each output moved at the reader's last edit (encoder per patch, decoder per position).
#[derive(Clone, Debug, PartialEq, Default)]
struct Moved {
    what: String,
    encoder: Vec<f32>,
    decoder: Vec<f32>,
}

fn fmt_change(d: f32) -> String {
    if d == 0.0 {
        "0".into()
    } else {
        format!("{d:.3}")
    }
}

/// The picture as a paintable grid of pixels: click a pixel, or move with the arrow keys and press
/// Space, to switch it between dark and light. Patch borders are drawn thicker.
#[component]
fn PicturePad(settings: RwSignal<Settings>) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let cursor = RwSignal::new((0usize, 0usize));
    let focused = RwSignal::new(false);
    let theme = use_context::<crate::ui::Theme>();
    const PX: f64 = 16.0;
    let n = captioner::IMAGE;
    let toggle = move |r: usize, c: usize| {
        settings.update(|s| {
            let mut l = s.picture.levels();
            let i = r * n + c;
            l[i] = if l[i] > captioner::LEVELS / 2 {
                0
            } else {
                captioner::LEVELS - 1
            };
            s.picture = Picture::Drawn(l);
        })
    };
    Effect::new(move |_| {
        let levels = settings.with(|s| s.picture.levels());
        let (cr, cc) = cursor.get();
        let show_cursor = focused.get();
        let dark = theme.map(|t| t.dark.get()).unwrap_or(false);
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        let Some(ctx) = web::context_2d(&canvas) else {
            return;
        };
        let top = (captioner::LEVELS - 1) as f64;
        for (i, &l) in levels.iter().enumerate() {
            let g = (255.0 * l as f64 / top).round() as u8;
            ctx.set_fill_style_str(&format!("rgb({g},{g},{g})"));
            ctx.fill_rect((i % n) as f64 * PX, (i / n) as f64 * PX, PX, PX);
        }
        ctx.set_stroke_style_str(if dark { "#56b4e9" } else { "#0072b2" });
        ctx.set_line_width(2.0);
        for k in 0..=captioner::SIDE {
            let x = (k * captioner::PATCH) as f64 * PX;
            ctx.begin_path();
            ctx.move_to(x, 0.0);
            ctx.line_to(x, n as f64 * PX);
            ctx.move_to(0.0, x);
            ctx.line_to(n as f64 * PX, x);
            ctx.stroke();
        }
        if show_cursor {
            ctx.set_stroke_style_str("#d55e00");
            ctx.set_line_width(3.0);
            ctx.stroke_rect(
                cc as f64 * PX + 1.5,
                cr as f64 * PX + 1.5,
                PX - 3.0,
                PX - 3.0,
            );
        }
    });
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let w = canvas.client_width().max(1) as f64;
        let h = canvas.client_height().max(1) as f64;
        let c = ((ev.offset_x() as f64 / w) * n as f64).floor() as usize;
        let r = ((ev.offset_y() as f64 / h) * n as f64).floor() as usize;
        if r < n && c < n {
            cursor.set((r, c));
            toggle(r, c);
        }
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let (r, c) = cursor.get_untracked();
        let moved = match ev.key().as_str() {
            "ArrowUp" => (r.saturating_sub(1), c),
            "ArrowDown" => ((r + 1).min(n - 1), c),
            "ArrowLeft" => (r, c.saturating_sub(1)),
            "ArrowRight" => (r, (c + 1).min(n - 1)),
            " " | "Enter" => {
                ev.prevent_default();
                toggle(r, c);
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        cursor.set(moved);
    };
    let invert_patch = move |_| {
        let (r, c) = cursor.get_untracked();
        let (pr, pc) = (r / captioner::PATCH, c / captioner::PATCH);
        settings.update(|s| {
            let mut l = s.picture.levels();
            for y in 0..captioner::PATCH {
                for x in 0..captioner::PATCH {
                    let i = (pr * captioner::PATCH + y) * n + pc * captioner::PATCH + x;
                    l[i] = captioner::LEVELS - 1 - l[i];
                }
            }
            s.picture = Picture::Drawn(l);
        })
    };
    view! {
        <div class="picture-pad">
            <canvas node_ref=canvas_ref class="picture" width=(n as f64 * PX) as u32 height=(n as f64 * PX) as u32
                tabindex="0" role="img"
                aria-label=move || { let (r, c) = cursor.get(); format!("Picture, {n} by {n} pixels in {} patches. Click a pixel, or use the arrow keys and Space, to switch it between dark and light. Cursor at row {r}, column {c}.", captioner::TOKENS) }
                on:click=on_click on:keydown=on_key
                on:focus=move |_| focused.set(true) on:blur=move |_| focused.set(false)></canvas>
            <div class="buttons">
                <button type="button" on:click=invert_patch>
                    {move || { let (r, c) = cursor.get(); format!("Invert patch {} (the cursor's)", (r / captioner::PATCH) * captioner::SIDE + c / captioner::PATCH + 1) }}
                </button>
            </div>
        </div>
    }
}

/// The timing experiment's state.
#[derive(Clone, Debug, PartialEq, Default)]
struct Timing {
    running: bool,
    /// Sizes measured / planned, and the fraction of the current one.
    done: usize,
    planned: usize,
    fraction: f64,
    message: Option<String>,
}

/// Milliseconds of work per timing sample: repeated runs are averaged until they reach it.
const SAMPLE_MS: f64 = 15.0;
/// The measurement stops growing the image once global attention takes longer than this.
const STOP_AFTER_MS: f64 = 1500.0;
/// Largest token count measured (56 x 56 patches: 9.8 M attention weights).
const MAX_TOKENS: usize = 3136;
const MAX_TIMING_DIM: usize = 256;

/// Mean milliseconds of one attention on the CPU path, computed in slices between screen updates;
/// None when stopped.
async fn time_cpu(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    s: AttentionShape,
    alive: impl Fn() -> bool + Copy,
    progress: impl Fn(f64) + Copy,
) -> Option<f64> {
    let mask = vec![false; s.t_q * s.t_k];
    let mut job = AttentionJob::new(q.to_vec(), k.to_vec(), v.to_vec(), mask, s);
    // Allocating a large job takes a moment: let the browser breathe before the first slice.
    web::sleep(0).await;
    let result = std::rc::Rc::new(std::cell::Cell::new(None::<f64>));
    let out = result.clone();
    let (mut spent, mut runs) = (0.0f64, 0usize);
    run_in_slices(
        move |deadline| {
            let start = web::now_ms();
            while web::now_ms() < deadline {
                job.advance(2e6);
                if job.done() {
                    runs += 1;
                    job.restart();
                    if spent + web::now_ms() - start >= SAMPLE_MS {
                        spent += web::now_ms() - start;
                        out.set(Some(spent / runs as f64));
                        return Slice::Idle;
                    }
                }
            }
            spent += web::now_ms() - start;
            progress(job.progress());
            Slice::Continue
        },
        alive,
    )
    .await;
    result.get().filter(|_| alive())
}

/// Mean milliseconds of one attention on WebGPU (upload, kernel, read-back), repeated to SAMPLE_MS.
async fn time_gpu(
    compute: &Compute,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    s: AttentionShape,
) -> Result<Option<f64>, String> {
    let mask = vec![false; s.t_q * s.t_k];
    let (mut spent, mut runs) = (0.0, 0usize);
    while runs == 0 || spent < SAMPLE_MS {
        let t = web::now_ms();
        let (_, ran) = compute.attention(q, k, v, &mask, s).await?;
        if ran != Ran::Gpu {
            return Ok(None);
        }
        spent += web::now_ms() - t;
        runs += 1;
    }
    Ok(Some(spent / runs as f64))
}

#[component]
pub fn AttentionMasks(location: Location) -> impl IntoView {
    let (start, start_grid, notices) = settings_from_location(&location);
    let settings = RwSignal::new(start);
    let engine = expect_context::<Engine>();
    let caption = Memo::new(move |_| tokenize(&settings.with(|s| s.caption.clone())));
    let n_image = Memo::new(move |_| settings.with(|s| s.image_tokens));
    let answer = Memo::new(move |_| caption_mask(&caption.get(), n_image.get()));
    // The reader's grid, masked[key][query]; starts with nothing masked, or from the URL.
    let grid = RwSignal::new(start_grid.unwrap_or_default());
    let feedback = RwSignal::new(None::<(usize, Vec<String>)>);
    Effect::new(move |_| {
        let a = answer.get();
        let fits = grid.with_untracked(|g| {
            g.len() == a.keys.len() && g.iter().all(|r| r.len() == a.queries.len())
        });
        if !fits {
            grid.set(vec![vec![false; a.queries.len()]; a.keys.len()]);
            feedback.set(None);
        }
    });
    Effect::new(move |_| web::publish(&location_of(&settings.get(), &grid.get())));
    let check = move |_| {
        let a = answer.get_untracked();
        let g = grid.get_untracked();
        let mut wrong = Vec::new();
        for k in 0..a.keys.len() {
            for q in 0..a.queries.len() {
                if g.get(k).and_then(|r| r.get(q)) != Some(&a.masked[k][q]) {
                    wrong.push(format!(
                        "Row {}, column {}: should be {}. {}",
                        a.keys[k],
                        a.queries[q],
                        if a.masked[k][q] { "masked" } else { "open" },
                        explain(&a, k, q)
                    ));
                }
            }
        }
        feedback.set(Some((wrong.len(), wrong)));
    };

    // The toy captioner, recomputed (on the engine) whenever its inputs change.
    let levels = Memo::new(move |_| settings.with(|s| s.picture.levels()));
    let seed = Memo::new(move |_| settings.with(|s| s.seed));
    let my_mask = Memo::new(move |_| settings.with(|s| s.my_mask));
    let mask_in_use = Memo::new(move |_| {
        if my_mask.get() {
            grid.get()
        } else {
            answer.get().masked
        }
    });
    let view_state = RwSignal::new(None::<ModelView>);
    let moved = RwSignal::new(None::<Moved>);
    let model_error = RwSignal::new(None::<String>);
    let last_inputs = StoredValue::new(None::<(Vec<u8>, Vec<String>, usize, u64)>);
    let generation = StoredValue::new_local(0u64);
    Effect::new(move |_| {
        let (lv, cap, n, sd, mask) = (
            levels.get(),
            caption.get(),
            n_image.get(),
            seed.get(),
            mask_in_use.get(),
        );
        let g = generation.get_value() + 1;
        generation.set_value(g);
        // What the reader changed, in words, for the "what moved" readout.
        let what = last_inputs.get_value().map(|(l0, c0, n0, s0)| {
            if s0 != sd {
                "a new model seed".to_string()
            } else if n0 != n {
                "the number of image tokens".to_string()
            } else if l0 != lv {
                let changed: Vec<usize> = (0..captioner::TOKENS)
                    .filter(|&p| {
                        let pr = p / captioner::SIDE;
                        let pc = p % captioner::SIDE;
                        (0..captioner::PATCH * captioner::PATCH).any(|i| {
                            let y = pr * captioner::PATCH + i / captioner::PATCH;
                            let x = pc * captioner::PATCH + i % captioner::PATCH;
                            l0[y * captioner::IMAGE + x] != lv[y * captioner::IMAGE + x]
                        })
                    })
                    .map(|p| p + 1)
                    .collect();
                format!("the picture (patch {})", list(&changed))
            } else if c0 != cap {
                let changed: Vec<String> = (0..cap.len().max(c0.len()))
                    .filter(|&i| c0.get(i) != cap.get(i))
                    .map(|i| format!("position {i}"))
                    .collect();
                format!("the caption ({})", changed.join(", "))
            } else {
                "the mask".to_string()
            }
        });
        last_inputs.set_value(Some((lv.clone(), cap.clone(), n, sd)));
        crate::tasks::spawn_page_task(async move {
            engine.settled().await;
            let compute = engine.compute();
            let model = Captioner::new(sd);
            let result =
                run_model(&compute, &model, &captioner::to_pixels(&lv), &cap, n, &mask).await;
            engine.check_lost();
            if generation.get_value() != g {
                return;
            }
            match result {
                Ok(v) => {
                    let before = view_state.get_untracked();
                    if let (Some(b), Some(what)) = (before, what) {
                        let same_len = b.decoder.t_q == v.decoder.t_q;
                        moved.set(Some(Moved {
                            what,
                            encoder: row_changes(&b.encoder.outputs, &v.encoder.outputs),
                            decoder: if same_len {
                                row_changes(&b.decoder.outputs, &v.decoder.outputs)
                            } else {
                                Vec::new()
                            },
                        }));
                    }
                    model_error.set(None);
                    view_state.set(Some(v));
                }
                Err(e) => model_error.set(Some(e)),
            }
        });
    });
    let query = Memo::new(move |_| settings.with(|s| s.query));
    let heatmaps = Memo::new(move |_| {
        let v = view_state.get()?;
        let a = answer.get();
        (v.decoder.t_q == a.queries.len() && v.decoder.t_k == a.keys.len())
            .then(|| attention_heatmaps(&v.decoder, &a.queries, &a.keys, Some(query.get())))
    });
    let encoder_map = Memo::new(move |_| {
        let v = view_state.get()?;
        let names: Vec<String> = (1..=captioner::TOKENS)
            .map(|p| format!("patch {p}"))
            .collect();
        let [_, _, mut w] = attention_heatmaps(&v.encoder, &names, &names, None);
        w.title = "Encoder: softmax weights (nothing masked)".into();
        w.show_values = false;
        // Nearly uniform weights: colour them on their own range.
        let hi = v.encoder.weights.iter().fold(0.0f32, |m, &x| m.max(x)) as f64;
        w.scale = Some(glassbox_lab::figures::heatmap::Scale::Sequential { lo: 0.0, hi });
        Some(w)
    });
    let heat = move |i: usize| Signal::derive(move || heatmaps.get().map(|h| h[i].clone()));

    // Cost of global and windowed attention.
    let cost = Memo::new(move |_| {
        let s = settings.get();
        (s.image, s.patch, s.window, s.dim)
    });
    let cost_curve = Memo::new(move |_| {
        let (h, p, k, d) = cost.get();
        CostCurve::new(h, p, k, d)
    });
    let window_view = Memo::new(move |_| {
        let s = settings.get();
        let side = s.image.checked_div(s.patch).unwrap_or(0);
        (side > 0 && s.window > 0 && side.is_multiple_of(s.window)).then(|| WindowView {
            side,
            window: s.window,
            query: (s.q_row.min(side - 1), s.q_col.min(side - 1)),
        })
    });

    // The timing experiment.
    let timing = RwSignal::new(Timing::default());
    let timing_data = RwSignal::new(TimingData::default());
    let timing_gen = StoredValue::new_local(0u64);
    let measure = move |_| {
        let (_, patch, window, dim) = cost.get_untracked();
        if dim > MAX_TIMING_DIM {
            timing.set(Timing {
                message: Some(format!(
                    "The measurement runs up to D = {MAX_TIMING_DIM} (the calculator has {dim}): lower D to measure."
                )),
                ..Timing::default()
            });
            return;
        }
        let sizes = timing_sizes(patch, window, MAX_TOKENS);
        if sizes.len() < 2 {
            timing.set(Timing {
                message: Some(format!(
                    "With windows of {window} x {window} patches fewer than two image sizes fit under {MAX_TOKENS} tokens: choose a smaller window."
                )),
                ..Timing::default()
            });
            return;
        }
        let g = timing_gen.get_value() + 1;
        timing_gen.set_value(g);
        let alive = move || timing_gen.get_value() == g;
        timing.set(Timing {
            running: true,
            planned: sizes.len(),
            ..Timing::default()
        });
        crate::tasks::spawn_page_task(async move {
            engine.settled().await;
            let compute = engine.compute();
            // A device lost on the way: start again on the CPU, so one figure has one path.
            'attempt: loop {
                let on_gpu = compute.gpu().is_some();
                timing_data.set(TimingData {
                    rows: Vec::new(),
                    path: match compute.gpu() {
                        Some(gpu) => format!("WebGPU, {}", gpu.info.name),
                        None => "CPU (WebAssembly)".to_string(),
                    },
                });
                let mut rng = Rng::new(23);
                let mut last: Option<(f64, u64)> = None;
                for (i, image) in sizes.iter().copied().enumerate() {
                    let Ok(c) = attention_cost(image, patch, window, dim) else {
                        break;
                    };
                    // Stop before a size whose global attention would take far too long.
                    if let Some((ms, flops)) = last {
                        if ms * c.global_flops as f64 / flops as f64 > 2.0 * STOP_AFTER_MS {
                            break;
                        }
                    }
                    let side = image / patch;
                    let t = side * side;
                    let mut rnd =
                        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
                    let (q, k, v) = (rnd(t * dim), rnd(t * dim), rnd(t * dim));
                    web::sleep(0).await;
                    let global_shape = AttentionShape {
                        batch: 1,
                        t_q: t,
                        t_k: t,
                        d: dim,
                        d_v: dim,
                    };
                    let ws = windowed_shape(side, window, dim);
                    let progress = move |f: f64| timing.update(|t| t.fraction = f);
                    // Windowed attention includes regrouping the tokens into windows and back.
                    let t0 = web::now_ms();
                    let gw = |x: &[f32]| gather_windows(x, side, window, dim);
                    let (wq, wk, wv) = (gw(&q), gw(&k), gw(&v));
                    std::hint::black_box(scatter_windows(&wq, side, window, dim));
                    let regroup_ms = web::now_ms() - t0;
                    web::sleep(0).await;
                    let times = if on_gpu {
                        let global = time_gpu(&compute, &q, &k, &v, global_shape).await;
                        let windowed = match global {
                            Ok(Some(_)) => time_gpu(&compute, &wq, &wk, &wv, ws).await,
                            _ => Ok(None),
                        };
                        engine.check_lost();
                        match (global, windowed) {
                            (Ok(Some(a)), Ok(Some(b))) => (a, b),
                            (Err(e), _) | (_, Err(e)) => {
                                timing.update(|t| t.message = Some(format!(
                                    "WebGPU could not run attention at H = {image} ({e}). Choose \"CPU only\" under Compute and measure again."
                                )));
                                break;
                            }
                            // The device was lost: measure everything again on the CPU.
                            _ => continue 'attempt,
                        }
                    } else {
                        let Some(a) = time_cpu(&q, &k, &v, global_shape, alive, progress).await
                        else {
                            return;
                        };
                        let Some(b) = time_cpu(&wq, &wk, &wv, ws, alive, progress).await else {
                            return;
                        };
                        (a, b)
                    };
                    if !alive() {
                        return;
                    }
                    let (global_ms, windowed_ms) = (times.0, times.1 + regroup_ms);
                    timing_data.update(|d| {
                        d.rows
                            .push(TimingRow::new(image, &c, global_ms, windowed_ms))
                    });
                    timing.update(|t| {
                        t.done = i + 1;
                        t.fraction = 0.0;
                    });
                    last = Some((global_ms, c.global_flops));
                    if global_ms > STOP_AFTER_MS {
                        break;
                    }
                    web::sleep(0).await;
                }
                break;
            }
            timing.update(|t| t.running = false);
        });
    };
    let stop = move |_| {
        timing_gen.update_value(|g| *g += 1);
        timing.update(|t| t.running = false);
    };

    view! {
        <article class="chapter" aria-labelledby="chapter-title">
            <h1 id="chapter-title">"Attention in a captioning transformer"</h1>
            {notices.into_iter().map(|n| view! { <p class="notice warning" role="alert">{n}</p> }).collect_view()}
            <p class="lede">
                "An image-captioning model pairs a vision transformer, which reads the image as a sequence \
                 of patch tokens, with a language transformer, which writes the caption one token at a \
                 time and reads the image through cross-attention."
            </p>
            <h2>"(a) Encoder or decoder?"</h2>
            <p>
                "An encoder turns a whole input into a representation: every token may attend to every \
                 other, masked only where there is padding. A decoder generates a sequence token by token: \
                 when it produces a token it may not look at the ones that come after it, so its \
                 self-attention is masked causally. Which is each half of the captioner?"
            </p>
            <div class="exercises">
                <ChoiceExercise name="vision" question="The vision transformer that reads the image is…" choices=&VISION_CHOICES/>
                <ChoiceExercise name="language" question="The language transformer that writes the caption is…" choices=&LANGUAGE_CHOICES/>
            </div>
            <h3>"See it: a toy captioner"</h3>
            <p>
                "Below, a captioner small enough to read runs on your picture and caption: a one-layer \
                 vision encoder over the 16 patches of a 16 × 16 picture, and a one-layer caption decoder \
                 whose single attention does self-attention over the caption and cross-attention to "
                <M tex=r"N"/>" image tokens (the encoder's 16 outputs averaged in "<M tex=r"N"/>" runs of \
                 consecutive patches). Its weights are random (seeded): it is not trained, and it does not \
                 need to be, because which output can depend on which input is decided by the masks, not \
                 by the weights. Draw on the picture or edit the caption, and read what moved."
            </p>
            <div class="model-inputs">
                <div>
                    <div class="field">
                        <label for="in-picture">"Picture"</label>
                        <select id="in-picture" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            if let Some(n) = PICTURES.iter().find(|n| **n == v) {
                                settings.update(|s| s.picture = Picture::Bundled(n));
                            }
                        } prop:value=move || match settings.with(|s| s.picture.clone()) { Picture::Bundled(n) => n.to_string(), Picture::Drawn(_) => "drawn".into() }>
                            {PICTURES.iter().map(|n| view! { <option value=*n>{*n}</option> }).collect_view()}
                            <option value="drawn" disabled=true>"drawn by you"</option>
                        </select>
                    </div>
                    <PicturePad settings=settings/>
                </div>
                <div class="controls-grid">
                    <TextInput
                        label="Caption tokens"
                        key="caption"
                        value=Signal::derive(move || settings.with(|s| s.caption.clone()))
                        check=check_caption
                        on_commit=move |t: String| settings.update(|s| { s.caption = t; s.query = s.query.min(tokenize(&s.caption).len() - 1); })
                        help="separated by spaces; <PAD> is padding"
                    />
                    {MODEL_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                </div>
            </div>
            {move || model_error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
            <div class="table-scroll">
                <table class="numbers moved" aria-label="How much each output moved at your last edit">
                    <caption>{move || match moved.get() {
                        Some(m) => format!("Largest change of each output when you changed {} (0: exactly unchanged)", m.what),
                        None => "Change the picture or the caption: this table shows how much each output moved.".to_string(),
                    }}</caption>
                    <tbody>
                        <tr data-row="encoder"><th scope="row">"encoder, per patch"</th>
                            {move || moved.get().map(|m| m.encoder.iter().map(|d| view! { <td>{fmt_change(*d)}</td> }).collect_view())}
                        </tr>
                        <tr data-row="decoder"><th scope="row">"decoder, per caption token"</th>
                            {move || moved.get().map(|m| {
                                let cap = caption.get();
                                m.decoder.iter().enumerate().map(|(i, d)| view! { <td title=cap.get(i).cloned().unwrap_or_default()>{format!("{}: {}", cap.get(i).cloned().unwrap_or_default(), fmt_change(*d))}</td> }).collect_view()
                            })}
                        </tr>
                    </tbody>
                </table>
            </div>
            <p class="status" data-key="ran">{move || view_state.get().map(|v| format!("Computed with the attention kernel on {}.", if v.ran == Ran::Gpu { "WebGPU" } else { "the CPU" }))}</p>
            <HeatmapPlot name="encoder-attention" title="Encoder attention weights" width=560 height=520 heatmap=encoder_map/>
            <p>
                "Every encoder output moves when any patch changes: global self-attention gives every \
                 patch a nonzero weight on every other. In the decoder, changing a caption token moves \
                 its own output and those after it, never one before it; changing the picture moves every \
                 caption token's output, because each one attends to every image token. The output at "
                <code>"<PAD>"</code>" depends only on its own embedding: padding makes no query."
            </p>

            <h2>"(b) One mask for self- and cross-attention"</h2>
            <p>
                "Suppose one layer does both at once, as the toy decoder above does: each column of the \
                 grid is a query (a caption token) and each row a key and value (caption tokens, then image \
                 tokens). Click cells, or move to them with Tab and press Space, to mark the ones that must \
                 be masked, then check. The caption and the number of image tokens are the ones above."
            </p>
            <div class="table-scroll">
                <table class="mask-grid" aria-label="Attention mask: rows are keys, columns are queries">
                    <thead><tr><th scope="col">"key \\ query"</th>
                        {move || answer.get().queries.into_iter().map(|q| view! { <th scope="col">{q}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {move || {
                            let a = answer.get();
                            a.keys.iter().enumerate().map(|(k, key)| {
                                let key = key.clone();
                                view! {
                                    <tr>
                                        <th scope="row">{key.clone()}</th>
                                        {a.queries.iter().enumerate().map(|(q, query)| {
                                            let label = format!("key {key}, query {query}");
                                            let on = move || grid.with(|g| g.get(k).and_then(|r| r.get(q)).copied().unwrap_or(false));
                                            view! {
                                                <td>
                                                    <button type="button" class="cell" aria-label=label
                                                        aria-pressed=move || if on() { "true" } else { "false" }
                                                        on:click=move |_| grid.update(|g| if let Some(c) = g.get_mut(k).and_then(|r| r.get_mut(q)) { *c = !*c })>
                                                        {move || if on() { "✕" } else { "" }}
                                                    </button>
                                                </td>
                                            }
                                        }).collect_view()}
                                    </tr>
                                }
                            }).collect_view()
                        }}
                    </tbody>
                </table>
            </div>
            <div class="buttons">
                <button type="button" class="primary" on:click=check>"Check my mask"</button>
                <button type="button" on:click=move |_| grid.set(answer.get_untracked().masked)>"Show the answer"</button>
                <button type="button" on:click=move |_| { let a = answer.get_untracked(); grid.set(vec![vec![false; a.queries.len()]; a.keys.len()]); feedback.set(None); }>"Clear"</button>
            </div>
            <div role="status" aria-live="polite" class="mask-feedback">
                {move || feedback.get().map(|(n, wrong)| if n == 0 {
                    view! { <p class="notice ok" data-result="correct">"Correct: every cell is right."</p> }.into_any()
                } else {
                    view! {
                        <div class="notice warning" data-result="wrong">
                            <p>{format!("{n} cell{} wrong:", if n == 1 { " is" } else { "s are" })}</p>
                            <ul>{wrong.into_iter().take(12).map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                        </div>
                    }.into_any()
                })}
            </div>
            <h3>"The mask at work"</h3>
            <p>
                "The toy decoder computes the scores "<M tex=r"q_i \cdot k_j / \sqrt{d}"/>" of every query \
                 against every key, removes the masked ones (they become "<M tex=r"-\infty"/>"), and takes \
                 a softmax over what is left, so a masked key gets exactly zero weight. Run it with the \
                 correct mask or with yours, and pick the query to follow."
            </p>
            <div class="controls-grid">
                <div class="field">
                    <label for="in-mask">"Mask used by the decoder"</label>
                    <select id="in-mask" prop:value=move || if my_mask.get() { "mine" } else { "answer" }
                        on:change=move |ev| { let mine = event_target_value(&ev) == "mine"; settings.update(|s| s.my_mask = mine); }>
                        <option value="answer">"the correct mask"</option>
                        <option value="mine">"my grid"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="in-query">"Query to follow"</label>
                    <select id="in-query" prop:value=move || query.get().to_string()
                        on:change=move |ev| { if let Ok(i) = event_target_value(&ev).parse::<usize>() { settings.update(|s| s.query = i); } }>
                        {move || caption.get().into_iter().enumerate().map(|(i, w)| view! { <option value=i.to_string() selected=move || query.get() == i>{format!("{i}: {w}")}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            <div class="figure-row">
                <HeatmapPlot name="decoder-scores" title="Raw attention scores" width=560 height=440 heatmap=heat(0)/>
                <HeatmapPlot name="decoder-masked-scores" title="Masked attention scores" width=560 height=440 heatmap=heat(1)/>
                <HeatmapPlot name="decoder-weights" title="Softmax attention weights" width=560 height=440 heatmap=heat(2)/>
            </div>
            <div role="status" aria-live="polite" data-key="causal">
                {move || view_state.get().map(|v| {
                    let cap = caption.get();
                    let leaks: Vec<String> = v.reach.iter().enumerate().flat_map(|(j, outs)| {
                        let cap = cap.clone();
                        outs.iter().map(move |&i| format!(
                            "changing {} (position {j}) moved the output of {} (position {i}): the mask lets {} see a later token",
                            cap.get(j).cloned().unwrap_or_default(), cap.get(i).cloned().unwrap_or_default(), cap.get(i).cloned().unwrap_or_default()
                        )).collect::<Vec<_>>()
                    }).collect();
                    if leaks.is_empty() {
                        view! { <p class="notice ok" data-result="causal">{format!("Causal: changing any one of the {} caption tokens moved only its own output and later ones (checked by changing each token in turn).", cap.len())}</p> }.into_any()
                    } else {
                        view! {
                            <div class="notice warning" data-result="leaks">
                                <p>{format!("Not causal: {} way{} for a later token to reach an earlier output.", leaks.len(), if leaks.len() == 1 { "" } else { "s" })}</p>
                                <ul>{leaks.into_iter().take(8).map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                            </div>
                        }.into_any()
                    }
                })}
            </div>

            <h2>"(c) The cost of global and windowed attention"</h2>
            <p>
                "An "<M tex=r"H \times H"/>" image cut into "<M tex=r"P \times P"/>" patches gives "
                <M tex=r"T = (H/P)^2"/>" tokens. Global attention compares every token with every token, \
                 so its two products cost"
            </p>
            <MathBlock tex=r"4\,T^2 D = O\!\left(\frac{D H^4}{P^4}\right)\ \text{FLOPs},"/>
            <p>
                "while windows of "<M tex=r"K \times K"/>" patches let each token see only "<M tex="K^2"/>" others:"
            </p>
            <MathBlock tex=r"4\,T K^2 D = O\!\left(\frac{H^2 K^2 D}{P^2}\right)\ \text{FLOPs}."/>
            <p>
                "Doubling the image multiplies the first by 16 and the second by 4. The price is that a \
                 token no longer sees the whole image in one layer: models that use windows shift them \
                 between layers, or add a few global layers, so that information still travels across."
            </p>
            <div class="controls-grid">
                {COST_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
            {move || {
                let (h, p, k, d) = cost.get();
                match attention_cost(h, p, k, d) {
                    Ok(r) => view! {
                        <dl class="readout" aria-label="Attention cost">
                            <dt>"tokens T"</dt><dd data-key="tokens">{r.tokens}</dd>
                            <dt>"global"</dt><dd data-key="global">{format!("{:.3e} FLOPs", r.global_flops as f64)}</dd>
                            <dt>"windowed"</dt><dd data-key="windowed">{format!("{:.3e} FLOPs", r.windowed_flops as f64)}</dd>
                            <dt>"ratio"</dt><dd data-key="ratio">{format!("{:.1}× (= T / K²)", r.ratio)}</dd>
                        </dl>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                }
            }}
            <Plot name="attention-cost" title="Attention FLOPs against image size"
                summary=Signal::derive(move || cost_curve.get().summary())
                csv=Signal::derive(move || cost_curve.get().csv())
                draw=move |area, palette| draw_attention_cost(area, &cost_curve.get(), palette)/>
            <h3>"What one query sees"</h3>
            <div class="controls-grid">
                {QUERY_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
            {move || match window_view.get() {
                Some(_) => view! {
                    <Plot name="window-view" title="Patches one query sees" height=420
                        summary=Signal::derive(move || window_view.get().map(|w| w.summary()).unwrap_or_default())
                        csv=Signal::derive(move || window_view.get().map(|w| w.csv()).unwrap_or_default())
                        draw=move |area, palette| match window_view.get() {
                            Some(w) => draw_window_view(area, &w, palette),
                            None => area.fill(&palette.background).map_err(|e| e.to_string()),
                        }/>
                }.into_any(),
                None => view! { <p class="notice">"Choose a patch size that divides the image and a window that divides the patch grid to see which patches a query sees."</p> }.into_any(),
            }}
            <h3>"Measure it"</h3>
            <p>
                "The FLOP counts predict that global attention's time grows as "<M tex="H^4"/>" and \
                 windowed attention's as "<M tex="H^2"/>". Measure both here, on the engine's attention \
                 kernel (WebGPU when this page has it, else the CPU), at growing image sizes "
                <M tex=r"H = mPK"/>" with the calculator's "<M tex="P"/>", "<M tex="K"/>" and "<M tex="D"/>
                ". At small sizes fixed costs (launching the kernel, moving data) hide the scaling; it shows \
                 once the work dominates. The measurement stops growing the image once global attention \
                 takes 1.5 s."
            </p>
            <div class="buttons">
                <button type="button" class="primary" on:click=measure disabled=move || timing.get().running>"Measure"</button>
                <button type="button" on:click=stop disabled=move || !timing.get().running>"Stop"</button>
            </div>
            <div class="progress-row">
                <progress max="1" aria-label="Measurement progress"
                    value=move || { let t = timing.get(); if t.planned == 0 { 0.0 } else { (t.done as f64 + t.fraction) / t.planned as f64 } }></progress>
                <span class="counter" data-key="timing-count">{move || { let t = timing.get(); format!("{} of up to {} sizes", t.done, t.planned) }}</span>
            </div>
            {move || timing.get().message.map(|m| view! { <p class="notice warning" role="alert">{m}</p> })}
            <Plot name="attention-timing" title="Measured attention time"
                summary=Signal::derive(move || timing_data.get().summary())
                csv=Signal::derive(move || timing_data.get().csv())
                draw=move |area, palette| draw_attention_timing(area, &timing_data.get(), palette)/>
            <div class="table-scroll">
                <table class="numbers" aria-label="Measured attention time">
                    <thead><tr><th scope="col">"H"</th><th scope="col">"tokens T"</th><th scope="col">"global (ms)"</th><th scope="col">"windowed (ms)"</th><th scope="col">"global / windowed"</th></tr></thead>
                    <tbody>
                        {move || timing_data.get().rows.into_iter().map(|r| view! {
                            <tr data-image=r.image>
                                <td>{r.image}</td><td>{r.tokens}</td>
                                <td data-key="global-ms">{format!("{:.3}", r.global_ms)}</td>
                                <td data-key="windowed-ms">{format!("{:.3}", r.windowed_ms)}</td>
                                <td>{format!("{:.1}×", r.global_ms / r.windowed_ms.max(1e-9))}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <p data-key="exponents">{move || {
                let d = timing_data.get();
                match (exponent(&d.rows, |r| r.global_ms), exponent(&d.rows, |r| r.windowed_ms)) {
                    (Some(g), Some(w)) => format!(
                        "Between the two largest sizes, global attention's time grew as H^{g:.1} and windowed attention's as H^{w:.1} (predicted: 4 and 2)."
                    ),
                    _ => String::new(),
                }
            }}</p>
        </article>
    }
}

/// "1, 2 and 5"
fn list(v: &[usize]) -> String {
    let s: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    match s.as_slice() {
        [] => "none".into(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_lab::figures::heatmap::Heatmap;

    /// The decoder's heatmaps for settings, on the CPU reference.
    pub fn decoder_heatmaps(s: &Settings) -> Result<[Heatmap; 3], String> {
        let cap = tokenize(&s.caption);
        let (_, dec) = captioner::run(
            &Captioner::new(s.seed),
            &captioner::to_pixels(&s.picture.levels()),
            &cap,
            s.image_tokens,
            None,
        )?;
        let keys = caption_mask(&cap, s.image_tokens).keys;
        Ok(attention_heatmaps(&dec, &cap, &keys, Some(s.query)))
    }

    #[test]
    fn every_cell_has_an_explanation_that_agrees_with_the_mask() {
        let m = caption_mask(&tokenize(HOMEWORK_CAPTION), 3);
        for k in 0..m.keys.len() {
            for q in 0..m.queries.len() {
                let e = explain(&m, k, q);
                let says_open = e.contains("may attend") || e.contains("may look");
                assert_eq!(says_open, !m.masked[k][q], "{e}");
            }
        }
    }

    #[test]
    fn the_url_round_trips_and_bad_values_are_notices() {
        let mut s = Settings {
            caption: "<SOS> two cats <PAD> <PAD>".into(),
            image_tokens: 2,
            picture: Picture::Bundled("sun"),
            query: 2,
            my_mask: true,
            image: 448,
            ..Settings::default()
        };
        let grid: Vec<Vec<bool>> = (0..7)
            .map(|k| (0..5).map(|q| (k + q) % 3 == 0).collect())
            .collect();
        let loc = location_of(&s, &grid);
        let (back, g, notices) = settings_from_location(&Location::parse(&loc.to_hash()));
        assert_eq!(back, s);
        assert_eq!(g, Some(grid));
        assert!(notices.is_empty(), "{notices:?}");
        // A drawn picture travels as hexadecimal digits.
        let mut l = s.picture.levels();
        l[17] = 9;
        s.picture = Picture::Drawn(l);
        let loc = location_of(&s, &[]);
        let (back, _, _) = settings_from_location(&Location::parse(&loc.to_hash()));
        assert_eq!(back.picture, s.picture);
        assert!(
            !back.my_mask,
            "mask=mine without a grid falls back to the answer"
        );
        // The defaults make an empty query string.
        assert!(location_of(&Settings::default(), &[]).params.is_empty());
        for bad in [
            "caption=",
            "images=9",
            "picture=cat",
            "mask=both",
            "grid=0101",
            "query=7",
            "patch=x",
        ] {
            let (s, _, n) = settings_from_location(&Location::parse(&format!("#/attention?{bad}")));
            assert_eq!(n.len(), 1, "{bad}: {n:?}");
            assert_eq!(s, Settings::default(), "{bad}");
        }
    }

    #[test]
    fn the_page_heatmaps_follow_the_query_and_the_mask() {
        let [raw, masked, weights] = decoder_heatmaps(&Settings::default()).unwrap();
        assert_eq!(raw.highlight_col, Some(1));
        // Query "a" (column 1) may see <SOS> and itself and the image tokens, nothing else.
        let open: Vec<usize> = (0..8).filter(|&k| masked.get(k, 1).is_some()).collect();
        assert_eq!(open, vec![0, 1, 5, 6, 7]);
        assert!((0..8).all(|k| weights.get(k, 4).is_none()));
    }

    #[test]
    fn a_list_reads_as_words() {
        assert_eq!(list(&[]), "none");
        assert_eq!(list(&[3]), "3");
        assert_eq!(list(&[1, 2, 5]), "1, 2 and 5");
    }
}

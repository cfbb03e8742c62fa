//! Chapter 6, "Pruning the trained network": weight histograms with the pruning threshold,
//! fine-grained magnitude pruning with per-layer sparsities (sizes and test accuracy recomputed as the
//! controls move), the sensitivity scan, the lab's goal as a fine-tuning exercise, channel pruning
//! (sorted or not; accuracy, fine-tuning, measured latency) and the comparison. Every number is
//! computed here from the committed network and the real test images.

use crate::engine::Engine;
use crate::ui::controls::FieldInput;
use crate::ui::plot::Plot;
use crate::ui::run_controls::{RunControls, Speed};
use crate::url_state::{read_fields, write_fields, Location, NumField};
use crate::vision::data::{accuracy_of, classify, ensure_loaded, mib, LoadState, Loaded};
use crate::vision::finetune::{self, TuneSpec};
use crate::web;
use glassbox_lab::compress::prune::{self, LayerReport, Sensitivity};
use glassbox_lab::figures::{self, SensitivityData, WeightHistogram};
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::vgg::{self, Arch};
use leptos::prelude::*;
use std::rc::Rc;
use std::sync::Arc;

pub const SLUG: &str = "pruning";

/// Prunable layers of the image lab's network: conv1..conv8, linear.
const LAYERS: usize = 9;
const NAMES: [&str; LAYERS] = [
    "conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "conv8", "linear",
];

#[derive(Clone, Debug, PartialEq)]
pub struct PruneSettings {
    pub sparsity: [f64; LAYERS],
    /// The layer whose histogram (and mask) is shown.
    pub layer: usize,
    pub eval_images: usize,
    pub scan_from: f64,
    pub scan_to: f64,
    pub scan_step: f64,
    pub scan_images: usize,
    pub ft_steps: usize,
    pub ft_batch: usize,
    pub ft_lr: f64,
    pub ft_seed: u64,
    /// Channel pruning ratio, and whether channels are sorted by importance first.
    pub ch_ratio: f64,
    pub ch_sort: bool,
}

impl Default for PruneSettings {
    fn default() -> Self {
        PruneSettings {
            sparsity: [0.0; LAYERS],
            layer: 1,
            eval_images: 1000,
            scan_from: 0.4,
            scan_to: 0.9,
            scan_step: 0.1,
            scan_images: 500,
            ft_steps: 300,
            ft_batch: 32,
            ft_lr: 0.01,
            ft_seed: 0,
            ch_ratio: 0.3,
            ch_sort: true,
        }
    }
}

impl PruneSettings {
    /// The scan's sparsities: from, from + step, ... up to `to`.
    pub fn grid(&self) -> Vec<f64> {
        let n = ((self.scan_to - self.scan_from) / self.scan_step + 1e-9)
            .floor()
            .max(0.0) as usize;
        (0..=n)
            .map(|i| ((self.scan_from + i as f64 * self.scan_step) * 1000.0).round() / 1000.0)
            .collect()
    }
}

macro_rules! sparsity_fields {
    ($($i:literal => $key:literal, $label:literal;)*) => {
        [$(NumField {
            key: $key,
            label: $label,
            min: 0.0,
            max: 0.99,
            step: 0.01,
            integer: false,
            get: |s: &PruneSettings| s.sparsity[$i],
            set: |s: &mut PruneSettings, v| s.sparsity[$i] = v,
        },)*]
    };
}

static SPARSITY_FIELDS: [NumField<PruneSettings>; LAYERS] = sparsity_fields! {
    0 => "s_conv1", "conv1 sparsity";
    1 => "s_conv2", "conv2 sparsity";
    2 => "s_conv3", "conv3 sparsity";
    3 => "s_conv4", "conv4 sparsity";
    4 => "s_conv5", "conv5 sparsity";
    5 => "s_conv6", "conv6 sparsity";
    6 => "s_conv7", "conv7 sparsity";
    7 => "s_conv8", "conv8 sparsity";
    8 => "s_linear", "linear sparsity";
};

static OTHER_FIELDS: [NumField<PruneSettings>; 5] = [
    NumField {
        key: "eval_images",
        label: "Test images for the accuracy",
        min: 100.0,
        max: 10_000.0,
        step: 100.0,
        integer: true,
        get: |s| s.eval_images as f64,
        set: |s, v| s.eval_images = v as usize,
    },
    NumField {
        key: "scan_from",
        label: "Scan from sparsity",
        min: 0.05,
        max: 0.95,
        step: 0.05,
        integer: false,
        get: |s| s.scan_from,
        set: |s, v| s.scan_from = v,
    },
    NumField {
        key: "scan_to",
        label: "Scan to sparsity",
        min: 0.05,
        max: 0.99,
        step: 0.01,
        integer: false,
        get: |s| s.scan_to,
        set: |s, v| s.scan_to = v,
    },
    NumField {
        key: "scan_step",
        label: "Scan step",
        min: 0.05,
        max: 0.5,
        step: 0.05,
        integer: false,
        get: |s| s.scan_step,
        set: |s, v| s.scan_step = v,
    },
    NumField {
        key: "scan_images",
        label: "Test images per scan point",
        min: 100.0,
        max: 10_000.0,
        step: 100.0,
        integer: true,
        get: |s| s.scan_images as f64,
        set: |s, v| s.scan_images = v as usize,
    },
];

static TUNE_FIELDS: [NumField<PruneSettings>; 4] = [
    NumField {
        key: "ft_steps",
        label: "Fine-tuning steps",
        min: 1.0,
        max: 5000.0,
        step: 1.0,
        integer: true,
        get: |s| s.ft_steps as f64,
        set: |s, v| s.ft_steps = v as usize,
    },
    NumField {
        key: "ft_batch",
        label: "Batch size",
        min: 8.0,
        max: 128.0,
        step: 8.0,
        integer: true,
        get: |s| s.ft_batch as f64,
        set: |s, v| s.ft_batch = v as usize,
    },
    NumField {
        key: "ft_lr",
        label: "Learning rate (start of the cosine schedule)",
        min: 0.0001,
        max: 0.5,
        step: 0.0001,
        integer: false,
        get: |s| s.ft_lr,
        set: |s, v| s.ft_lr = v,
    },
    NumField {
        key: "ft_seed",
        label: "Seed (batch order and augmentation)",
        min: 0.0,
        max: 1_000_000.0,
        step: 1.0,
        integer: true,
        get: |s| s.ft_seed as f64,
        set: |s, v| s.ft_seed = v as u64,
    },
];

static CH_FIELD: NumField<PruneSettings> = NumField {
    key: "ch_ratio",
    label: "Channel pruning ratio r",
    min: 0.0,
    max: 0.9,
    step: 0.05,
    integer: false,
    get: |s| s.ch_ratio,
    set: |s, v| s.ch_ratio = v,
};

/// Settings from the URL, with a notice per bad parameter.
pub fn settings_from_location(loc: &Location) -> (PruneSettings, Vec<String>) {
    let mut s = PruneSettings::default();
    let mut notices = Vec::new();
    read_fields(loc, &SPARSITY_FIELDS, &mut s, &mut notices);
    read_fields(loc, &OTHER_FIELDS, &mut s, &mut notices);
    read_fields(loc, &TUNE_FIELDS, &mut s, &mut notices);
    read_fields(loc, std::slice::from_ref(&CH_FIELD), &mut s, &mut notices);
    match loc.get("ch_sort") {
        None => {}
        Some("1") => s.ch_sort = true,
        Some("0") => s.ch_sort = false,
        Some(v) => notices.push(format!(
            "URL parameter ch_sort: '{v}' is not 0 or 1; using 1 (sorted)."
        )),
    }
    if let Some(v) = loc.get("layer") {
        match NAMES.iter().position(|n| *n == v) {
            Some(i) => s.layer = i,
            None => notices.push(format!(
                "URL parameter layer: '{v}' is not one of {}; using conv2.",
                NAMES.join(", ")
            )),
        }
    }
    if s.scan_to < s.scan_from {
        notices.push("URL parameters scan_from and scan_to: the scan must end at or after its start; using the defaults.".into());
        let d = PruneSettings::default();
        (s.scan_from, s.scan_to) = (d.scan_from, d.scan_to);
    }
    (s, notices)
}

pub fn location_of(s: &PruneSettings) -> Location {
    let mut params = Vec::new();
    let d = PruneSettings::default();
    write_fields(&SPARSITY_FIELDS, s, &d, &mut params);
    if s.layer != d.layer {
        params.push(("layer".into(), NAMES[s.layer].into()));
    }
    write_fields(&OTHER_FIELDS, s, &d, &mut params);
    write_fields(&TUNE_FIELDS, s, &d, &mut params);
    write_fields(std::slice::from_ref(&CH_FIELD), s, &d, &mut params);
    if s.ch_sort != d.ch_sort {
        params.push(("ch_sort".into(), if s.ch_sort { "1" } else { "0" }.into()));
    }
    Location {
        route: SLUG.into(),
        params,
    }
}

/// The pruned network and what pruning did, for the current sparsities.
#[derive(Clone, PartialEq)]
struct Pruned {
    net: Network,
    masks: prune::Masks,
    report: Vec<LayerReport>,
    thresholds: Vec<f32>,
    dense_bits: u64,
    sparse_bits: u64,
}

fn prune_all(dense: &Network, sparsity: &[f64; LAYERS]) -> Result<Pruned, String> {
    let mut net = dense.clone();
    let (masks, thresholds) = prune::prune_layers(&mut net, sparsity)?;
    Ok(Pruned {
        masks,
        report: prune::report(&net, sparsity),
        dense_bits: prune::model_bits(dense, false),
        sparse_bits: prune::model_bits(&net, true),
        thresholds,
        net,
    })
}

/// The keep-mask of a small tensor as an image: one cell per weight, a row per output channel.
fn draw_mask(canvas: &web_sys::HtmlCanvasElement, net: &Network, layer: usize, dark: bool) {
    let Some(ctx) = web::context_2d(canvas) else {
        return;
    };
    let w = prune::weights(net, layer);
    let rows = net
        .blocks
        .get(layer)
        .map(|b| b.c_out)
        .unwrap_or(net.classes());
    let cols = w.len() / rows.max(1);
    // Cells as large as fit 720 pixels across (at most 24); the canvas takes their size and is shown
    // at it (narrower on a phone), with its own proportions.
    let cell = (720.0 / cols.max(1) as f64).clamp(2.0, 24.0).floor();
    let (w_px, h_px) = ((cell * cols as f64) as u32, (cell * rows as f64) as u32);
    canvas.set_width(w_px);
    canvas.set_height(h_px);
    let style = web_sys::HtmlElement::style(canvas);
    let _ = style.set_property("width", &format!("min(100%, {w_px}px)"));
    let _ = style.set_property("aspect-ratio", &format!("{w_px} / {h_px}"));
    ctx.set_fill_style_str(if dark { "#181a20" } else { "#ffffff" });
    ctx.fill_rect(0.0, 0.0, w_px as f64, h_px as f64);
    ctx.set_fill_style_str(if dark { "#56b4e9" } else { "#0072b2" });
    // A one-pixel gap between cells once they are large enough to show it.
    let gap = if cell >= 4.0 { 1.0 } else { 0.0 };
    for r in 0..rows {
        for c in 0..cols {
            if w[r * cols + c] != 0.0 {
                ctx.fill_rect(c as f64 * cell, r as f64 * cell, cell - gap, cell - gap);
            }
        }
    }
}

/// Median milliseconds of one image's forward pass of each network (dense, fine-grained pruned,
/// channel-pruned), on the CPU and, when the page uses it, on WebGPU (one submission per image).
#[derive(Clone, Debug, PartialEq)]
struct Latency {
    cpu: Vec<f64>,
    gpu: Option<Vec<f64>>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

async fn measure_latency(l: &Loaded, nets: &[&Network], engine: Engine) -> Latency {
    let (x, _) = glassbox_lab::vision::train::batch(&l.data.test, &[0], None);
    // Each sample times 5 passes (about 10 ms, well above the browser's timer resolution); the
    // networks take turns, so a slow moment of the machine does not fall on one of them only.
    let mut copies: Vec<Network> = nets.iter().map(|n| (*n).clone()).collect();
    let mut samples = vec![Vec::new(); nets.len()];
    for _ in 0..15 {
        for (k, net) in copies.iter_mut().enumerate() {
            let t = web::now_ms();
            for _ in 0..5 {
                std::hint::black_box(net.forward(&x, 1, false));
            }
            samples[k].push((web::now_ms() - t) / 5.0);
        }
        web::sleep(0).await;
    }
    let cpu = samples.into_iter().map(median).collect();
    engine.settled().await;
    let mut gpu_times = None;
    if let Some(gpu) = engine.gpu() {
        let mut out = Vec::new();
        for net in nets {
            let Ok(resident) = gpu.upload(net) else {
                break;
            };
            let mut times = Vec::new();
            for _ in 0..11 {
                let t = web::now_ms();
                if let Err(e) = resident.logits(&gpu, &x, 1).await {
                    engine.report(&e);
                    break;
                }
                times.push(web::now_ms() - t);
            }
            if times.len() == 11 {
                out.push(median(times));
            }
        }
        if out.len() == nets.len() {
            gpu_times = Some(out);
        }
    }
    Latency {
        cpu,
        gpu: gpu_times,
    }
}

/// Largest tensor drawn as a mask image.
const MASK_MAX: usize = 4608;

#[derive(Clone, Debug, PartialEq)]
enum Accuracy {
    Idle,
    Running(f64),
    /// (dense, pruned, images, where it ran)
    Done(f64, f64, usize, &'static str),
}

#[component]
pub fn Pruning(location: Location) -> impl IntoView {
    let (start, notices) = settings_from_location(&location);
    let settings = RwSignal::new(start);
    Effect::new(move |_| web::publish(&location_of(&settings.get())));
    let engine = expect_context::<Engine>();
    let theme = use_context::<crate::ui::Theme>();
    let load = RwSignal::new(LoadState::Idle);
    let lab = RwSignal::new_local(None::<Rc<Loaded>>);
    crate::tasks::spawn_page_task(async move {
        if let Some(l) = ensure_loaded(load).await {
            lab.set(Some(l));
        }
    });

    let sparsity = Memo::new(move |_| settings.get().sparsity);
    let pruned = Memo::new(move |_| {
        lab.get()
            .map(|l| prune_all(&l.pretrained, &sparsity.get()).map(Arc::new))
    });
    let eval_images = Memo::new(move |_| settings.get().eval_images);
    let layer = Memo::new(move |_| settings.get().layer);
    let histogram = Memo::new(move |_| {
        let l = lab.get()?;
        let i = layer.get();
        let s = sparsity.get()[i];
        let w = prune::weights(&l.pretrained, i);
        let t = pruned
            .get()
            .and_then(|p| p.ok())
            .map(|p| p.thresholds[i])
            .unwrap_or(0.0);
        Some(WeightHistogram::new(NAMES[i], w, t, s, 60))
    });

    // Test accuracy of the dense and pruned networks, recomputed (after a pause) when they change.
    let accuracy = RwSignal::new(Accuracy::Idle);
    let dense_acc = StoredValue::new_local(None::<(usize, f64)>);
    let generation = StoredValue::new_local(0u64);
    Effect::new(move |_| {
        let (Some(l), Some(Ok(p))) = (lab.get(), pruned.get()) else {
            return;
        };
        let count = eval_images.get().min(l.data.test.len());
        let g = generation.get_value() + 1;
        generation.set_value(g);
        let alive = move || generation.get_value() == g;
        crate::tasks::spawn_page_task(async move {
            web::sleep(250).await;
            if !alive() {
                return;
            }
            let acc = |preds: &[u32]| accuracy_of(&l.data.test, preds);
            let dense = match dense_acc.get_value() {
                Some((n, a)) if n == count => a,
                _ => {
                    let progress = move |f: f64| accuracy.set(Accuracy::Running(f / 2.0));
                    let Some((preds, ..)) = classify(
                        &l.data,
                        l.pretrained.clone(),
                        count,
                        engine,
                        progress,
                        alive,
                    )
                    .await
                    else {
                        return;
                    };
                    let a = acc(&preds);
                    dense_acc.set_value(Some((count, a)));
                    a
                }
            };
            let progress = move |f: f64| accuracy.set(Accuracy::Running(0.5 + f / 2.0));
            let Some((preds, _, ran)) =
                classify(&l.data, p.net.clone(), count, engine, progress, alive).await
            else {
                return;
            };
            accuracy.set(Accuracy::Done(dense, acc(&preds), count, ran));
        });
    });

    // The sensitivity scan, resumable, in slices.
    let scan = RwSignal::new(SensitivityData::default());
    let scan_state = RwSignal::new((false, 0usize, 0usize)); // (running, finished, total)
    let scan_generation = StoredValue::new_local(0u64);
    let scan_error = RwSignal::new(None::<String>);
    let run_scan = move |_| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let s = settings.get_untracked();
        let mut job = match Sensitivity::new(&l.pretrained, &s.grid()) {
            Ok(j) => j,
            Err(e) => {
                scan_error.set(Some(e));
                return;
            }
        };
        scan_error.set(None);
        let g = scan_generation.get_value() + 1;
        scan_generation.set_value(g);
        let alive = move || scan_generation.get_value() == g;
        let count = s.scan_images.min(l.data.test.len());
        scan_state.set((true, 0, job.progress().1));
        scan.set(SensitivityData::default());
        crate::tasks::spawn_page_task(async move {
            // Each network of the scan classifies the test images on WebGPU or the CPU.
            while let Some(net) = job.next() {
                let Some((preds, ..)) = classify(&l.data, net, count, engine, |_| {}, alive).await
                else {
                    return;
                };
                job.record(accuracy_of(&l.data.test, &preds));
                let (done, total) = job.progress();
                scan_state.set((!job.done(), done, total));
                scan.set(SensitivityData {
                    dense_accuracy: job.dense_accuracy,
                    layers: job.partial(),
                });
                // Let the figure redraw in its own task before the next network's first slice.
                web::sleep(0).await;
            }
        });
    };
    let stop_scan = move |_| {
        scan_generation.update_value(|g| *g += 1);
        scan_state.update(|s| s.0 = false);
    };
    let suggest = move |_| {
        let (Some(l), d) = (lab.get_untracked(), scan.get_untracked()) else {
            return;
        };
        let (Some(dense), true) = (d.dense_accuracy, d.layers.len() == LAYERS) else {
            return;
        };
        let s = prune::suggest(&l.pretrained, &d.layers, dense);
        settings.update(|st| {
            for (i, v) in s.into_iter().enumerate() {
                st.sparsity[i] = v;
            }
        });
    };

    // The lab's goal as an exercise: fine-tune the pruned network with its masks kept, then check.
    let model = StoredValue::new_local(finetune::Model::default());
    let tuning = RwSignal::new(finetune::Tuning::default());
    let speed = RwSignal::new(Speed::Fast);
    let verdict = RwSignal::new(None::<Result<(prune::Goal, f64, f64, usize), String>>);
    let checking = RwSignal::new(false);
    // A new pruning (or new fine-tuning settings) starts the fine-tuning over from the pruned network.
    let tune_key = Memo::new(move |_| {
        settings.with(|s| (s.ft_steps, s.ft_batch, s.ft_lr.to_bits(), s.ft_seed))
    });
    Effect::new(move |_| {
        let p = pruned.get();
        tune_key.track();
        if let Some(Ok(p)) = p {
            finetune::reset(
                model,
                tuning,
                Some(p.net.clone()),
                finetune::Keep::Masks(p.masks.clone()),
            );
            verdict.set(None);
        }
    });
    let run_tuning = move |single: bool| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let s = settings.get_untracked();
        let spec = TuneSpec {
            steps: s.ft_steps,
            batch: s.ft_batch,
            lr: s.ft_lr,
            seed: s.ft_seed,
            done_hint: " Check the result below.",
            stop_every: None,
        };
        finetune::run(model, tuning, l, spec, engine, speed, single);
    };
    let check = move |_| {
        let (Some(l), Some(Ok(p))) = (lab.get_untracked(), pruned.get_untracked()) else {
            return;
        };
        checking.set(true);
        verdict.set(None);
        crate::tasks::spawn_page_task(async move {
            let count = eval_images.get_untracked().min(l.data.test.len());
            let net = finetune::current_network(model, engine, &p.net).await;
            let sparse_bits = prune::model_bits(&net, true);
            let dense = match dense_acc.get_value() {
                Some((n, a)) if n == count => Some(a),
                _ => classify(
                    &l.data,
                    l.pretrained.clone(),
                    count,
                    engine,
                    |_| {},
                    || true,
                )
                .await
                .map(|(p, ..)| accuracy_of(&l.data.test, &p)),
            };
            let tuned = classify(&l.data, net, count, engine, |_| {}, || true)
                .await
                .map(|(p, ..)| accuracy_of(&l.data.test, &p));
            verdict.set(Some(match (dense, tuned) {
                (Some(d), Some(a)) => Ok((
                    prune::check_goal(p.dense_bits, sparse_bits, d, a),
                    d,
                    a,
                    count,
                )),
                _ => Err("The evaluation did not finish.".into()),
            }));
            checking.set(false);
        });
    };
    let tune_points = Signal::derive(move || tuning.get().points);
    let tune_steps =
        Signal::derive(move || tuning.get().points.last().map(|p| p.step).unwrap_or(0));

    // Channel pruning: sorted (or not), pruned, its accuracy, fine-tuning, and measured latency.
    let ch_key = Memo::new(move |_| settings.with(|s| (s.ch_ratio.to_bits(), s.ch_sort)));
    let channel = Memo::new(move |_| {
        let l = lab.get()?;
        let (r, sort) = ch_key.get();
        let start = if sort {
            prune::sort_channels(&l.pretrained)
        } else {
            l.pretrained.clone()
        };
        Some(prune::channel_prune(&start, f64::from_bits(r)).map(Arc::new))
    });
    let ch_before = RwSignal::new(None::<(f64, usize, &'static str)>);
    let ch_after = RwSignal::new(None::<(f64, usize, usize)>);
    let ch_generation = StoredValue::new_local(0u64);
    let ch_model = StoredValue::new_local(finetune::Model::default());
    let ch_tuning = RwSignal::new(finetune::Tuning::default());
    let ch_speed = RwSignal::new(Speed::Fast);
    Effect::new(move |_| {
        tune_key.track();
        let (Some(l), Some(Ok(net))) = (lab.get(), channel.get()) else {
            return;
        };
        finetune::reset(
            ch_model,
            ch_tuning,
            Some((*net).clone()),
            finetune::Keep::Nothing,
        );
        ch_before.set(None);
        ch_after.set(None);
        let count = eval_images.get().min(l.data.test.len());
        let g = ch_generation.get_value() + 1;
        ch_generation.set_value(g);
        let alive = move || ch_generation.get_value() == g;
        crate::tasks::spawn_page_task(async move {
            web::sleep(250).await;
            if !alive() {
                return;
            }
            if let Some((preds, _, ran)) =
                classify(&l.data, (*net).clone(), count, engine, |_| {}, alive).await
            {
                ch_before.set(Some((accuracy_of(&l.data.test, &preds), count, ran)));
            }
        });
    });
    let ch_run = move |single: bool| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let s = settings.get_untracked();
        let spec = TuneSpec {
            steps: s.ft_steps,
            batch: s.ft_batch,
            lr: s.ft_lr,
            seed: s.ft_seed,
            done_hint: " Evaluate it below.",
            stop_every: None,
        };
        finetune::run(ch_model, ch_tuning, l, spec, engine, ch_speed, single);
    };
    let ch_evaluating = RwSignal::new(false);
    let ch_evaluate = move |_| {
        let (Some(l), Some(Ok(net))) = (lab.get_untracked(), channel.get_untracked()) else {
            return;
        };
        ch_evaluating.set(true);
        crate::tasks::spawn_page_task(async move {
            let count = eval_images.get_untracked().min(l.data.test.len());
            let tuned = finetune::current_network(ch_model, engine, &net).await;
            let steps = ch_tuning
                .get_untracked()
                .points
                .last()
                .map(|p| p.step)
                .unwrap_or(0);
            if let Some((preds, ..)) =
                classify(&l.data, tuned, count, engine, |_| {}, || true).await
            {
                ch_after.set(Some((accuracy_of(&l.data.test, &preds), count, steps)));
            }
            ch_evaluating.set(false);
        });
    };
    let latency = RwSignal::new(None::<Latency>);
    let measuring = RwSignal::new(false);
    let measure = move |_| {
        let (Some(l), Some(Ok(ch)), Some(Ok(fine))) = (
            lab.get_untracked(),
            channel.get_untracked(),
            pruned.get_untracked(),
        ) else {
            return;
        };
        measuring.set(true);
        crate::tasks::spawn_page_task(async move {
            let nets = [&l.pretrained, &fine.net, &*ch];
            latency.set(Some(measure_latency(&l, &nets, engine).await));
            measuring.set(false);
        });
    };

    let mask_ref = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        let dark = theme.map(|t| t.dark.get()).unwrap_or(false);
        let i = layer.get();
        if let (Some(c), Some(Ok(p))) = (mask_ref.get(), pruned.get()) {
            if prune::weights(&p.net, i).len() <= MASK_MAX {
                draw_mask(&c, &p.net, i, dark);
            }
        }
    });

    let hist_summary =
        Signal::derive(move || histogram.get().map(|h| h.summary()).unwrap_or_default());
    let hist_csv = Signal::derive(move || histogram.get().map(|h| h.csv()).unwrap_or_default());
    let scan_summary = Signal::derive(move || scan.get().summary());
    let scan_csv = Signal::derive(move || scan.get().csv());

    view! {
        <article class="chapter">
            <h1>"Pruning the trained network"</h1>
            {notices.into_iter().map(|n| view! { <p class="notice warning" role="alert">{n}</p> }).collect_view()}
            <p>
                "A trained network holds many weights it hardly uses. Pruning removes them: set a weight \
                 to zero and it no longer needs storing (with sparse storage) or multiplying (with hardware \
                 that skips zeros). Everything below runs on the network of the image lab, trained on \
                 Fashion-MNIST, and its real test images, in this browser."
            </p>
            <p class="status" role="status" aria-live="polite">{move || load.get().message().unwrap_or_default()}</p>
            <progress max="1" aria-label="Download progress" value=move || load.get().fraction()></progress>

            <section aria-labelledby="hist">
                <h2 id="hist">"Where the weights are"</h2>
                <p>
                    "Pick a layer: its weights pile up around zero and thin out fast towards the tails. \
                     Removing the smallest ones changes each output a little, which is why a trained \
                     network tolerates a lot of pruning. The shaded bars are the weights the layer's \
                     sparsity below would remove; the orange lines mark the threshold ±t."
                </p>
                <label class="field">"Layer "
                    <select aria-label="Layer" prop:value=move || NAMES[layer.get()]
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            if let Some(i) = NAMES.iter().position(|n| *n == v) {
                                settings.update(|s| s.layer = i);
                            }
                        }>
                        {NAMES.iter().map(|n| view! { <option value=*n>{*n}</option> }).collect_view()}
                    </select>
                </label>
                <Plot name="weight-histogram" title="Weight histogram" summary=hist_summary csv=hist_csv
                    draw=move |area, palette| match histogram.get() {
                        Some(h) => figures::draw_weight_histogram(area, &h, palette),
                        None => area.fill(&palette.background).map_err(|e| e.to_string()),
                    }/>
                {move || {
                    let i = layer.get();
                    let small = lab.get().map(|l| prune::weights(&l.pretrained, i).len() <= MASK_MAX).unwrap_or(false);
                    small.then(|| view! {
                        <p>"The mask of this small layer: one cell per weight, a row per output channel; coloured cells are kept."</p>
                    })
                }}
                <div style=move || if lab.get().map(|l| prune::weights(&l.pretrained, layer.get()).len() <= MASK_MAX).unwrap_or(false) { "" } else { "display: none" }>
                    <canvas node_ref=mask_ref width="216" height="384" class="mask" role="img"
                        aria-label=move || format!("Keep-mask of {}: coloured cells are kept weights.", NAMES[layer.get()])></canvas>
                </div>
            </section>

            <section aria-labelledby="fine">
                <h2 id="fine">"Fine-grained pruning"</h2>
                <p>
                    "The rule, per tensor: to reach sparsity s, set the round(s · n) weights of smallest \
                     magnitude to zero (n = the tensor's number of weights). Choose a sparsity per layer; \
                     the table, the sizes and the test accuracy follow. Dense size counts every parameter \
                     at 32 bits; sparse size counts only the nonzero ones at 32 bits, as the original lab \
                     does (real sparse formats also store where the nonzeros are, which this ignores)."
                </p>
                <div class="controls-grid">
                    {SPARSITY_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                    <FieldInput field=&OTHER_FIELDS[0] settings=settings/>
                </div>
                {move || match pruned.get() {
                    None => ().into_any(),
                    Some(Err(e)) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                    Some(Ok(p)) => view! {
                        <div class="table-scroll">
                        <table class="numbers" aria-label="Pruned layers">
                            <thead><tr>
                                <th scope="col">"layer"</th><th scope="col">"weights"</th><th scope="col">"target"</th>
                                <th scope="col">"achieved"</th><th scope="col">"zeros"</th><th scope="col">"threshold t"</th>
                            </tr></thead>
                            <tbody>
                                {p.report.iter().zip(&p.thresholds).map(|(r, t)| view! {
                                    <tr data-layer=r.name.clone()>
                                        <th scope="row">{r.name.clone()}</th><td>{r.numel}</td>
                                        <td>{format!("{:.2}", r.target)}</td><td data-col="achieved">{format!("{:.4}", r.achieved)}</td>
                                        <td>{r.zeros}</td><td>{format!("{t:.4}")}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                        <p data-key="size">{format!(
                            "Size: {} dense, {} sparse ({:.1}% of dense).",
                            mib(p.dense_bits), mib(p.sparse_bits), 100.0 * p.sparse_bits as f64 / p.dense_bits as f64
                        )}</p>
                        <p data-key="params">{format!(
                            "Nonzero parameters: {} of {} (weights, batch-norm scales and shifts, the linear bias).",
                            p.sparse_bits / 32, p.dense_bits / 32
                        )}</p>
                    }.into_any(),
                }}
                <p class="big-number" data-key="accuracy">{move || match accuracy.get() {
                    Accuracy::Idle => "Test accuracy: waiting for the data…".to_string(),
                    Accuracy::Running(f) => format!("Test accuracy: computing… {:.0}%", 100.0 * f),
                    Accuracy::Done(d, a, n, ran) => format!(
                        "Test accuracy on the first {n} test images: {:.2}% pruned, {:.2}% dense ({ran}).",
                        100.0 * a, 100.0 * d
                    ),
                }}</p>
            </section>

            <section aria-labelledby="scan">
                <h2 id="scan">"Sensitivity scan"</h2>
                <p>
                    "Which layers can lose the most? Prune one layer at a time, leave the others dense, and \
                     measure the accuracy at each sparsity of the scan. In the original lab (a VGG on \
                     CIFAR-10) the first convolution was the most sensitive: it has the fewest weights, and \
                     everything after it depends on its few features."
                </p>
                <div class="controls-grid">
                    {OTHER_FIELDS[1..].iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                </div>
                <div class="buttons">
                    <button type="button" class="primary" on:click=run_scan
                        disabled=move || lab.get().is_none() || scan_state.get().0>"Run the scan"</button>
                    <button type="button" on:click=stop_scan disabled=move || !scan_state.get().0>"Stop"</button>
                    <button type="button" on:click=suggest
                        disabled=move || scan_state.get().0 || scan.get().layers.len() != LAYERS || scan.get().layers.iter().any(|l| l.accuracy.len() != settings.get().grid().len())>
                        "Use the scan's suggestion"</button>
                </div>
                {move || scan_error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
                <div class="progress-row">
                    <progress max="1" aria-label="Scan progress" value=move || {
                        let (_, d, t) = scan_state.get();
                        if t == 0 { 0.0 } else { d as f64 / t as f64 }
                    }></progress>
                    <span class="counter" data-key="scan-progress">{move || {
                        let (_, d, t) = scan_state.get();
                        format!("{d} / {t} evaluations")
                    }}</span>
                </div>
                <Plot name="sensitivity" title="Sensitivity scan" summary=scan_summary csv=scan_csv
                    draw=move |area, palette| figures::draw_sensitivity(area, &scan.get(), palette)/>
                <p data-key="most-sensitive">{move || {
                    let d = scan.get();
                    let (running, ..) = scan_state.get();
                    match (running, d.dense_accuracy, d.most_sensitive()) {
                        (false, Some(_), Some((name, a))) if d.layers.len() == LAYERS => format!(
                            "In our network the most sensitive layer is {name} ({:.1}% at the scan's largest sparsity){}.",
                            100.0 * a,
                            if name == "conv1" { ", as in the original lab" } else { "; in the original lab it was the first convolution" }
                        ),
                        _ => String::new(),
                    }
                }}</p>
                <p>
                    "The suggestion takes, for every layer, the largest scanned sparsity that costs at most \
                     half a point of accuracy on its own, and allows more loss, half a point at a time, until \
                     the model is at most a quarter of its dense size."
                </p>
            </section>

            <section aria-labelledby="goal">
                <h2 id="goal">"Exercise: a quarter of the size, the same accuracy"</h2>
                <p>
                    "The original lab's goal: choose per-layer sparsities so that the model is at most 25% of \
                     its dense size, then fine-tune with the masks re-applied after every step (pruned \
                     weights stay zero) until the accuracy is within half a point of the dense network's. \
                     A sparse network loses accuracy at once, and fine-tuning wins most of it back: the \
                     surviving weights learn to do the work of the removed ones. Start from the scan's \
                     suggestion, or from your own sparsities above; then fine-tune and check."
                </p>
                <div class="controls-grid">
                    {TUNE_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                </div>
                <RunControls
                    label="Fine-tuning the pruned network"
                    running=Signal::derive(move || tuning.get().running)
                    can_run=Signal::derive(move || lab.get().is_some() && tuning.get().points.last().map(|p| p.step) != Some(settings.get().ft_steps))
                    iteration=tune_steps
                    total=Signal::derive(move || settings.get().ft_steps)
                    progress=Signal::derive(move || tune_steps.get() as f64 / settings.get().ft_steps.max(1) as f64)
                    status=Signal::derive(move || tuning.get().status_line())
                    speed=speed
                    on_run=move || run_tuning(false)
                    on_pause=move || tuning.update(|t| t.request_pause())
                    on_step=move || run_tuning(true)
                    on_reset=move || {
                        if let Some(Ok(p)) = pruned.get_untracked() {
                            finetune::reset(model, tuning, Some(p.net.clone()), finetune::Keep::Masks(p.masks.clone()));
                        }
                        verdict.set(None);
                    }
                />
                <Plot name="pruned-fine-tuning" title="Fine-tuning the pruned network"
                    summary=Signal::derive(move || figures::training_summary(&tune_points.get()))
                    csv=Signal::derive(move || figures::training_csv(&tune_points.get()))
                    draw=move |area, palette| figures::draw_training(area, &tune_points.get(), palette)/>
                <button type="button" class="primary" on:click=check
                    disabled=move || lab.get().is_none() || tuning.get().running || checking.get()>
                    "Check the goal"
                </button>
                <div data-key="verdict" role="status" aria-live="polite">{move || {
                    if checking.get() {
                        return view! { <p>"Evaluating the pruned network and the dense one…"</p> }.into_any();
                    }
                    match verdict.get() {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <p class="notice error">{e}</p> }.into_any(),
                        Some(Ok((g, d, a, n))) => {
                            let ok = g.size_ok && g.accuracy_ok;
                            let size = if g.size_ok {
                                format!("Size: {:.1}% of dense, within the 25% budget.", 100.0 * g.size_ratio)
                            } else {
                                format!("Size: {:.1}% of dense, over the 25% budget: prune more (the large layers conv7 and conv8 hold most of the weights).", 100.0 * g.size_ratio)
                            };
                            let acc = if g.accuracy_ok {
                                format!("Accuracy on the first {n} test images: {:.2}% against {:.2}% dense, {:.2} points lower: within half a point.", 100.0 * a, 100.0 * d, g.accuracy_drop_points)
                            } else {
                                format!("Accuracy on the first {n} test images: {:.2}% against {:.2}% dense, {:.2} points lower: more than half a point. Fine-tune longer, or prune the sensitive layers less.", 100.0 * a, 100.0 * d, g.accuracy_drop_points)
                            };
                            view! {
                                <p class=if ok { "notice success" } else { "notice warning" }>
                                    <strong>{if ok { "Goal reached. " } else { "Not yet. " }}</strong>{size}" "{acc}
                                </p>
                            }.into_any()
                        }
                    }
                }}</div>
            </section>

            <section aria-labelledby="channel">
                <h2 id="channel">"Channel pruning"</h2>
                <p>
                    "Fine-grained pruning leaves the tensors their shapes, full of scattered zeros; only \
                     hardware that skips zeros runs it faster. Channel pruning removes whole output \
                     channels instead: with ratio r every convolution but the last keeps round(C (1 − r)) \
                     of its C channels, and the next convolution loses the matching input channels, so the \
                     network stays dense, only thinner, and any hardware runs it faster. An inner layer \
                     loses both input and output channels, so its compute falls by (1 − r)²: 0.49 at \
                     r = 0.3."
                </p>
                <p>
                    "Which channels to keep? Keeping the first ones is arbitrary. Sorting first ranks each \
                     channel by importance, the size (L2 norm) of the next layer's weights that read it, \
                     and keeps the largest. Reordering channels (with their batch-norm parameters and the \
                     next layer's input slices) does not change what the network computes; it only decides \
                     which channels survive the cut."
                </p>
                <div class="controls-grid">
                    <FieldInput field=&CH_FIELD settings=settings/>
                    <label class="field checkbox">
                        <input type="checkbox" prop:checked=move || settings.get().ch_sort
                            on:change=move |ev| settings.update(|s| s.ch_sort = event_target_checked(&ev))/>
                        " Sort channels by importance first"
                    </label>
                </div>
                {move || match channel.get() {
                    None => ().into_any(),
                    Some(Err(e)) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                    Some(Ok(net)) => {
                        let (d, p) = (vgg::stats(&Arch::lab()), vgg::stats(&net.arch));
                        view! {
                            <div class="table-scroll">
                            <table class="numbers" aria-label="Dense and channel-pruned network">
                                <thead><tr><th scope="col"></th><th scope="col">"dense"</th><th scope="col">"pruned"</th><th scope="col">"ratio"</th></tr></thead>
                                <tbody>
                                    <tr><th scope="row">"channels per conv"</th>
                                        <td>{d.layers[..8].iter().map(|l| l.out.to_string()).collect::<Vec<_>>().join(", ")}</td>
                                        <td data-col="widths">{p.layers[..8].iter().map(|l| l.out.to_string()).collect::<Vec<_>>().join(", ")}</td><td></td></tr>
                                    <tr><th scope="row">"parameters"</th><td>{d.params}</td><td data-col="params">{p.params}</td>
                                        <td>{format!("{:.3}", p.params as f64 / d.params as f64)}</td></tr>
                                    <tr><th scope="row">"multiply-adds per image"</th><td>{d.macs}</td><td data-col="macs">{p.macs}</td>
                                        <td data-col="macs-ratio">{format!("{:.3}", p.macs as f64 / d.macs as f64)}</td></tr>
                                </tbody>
                            </table>
                            </div>
                        }.into_any()
                    }
                }}
                <p data-key="channel-before">{move || match ch_before.get() {
                    None => "Accuracy after pruning: computing…".to_string(),
                    Some((a, n, ran)) => format!("Accuracy after pruning, before fine-tuning, on the first {n} test images: {:.2}% ({ran}).", 100.0 * a),
                }}</p>
                <p>"Fine-tune the thinner network (the fine-tuning settings above apply):"</p>
                <RunControls
                    label="Fine-tuning the channel-pruned network"
                    running=Signal::derive(move || ch_tuning.get().running)
                    can_run=Signal::derive(move || lab.get().is_some() && ch_tuning.get().points.last().map(|p| p.step) != Some(settings.get().ft_steps))
                    iteration=Signal::derive(move || ch_tuning.get().points.last().map(|p| p.step).unwrap_or(0))
                    total=Signal::derive(move || settings.get().ft_steps)
                    progress=Signal::derive(move || ch_tuning.get().points.last().map(|p| p.step).unwrap_or(0) as f64 / settings.get().ft_steps.max(1) as f64)
                    status=Signal::derive(move || ch_tuning.get().status)
                    speed=ch_speed
                    on_run=move || ch_run(false)
                    on_pause=move || ch_tuning.update(|t| t.request_pause())
                    on_step=move || ch_run(true)
                    on_reset=move || {
                        if let Some(Ok(net)) = channel.get_untracked() {
                            finetune::reset(ch_model, ch_tuning, Some((*net).clone()), finetune::Keep::Nothing);
                        }
                        ch_after.set(None);
                    }
                />
                <button type="button" on:click=ch_evaluate
                    disabled=move || lab.get().is_none() || ch_tuning.get().running || ch_evaluating.get()>
                    "Evaluate the fine-tuned network"
                </button>
                <p data-key="channel-after">{move || match ch_after.get() {
                    None if ch_evaluating.get() => "Evaluating…".to_string(),
                    None => String::new(),
                    Some((a, n, steps)) => format!("After {steps} fine-tuning steps: {:.2}% on the first {n} test images.", 100.0 * a),
                }}</p>
                <h3>"Latency on this machine"</h3>
                <p>
                    "Compute is not time. Measure one image's forward pass through the dense network, \
                     the fine-grained pruned one (the sparsities chosen above) and the channel-pruned one \
                     here: the time falls less than the multiply-adds, because part of it \
                     does not shrink with the channels — reading the image and writing each layer's \
                     activations, the element-wise batch-norm, ReLU and pooling, and fixed costs per layer \
                     (launching a kernel, allocating buffers, the JavaScript–WebAssembly boundary). The \
                     fine-grained pruned network runs in the dense time, give or take the machine's noise: \
                     our kernels multiply its zeros like any other weight."
                </p>
                <button type="button" on:click=measure disabled=move || lab.get().is_none() || measuring.get()>
                    "Measure latency"
                </button>
                <p data-key="latency" role="status" aria-live="polite">{move || {
                    if measuring.get() {
                        return "Measuring…".to_string();
                    }
                    let macs = channel.get().and_then(|c| c.ok()).map(|n| vgg::stats(&n.arch).macs as f64 / vgg::stats(&Arch::lab()).macs as f64);
                    match (latency.get(), macs) {
                        (Some(t), Some(m)) => {
                            let line = |path: &str, v: &[f64]| format!(
                                "{path}: {:.2} ms dense, {:.2} ms pruned ({:.2} of the time for {m:.2} of the multiply-adds); \
                                 fine-grained pruned (the sparsities above) {:.2} ms ({:.2} of dense).",
                                v[0], v[2], v[2] / v[0], v[1], v[1] / v[0]
                            );
                            let mut s = line("CPU", &t.cpu);
                            if let Some(g) = &t.gpu {
                                s += " ";
                                s += &line("WebGPU", g);
                            }
                            s
                        }
                        _ => String::new(),
                    }
                }}</p>
            </section>

            <section aria-labelledby="compare">
                <h2 id="compare">"Fine-grained or channel pruning?"</h2>
                <p data-key="compare">{move || {
                    let fine = pruned.get().and_then(|p| p.ok()).map(|p| p.sparse_bits as f64 / p.dense_bits as f64);
                    let fine_acc = match accuracy.get() { Accuracy::Done(_, a, ..) => Some(a), _ => None };
                    let ch = channel.get().and_then(|c| c.ok()).map(|n| (vgg::stats(&n.arch).params as f64 / vgg::stats(&Arch::lab()).params as f64, vgg::stats(&n.arch).macs as f64 / vgg::stats(&Arch::lab()).macs as f64));
                    match (fine, fine_acc, ch, ch_before.get()) {
                        (Some(f), Some(fa), Some((cp, cm)), Some((ca, n, _))) => format!(
                            "With the settings above, on the first {n} test images before any fine-tuning: fine-grained \
                             pruning keeps {:.1}% of the size at {:.2}% accuracy, with every multiply-add still \
                             there unless the hardware skips zeros; channel pruning keeps {:.1}% of the parameters \
                             and {:.1}% of the multiply-adds at {:.2}% accuracy.",
                            100.0 * f, 100.0 * fa, 100.0 * cp, 100.0 * cm, 100.0 * ca
                        ),
                        _ => "The comparison appears once both accuracies are computed.".to_string(),
                    }
                }}</p>
                <p>
                    "Fine-grained pruning compresses more at the same accuracy: it removes exactly the \
                     weights that matter least, wherever they sit, while channel pruning removes whole \
                     channels, good weights with the bad. But a fine-grained sparse tensor is still \
                     multiplied in full by ordinary hardware (the zeros are multiplied too), so it saves \
                     storage, and time only on hardware or kernels built for sparsity. Channel pruning \
                     gives a smaller dense network that is faster on any hardware, a CPU, a phone's GPU or \
                     this browser. Both lose accuracy at once, and fine-tuning recovers most of it."
                </p>
            </section>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_bad_values_are_notices() {
        let mut s = PruneSettings::default();
        s.sparsity[2] = 0.55;
        s.layer = 8;
        s.scan_step = 0.2;
        s.ch_ratio = 0.5;
        s.ch_sort = false;
        let loc = location_of(&s);
        let (back, notices) = settings_from_location(&Location::parse(&loc.to_hash()));
        assert_eq!(back, s);
        assert!(notices.is_empty());
        let (d, notices) = settings_from_location(&Location::parse(
            "#/pruning?s_conv1=2&layer=conv99&scan_from=0.9&scan_to=0.5&ch_sort=yes&ch_ratio=1",
        ));
        assert_eq!(d, PruneSettings::default());
        assert_eq!(notices.len(), 5, "{notices:?}");
    }

    #[test]
    fn the_scan_grid() {
        let s = PruneSettings::default();
        assert_eq!(s.grid(), vec![0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
        let s = PruneSettings {
            scan_from: 0.5,
            scan_to: 0.5,
            ..s
        };
        assert_eq!(s.grid(), vec![0.5]);
    }
}

//! Chapter 7, "Quantizing the trained network": k-means quantization of one layer (heatmaps
//! before and after, the codebook, the histogram with its centroids) and of the whole network at 8,
//! 4 and 2 bits; quantization-aware training, live; linear quantization (the map, S and Z, two
//! checked exercises); integer-only int8 inference (batch-norm folded, ranges calibrated, no ReLU);
//! and k-means against linear quantization. Every number comes from the committed network and the
//! real test images, computed here.

use crate::engine::Engine;
use crate::tasks::{run_in_slices, Slice, SLICE_MS};
use crate::ui::controls::FieldInput;
use crate::ui::exercise::{Choice, ChoiceExercise};
use crate::ui::math::{MathBlock, M};
use crate::ui::plot::{HeatmapPlot, Plot};
use crate::ui::run_controls::{RunControls, Speed};
use crate::url_state::{read_fields, write_fields, Location, NumField};
use crate::vision::data::{accuracy_of, classify, ensure_loaded, mib, LoadState, Loaded};
use crate::vision::finetune::{self, Keep, TuneSpec, Tuning};
use crate::web;
use glassbox_gpu::Ran;
use glassbox_lab::compress::int8::{self, Calibration, Int8Network};
use glassbox_lab::compress::prune;
use glassbox_lab::compress::quant::{self, Codebook, KMeansJob, KMeansQuantizer, KMEANS_ROUNDS};
use glassbox_lab::figures::quant::{draw_linear_mapping, weight_heatmap, LinearMapping};
use glassbox_lab::figures::{self, Palette, WeightHistogram};
use glassbox_lab::vision::network::Network;
use leptos::prelude::*;
use std::rc::Rc;

pub const SLUG: &str = "quantization";

const LAYERS: usize = 9;
const NAMES: [&str; LAYERS] = [
    "conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "conv8", "linear",
];
/// The whole-network comparison's bit widths.
const WIDTHS: [u32; 3] = [8, 4, 2];

#[derive(Clone, Debug, PartialEq)]
pub struct QuantSettings {
    pub layer: usize,
    pub bits: u32,
    pub seed: u64,
    pub eval_images: usize,
    pub qat_bits: u32,
    pub qat_epochs: usize,
    pub ft_batch: usize,
    pub ft_lr: f64,
    pub rmin: f64,
    pub rmax: f64,
    pub lin_bits: u32,
    pub calib_images: usize,
}

impl Default for QuantSettings {
    fn default() -> Self {
        QuantSettings {
            layer: 1,
            bits: 2,
            seed: 0,
            eval_images: 1000,
            qat_bits: 4,
            qat_epochs: 1,
            ft_batch: 32,
            ft_lr: 0.01,
            rmin: -0.25,
            rmax: 0.75,
            lin_bits: 2,
            calib_images: 512,
        }
    }
}

macro_rules! field {
    ($key:literal, $label:literal, $min:expr, $max:expr, $step:expr, $int:expr, $f:ident) => {
        NumField {
            key: $key,
            label: $label,
            min: $min,
            max: $max,
            step: $step,
            integer: $int,
            get: |s: &QuantSettings| s.$f as f64,
            set: |s: &mut QuantSettings, v| s.$f = v as _,
        }
    };
}

static KMEANS_FIELDS: [NumField<QuantSettings>; 2] = [
    field!("bits", "Bits n (2^n centroids)", 1.0, 8.0, 1.0, true, bits),
    field!("seed", "k-means seed", 0.0, 1e9, 1.0, true, seed),
];
static EVAL_FIELD: NumField<QuantSettings> = field!(
    "eval_images",
    "Test images for each accuracy",
    100.0,
    10_000.0,
    100.0,
    true,
    eval_images
);
static QAT_FIELDS: [NumField<QuantSettings>; 4] = [
    field!("qat_bits", "QAT bits", 1.0, 8.0, 1.0, true, qat_bits),
    field!("qat_epochs", "QAT epochs", 1.0, 5.0, 1.0, true, qat_epochs),
    field!("ft_batch", "Batch size", 8.0, 128.0, 8.0, true, ft_batch),
    field!("ft_lr", "Learning rate", 0.0001, 0.1, 0.0001, false, ft_lr),
];
static LINEAR_FIELDS: [NumField<QuantSettings>; 3] = [
    field!("rmin", "r_min", -10.0, 10.0, 0.01, false, rmin),
    field!("rmax", "r_max", -10.0, 10.0, 0.01, false, rmax),
    field!("lin_bits", "Bits", 1.0, 8.0, 1.0, true, lin_bits),
];
static CALIB_FIELD: NumField<QuantSettings> = field!(
    "calib_images",
    "Calibration images (training set)",
    16.0,
    2048.0,
    16.0,
    true,
    calib_images
);

pub fn settings_from_location(loc: &Location) -> (QuantSettings, Vec<String>) {
    let mut s = QuantSettings::default();
    let mut notices = Vec::new();
    for fields in [&KMEANS_FIELDS[..], &QAT_FIELDS[..], &LINEAR_FIELDS[..]] {
        read_fields(loc, fields, &mut s, &mut notices);
    }
    read_fields(loc, std::slice::from_ref(&EVAL_FIELD), &mut s, &mut notices);
    read_fields(
        loc,
        std::slice::from_ref(&CALIB_FIELD),
        &mut s,
        &mut notices,
    );
    if let Some(v) = loc.get("layer") {
        match NAMES.iter().position(|n| *n == v) {
            Some(i) => s.layer = i,
            None => notices.push(format!(
                "URL parameter layer: '{v}' is not one of {}; using conv2.",
                NAMES.join(", ")
            )),
        }
    }
    (s, notices)
}

pub fn location_of(s: &QuantSettings) -> Location {
    let d = QuantSettings::default();
    let mut params = Vec::new();
    if s.layer != d.layer {
        params.push(("layer".into(), NAMES[s.layer].into()));
    }
    for fields in [&KMEANS_FIELDS[..], &QAT_FIELDS[..], &LINEAR_FIELDS[..]] {
        write_fields(fields, s, &d, &mut params);
    }
    write_fields(std::slice::from_ref(&EVAL_FIELD), s, &d, &mut params);
    write_fields(std::slice::from_ref(&CALIB_FIELD), s, &d, &mut params);
    Location {
        route: SLUG.into(),
        params,
    }
}

/// Output channels of prunable layer `i` (the rows of its weight tensor).
fn rows_of(net: &Network, i: usize) -> usize {
    net.blocks.get(i).map(|b| b.c_out).unwrap_or(net.classes())
}

/// k-means of one tensor on the engine: each assignment pass on the GPU kernel when the page has
/// one, else on the CPU in slices; the centroid updates on the CPU. None once `alive` turns false.
async fn run_kmeans(
    engine: Engine,
    mut job: KMeansJob,
    progress: impl Fn(f64),
    alive: impl Fn() -> bool,
) -> Option<(Codebook, Ran)> {
    engine.settled().await;
    let compute = engine.compute();
    let mut ran = Ran::Cpu;
    while !job.done() {
        if !alive() {
            return None;
        }
        let mut assigned = false;
        if compute.gpu().is_some() {
            if let Ok((a, r)) = compute.kmeans_assign(job.weights(), job.centroids()).await {
                ran = r;
                job.set_assignment(a);
                assigned = true;
            }
            engine.check_lost();
        }
        if !assigned {
            let deadline = web::now_ms() + SLICE_MS;
            while !job.done() && web::now_ms() < deadline {
                job.advance(1 << 18);
            }
        }
        let (done, most) = job.progress();
        progress(done as f64 / most.max(1) as f64);
        web::sleep(0).await;
    }
    Some((job.codebook(), ran))
}

/// Every layer of `net` k-means-quantized on `bits` bits: the quantized network and its codebooks.
async fn quantize_network(
    engine: Engine,
    net: &Network,
    bits: u32,
    seed: u64,
    progress: impl Fn(f64) + Copy,
    alive: impl Fn() -> bool + Copy,
) -> Option<Result<(Network, KMeansQuantizer, Ran), String>> {
    let mut q = net.clone();
    let mut codebooks = Vec::with_capacity(LAYERS);
    let mut ran = Ran::Cpu;
    for i in 0..LAYERS {
        let job = match KMeansJob::new(
            prune::weights(net, i).to_vec(),
            bits,
            seed + i as u64,
            KMEANS_ROUNDS,
        ) {
            Ok(j) => j,
            Err(e) => return Some(Err(e)),
        };
        let (cb, r) = run_kmeans(
            engine,
            job,
            move |f| progress((i as f64 + f) / LAYERS as f64),
            alive,
        )
        .await?;
        ran = r;
        cb.apply(prune::weights_mut(&mut q, i));
        codebooks.push(cb);
    }
    Some(Ok((q, KMeansQuantizer { bits, codebooks }, ran)))
}

fn where_ran(r: Ran) -> &'static str {
    match r {
        Ran::Gpu => "WebGPU",
        Ran::Cpu => "CPU",
    }
}

/// One layer's k-means result.
#[derive(Clone, Debug, PartialEq)]
struct LayerResult {
    layer: usize,
    bits: u32,
    seed: u64,
    codebook: Codebook,
    ran: Ran,
}

/// One bit width of the whole-network comparison.
#[derive(Clone, Debug, PartialEq)]
struct WidthRow {
    bits: u32,
    kmeans_acc: f64,
    kmeans_bits: u64,
    linear_acc: f64,
    linear_bits: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
struct Comparison {
    running: bool,
    progress: f64,
    status: String,
    fp32: Option<f64>,
    rows: Vec<WidthRow>,
}

/// What the integer pipeline did and measured.
#[derive(Clone, Debug, PartialEq)]
struct Int8Report {
    fold_max_error: f64,
    fold_images: usize,
    net: Int8Network,
    fp32: f64,
    int8: f64,
    images: usize,
    relu_checked: usize,
    relu_same: usize,
    fp32_no_relu: f64,
    ran_fp32: &'static str,
    int8_images_per_s: f64,
}

static SCALE_CHOICES: [Choice; 3] = [
    Choice {
        label: r"S = \frac{r_{\max} - r_{\min}}{q_{\max} - q_{\min}}",
        tex: true,
        correct: true,
        why: "The real range [r_min, r_max] is cut into q_max − q_min equal steps, one per step of the \
              integer; S is the width of one step, in real units per integer.",
    },
    Choice {
        label: r"S = \frac{q_{\max} - q_{\min}}{r_{\max} - r_{\min}}",
        tex: true,
        correct: false,
        why: "That is integers per real unit, the inverse of the scale: with r = S (q − Z), S must turn \
              an integer difference into a real one.",
    },
    Choice {
        label: r"S = \frac{r_{\max}}{q_{\max}}",
        tex: true,
        correct: false,
        why: "That is the symmetric scale (used for weights, where Z = 0); for a range that is not \
              centred on zero it wastes part of the integers.",
    },
];

static ZERO_CHOICES: [Choice; 3] = [
    Choice {
        label: r"Z = \operatorname{round}\left(q_{\min} - \frac{r_{\min}}{S}\right)",
        tex: true,
        correct: true,
        why: "It makes r_min land on q_min: q_min = r_min / S + Z. Rounded to an integer (and clamped \
              to [q_min, q_max]), so that the real 0 is exactly representable, which zero padding and \
              ReLU need.",
    },
    Choice {
        label: r"Z = \operatorname{round}\left(\frac{r_{\min}}{S}\right)",
        tex: true,
        correct: false,
        why: "That would put r_min at q = 2 r_min / S, not at q_min; the zero point is where the real 0 \
              sits on the integer line, measured from q_min.",
    },
    Choice {
        label: r"Z = \frac{q_{\max} + q_{\min}}{2}",
        tex: true,
        correct: false,
        why: "The middle of the integer range is the zero point only when the real range is symmetric \
              about 0; in general Z depends on r_min and S.",
    },
];

#[component]
pub fn Quantization(location: Location) -> impl IntoView {
    let (start, notices) = settings_from_location(&location);
    let settings = RwSignal::new(start);
    Effect::new(move |_| web::publish(&location_of(&settings.get())));
    let engine = expect_context::<Engine>();
    let load = RwSignal::new(LoadState::Idle);
    let lab = RwSignal::new_local(None::<Rc<Loaded>>);
    crate::tasks::spawn_page_task(async move {
        if let Some(l) = ensure_loaded(load).await {
            lab.set(Some(l));
        }
    });
    let eval_images = Memo::new(move |_| settings.with(|s| s.eval_images));

    // (a) One layer.
    let layer_key = Memo::new(move |_| settings.with(|s| (s.layer, s.bits, s.seed)));
    let layer_result = RwSignal::new(None::<LayerResult>);
    let layer_progress = RwSignal::new(0.0f64);
    let layer_gen = StoredValue::new_local(0u64);
    Effect::new(move |_| {
        let (layer, bits, seed) = layer_key.get();
        let Some(l) = lab.get() else {
            return;
        };
        let g = layer_gen.get_value() + 1;
        layer_gen.set_value(g);
        layer_progress.set(0.0);
        let alive = move || layer_gen.get_value() == g;
        crate::tasks::spawn_page_task(async move {
            let w = prune::weights(&l.pretrained, layer).to_vec();
            let Ok(job) = KMeansJob::new(w, bits, seed + layer as u64, KMEANS_ROUNDS) else {
                return;
            };
            if let Some((codebook, ran)) =
                run_kmeans(engine, job, move |f| layer_progress.set(f), alive).await
            {
                layer_progress.set(1.0);
                layer_result.set(Some(LayerResult {
                    layer,
                    bits,
                    seed,
                    codebook,
                    ran,
                }));
            }
        });
    });
    let current = Memo::new(move |_| {
        let r = layer_result.get()?;
        (layer_key.get() == (r.layer, r.bits, r.seed)).then_some(r)
    });
    let maps = Memo::new(move |_| {
        let (l, r) = (lab.get()?, current.get()?);
        let w = prune::weights(&l.pretrained, r.layer);
        let rows = rows_of(&l.pretrained, r.layer);
        let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
        let mut q = w.to_vec();
        r.codebook.apply(&mut q);
        let name = NAMES[r.layer];
        Some((
            weight_heatmap(&format!("{name}: trained weights"), w, rows, 32, 64, max),
            weight_heatmap(
                &format!("{name}: after {}-bit k-means", r.bits),
                &q,
                rows,
                32,
                64,
                max,
            ),
        ))
    });
    let before_map = Signal::derive(move || maps.get().map(|m| m.0));
    let after_map = Signal::derive(move || maps.get().map(|m| m.1));
    // Distinct colours of the quantized heatmap (light theme): never more than 2^n.
    let after_colours = Signal::derive(move || {
        after_map.get().map(|h| {
            let scale = h.effective_scale();
            let mut c: Vec<(u8, u8, u8)> = h
                .values
                .iter()
                .flatten()
                .map(|&v| {
                    let rgb = scale.colour(v, &Palette::LIGHT);
                    (rgb.0, rgb.1, rgb.2)
                })
                .collect();
            c.sort_unstable();
            c.dedup();
            c.len()
        })
    });
    let layer_hist = Memo::new(move |_| {
        let (l, r) = (lab.get()?, current.get()?);
        let w = prune::weights(&l.pretrained, r.layer);
        let mut h = WeightHistogram::new(NAMES[r.layer], w, 0.0, 0.0, 80);
        h.marks = r.codebook.centroids.iter().map(|&c| c as f64).collect();
        Some(h)
    });

    // (b) and (f): the whole network at 8, 4 and 2 bits, k-means and linear.
    let comparison = RwSignal::new(Comparison::default());
    let cmp_gen = StoredValue::new_local(0u64);
    let run_comparison = move |_| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let g = cmp_gen.get_value() + 1;
        cmp_gen.set_value(g);
        let alive = move || cmp_gen.get_value() == g;
        let (count, seed) =
            settings.with_untracked(|s| (s.eval_images.min(l.data.test.len()), s.seed));
        comparison.set(Comparison {
            running: true,
            status: "Evaluating the fp32 network…".into(),
            ..Comparison::default()
        });
        crate::tasks::spawn_page_task(async move {
            let steps = 1 + 3 * WIDTHS.len();
            let step_progress = move |k: usize| {
                move |f: f64| comparison.update(|c| c.progress = (k as f64 + f) / steps as f64)
            };
            let Some((p, _, ran)) = classify(
                &l.data,
                l.pretrained.clone(),
                count,
                engine,
                step_progress(0),
                alive,
            )
            .await
            else {
                return;
            };
            comparison.update(|c| c.fp32 = Some(accuracy_of(&l.data.test, &p)));
            for (w, &bits) in WIDTHS.iter().enumerate() {
                comparison
                    .update(|c| c.status = format!("k-means, {bits} bits: finding the codebooks…"));
                let (qnet, quantizer, kran) = match quantize_network(
                    engine,
                    &l.pretrained,
                    bits,
                    seed,
                    step_progress(1 + 3 * w),
                    alive,
                )
                .await
                {
                    None => return,
                    Some(Err(e)) => {
                        comparison.update(|c| {
                            c.running = false;
                            c.status = e;
                        });
                        return;
                    }
                    Some(Ok(v)) => v,
                };
                let kmeans_bits = quantizer.model_bits(&qnet);
                comparison.update(|c| {
                    c.status = format!(
                        "k-means, {bits} bits (codebooks on the {}): evaluating…",
                        where_ran(kran)
                    )
                });
                let Some((p, ..)) = classify(
                    &l.data,
                    qnet,
                    count,
                    engine,
                    step_progress(2 + 3 * w),
                    alive,
                )
                .await
                else {
                    return;
                };
                let kmeans_acc = accuracy_of(&l.data.test, &p);
                let mut lnet = l.pretrained.clone();
                let linear_bits = match quant::linear_quantize_weights(&mut lnet, bits) {
                    Ok(b) => b,
                    Err(e) => {
                        comparison.update(|c| {
                            c.running = false;
                            c.status = e;
                        });
                        return;
                    }
                };
                comparison.update(|c| c.status = format!("linear, {bits} bits: evaluating…"));
                let Some((p, ..)) = classify(
                    &l.data,
                    lnet,
                    count,
                    engine,
                    step_progress(3 + 3 * w),
                    alive,
                )
                .await
                else {
                    return;
                };
                let linear_acc = accuracy_of(&l.data.test, &p);
                comparison.update(|c| {
                    c.rows.push(WidthRow {
                        bits,
                        kmeans_acc,
                        kmeans_bits,
                        linear_acc,
                        linear_bits,
                    })
                });
            }
            comparison.update(|c| {
                c.running = false;
                c.progress = 1.0;
                c.status = format!("Done: each accuracy on the first {count} test images (evaluated on the {ran}).");
            });
        });
    };
    let stop_comparison = move |_| {
        cmp_gen.update_value(|g| *g += 1);
        comparison.update(|c| {
            c.running = false;
            c.status = "Stopped.".into();
        });
    };

    // (c) Quantization-aware training.
    let model = StoredValue::new_local(finetune::Model::default());
    let tuning = RwSignal::new(Tuning::default());
    let speed = RwSignal::new(Speed::Fast);
    let qat_status = RwSignal::new(String::new());
    let qat_evals = RwSignal::new(Vec::<(usize, f64)>::new());
    let qat_auto = RwSignal::new(false);
    let qat_ready = RwSignal::new(false);
    let qat_gen = StoredValue::new_local(0u64);
    let qat_reset = RwSignal::new(0u64);
    // The epoch whose evaluation is under way, so that it starts once.
    let qat_pending = StoredValue::new_local(None::<usize>);
    let qat_key = Memo::new(move |_| {
        settings.with(|s| {
            (
                s.qat_bits,
                s.qat_epochs,
                s.ft_batch,
                s.ft_lr.to_bits(),
                s.seed,
                s.eval_images,
            )
        })
    });
    let steps_per_epoch = move || {
        let b = settings.with(|s| s.ft_batch).max(1);
        lab.with(|l| l.as_ref().map(|l| l.data.train.len() / b).unwrap_or(0))
            .max(1)
    };
    let evaluate_qat = move |l: Rc<Loaded>, epoch: usize, g: u64| {
        qat_pending.set_value(Some(epoch));
        crate::tasks::spawn_page_task(async move {
            let alive = move || qat_gen.get_value() == g;
            let count = eval_images.get_untracked().min(l.data.test.len());
            qat_status.set(format!("Evaluating after epoch {epoch}…"));
            let net = finetune::current_network(model, engine, &l.pretrained).await;
            let Some((p, ..)) = classify(&l.data, net, count, engine, |_| {}, alive).await else {
                return;
            };
            let acc = accuracy_of(&l.data.test, &p);
            qat_pending.set_value(None);
            qat_evals.update(|v| v.push((epoch, acc)));
            qat_status.set(String::new());
        });
    };
    let run_qat_impl = move |l: Rc<Loaded>, single: bool| {
        let s = settings.get_untracked();
        let spe = l.data.train.len() / s.ft_batch.max(1);
        let spec = TuneSpec {
            steps: spe * s.qat_epochs,
            batch: s.ft_batch,
            lr: s.ft_lr,
            seed: s.seed,
            done_hint: "",
            stop_every: Some(spe),
        };
        finetune::run(model, tuning, l, spec, engine, speed, single);
    };
    let run_qat = run_qat_impl;
    // After each epoch's evaluation, go on if the reader did not pause.
    Effect::new(move |_| {
        let Some(&(epoch, _)) = qat_evals.with(|v| v.last().copied()).as_ref() else {
            return;
        };
        if !qat_auto.get_untracked() {
            return;
        }
        if epoch < settings.with_untracked(|s| s.qat_epochs) {
            if let Some(l) = lab.get_untracked() {
                run_qat(l, false);
            }
        } else {
            qat_auto.set(false);
        }
    });
    // Prepare: quantize the network at the QAT bit width and evaluate it (epoch 0).
    Effect::new(move |_| {
        let (bits, _, _, _, seed, _) = qat_key.get();
        qat_reset.track();
        let Some(l) = lab.get() else {
            return;
        };
        let g = qat_gen.get_value() + 1;
        qat_gen.set_value(g);
        let alive = move || qat_gen.get_value() == g;
        qat_ready.set(false);
        qat_auto.set(false);
        qat_evals.set(Vec::new());
        qat_pending.set_value(None);
        finetune::reset(model, tuning, None, Keep::Nothing);
        qat_status.set(format!("Quantizing every layer to {bits} bits…"));
        crate::tasks::spawn_page_task(async move {
            match quantize_network(engine, &l.pretrained, bits, seed, |_| {}, alive).await {
                None => {}
                Some(Err(e)) => qat_status.set(e),
                Some(Ok((qnet, quantizer, _))) => {
                    finetune::reset(model, tuning, Some(qnet), Keep::Codebooks(quantizer));
                    qat_ready.set(true);
                    evaluate_qat(l, 0, g);
                }
            }
        });
    });
    // At each epoch's end (the run stops there), evaluate; then go on if the reader did not pause.
    Effect::new(move |_| {
        let t = tuning.get();
        let Some(last) = t.points.last().map(|p| p.step) else {
            return;
        };
        let spe = steps_per_epoch();
        let epoch = last / spe;
        let evaluated = qat_evals.with_untracked(|v| v.last().map(|e| e.0));
        let pending = qat_pending.get_value().is_some();
        if !t.running && !pending && last % spe == 0 && evaluated.is_some_and(|e| e < epoch) {
            if let Some(l) = lab.get_untracked() {
                evaluate_qat(l, epoch, qat_gen.get_value());
            }
        }
    });
    let qat_steps = Signal::derive(move || tuning.get().points.last().map(|p| p.step).unwrap_or(0));
    let qat_total = Signal::derive(move || steps_per_epoch() * settings.with(|s| s.qat_epochs));

    // (d) Linear quantization.
    let mapping = Memo::new(move |_| {
        let s = settings.get();
        quant::linear_params(s.rmin, s.rmax, s.lin_bits).map(|params| LinearMapping {
            rmin: s.rmin,
            rmax: s.rmax,
            bits: s.lin_bits,
            params,
        })
    });

    // (e) Integer-only inference.
    let int8_report = RwSignal::new(None::<Result<Int8Report, String>>);
    let int8_state = RwSignal::new((false, 0.0f64, String::new()));
    let int8_gen = StoredValue::new_local(0u64);
    let run_int8 = move |_| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let g = int8_gen.get_value() + 1;
        int8_gen.set_value(g);
        let alive = move || int8_gen.get_value() == g;
        let (count, calib_n, seed) = settings
            .with_untracked(|s| (s.eval_images.min(l.data.test.len()), s.calib_images, s.seed));
        int8_report.set(None);
        let say = move |f: f64, what: &str| int8_state.set((true, f, what.to_string()));
        crate::tasks::spawn_page_task(async move {
            let net = l.pretrained.clone();
            let folded = int8::fold_batchnorm(&net);
            // 1. Folding leaves the outputs unchanged (100 test images).
            say(
                0.0,
                "Folding batch-norm into the convolutions and checking it…",
            );
            let fold_images = 100;
            let mut fold_err = 0.0f64;
            let mut at = 0usize;
            let mut eval_net = net.clone();
            run_in_slices(
                |deadline| {
                    while at < fold_images && web::now_ms() < deadline {
                        let idx: Vec<usize> = (at..(at + 10).min(fold_images)).collect();
                        let (x, _) = glassbox_lab::vision::train::batch(&l.data.test, &idx, None);
                        let a = eval_net.forward(&x, idx.len(), false);
                        let (b, _) = int8::folded_forward(&net, &folded, &x, idx.len(), true);
                        for (p, q) in a.iter().zip(&b) {
                            fold_err = fold_err.max((p - q).abs() as f64);
                        }
                        at += idx.len();
                    }
                    if at >= fold_images {
                        Slice::Idle
                    } else {
                        Slice::Continue
                    }
                },
                alive,
            )
            .await;
            // 2. Calibrate on training images, a few at a time.
            let calib = int8::calibration_batch(&l.data.train, calib_n, seed);
            let px = glassbox_lab::vision::data::PADDED * glassbox_lab::vision::data::PADDED;
            let n_calib = calib.len() / px;
            let mut c = Calibration::default();
            let mut done = 0usize;
            run_in_slices(
                |deadline| {
                    while done < n_calib && web::now_ms() < deadline {
                        let k = 4.min(n_calib - done);
                        c.add(&net, &folded, &calib[done * px..(done + k) * px], k);
                        done += k;
                    }
                    say(
                        0.05 + 0.15 * done as f64 / n_calib as f64,
                        &format!(
                            "Calibrating activation ranges: {done} of {n_calib} training images…"
                        ),
                    );
                    if done >= n_calib {
                        Slice::Idle
                    } else {
                        Slice::Continue
                    }
                },
                alive,
            )
            .await;
            if !alive() {
                return;
            }
            let mut q = match Int8Network::from_calibration(&net, &folded, &c) {
                Ok(q) => q,
                Err(e) => {
                    int8_report.set(Some(Err(e)));
                    int8_state.set((false, 0.0, String::new()));
                    return;
                }
            };
            // 3. fp32 accuracy (WebGPU or CPU).
            say(0.2, "Evaluating the fp32 network…");
            let Some((p, _, ran_fp32)) = classify(
                &l.data,
                net.clone(),
                count,
                engine,
                |f| say(0.2 + 0.2 * f, "Evaluating the fp32 network…"),
                alive,
            )
            .await
            else {
                return;
            };
            let fp32 = accuracy_of(&l.data.test, &p);
            // 4. The integer network, image by image; and with an explicit ReLU on the first 200.
            let relu_checked = 200.min(count);
            let mut preds = Vec::with_capacity(count);
            let mut same = 0usize;
            let mut x = vec![0.0f32; px];
            let mut busy = 0.0f64;
            run_in_slices(
                |deadline| {
                    let t0 = web::now_ms();
                    while preds.len() < count && web::now_ms() < deadline {
                        let i = preds.len();
                        glassbox_lab::vision::data::padded_image(&l.data.test, i, &mut x);
                        let qx = q.quantize_input(&x);
                        let acc = q.forward(&qx);
                        if i < relu_checked {
                            q.explicit_relu = true;
                            same += (q.forward(&qx) == acc) as usize;
                            q.explicit_relu = false;
                        }
                        preds.push(int8::argmax(&acc));
                    }
                    busy += web::now_ms() - t0;
                    say(
                        0.4 + 0.45 * preds.len() as f64 / count as f64,
                        &format!(
                            "Integer-only inference: {} of {count} test images…",
                            preds.len()
                        ),
                    );
                    if preds.len() >= count {
                        Slice::Idle
                    } else {
                        Slice::Continue
                    }
                },
                alive,
            )
            .await;
            if preds.len() < count {
                return;
            }
            let int8_acc = accuracy_of(&l.data.test, &preds);
            // 5. The float network without its ReLUs, for contrast.
            let mut no_relu = Vec::with_capacity(count);
            run_in_slices(
                |deadline| {
                    while no_relu.len() < count && web::now_ms() < deadline {
                        let idx: Vec<usize> =
                            (no_relu.len()..(no_relu.len() + 10).min(count)).collect();
                        let (x, _) = glassbox_lab::vision::train::batch(&l.data.test, &idx, None);
                        let (logits, _) = int8::folded_forward(&net, &folded, &x, idx.len(), false);
                        no_relu.extend(logits.chunks(net.classes()).map(int8::argmax));
                    }
                    say(
                        0.85 + 0.15 * no_relu.len() as f64 / count as f64,
                        "The float network without its ReLUs…",
                    );
                    if no_relu.len() >= count {
                        Slice::Idle
                    } else {
                        Slice::Continue
                    }
                },
                alive,
            )
            .await;
            if no_relu.len() < count {
                return;
            }
            int8_report.set(Some(Ok(Int8Report {
                fold_max_error: fold_err,
                fold_images,
                net: q,
                fp32,
                int8: int8_acc,
                images: count,
                relu_checked,
                relu_same: same,
                fp32_no_relu: accuracy_of(&l.data.test, &no_relu),
                ran_fp32,
                int8_images_per_s: count as f64 / (busy / 1000.0).max(1e-9),
            })));
            int8_state.set((false, 1.0, String::new()));
        });
    };

    let pct = |a: f64| format!("{:.2}%", 100.0 * a);
    view! {
        <article class="chapter">
            <h1>"Quantizing the trained network"</h1>
            {notices.into_iter().map(|n| view! { <p class="notice warning" role="alert">{n}</p> }).collect_view()}
            <p class="lede">
                "A trained network stores every weight as a 32-bit float. Quantization stores fewer bits \
                 per weight: either an index into a small table of values (k-means), or an integer on an \
                 evenly spaced grid (linear), which integer hardware can compute with directly. Everything \
                 below runs on the image lab's network, trained on Fashion-MNIST, and its real test images, \
                 in this browser."
            </p>
            <p class="status" role="status" aria-live="polite">{move || load.get().message().unwrap_or_default()}</p>
            <progress max="1" aria-label="Download progress" value=move || load.get().fraction()></progress>

            <section aria-labelledby="kmeans">
                <h2 id="kmeans">"(a) k-means quantization of one layer"</h2>
                <p>
                    "With "<M tex="n"/>" bits a tensor gets a codebook of "<M tex="2^n"/>" values, the \
                     centroids of k-means on its weights, and each weight is stored as the "<M tex="n"/>
                    "-bit index of its nearest centroid. The quantized tensor then holds at most "
                    <M tex="2^n"/>" distinct values: in the heatmap below, at most "<M tex="2^n"/>" colours."
                </p>
                <div class="controls-grid">
                    <div class="field">
                        <label for="in-layer">"Layer"</label>
                        <select id="in-layer" prop:value=move || NAMES[settings.with(|s| s.layer)]
                            on:change=move |ev| { let v = event_target_value(&ev); if let Some(i) = NAMES.iter().position(|n| *n == v) { settings.update(|s| s.layer = i); } }>
                            {NAMES.iter().map(|n| view! { <option value=*n>{*n}</option> }).collect_view()}
                        </select>
                    </div>
                    {KMEANS_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                </div>
                <progress max="1" aria-label="k-means progress" value=move || layer_progress.get()></progress>
                {move || current.get().zip(lab.get()).map(|(r, l)| {
                    let w = prune::weights(&l.pretrained, r.layer);
                    let err = r.codebook.error(w) / w.len() as f64;
                    let var = { let m = w.iter().map(|&v| v as f64).sum::<f64>() / w.len() as f64; w.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / w.len() as f64 };
                    let mut q = w.to_vec();
                    r.codebook.apply(&mut q);
                    view! {
                        <dl class="readout" aria-label="k-means of the layer">
                            <dt>"weights"</dt><dd>{w.len()}</dd>
                            <dt>"distinct values after"</dt><dd data-key="distinct">{quant::distinct_values(&q)}</dd>
                            <dt>"mean squared error"</dt><dd data-key="kmeans-mse">{format!("{err:.3e} ({:.2}% of the weights' variance)", 100.0 * err / var.max(1e-30))}</dd>
                            <dt>"computed on"</dt><dd data-key="kmeans-ran">{where_ran(r.ran)}</dd>
                        </dl>
                    }
                })}
                <div class="weight-maps" data-colours=move || after_colours.get().map(|c| c.to_string()).unwrap_or_default()>
                    <HeatmapPlot name="weights-before" title="Weights before quantization" height=400 heatmap=before_map/>
                    <HeatmapPlot name="weights-after" title="Weights after k-means quantization" height=400 heatmap=after_map/>
                </div>
                <Plot name="codebook-histogram" title="Weight histogram with the centroids"
                    summary=Signal::derive(move || layer_hist.get().map(|h| h.summary()).unwrap_or_default())
                    csv=Signal::derive(move || layer_hist.get().map(|h| h.csv()).unwrap_or_default())
                    draw=move |area, palette| match layer_hist.get() {
                        Some(h) => figures::draw_weight_histogram(area, &h, palette),
                        None => area.fill(&palette.background).map_err(|e| e.to_string()),
                    }/>
                <div class="table-scroll">
                    <table class="numbers" aria-label="Codebook">
                        <thead><tr><th scope="col">"index"</th><th scope="col">"centroid"</th><th scope="col">"weights"</th></tr></thead>
                        <tbody>
                            {move || current.get().map(|r| {
                                let mut count = vec![0usize; r.codebook.centroids.len()];
                                r.codebook.assignment.iter().for_each(|&a| count[a as usize] += 1);
                                r.codebook.centroids.iter().enumerate().take(16).map(|(i, c)| view! {
                                    <tr><td>{i}</td><td>{format!("{c:+.5}")}</td><td>{count[i]}</td></tr>
                                }).collect_view()
                            })}
                        </tbody>
                    </table>
                </div>
                {move || current.get().filter(|r| r.codebook.centroids.len() > 16).map(|r| view! { <p class="field-help">{format!("The first 16 of {} centroids (download the histogram's CSV for the weights).", r.codebook.centroids.len())}</p> })}
            </section>

            <section aria-labelledby="whole">
                <h2 id="whole">"(b) The whole network at 8, 4 and 2 bits"</h2>
                <p>
                    "Every convolution and the linear layer get their own codebook. The size counts "
                    <M tex="n"/>" bits per weight plus each codebook ("<M tex="2^n"/>" values at 32 bits) \
                     and every other parameter (batch-norm, the linear bias) at 32 bits."
                </p>
                <div class="controls-grid"><FieldInput field=&EVAL_FIELD settings=settings/></div>
                <div class="buttons">
                    <button type="button" class="primary" on:click=run_comparison disabled=move || lab.get().is_none() || comparison.get().running>"Quantize and evaluate"</button>
                    <button type="button" on:click=stop_comparison disabled=move || !comparison.get().running>"Stop"</button>
                </div>
                <progress max="1" aria-label="Quantization progress" value=move || comparison.get().progress></progress>
                <p class="status" role="status" aria-live="polite" data-key="compare-status">{move || comparison.get().status}</p>
                <div class="table-scroll">
                    <table class="numbers" aria-label="k-means quantization of the whole network">
                        <thead><tr><th scope="col">"bits"</th><th scope="col">"size"</th><th scope="col">"of fp32"</th><th scope="col">"test accuracy"</th><th scope="col">"change"</th></tr></thead>
                        <tbody>
                            {move || lab.get().map(|l| view! {
                                <tr><td>"32 (fp32)"</td><td>{mib(prune::model_bits(&l.pretrained, false))}</td><td>"100%"</td>
                                    <td data-key="fp32">{move || comparison.get().fp32.map(pct).unwrap_or_default()}</td><td></td></tr>
                            })}
                            {move || {
                                let c = comparison.get();
                                let dense = lab.get().map(|l| prune::model_bits(&l.pretrained, false)).unwrap_or(1) as f64;
                                c.rows.iter().map(|r| view! {
                                    <tr data-bits=r.bits>
                                        <td>{r.bits}</td><td>{mib(r.kmeans_bits)}</td><td>{format!("{:.1}%", 100.0 * r.kmeans_bits as f64 / dense)}</td>
                                        <td data-key="kmeans-acc">{pct(r.kmeans_acc)}</td>
                                        <td>{c.fp32.map(|f| format!("{:+.2} points", 100.0 * (r.kmeans_acc - f))).unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()
                            }}
                        </tbody>
                    </table>
                </div>
            </section>

            <section aria-labelledby="qat">
                <h2 id="qat">"(c) Quantization-aware training"</h2>
                <p>
                    "Fine-tune the quantized network as the original lab does: each step trains the weights \
                     as usual, then every centroid moves to the mean of the weights assigned to it and every \
                     weight goes back to its centroid, so the network stays quantized with the same \
                     assignment while the codebook learns. The accuracy is measured after each epoch (a pass \
                     over the 10,000 training images). The codebooks live on the CPU, so this runs on the \
                     CPU path."
                </p>
                <div class="controls-grid">
                    {QAT_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                </div>
                <RunControls
                    label="Quantization-aware training"
                    running=Signal::derive(move || tuning.get().running || qat_auto.get())
                    can_run=Signal::derive(move || qat_ready.get() && qat_status.get().is_empty() && qat_steps.get() < qat_total.get())
                    iteration=qat_steps
                    total=qat_total
                    progress=Signal::derive(move || qat_steps.get() as f64 / qat_total.get().max(1) as f64)
                    status=Signal::derive(move || { let q = qat_status.get(); if q.is_empty() { tuning.get().status_line() } else { q } })
                    speed=speed
                    on_run=move || { if let Some(l) = lab.get_untracked() { qat_auto.set(true); run_qat(l, false); } }
                    on_pause=move || { qat_auto.set(false); if tuning.get_untracked().running { tuning.update(|t| t.request_pause()); } }
                    on_step=move || { if let Some(l) = lab.get_untracked() { qat_auto.set(false); run_qat(l, true); } }
                    on_reset=move || qat_reset.update(|r| *r += 1)
                />
                <div class="table-scroll">
                    <table class="numbers" aria-label="Accuracy per epoch of quantization-aware training">
                        <thead><tr><th scope="col">"epoch"</th><th scope="col">"test accuracy"</th></tr></thead>
                        <tbody>
                            {move || qat_evals.get().into_iter().map(|(e, a)| view! {
                                <tr data-epoch=e><td>{if e == 0 { "0 (before QAT)".to_string() } else { e.to_string() }}</td><td data-key="qat-acc">{pct(a)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <p data-key="qat-recovered">{move || {
                    let v = qat_evals.get();
                    let fp32 = comparison.get().fp32;
                    match (v.first(), v.last(), fp32) {
                        (Some(&(0, a0)), Some(&(e, a)), Some(f)) if e > 0 => format!(
                            "After {e} epoch{}: {} (from {} before QAT; fp32 {}): QAT won back {:.2} of the {:.2} points that {} bits lost.",
                            if e == 1 { "" } else { "s" }, pct(a), pct(a0), pct(f), 100.0 * (a - a0), 100.0 * (f - a0), settings.with(|s| s.qat_bits)
                        ),
                        (Some(&(0, a0)), Some(&(e, a)), None) if e > 0 => format!(
                            "After {e} epoch{}: {} (from {} before QAT). Run (b) for the fp32 accuracy to compare.",
                            if e == 1 { "" } else { "s" }, pct(a), pct(a0)
                        ),
                        _ => String::new(),
                    }
                }}</p>
                <Plot name="qat-training" title="Quantization-aware training"
                    summary=Signal::derive(move || figures::training_summary(&tuning.get().points))
                    csv=Signal::derive(move || figures::training_csv(&tuning.get().points))
                    draw=move |area, palette| figures::draw_training(area, &tuning.get().points, palette)/>
            </section>

            <section aria-labelledby="linear">
                <h2 id="linear">"(d) Linear quantization"</h2>
                <p>
                    "Linear quantization maps an integer "<M tex="q"/>" to the real value"
                </p>
                <MathBlock tex=r"r = S\,(q - Z),"/>
                <p>
                    "with a real scale "<M tex="S"/>" and an integer zero point "<M tex="Z"/>". On "
                    <M tex="n"/>" signed bits "<M tex=r"q \in [q_{\min}, q_{\max}] = [-2^{n-1}, 2^{n-1} - 1]"/>
                    ". Choose the real range and the bits; the page computes "<M tex="S"/>" and "<M tex="Z"/>
                    " and draws the map. First, two questions."
                </p>
                <div class="exercises">
                    <ChoiceExercise name="scale" question="Which expression is the scale S?" choices=&SCALE_CHOICES/>
                    <ChoiceExercise name="zero" question="Which expression is the zero point Z?" choices=&ZERO_CHOICES/>
                </div>
                <div class="controls-grid">
                    {LINEAR_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                </div>
                {move || match mapping.get() {
                    Ok(m) => view! {
                        <dl class="readout" aria-label="Linear quantization parameters">
                            <dt>"S"</dt><dd data-key="scale">{format!("{:.6}", m.params.scale)}</dd>
                            <dt>"Z"</dt><dd data-key="zero-point">{m.params.zero_point}</dd>
                            <dt>"q range"</dt><dd>{format!("{} to {}", m.params.qmin, m.params.qmax)}</dd>
                            <dt>"largest rounding error in range"</dt><dd>{format!("S / 2 = {:.6}", m.params.scale / 2.0)}</dd>
                        </dl>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                }}
                <Plot name="linear-mapping" title="The linear quantization map"
                    summary=Signal::derive(move || mapping.get().map(|m| m.summary()).unwrap_or_default())
                    csv=Signal::derive(move || mapping.get().map(|m| m.csv()).unwrap_or_default())
                    draw=move |area, palette| match mapping.get() {
                        Ok(m) => draw_linear_mapping(area, &m, palette),
                        Err(_) => area.fill(&palette.background).map_err(|e| e.to_string()),
                    }/>
                <p>
                    "The homework's example, "<M tex=r"r \in [-0.25, 0.75]"/>" on 2 bits, gives "
                    <M tex=r"S = 1/3"/>" and "<M tex=r"Z = \operatorname{round}(-2 + 0.75) = -1"/>
                    " (the page's defaults). Weights are quantized symmetrically instead: "<M tex="Z = 0"/>
                    " and "<M tex=r"S = \max |w| / q_{\max}"/>", one scale per output channel, because the \
                     channels of a layer can differ in size by orders of magnitude."
                </p>
            </section>

            <section aria-labelledby="int8">
                <h2 id="int8">"(e) Integer-only inference"</h2>
                <p>
                    "To run on integer hardware the whole network must compute in integers. Batch-norm is \
                     first folded into the convolution before it (in evaluation mode it is a per-channel \
                     scale and shift, so "<M tex=r"W'_o = W_o\,\gamma_o/\sqrt{\sigma_o^2+\epsilon}"/>" and "
                    <M tex=r"b'_o = \beta_o - \mu_o\,\gamma_o/\sqrt{\sigma_o^2+\epsilon}"/>"). The weights \
                     become int8 per output channel; each activation gets a range calibrated on training \
                     images; the bias becomes int32 at the scale "<M tex=r"S_{\text{in}} S_w"/>". A \
                     convolution then multiplies int8 by int8, sums in int32, and rescales:"
                </p>
                <MathBlock tex=r"q_y = \operatorname{clamp}\!\left(Z_y + \operatorname{round}\!\left(\frac{S_{\text{in}} S_w}{S_y}\Big(\sum (q_x - Z_x)\, q_w + q_b\Big)\right),\ -128,\ 127\right)."/>
                <p>
                    "The rescale factor is held as a 23-bit integer and a shift, so not even it needs a \
                     float. And there is no ReLU anywhere: each activation's range is measured after its \
                     ReLU, so "<M tex=r"r_{\min} = 0"/>", "<M tex=r"Z_y = q_{\min} = -128"/>", and the clamp \
                     at "<M tex="-128"/>" already turns every negative value into the real 0."
                </p>
                <div class="controls-grid">
                    <FieldInput field=&CALIB_FIELD settings=settings/>
                </div>
                <p class="field-help">"The accuracies use the number of test images chosen in (b)."</p>
                <div class="buttons">
                    <button type="button" class="primary" on:click=run_int8 disabled=move || lab.get().is_none() || int8_state.get().0>"Build and run the int8 network"</button>
                </div>
                <progress max="1" aria-label="Integer inference progress" value=move || int8_state.get().1></progress>
                <p class="status" role="status" aria-live="polite">{move || int8_state.get().2}</p>
                {move || int8_report.get().map(|r| match r {
                    Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                    Ok(r) => view! {
                        <dl class="readout" aria-label="Integer-only inference">
                            <dt>"batch-norm folded"</dt><dd data-key="fold-error">{format!("largest logit difference {:.2e} on {} test images", r.fold_max_error, r.fold_images)}</dd>
                            <dt>"fp32 accuracy"</dt><dd data-key="int8-fp32">{format!("{} ({} test images, {})", pct(r.fp32), r.images, r.ran_fp32)}</dd>
                            <dt>"int8 accuracy"</dt><dd data-key="int8-acc">{format!("{} ({:+.2} points; {:.0} images/s, integers only, CPU)", pct(r.int8), 100.0 * (r.int8 - r.fp32), r.int8_images_per_s)}</dd>
                            <dt>"ReLU layers in the int8 model"</dt><dd data-key="relu-layers">{r.net.relu_layers()}</dd>
                            <dt>"with an explicit ReLU added"</dt><dd data-key="relu-same">{format!("identical logits on {} of {} images", r.relu_same, r.relu_checked)}</dd>
                            <dt>"fp32 without its ReLUs"</dt><dd data-key="no-relu">{pct(r.fp32_no_relu)}</dd>
                            <dt>"int8 model size"</dt><dd>{mib(r.net.model_bits())}</dd>
                        </dl>
                        <div class="table-scroll">
                            <table class="numbers" aria-label="Calibrated ranges and scales">
                                <thead><tr><th scope="col">"layer"</th><th scope="col">"output range"</th><th scope="col">"S_out"</th><th scope="col">"Z_out"</th><th scope="col">"weight scales S_w"</th></tr></thead>
                                <tbody>
                                    {r.net.convs.iter().enumerate().map(|(i, c)| {
                                        let (lo, hi) = c.weight_scale.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &s| (a.min(s), b.max(s)));
                                        view! {
                                            <tr><td>{NAMES[i]}</td><td>{format!("[0, {:.3}]", c.output.scale * 255.0)}</td>
                                                <td>{format!("{:.5}", c.output.scale)}</td><td>{c.output.zero_point}</td>
                                                <td>{format!("{lo:.2e} to {hi:.2e}")}</td></tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <p>
                            "Removing the ReLUs changes nothing in the integer model (the clamp at the zero point \
                             does their work) but ruins the float one ("{pct(r.fp32_no_relu)}"): there, without \
                             the ReLU, negative values flow on into the next layer."
                        </p>
                    }.into_any(),
                })}
            </section>

            <section aria-labelledby="compare">
                <h2 id="compare">"(f) k-means or linear?"</h2>
                <p>
                    "The same bit widths with linear quantization of the weights (symmetric, per output \
                     channel; activations kept in float, so that only the weights' grid is compared), from \
                     the run in (b):"
                </p>
                <div class="table-scroll">
                    <table class="numbers" aria-label="k-means against linear quantization">
                        <thead><tr><th scope="col">"bits"</th><th scope="col">"k-means accuracy"</th><th scope="col">"k-means size"</th><th scope="col">"linear accuracy"</th><th scope="col">"linear size"</th></tr></thead>
                        <tbody>
                            {move || comparison.get().rows.into_iter().map(|r| view! {
                                <tr data-bits=r.bits><td>{r.bits}</td>
                                    <td data-key="kmeans">{pct(r.kmeans_acc)}</td><td>{mib(r.kmeans_bits)}</td>
                                    <td data-key="linear">{pct(r.linear_acc)}</td><td>{mib(r.linear_bits)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <p>
                    "k-means places its "<M tex="2^n"/>" values where the weights are, dense near zero \
                     where most weights lie, so at few bits it keeps more accuracy than a uniform grid, \
                     which spends levels on the sparse tails. But it only saves storage: each weight is \
                     looked up in the codebook and the arithmetic stays floating point. Linear quantization's \
                     grid is uniform, so integers add and multiply like the values they stand for: the whole \
                     network runs on int8 hardware, as (e) showed, at no loss at 8 bits. At 2 bits a \
                     symmetric grid has only the values "<M tex=r"\{-S, 0, S\}"/>" per channel."
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
        let s = QuantSettings {
            layer: 8,
            bits: 3,
            qat_bits: 2,
            rmin: -1.5,
            lin_bits: 4,
            ..QuantSettings::default()
        };
        let (back, notices) = settings_from_location(&Location::parse(&location_of(&s).to_hash()));
        assert_eq!(back, s);
        assert!(notices.is_empty());
        assert!(location_of(&QuantSettings::default()).params.is_empty());
        for bad in ["layer=conv9", "bits=9", "qat_epochs=0", "rmin=x"] {
            let (s, n) = settings_from_location(&Location::parse(&format!("#/quantization?{bad}")));
            assert_eq!(n.len(), 1, "{bad}");
            assert_eq!(s, QuantSettings::default());
        }
    }

    #[test]
    fn exactly_one_choice_of_each_exercise_is_right_and_every_label_renders() {
        for choices in [&SCALE_CHOICES, &ZERO_CHOICES] {
            assert_eq!(choices.iter().filter(|c| c.correct).count(), 1);
            for c in choices.iter() {
                let m = crate::ui::math::render_mathml(c.label, false);
                assert!(!m.starts_with("<code>"), "does not render: {}", c.label);
            }
        }
    }
}

//! Appendix "The image lab": the network the pruning and quantization chapters use, as a table of
//! layers; the original lab's CIFAR-10 VGG in the same calculator (with uniform channel pruning);
//! and the committed weights evaluated on the full Fashion-MNIST test set in this browser.

use crate::engine::Engine;
use crate::ui::controls::FieldInput;
use crate::ui::plot::Plot;
use crate::ui::run_controls::{RunControls, Speed};
use crate::url_state::{read_fields, write_fields, Location, NumField};
use crate::vision::data::{classify, ensure_loaded, LoadState, Loaded};
use crate::vision::finetune::{self, current_network, Model, TuneSpec, Tuning};
use crate::web;
use glassbox_lab::figures;
use glassbox_lab::vision::data::{FashionMnist, CLASSES, SIDE};
use glassbox_lab::vision::train::{self, Evaluation};
use glassbox_lab::vision::vgg::{self, Arch, ArchStats};
use leptos::prelude::*;
use std::rc::Rc;

pub const SLUG: &str = "image-lab";

/// The appendix's settings, all in the URL.
#[derive(Clone, Debug, PartialEq)]
pub struct LabSettings {
    /// Channel pruning ratio of the calculator.
    pub ratio: f64,
    /// Test images to evaluate (the first ones of the test set).
    pub eval_images: usize,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
}

impl Default for LabSettings {
    fn default() -> Self {
        LabSettings {
            ratio: 0.3,
            eval_images: 10_000,
            steps: 200,
            batch: 32,
            lr: 0.01,
            seed: 0,
        }
    }
}

static FIELDS: [NumField<LabSettings>; 6] = [
    NumField {
        key: "prune",
        label: "Channel pruning ratio r",
        min: 0.0,
        max: 0.9,
        step: 0.05,
        integer: false,
        get: |s| s.ratio,
        set: |s, v| s.ratio = v,
    },
    NumField {
        key: "eval_images",
        label: "Test images to classify",
        min: 100.0,
        max: 10_000.0,
        step: 100.0,
        integer: true,
        get: |s| s.eval_images as f64,
        set: |s, v| s.eval_images = v as usize,
    },
    NumField {
        key: "ft_steps",
        label: "Fine-tuning steps",
        min: 1.0,
        max: 2000.0,
        step: 1.0,
        integer: true,
        get: |s| s.steps as f64,
        set: |s, v| s.steps = v as usize,
    },
    NumField {
        key: "ft_batch",
        label: "Batch size",
        min: 8.0,
        max: 128.0,
        step: 8.0,
        integer: true,
        get: |s| s.batch as f64,
        set: |s, v| s.batch = v as usize,
    },
    NumField {
        key: "ft_lr",
        label: "Learning rate (start of the cosine schedule)",
        min: 0.0001,
        max: 0.5,
        step: 0.0001,
        integer: false,
        get: |s| s.lr,
        set: |s, v| s.lr = v,
    },
    NumField {
        key: "ft_seed",
        label: "Seed (batch order and augmentation)",
        min: 0.0,
        max: 1_000_000.0,
        step: 1.0,
        integer: true,
        get: |s| s.seed as f64,
        set: |s, v| s.seed = v as u64,
    },
];

/// Settings from the URL, with a notice per bad parameter.
pub fn settings_from_location(loc: &Location) -> (LabSettings, Vec<String>) {
    let mut s = LabSettings::default();
    let mut notices = Vec::new();
    read_fields(loc, &FIELDS, &mut s, &mut notices);
    (s, notices)
}

pub fn location_of(s: &LabSettings) -> Location {
    let mut params = Vec::new();
    write_fields(&FIELDS, s, &LabSettings::default(), &mut params);
    Location {
        route: SLUG.into(),
        params,
    }
}

fn layer_table(label: String, stats: ArchStats) -> impl IntoView {
    view! {
        <div class="table-scroll">
        <table class="numbers" aria-label=label>
            <thead><tr>
                <th scope="col">"layer"</th><th scope="col">"in"</th><th scope="col">"out"</th>
                <th scope="col">"parameters"</th><th scope="col">"multiply-adds"</th>
            </tr></thead>
            <tbody>
                {stats.layers.iter().map(|l| view! {
                    <tr><td>{l.name.clone()}</td><td>{l.input}</td><td>{l.out}</td><td>{group(l.params)}</td><td>{group(l.macs)}</td></tr>
                }).collect_view()}
                <tr class="total">
                    <th scope="row">"total"</th><td></td><td></td>
                    <td data-total="params">{group(stats.params)}</td>
                    <td data-total="macs">{group(stats.macs)}</td>
                </tr>
            </tbody>
        </table>
        </div>
        <p class="note">{format!("{:.2} MiB of fp32 parameters.", stats.size_mib)}</p>
    }
}

/// 9228362 -> "9,228,362".
fn group(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Draw up to 16 misclassified test images with their true and predicted classes.
fn draw_mistakes(
    canvas: &web_sys::HtmlCanvasElement,
    d: &FashionMnist,
    e: &Evaluation,
    dark: bool,
) {
    let Some(ctx) = web::context_2d(canvas) else {
        return;
    };
    let (cell, scale) = (112.0, 3.0);
    ctx.set_fill_style_str(if dark { "#181a20" } else { "#ffffff" });
    ctx.fill_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    for (slot, &(i, p)) in e.mistakes.iter().take(16).enumerate() {
        let (x0, y0) = ((slot % 8) as f64 * cell, (slot / 8) as f64 * (cell + 8.0));
        let img = d.test.image(i);
        for r in 0..SIDE {
            for c in 0..SIDE {
                let v = img[r * SIDE + c];
                let v = if dark { v } else { 255 - v };
                ctx.set_fill_style_str(&format!("rgb({v},{v},{v})"));
                ctx.fill_rect(
                    x0 + 14.0 + c as f64 * scale,
                    y0 + r as f64 * scale,
                    scale,
                    scale,
                );
            }
        }
        ctx.set_fill_style_str(if dark { "#e6e6ec" } else { "#1e1e24" });
        ctx.set_font("11px sans-serif");
        let _ = ctx.fill_text(
            &format!(
                "{} → {}",
                short(d.test.labels[i] as usize),
                short(p as usize)
            ),
            x0 + 4.0,
            y0 + 98.0,
        );
    }
}

fn short(c: usize) -> &'static str {
    [
        "T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
        "Boot",
    ]
    .get(c)
    .copied()
    .unwrap_or("?")
}

#[derive(Clone, Debug, PartialEq)]
enum EvalState {
    Idle,
    Running(f64),
    /// The evaluation, seconds of computation, where it ran, which network.
    Done(Evaluation, f64, &'static str, String),
}

#[component]
pub fn ImageLab(location: Location) -> impl IntoView {
    let (start, notices) = settings_from_location(&location);
    let settings = RwSignal::new(start);
    Effect::new(move |_| web::publish(&location_of(&settings.get())));
    let cifar = Memo::new(move |_| {
        let r = settings.get().ratio;
        Arch::cifar_vgg().channel_pruned(r).map(|a| vgg::stats(&a))
    });
    let dense_macs = vgg::stats(&Arch::cifar_vgg()).macs as f64;
    let engine = expect_context::<Engine>();
    let load = RwSignal::new(LoadState::Idle);
    let state = RwSignal::new(EvalState::Idle);
    let tuning = RwSignal::new(Tuning::default());
    let speed = RwSignal::new(Speed::Fast);
    let lab = StoredValue::new_local(None::<Rc<Loaded>>);
    let model = StoredValue::new_local(Model::default());
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let theme = use_context::<crate::ui::Theme>();
    let loading = move || matches!(load.get(), LoadState::Loading(..));

    let evaluate = move |_| {
        if matches!(state.get_untracked(), EvalState::Running(_)) || tuning.get_untracked().running
        {
            return;
        }
        crate::tasks::spawn_page_task(async move {
            let Some(l) = ensure_loaded(load).await else {
                return;
            };
            lab.set_value(Some(l.clone()));
            state.set(EvalState::Running(0.0));
            let net = current_network(model, engine, &l.pretrained).await;
            let which = match tuning.get_untracked().points.last() {
                Some(p) => format!("fine-tuned for {} steps", p.step),
                None => "the committed weights".to_string(),
            };
            let count = settings.get_untracked().eval_images.min(l.data.test.len());
            let progress = move |p| state.set(EvalState::Running(p));
            let Some((preds, secs, ran)) =
                classify(&l.data, net, count, engine, progress, || true).await
            else {
                return;
            };
            let e = train::summarise(&l.data.test, &preds, 10);
            if let Some(c) = canvas_ref.get_untracked() {
                draw_mistakes(
                    &c,
                    &l.data,
                    &e,
                    theme.map(|t| t.dark.get_untracked()).unwrap_or(false),
                );
            }
            state.set(EvalState::Done(e, secs, ran, which));
        });
    };
    // Redraw the strip when the theme changes.
    Effect::new(move |_| {
        let dark = theme.map(|t| t.dark.get()).unwrap_or(false);
        if let (EvalState::Done(e, ..), Some(c), Some(l)) =
            (state.get(), canvas_ref.get(), lab.get_value())
        {
            draw_mistakes(&c, &l.data, &e, dark);
        }
    });

    // Fine-tuning: one SGD step at a time; on the CPU each step's forward and backward passes run a
    // block at a time in ~30 ms slices; on WebGPU a step is one submission, awaited.
    let run = move |single: bool| {
        if tuning.get_untracked().running || matches!(state.get_untracked(), EvalState::Running(_))
        {
            return;
        }
        crate::tasks::spawn_page_task(async move {
            let Some(l) = ensure_loaded(load).await else {
                return;
            };
            lab.set_value(Some(l.clone()));
            let st = settings.get_untracked();
            let spec = TuneSpec {
                steps: st.steps,
                batch: st.batch,
                lr: st.lr,
                seed: st.seed,
                done_hint: " Evaluate the test set to see the effect.",
                stop_every: None,
            };
            finetune::run(model, tuning, l, spec, engine, speed, single);
        });
    };
    let reset = move || {
        finetune::reset(model, tuning, None, finetune::Keep::Nothing);
        state.set(EvalState::Idle);
    };
    // Changing a fine-tuning setting starts the run over.
    Effect::new(move |prev: Option<(usize, usize, f64, u64)>| {
        let s = settings.get();
        let key = (s.steps, s.batch, s.lr, s.seed);
        if prev.is_some_and(|p| p != key) {
            reset();
        }
        key
    });
    let points = Signal::derive(move || tuning.get().points);
    let loss_summary = Signal::derive(move || figures::training_summary(&points.get()));
    let loss_csv = Signal::derive(move || figures::training_csv(&points.get()));

    let can_run = Signal::derive(move || {
        !loading() && tuning.get().points.last().map(|p| p.step) != Some(settings.get().steps)
    });
    let step_count =
        Signal::derive(move || tuning.get().points.last().map(|p| p.step).unwrap_or(0));
    let total = Signal::derive(move || settings.get().steps);

    view! {
        <article class="chapter">
            <h1>"The image lab"</h1>
            {notices.into_iter().map(|n| view! { <p class="notice warning" role="alert">{n}</p> }).collect_view()}
            <p>
                "The pruning and quantization chapters work on a real trained network: the original lab's \
                 VGG pattern (3 × 3 convolutions without bias, each with batch-norm and ReLU, max-pooling \
                 after every second one, a mean over space and one linear layer), scaled down to train on \
                 Fashion-MNIST in minutes. Its images are 28 × 28, padded to 32 × 32 so the network keeps \
                 the original's four pooling stages."
            </p>
            <h2>"Our network"</h2>
            {layer_table("Layers of our network".into(), vgg::stats(&Arch::lab()))}
            <h2>"The original lab's network"</h2>
            <p>
                "The same calculator on the original CIFAR-10 VGG gives its published totals: 9,228,362 \
                 parameters (35.20 MiB in fp32) and about 606 million multiply-adds per image. Uniform \
                 channel pruning keeps round(C (1 − r)) output channels of every convolution but the last; \
                 both the input and the output channels of the inner layers shrink, so their compute falls \
                 by (1 − r)², 0.49 at r = 0.3."
            </p>
            <div class="controls-grid">
                <FieldInput field=&FIELDS[0] settings=settings/>
            </div>
            {move || match cifar.get() {
                Ok(s) => {
                    let ratio = s.macs as f64 / dense_macs;
                    view! {
                        <p data-key="prune-ratio">{format!("Multiply-adds: {:.1}% of the dense network.", 100.0 * ratio)}</p>
                        {layer_table("Layers of the original lab's network".into(), s)}
                    }.into_any()
                }
                Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
            }}
            <h2>"Evaluating the trained network here"</h2>
            <p>
                "The committed weights reached 92.0% on the 10,000 test images when trained natively. \
                 Press the button to download the data set (8.8 MB: the 10,000 test images and 10,000 \
                 training images) and the weights (1.2 MB), and classify the test images in this browser: \
                 on WebGPU when the page uses it (one submission per 200 images), otherwise on the CPU in \
                 short slices. After fine-tuning below, the same button evaluates the fine-tuned network."
            </p>
            <div class="controls-grid">
                <FieldInput field=&FIELDS[1] settings=settings/>
            </div>
            <button type="button" class="primary" on:click=evaluate
                disabled=move || loading() || tuning.get().running || matches!(state.get(), EvalState::Running(_))>
                "Evaluate on the test set"
            </button>
            <div class="progress-row">
                <label>"Download "
                    <progress max="1" aria-label="Download progress" value=move || load.get().fraction()></progress>
                </label>
                <label>"Classification "
                    <progress max="1" aria-label="Evaluation progress" value=move || match state.get() {
                        EvalState::Running(p) => p,
                        EvalState::Done(..) => 1.0,
                        _ => 0.0,
                    }></progress>
                </label>
            </div>
            <p class="status" role="status" aria-live="polite">{move || match (load.get().message(), state.get()) {
                (Some(m), _) => m,
                (_, EvalState::Idle) => String::new(),
                (_, EvalState::Running(p)) => format!("Classifying… {:.0}%", 100.0 * p),
                (_, EvalState::Done(e, secs, ran, which)) => format!(
                    "Done: {} images with {which}, in {:.1} s on the {ran} ({:.0} images/s).",
                    e.images, secs, e.images as f64 / secs.max(1e-9)
                ),
            }}</p>
            {move || match state.get() {
                EvalState::Done(e, _, ran, _) => view! {
                    <p class="big-number">"Test accuracy: "<strong data-key="accuracy" data-backend=ran>{format!("{:.2}%", 100.0 * e.accuracy)}</strong></p>
                    <div class="table-scroll">
                    <table class="numbers confusion" aria-label="Confusion matrix (rows: true class, columns: predicted)">
                        <thead><tr><th scope="col">"true \\ predicted"</th>
                            {(0..10).map(|c| view! { <th scope="col" title=CLASSES[c]>{short(c)}</th> }).collect_view()}
                            <th scope="col">"accuracy"</th></tr></thead>
                        <tbody>
                            {(0..10).map(|r| {
                                let row = e.confusion[r].clone();
                                let total = row.iter().sum::<u32>().max(1) as f64;
                                view! {
                                    <tr>
                                        <th scope="row">{CLASSES[r]}</th>
                                        {row.into_iter().enumerate().map(|(c, v)| {
                                            let share = v as f64 / total;
                                            let style = format!("background: rgba({}, {:.2})", if c == r { "0, 158, 115" } else { "213, 94, 0" }, (share * 1.5).min(0.85));
                                            view! { <td style=style>{v}</td> }
                                        }).collect_view()}
                                        <td>{format!("{:.1}%", 100.0 * e.per_class[r])}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any(),
                _ => ().into_any(),
            }}
            <h3>"Some of the images it gets wrong"</h3>
            <canvas node_ref=canvas_ref width="896" height="240" class="strip" role="img"
                aria-label=move || match state.get() {
                    EvalState::Done(e, ..) => format!("The first {} misclassified test images, each labelled true class → predicted class.", e.mistakes.len().min(16)),
                    _ => "Empty until the evaluation runs.".into(),
                }></canvas>
            <h2>"Fine-tuning here"</h2>
            <p>
                "Training continues from the committed weights on the 10,000 training images, exactly as \
                 the command line trains: SGD with momentum 0.9 and weight decay 5·10⁻⁴, a cosine \
                 learning-rate schedule over the chosen number of steps, batch-norm in training mode, and \
                 augmentation (a random shift of up to two pixels and a horizontal flip). The curve shows \
                 each batch's loss and the share of the batch the network got right before the step. On the \
                 CPU a step runs a layer at a time between screen updates; on WebGPU the whole step is one \
                 submission and the weights stay on the device. Evaluate the test set above to see what the \
                 fine-tuning did; Reset returns to the committed weights."
            </p>
            <div class="controls-grid">
                <FieldInput field=&FIELDS[2] settings=settings/>
                <FieldInput field=&FIELDS[3] settings=settings/>
                <FieldInput field=&FIELDS[4] settings=settings/>
                <FieldInput field=&FIELDS[5] settings=settings/>
            </div>
            <RunControls
                label="Fine-tuning"
                running=Signal::derive(move || tuning.get().running)
                can_run=can_run
                iteration=step_count
                total=total
                progress=Signal::derive(move || step_count.get() as f64 / total.get().max(1) as f64)
                status=Signal::derive(move || match (load.get().message(), tuning.get()) {
                    (Some(m), _) => m,
                    (_, t) => t.status_line(),
                })
                speed=speed
                on_run=move || run(false)
                on_pause=move || tuning.update(|t| t.request_pause())
                on_step=move || run(true)
                on_reset=reset
            />
            <Plot
                name="fine-tuning"
                title="Fine-tuning: batch loss and accuracy"
                summary=loss_summary
                csv=loss_csv
                draw=move |area, palette| figures::draw_training(area, &points.get(), palette)
            />
        </article>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::group(9_228_362), "9,228,362");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1_000), "1,000");
        assert_eq!(super::group(0), "0");
    }
}

//! Appendix "The image lab": the network the pruning and quantization chapters use, as a table of
//! layers; the original lab's CIFAR-10 VGG in the same calculator (with uniform channel pruning);
//! and the committed weights evaluated on the full Fashion-MNIST test set in this browser.

use super::{run_in_slices, Slice};
use crate::ui::controls::FieldInput;
use crate::url_state::NumField;
use crate::web;
use glassbox_lab::data::{self, FashionMnist, CLASSES, SIDE};
use glassbox_lab::network::Network;
use glassbox_lab::train::{self, Evaluation};
use glassbox_lab::vgg::{self, Arch, ArchStats};
use leptos::prelude::*;
use std::rc::Rc;

pub const SLUG: &str = "image-lab";

#[derive(Clone, Debug, PartialEq)]
pub struct PruneSetting {
    pub ratio: f64,
}

static PRUNE_FIELD: [NumField<PruneSetting>; 1] = [NumField {
    key: "prune",
    label: "Channel pruning ratio r",
    min: 0.0,
    max: 0.9,
    step: 0.05,
    integer: false,
    get: |s| s.ratio,
    set: |s, v| s.ratio = v,
}];

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
    use wasm_bindgen::JsCast;
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
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
    Loading,
    Running(f64),
    Done(Evaluation, f64),
    Failed(String),
}

#[component]
pub fn ImageLab() -> impl IntoView {
    let prune = RwSignal::new(PruneSetting { ratio: 0.3 });
    let cifar = Memo::new(move |_| {
        let r = prune.get().ratio;
        Arch::cifar_vgg().channel_pruned(r).map(|a| vgg::stats(&a))
    });
    let dense_macs = vgg::stats(&Arch::cifar_vgg()).macs as f64;
    let state = RwSignal::new(EvalState::Idle);
    let data = StoredValue::new_local(None::<Rc<(FashionMnist, Network)>>);
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let theme = use_context::<crate::ui::Theme>();

    let evaluate = move |_| {
        if matches!(
            state.get_untracked(),
            EvalState::Loading | EvalState::Running(_)
        ) {
            return;
        }
        state.set(EvalState::Loading);
        leptos::task::spawn_local(async move {
            let loaded = match data.get_value() {
                Some(d) => Ok(d),
                None => {
                    async {
                        let asset = web::fetch_bytes("fashion-mnist.gbds").await?;
                        let d = data::decode(&asset).map_err(|e| e.to_string())?;
                        let w = web::fetch_bytes("fashion-vgg.gbnet").await?;
                        let net = Network::from_bytes(&w)?;
                        Ok::<_, String>(Rc::new((d, net)))
                    }
                    .await
                }
            };
            let pair = match loaded {
                Ok(p) => p,
                Err(e) => {
                    state.set(EvalState::Failed(format!(
                        "The data could not be loaded: {e}"
                    )));
                    return;
                }
            };
            data.set_value(Some(pair.clone()));
            let (d, net) = (&pair.0, pair.1.clone());
            let mut net = net;
            let n = d.test.len();
            let mut preds: Vec<u32> = Vec::with_capacity(n);
            let mut busy = 0.0f64;
            state.set(EvalState::Running(0.0));
            run_in_slices(
                |deadline| {
                    let t0 = web::now_ms();
                    while preds.len() < n && web::now_ms() < deadline {
                        let start = preds.len();
                        preds.extend(train::predict(
                            &mut net,
                            &d.test,
                            start..(start + 10).min(n),
                        ));
                    }
                    busy += web::now_ms() - t0;
                    state.set(EvalState::Running(preds.len() as f64 / n as f64));
                    if preds.len() >= n {
                        Slice::Idle
                    } else {
                        Slice::Continue
                    }
                },
                || true,
            )
            .await;
            let e = train::summarise(&d.test, &preds, 10);
            if let Some(c) = canvas_ref.get_untracked() {
                draw_mistakes(
                    &c,
                    d,
                    &e,
                    theme.map(|t| t.dark.get_untracked()).unwrap_or(false),
                );
            }
            state.set(EvalState::Done(e, busy / 1000.0));
        });
    };
    // Redraw the strip when the theme changes.
    Effect::new(move |_| {
        let dark = theme.map(|t| t.dark.get()).unwrap_or(false);
        if let (EvalState::Done(e, _), Some(c), Some(d)) =
            (state.get(), canvas_ref.get(), data.get_value())
        {
            draw_mistakes(&c, &d.0, &e, dark);
        }
    });

    view! {
        <article class="chapter">
            <h1>"The image lab"</h1>
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
                <FieldInput field=&PRUNE_FIELD[0] settings=prune/>
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
                 Press the button to download the test set (8.8 MB) and the weights (1.2 MB) and classify \
                 every image in this browser, on the CPU, in short slices."
            </p>
            <button type="button" class="primary" on:click=evaluate
                disabled=move || matches!(state.get(), EvalState::Loading | EvalState::Running(_))>
                "Evaluate on the test set"
            </button>
            <div class="progress-row">
                <progress max="1" aria-label="Evaluation progress" value=move || match state.get() {
                    EvalState::Running(p) => p,
                    EvalState::Done(..) => 1.0,
                    _ => 0.0,
                }></progress>
            </div>
            <p class="status" role="status" aria-live="polite">{move || match state.get() {
                EvalState::Idle => String::new(),
                EvalState::Loading => "Downloading the test set and the weights…".into(),
                EvalState::Running(p) => format!("Classifying… {:.0}%", 100.0 * p),
                EvalState::Done(e, secs) => format!("Done: {} images in {:.1} s of computation.", e.images, secs),
                EvalState::Failed(e) => e,
            }}</p>
            {move || match state.get() {
                EvalState::Done(e, _) => view! {
                    <p class="big-number">"Test accuracy: "<strong data-key="accuracy">{format!("{:.2}%", 100.0 * e.accuracy)}</strong></p>
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
                    EvalState::Done(e, _) => format!("The first {} misclassified test images, each labelled true class → predicted class.", e.mistakes.len().min(16)),
                    _ => "Empty until the evaluation runs.".into(),
                }></canvas>
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

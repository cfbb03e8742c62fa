//! "Evaluating the trained network here": classify the test images in this browser with the
//! committed (or fine-tuned) weights; the accuracy, the confusion matrix and some mistakes.

use super::confusion::accuracy_and_confusion;
use super::mistakes::draw_mistakes;
use super::state::{EvalState, ImageLabState, FIELDS};
use crate::engine::Engine;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::vision::data::{classify, ensure_loaded};
use crate::vision::finetune::current_network;
use glassbox_lab::vision::train;
use leptos::prelude::*;

#[component]
pub fn EvaluatingHere() -> impl IntoView {
    let shared = crate::ui::context::<ImageLabState>();
    let ImageLabState {
        settings,
        load,
        evaluation,
        tuning,
        lab,
        model,
    } = shared;
    let engine = crate::ui::context::<Engine>();
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let theme = use_context::<crate::ui::Theme>();
    let loading = move || shared.loading();

    let evaluate = move |_| {
        if matches!(evaluation.get_untracked(), EvalState::Running(_))
            || tuning.get_untracked().running
        {
            return;
        }
        crate::tasks::spawn_page_task(async move {
            let Some(l) = ensure_loaded(load).await else {
                return;
            };
            lab.set_value(Some(l.clone()));
            evaluation.set(EvalState::Running(0.0));
            let net = current_network(model, engine, &l.pretrained).await;
            let which = match tuning.get_untracked().points.last() {
                Some(p) => format!("fine-tuned for {} steps", p.step),
                None => "the committed weights".to_string(),
            };
            let count = settings.get_untracked().eval_images.min(l.data.test.len());
            let progress = move |p| evaluation.set(EvalState::Running(p));
            let Some((preds, secs, ran)) =
                classify(&l.data, net, count, engine, &progress, &|| true).await
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
            evaluation.set(EvalState::Done(e, secs, ran, which));
        });
    };
    // Redraw the strip when the theme changes.
    crate::ui::effect(move || {
        let dark = theme.map(|t| t.dark.get()).unwrap_or(false);
        if let (EvalState::Done(e, ..), Some(c), Some(l)) =
            (evaluation.get(), canvas_ref.get(), lab.get_value())
        {
            draw_mistakes(&c, &l.data, &e, dark);
        }
    });

    view! {
        <Section id="evaluation">
        <h2 id="evaluation">"Evaluating the trained network here"</h2>
        <Prose html=prose!(r#"
            <p>The committed weights reached 92.0% on the 10,000 test images when trained natively.
            Press the button to download the data set (8.8 MB: the 10,000 test images and 10,000
            training images) and the weights (1.2 MB), and classify the test images in this browser:
            on WebGPU when the page uses it (one submission per 200 images), otherwise on the CPU in
            short slices. After fine-tuning below, the same button evaluates the fine-tuned
            network.</p>
        "#)/>
        <div class="controls-grid">
            <FieldInput field=&FIELDS[1] settings=settings/>
        </div>
        <button type="button" class="primary" on:click=evaluate
            disabled=move || loading() || tuning.get().running || matches!(evaluation.get(), EvalState::Running(_))>
            "Evaluate on the test set"
        </button>
        <div class="progress-row">
            <label>"Download "
                <progress max="1" aria-label="Download progress" value=move || load.get().fraction()></progress>
            </label>
            <label>"Classification "
                <progress max="1" aria-label="Evaluation progress" value=move || match evaluation.get() {
                    EvalState::Running(p) => p,
                    EvalState::Done(..) => 1.0,
                    _ => 0.0,
                }></progress>
            </label>
        </div>
        <p class="status" role="status" aria-live="polite">{move || match (load.get().message(), evaluation.get()) {
            (Some(m), _) => m,
            (_, EvalState::Idle) => String::new(),
            (_, EvalState::Running(p)) => format!("Classifying… {:.0}%", 100.0 * p),
            (_, EvalState::Done(e, secs, ran, which)) => format!(
                "Done: {} images with {which}, in {:.1} s on the {ran} ({:.0} images/s).",
                e.images, secs, e.images as f64 / secs.max(1e-9)
            ),
        }}</p>
        {move || match evaluation.get() {
            EvalState::Done(e, _, ran, _) => accuracy_and_confusion(e, ran).into_any(),
            _ => ().into_any(),
        }}
        <h3>"Some of the images it gets wrong"</h3>
        <canvas node_ref=canvas_ref width="896" height="240" class="strip" role="img"
            aria-label=move || match evaluation.get() {
                EvalState::Done(e, ..) => format!("The first {} misclassified test images, each labelled true class → predicted class.", e.mistakes.len().min(16)),
                _ => "Misclassified test images. Empty plot: the evaluation has not run yet.".into(),
            }></canvas>
        </Section>
    }
}

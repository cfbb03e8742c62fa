//! "Fine-tuning here": training continues from the committed weights in this browser, with the
//! batch loss and accuracy drawn live.

use super::state::{EvalState, ImageLabState, FIELDS};
use crate::engine::Engine;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::run_controls::{RunControls, Speed};
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::ensure_loaded;
use crate::vision::finetune::{self, TuneSpec};
use glassbox_lab::figures;
use leptos::prelude::*;

#[component]
pub fn FineTuningHere() -> impl IntoView {
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
    let speed = Var::new(Speed::Fast);
    let loading = move || shared.loading();

    // Fine-tuning: one SGD step at a time; on the CPU each step's forward and backward passes run a
    // block at a time in ~30 ms slices; on WebGPU a step is one submission, awaited.
    let run = move |single: bool| {
        if tuning.get_untracked().running
            || matches!(evaluation.get_untracked(), EvalState::Running(_))
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
        evaluation.set(EvalState::Idle);
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
    let points = crate::ui::derive(move || tuning.get().points);
    let loss_summary = crate::ui::derive(move || figures::training_summary(&points.get()));
    let loss_csv = crate::ui::derive(move || figures::training_csv(&points.get()));

    let can_run = crate::ui::derive(move || {
        !loading() && tuning.get().points.last().map(|p| p.step) != Some(settings.get().steps)
    });
    let step_count =
        crate::ui::derive(move || tuning.get().points.last().map(|p| p.step).unwrap_or(0));
    let total = crate::ui::derive(move || settings.get().steps);

    view! {
        <Section id="fine-tuning">
        <h2 id="fine-tuning">"Fine-tuning here"</h2>
        <Prose html=prose!(r#"
            <p>Training continues from the committed weights on the 10,000 training images, exactly
            as the command line trains: SGD with momentum 0.9 and weight decay 5·10⁻⁴, a cosine
            learning-rate schedule over the chosen number of steps, batch-norm in training mode, and
            augmentation (a random shift of up to two pixels and a horizontal flip). The curve shows
            each batch's loss and the share of the batch the network got right before the step. On
            the CPU a step runs a layer at a time between screen updates; on WebGPU the whole step
            is one submission and the weights stay on the device. Evaluate the test set above to see
            what the fine-tuning did; Reset returns to the committed weights.</p>
        "#)/>
        <div class="controls-grid">
            <FieldInput field=&FIELDS[2] settings=settings/>
            <FieldInput field=&FIELDS[3] settings=settings/>
            <FieldInput field=&FIELDS[4] settings=settings/>
            <FieldInput field=&FIELDS[5] settings=settings/>
        </div>
        <RunControls
            label="Fine-tuning"
            running=crate::ui::derive(move || tuning.get().running)
            can_run=can_run
            iteration=step_count
            total=total
            progress=crate::ui::derive(move || step_count.get() as f64 / total.get().max(1) as f64)
            status=crate::ui::derive(move || match (load.get().message(), tuning.get()) {
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
        </Section>
    }
}

//! Fine-tuning the channel-pruned network, and its accuracy afterwards.

use super::state::PruningState;
use crate::engine::Engine;
use crate::ui::math::{prose, Prose};
use crate::ui::run_controls::{RunControls, Speed};
use crate::var::Var;
use crate::vision::data::{accuracy_of, classify};
use crate::vision::finetune;
use leptos::prelude::*;

/// `ch_model` and `ch_tuning` are the fine-tuning the channel section starts over when the
/// channel-pruned network changes; `ch_after` is the accuracy after it: (accuracy, images, steps).
#[component]
pub fn ChannelTuning(
    ch_model: StoredValue<finetune::Model, LocalStorage>,
    ch_tuning: Var<finetune::Tuning>,
    ch_after: Var<Option<(f64, usize, usize)>>,
) -> impl IntoView {
    let PruningState {
        settings,
        lab,
        eval_images,
        channel,
        ..
    } = crate::ui::context();
    let engine = crate::ui::context::<Engine>();

    let ch_speed = Var::new(Speed::Fast);
    let ch_run = move |single: bool| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let spec = settings.with_untracked(|s| s.tune_spec(" Evaluate it below."));
        finetune::run(ch_model, ch_tuning, l, spec, engine, ch_speed, single);
    };
    let ch_evaluating = Var::new(false);
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
                classify(&l.data, tuned, count, engine, &|_| {}, &|| true).await
            {
                ch_after.set(Some((accuracy_of(&l.data.test, &preds), count, steps)));
            }
            ch_evaluating.set(false);
        });
    };

    view! {
            <Prose html=prose!(r#"
                <p>Fine-tune the thinner network (the fine-tuning settings above apply):</p>
            "#)/>
            <RunControls
                label="Fine-tuning the channel-pruned network"
                running=crate::ui::derive(move || ch_tuning.get().running)
                can_run=crate::ui::derive(move || lab.get().is_some() && ch_tuning.get().points.last().map(|p| p.step) != Some(settings.get().ft_steps))
                iteration=crate::ui::derive(move || ch_tuning.get().points.last().map(|p| p.step).unwrap_or(0))
                total=crate::ui::derive(move || settings.get().ft_steps)
                progress=crate::ui::derive(move || ch_tuning.get().points.last().map(|p| p.step).unwrap_or(0) as f64 / settings.get().ft_steps.max(1) as f64)
                status=crate::ui::derive(move || ch_tuning.get().status)
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
            <p data-out="channel-after">{move || match ch_after.get() {
                None if ch_evaluating.get() => "Evaluating…".to_string(),
                None => String::new(),
                Some((a, n, steps)) => format!("After {steps} fine-tuning steps: {:.2}% on the first {n} test images.", 100.0 * a),
            }}</p>
    }
}

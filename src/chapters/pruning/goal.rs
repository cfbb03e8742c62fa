//! Section "Exercise: a quarter of the size, the same accuracy": fine-tune the pruned network with
//! its masks kept, then check the size and the accuracy against the lab's goal.

use super::state::{PruningState, TUNE_FIELDS};
use crate::engine::Engine;
use crate::ui::controls::FieldInput;
use crate::ui::exercise::{self, Exercise};
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::run_controls::{RunControls, Speed};
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::{accuracy_of, classify};
use crate::vision::finetune;
use glassbox_lab::compress::prune;
use glassbox_lab::figures;
use leptos::prelude::*;

#[component]
pub fn GoalExercise() -> impl IntoView {
    let PruningState {
        settings,
        lab,
        pruned,
        eval_images,
        dense_acc,
        tune_key,
        ..
    } = crate::ui::context();
    let engine = crate::ui::context::<Engine>();

    // The lab's goal as an exercise: fine-tune the pruned network with its masks kept, then check.
    let model = StoredValue::new_local(finetune::Model::default());
    let tuning = Var::new(finetune::Tuning::default());
    let speed = Var::new(Speed::Fast);
    // The checked goal, (goal, dense accuracy, fine-tuned accuracy, images), or why there is none.
    let verdict = Var::new(None::<Result<(prune::Goal, f64, f64, usize), String>>);
    let checking = Var::new(false);
    crate::ui::effect(move || {
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
        let spec = settings.with_untracked(|s| s.tune_spec(" Check the result below."));
        finetune::run(model, tuning, l, spec, engine, speed, single);
    };
    let check = move || {
        let (Some(l), Some(Ok(p))) = (lab.get_untracked(), pruned.get_untracked()) else {
            return None;
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
                    &|_| {},
                    &|| true,
                )
                .await
                .map(|(p, ..)| accuracy_of(&l.data.test, &p)),
            };
            let tuned = classify(&l.data, net, count, engine, &|_| {}, &|| true)
                .await
                .map(|(p, ..)| accuracy_of(&l.data.test, &p));
            let result = match (dense, tuned) {
                (Some(d), Some(a)) => Ok((
                    prune::check_goal(p.dense_bits, sparse_bits, d, a),
                    d,
                    a,
                    count,
                )),
                _ => Err("The evaluation did not finish.".into()),
            };
            verdict.set(Some(result));
            checking.set(false);
        });
        // The answer comes when the evaluation ends (`shown`, below).
        None
    };
    // The evaluation's outcome as the exercise's verdict; a failed evaluation is not an attempt.
    let shown = Var::new(None::<exercise::Verdict>);
    crate::ui::effect(move || {
        shown.set(match verdict.get() {
            Some(Ok((g, d, a, n))) => Some(goal_verdict(&g, d, a, n)),
            _ => None,
        })
    });
    let tune_points = crate::ui::derive(move || tuning.get().points);
    let tune_steps =
        crate::ui::derive(move || tuning.get().points.last().map(|p| p.step).unwrap_or(0));

    view! {
        <Section id="goal">
            <h2 id="goal">"Exercise: a quarter of the size, the same accuracy"</h2>
            <Prose html=prose!(r#"
                <p>The original lab's goal: choose per-layer sparsities so that the model is at most
                25% of its dense size, then fine-tune with the masks re-applied after every step
                (pruned weights stay zero) until the accuracy is within half a point of the dense
                network's. A sparse network loses accuracy at once, and fine-tuning wins most of it
                back: the surviving weights learn to do the work of the removed ones. Start from the
                scan's suggestion, or from your own sparsities above; then fine-tune and check.</p>
            "#)/>
            <div class="controls-grid">
                {TUNE_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
            <RunControls
                label="Fine-tuning the pruned network"
                running=crate::ui::derive(move || tuning.get().running)
                can_run=crate::ui::derive(move || lab.get().is_some() && tuning.get().points.last().map(|p| p.step) != Some(settings.get().ft_steps))
                iteration=tune_steps
                total=crate::ui::derive(move || settings.get().ft_steps)
                progress=crate::ui::derive(move || tune_steps.get() as f64 / settings.get().ft_steps.max(1) as f64)
                status=crate::ui::derive(move || tuning.get().status_line())
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
                summary=crate::ui::derive(move || figures::training_summary(&tune_points.get()))
                csv=crate::ui::derive(move || figures::training_csv(&tune_points.get()))
                draw=move |area, palette| figures::draw_training(area, &tune_points.get(), palette)/>
            <Exercise id="goal" check=check check_label="Check the goal" verdict=shown
                question="The lab's goal: at most 25% of the dense model's size, within half a point of its accuracy"
                hint="Prune the large layers (conv7, conv8) hardest and the sensitive first ones least, then fine-tune with the masks kept."
                ready=crate::ui::derive(move || lab.get().is_some() && !tuning.get().running && !checking.get())>
                <div data-out="verdict" role="status" aria-live="polite">{move || {
                    if checking.get() {
                        view! { <p>"Evaluating the pruned network and the dense one…"</p> }.into_any()
                    } else if let Some(Err(e)) = verdict.get() {
                        view! { <p class="notice error">{e}</p> }.into_any()
                    } else {
                        ().into_any()
                    }
                }}</div>
            </Exercise>
        </Section>
    }
}

/// The verdict of "Check the goal", in words: the size against the 25% budget, the accuracy
/// against half a point below the dense network's on the first `n` test images.
fn goal_verdict(g: &prune::Goal, dense: f64, acc: f64, n: usize) -> exercise::Verdict {
    let size = if g.size_ok {
        format!(
            "Size: {:.1}% of dense, within the 25% budget.",
            100.0 * g.size_ratio
        )
    } else {
        format!("Size: {:.1}% of dense, over the 25% budget: prune more (the large layers conv7 and conv8 hold most of the weights).", 100.0 * g.size_ratio)
    };
    let accuracy = if g.accuracy_ok {
        format!("Accuracy on the first {n} test images: {:.2}% against {:.2}% dense, {:.2} points lower: within half a point.", 100.0 * acc, 100.0 * dense, g.accuracy_drop_points)
    } else {
        format!("Accuracy on the first {n} test images: {:.2}% against {:.2}% dense, {:.2} points lower: more than half a point. Fine-tune longer, or prune the sensitive layers less.", 100.0 * acc, 100.0 * dense, g.accuracy_drop_points)
    };
    exercise::Verdict::new(g.size_ok && g.accuracy_ok, format!("{size} {accuracy}"))
}

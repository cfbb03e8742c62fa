//! The live experiment that parts (e)-(f), (g) and (h)-(i) each hold one of: run controls,
//! meta-training in slices, evaluation on the workers (or in slices), and its figures.

use super::experiment_plots::{TestErrorPlots, WeightPlots};
use super::live::{ExperimentView, Live};
use crate::tasks::{run_in_slices, Slice};
use crate::ui::math::{prose, Prose};
use crate::ui::run_controls::RunControls;
use glassbox_lab::figures::TestLossData;
use glassbox_lab::maml::Problem;
use leptos::prelude::*;

/// File-name stems of one experiment's figures.
pub struct PlotNames {
    pub test_loss: &'static str,
    pub zoom: &'static str,
    pub weights: &'static str,
    pub fit: &'static str,
}

/// One live MAML experiment (any inner loop, either problem): its run controls, meta-training and
/// evaluation in slices, and its figures. `children` is the prose read beside the test-error figure.
/// A `lazy` experiment computes nothing until the reader first presses Run (the page holds three).
#[component]
pub fn Experiment(
    v: ExperimentView,
    names: &'static PlotNames,
    #[prop(optional)] lazy: bool,
    children: Children,
) -> impl IntoView {
    let started = StoredValue::new(!lazy);
    let live = StoredValue::new_local(None::<Live>);
    let generation = StoredValue::new(0u64);
    let driving = StoredValue::new(None::<u64>);

    let drive = move || {
        let gen = generation.get_value();
        if driving.get_value() == Some(gen) {
            return;
        }
        driving.set_value(Some(gen));
        crate::tasks::spawn_page_task(async move {
            run_in_slices(
                &mut |deadline| {
                    let mut out = Slice::Idle;
                    live.update_value(|l| {
                        if let Some(l) = l.as_mut() {
                            out = v.slice(l, deadline);
                        }
                    });
                    out
                },
                &move || generation.get_value() == gen,
            )
            .await;
            if driving.get_value() == Some(gen) {
                driving.set_value(None);
            }
        });
    };

    let reset = move || {
        generation.update_value(|g| *g += 1);
        v.running.set(false);
        v.failure.set(None);
        v.iteration.set(0);
        v.progress.set(0.0);
        v.meta_loss.set(None);
        v.task_fit.set(None);
        v.test_loss.set(TestLossData::default());
        match Live::new(&v.settings.get_untracked()) {
            Ok(l) => {
                v.show_weights(&l);
                live.set_value(Some(l));
                if started.get_value() {
                    drive();
                } else {
                    v.status.set(
                        "Press Run: the page first evaluates the baselines, then meta-trains."
                            .into(),
                    );
                }
            }
            Err(e) => {
                live.set_value(None);
                v.failure.set(Some(e));
            }
        }
    };
    // A change of settings starts afresh. The first start (drawing the test tasks) waits a turn,
    // so that it is not in the task that mounts the chapter.
    let turn = crate::ui::next_turn();
    crate::ui::effect(move || {
        v.settings.track();
        if turn.get() {
            reset();
        }
    });

    let on_run = move || {
        started.set_value(true);
        if live.with_value(|l| l.as_ref().map(|l| l.trainer.finished()).unwrap_or(true)) {
            reset();
        }
        v.running.set(true);
        drive();
    };
    let on_pause = move || {
        v.running.set(false);
        // The figures are redrawn at most every 100 ms while running: show the iteration the
        // trainer stopped at, not the last one drawn.
        live.with_value(|l| {
            if let Some(l) = l.as_ref() {
                v.show_weights(l);
            }
        });
        v.status.set(format!(
            "Paused at iteration {}.",
            v.iteration.get_untracked()
        ));
    };
    let on_step = move || {
        started.set_value(true);
        live.update_value(|l| {
            if let Some(l) = l.as_mut() {
                l.step_requested = true;
            }
        });
        drive();
    };

    let total = crate::ui::derive(move || v.settings.get().iterations);
    let can_run = crate::ui::derive(move || v.failure.get().is_none());

    view! {
        <RunControls
            label="Meta-training"
            running=v.running
            can_run=can_run
            iteration=v.iteration
            total=total
            progress=v.progress
            status=v.status
            speed=v.speed
            on_run=on_run
            on_pause=on_pause
            on_step=on_step
            on_reset=reset
        />
        {move || v.failure.get().map(|e| view! {
            <div class="notice error" role="alert">
                <p>{e}</p>
                <Prose html=prose!(r#"
                    <p>Change a setting or press Reset to start again.</p>
                "#)/>
            </div>
        })}
        <p class="meta-loss" aria-live="off">
            {move || v.meta_loss.get().map(|l| {
                let what = if v.settings.with(|s| s.problem == Problem::Classification) {
                    "logistic loss summed over 64 points"
                } else {
                    "sum of squared errors on 64 points"
                };
                format!("Latest meta loss ({what}, mean over tasks): {l:.3}")
            })}
        </p>
        <TestErrorPlots v=v names=names/>
        {children()}
        <WeightPlots v=v names=names/>
    }
}

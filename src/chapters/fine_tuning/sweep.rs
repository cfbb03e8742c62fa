//! Section "Sweep all blocks": every tuning choice in turn under the chosen shift and protocol,
//! each a `Tuner` run in slices; a bar chart of test accuracy after tuning (the shifted network's
//! accuracy as the baseline) and a table with each choice's parameters, best (lr, epoch) and time.

use super::controls::RunStop;
use super::runner::{on, run_jobs, secs, Place};
use super::state::{clear_on_change, FineTuningState};
use crate::calc::Calc;
use crate::tasks::Generation;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::shift::{Tune, TuneResult};
use leptos::prelude::*;

/// A finished choice: its result, how long it took, and where it ran ("WebGPU" or "CPU").
type Row = (TuneResult, f64, &'static str);

/// The bar chart of a sweep (or part of one).
pub fn sweep_bars(title: &str, rows: &[Row]) -> BarGroups {
    let after = Tune::ALL
        .iter()
        .map(|t| {
            rows.iter()
                .find(|(r, ..)| r.tune == t.name())
                .map(|(r, ..)| r.accuracy_after)
        })
        .collect();
    BarGroups {
        title: title.into(),
        y_desc: "test accuracy".into(),
        categories: Tune::ALL.iter().map(|t| t.name()).collect(),
        series: vec![("after tuning".into(), after)],
        baseline: rows
            .first()
            .map(|(r, ..)| ("before (shifted network)".into(), r.accuracy_before)),
    }
}

#[component]
pub fn Sweep() -> impl IntoView {
    let FineTuningState {
        settings,
        lab,
        busy,
        ..
    } = crate::ui::context();
    let rows = Var::new(Vec::<Row>::new());
    let state = Var::new((false, 0usize, 0.0f64, String::new())); // running, choice, fraction, activity
    let error = Var::new(None::<String>);
    let generation = Generation::new();
    let engine = crate::ui::context::<crate::engine::Engine>();
    clear_on_change(settings, move || {
        generation.stop();
        rows.set(Vec::new());
        if state.get_untracked().0 {
            busy.set(false);
        }
        state.set((false, 0, 0.0, String::new()));
    });
    let run = move || {
        let Some(l) = lab.get_untracked() else { return };
        let s = settings.get_untracked();
        let alive = generation.start();
        rows.set(Vec::new());
        error.set(None);
        busy.set(true);
        state.set((true, 0, 0.0, String::new()));
        crate::tasks::spawn_page_task(async move {
            let jobs = Tune::ALL.iter().map(|&t| s.tune_settings(t)).collect();
            let n = Tune::ALL.len() as f64;
            let finished = run_jobs(
                &l,
                Place::Engine(engine),
                jobs,
                &alive,
                &|i, f, activity| {
                    if f < 0.0 {
                        error.set(Some(activity));
                    } else {
                        state.set((
                            true,
                            i,
                            (i as f64 + f) / n,
                            format!("{}: {activity}", Tune::ALL[i].name()),
                        ));
                    }
                },
                &mut |_, r, ms, ran| rows.update(|v| v.push((r, ms, ran))),
            )
            .await;
            if finished || (alive() && error.get_untracked().is_some()) {
                state.set((false, rows.get_untracked().len(), 1.0, String::new()));
                busy.set(false);
            }
        });
    };
    let stop = move || {
        generation.stop();
        state.update(|s| s.0 = false);
        busy.set(false);
    };
    let bars = Calc::new(move |_| {
        sweep_bars(
            &format!("Under {}", settings.get().shift().describe()),
            &rows.get(),
        )
    });

    view! {
        <Section id="sweep">
            <h2 id="sweep">"Sweep all blocks"</h2>
            <Prose html=prose!(r#"
                <p>The same shift and protocol as above, for every choice in turn: the four blocks,
                the head, everything, batch-norm statistics alone and Auto-RGN. An early block and
                everything cost the most (the gradient must travel back through the whole network);
                the head costs little, since its input is computed once.</p>
            "#)/>
            <RunStop action="run-sweep" label="Sweep all blocks" running=crate::ui::derive(move || state.get().0)
                on_run=run on_stop=stop/>
            {move || error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
            <div class="progress-row">
                <progress max="1" aria-label="Sweep progress" value=move || state.get().2></progress>
                <span class="counter" data-out="sweep-progress">{move || format!("{} / {} choices", rows.get().len(), Tune::ALL.len())}</span>
            </div>
            <p class="status" role="status" aria-live="polite">{move || state.get().3}</p>
            <BarPlot name="sweep" title="Accuracy after tuning each choice" height=380 bars=bars/>
            <SweepTable rows/>
        </Section>
    }
}

#[component]
fn SweepTable(rows: Var<Vec<Row>>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="numbers" data-out="sweep-table" aria-label="Sweep results">
                <thead><tr><th>"Tuned"</th><th>"Parameters"</th><th>"Before"</th><th>"After"</th><th>"Best lr, epoch"</th><th>"Time"</th></tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|(r, ms, ran)| view! {
                        <tr data-tune=r.tune.clone()>
                            <td>{r.tune.clone()}</td>
                            <td>{r.params_tuned}</td>
                            <td>{format!("{:.1}%", 100.0 * r.accuracy_before)}</td>
                            <td class="after">{format!("{:.1}%", 100.0 * r.accuracy_after)}</td>
                            <td>{match (r.lr, r.epoch) { (Some(lr), Some(e)) => format!("{lr:e}, {e}"), _ => "none".into() }}</td>
                            <td data-col="time">{format!("{} on {}", secs(ms), on(ran))}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

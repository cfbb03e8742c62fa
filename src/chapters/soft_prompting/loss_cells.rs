//! "Which outputs carry the loss?": the homework's 100-position sequence as cells the reader marks
//! (the page checks them and explains each wrong cell, `glassbox_lab::lm::loss_cells`), then the
//! same choice made on our pluralize sequences, measured: the loss on the answer only, on the
//! question too, or on everything with the padding.

use super::run::{train_run, Event};
use super::state::{training_nouns, SoftState};
use crate::engine::Engine;
use crate::lm::nouns_of;
use crate::tasks::Generation;
use crate::ui::exercise::{Exercise, Verdict};
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::lm::loss_cells::{self, LEN};
use glassbox_lab::lm::plurals::Split;
use glassbox_lab::lm::tuning::{LossOn, TuneSettings};
use leptos::prelude::*;

/// Epochs of each measured run.
const EPOCHS: usize = 2;

#[component]
fn CellGrid() -> impl IntoView {
    let marked = Var::new(vec![false; LEN]);
    let verdict = Var::new(None::<Verdict>);
    let check = move || {
        Some(match loss_cells::check(&marked.get_untracked()) {
            Ok(wrong) if wrong.is_empty() => Verdict::new(
                true,
                "Outputs 50 to 71, whose next tokens are the reasoning, the answer and the newline.",
            ),
            Ok(wrong) => Verdict {
                correct: false,
                message: format!(
                    "{} cell{} wrong:",
                    wrong.len(),
                    if wrong.len() == 1 { " is" } else { "s are" }
                ),
                details: wrong.into_iter().take(8).map(|(_, why)| why).collect(),
            },
            Err(e) => Verdict::new(false, e),
        })
    };
    let cell = move |j: usize| {
        let seg = loss_cells::segment(j);
        view! {
            <button type="button" class=format!("cell seg-{}", seg.name().replace(' ', "-"))
                data-cell=j
                aria-pressed=move || if marked.with(|m| m[j - 1]) { "true" } else { "false" }
                aria-label=format!("output {j} ({})", seg.name())
                on:click=move |_| { marked.update(|m| m[j - 1] = !m[j - 1]); verdict.set(None); }>
                {j}
            </button>
        }
    };
    let legend = [
        loss_cells::Segment::SoftPrompt,
        loss_cells::Segment::Question,
        loss_cells::Segment::Reasoning,
        loss_cells::Segment::Answer,
        loss_cells::Segment::Newline,
        loss_cells::Segment::Padding,
    ];
    view! {
        <Exercise id="loss-cells" question="Which outputs carry the loss?" check=check ready=true verdict=verdict
            hint="Output j predicts token j + 1. Which next tokens should the model learn to produce, and which are given or filler?">
            <Prose html=prose!(r#"
                <p>The homework's sequence: positions 1 to 5 are the soft prompt, 6 to 50 the
                question, 51 to 70 the reasoning, 71 the answer, 72 a newline, 73 to 100 padding.
                Output j is the model's prediction of token j + 1. Mark the outputs that belong in
                the loss, then check.</p>
            "#)/>
            <ul class="cell-legend">
                {legend.into_iter().map(|s| view! {
                    <li><span class=format!("swatch seg-{}", s.name().replace(' ', "-"))></span>{s.name()}</li>
                }).collect_view()}
            </ul>
            <div class="cell-grid" role="group" aria-label="Outputs 1 to 100">
                {(1..=LEN).map(cell).collect_view()}
            </div>
            <div class="buttons">
                <button type="button" on:click=move |_| { marked.set((1..=LEN).map(loss_cells::in_loss).collect()); verdict.set(None); }>
                    "Show the answer"
                </button>
                <button type="button" on:click=move |_| { marked.set(vec![false; LEN]); verdict.set(None); }>"Clear"</button>
            </div>
        </Exercise>
    }
}

#[component]
pub fn LossCells() -> impl IntoView {
    let st = crate::ui::context::<SoftState>();
    let engine = crate::ui::context::<Engine>();
    let settings = st.settings;
    let results = Var::new(Vec::<(LossOn, f64, f64)>::new());
    let status = Var::new(String::new());
    let running = Var::new(false);
    let pause = Var::new(false);
    let generation = Generation::new();
    let run = move |_| {
        let Some(lm) = st.begin() else {
            return;
        };
        let s = settings.get_untracked();
        let base: TuneSettings = s.tune();
        let (train, val) = (training_nouns(&s), nouns_of(Split::Val));
        let alive = generation.start();
        results.set(Vec::new());
        running.set(true);
        crate::tasks::spawn_page_task(async move {
            let result = async {
                engine.settled().await;
                for loss_on in LossOn::ALL {
                    let tune = TuneSettings {
                        loss_on,
                        epochs: EPOCHS,
                        ..base
                    };
                    let mut on = move |e: Event| {
                        if let Event::Progress(_, text) = e {
                            status.set(format!("Loss on {}: {text}", loss_on.name()));
                        }
                    };
                    let Some(r) =
                        train_run(&lm, engine, tune, &train, &val, pause, &alive, &mut on).await?
                    else {
                        return Ok(());
                    };
                    let (start, end) = (
                        r.curve[0].1,
                        r.curve.last().map(|p| p.1).unwrap_or(f64::NAN),
                    );
                    results.update(|v| v.push((loss_on, start, end)));
                }
                status.set("Done.".into());
                Ok::<(), String>(())
            }
            .await;
            if let Err(e) = result {
                status.set(format!("The run stopped: {e}"));
            }
            running.set(false);
            st.busy.set(false);
        });
    };
    let ready = move || st.lm.with(|m| m.is_some());
    let what = |l: LossOn| match l {
        LossOn::Answer => "the answer and its full stop (the homework's rule)",
        LossOn::PromptAndAnswer => "the question's characters too",
        LossOn::All => "everything, the padding after the full stop included",
    };
    view! {
        <Section id="loss-cells">
            <h2 id="loss-cells">"Which outputs carry the loss?"</h2>
            <CellGrid/>
            <p>
                {format!("The same choice on our pluralize sequences, measured: the section's prompt trained for \
                  {EPOCHS} epochs three times, the loss on the answer only, on the question too, and on every \
                  position including the padding (newlines to the longest sequence of each batch of four). \
                  Validation accuracy is always measured the same way, by the answer the model writes.")}
            </p>
            <div class="buttons">
                <button type="button" class="primary" on:click=run
                    disabled=move || running.get() || !ready() || st.busy.get()>"Measure the three choices"</button>
                <button type="button" on:click=move |_| { generation.stop(); results.set(Vec::new()); status.set(String::new()); }>"Reset"</button>
            </div>
            <p class="status" role="status" data-out="loss-status">{move || status.get()}</p>
            <div class="table-scroll">
                <table class="numbers" aria-label="Validation accuracy by the positions in the loss">
                    <thead><tr><th>"Loss on"</th><th>"Epoch 0"</th><th>{format!("After {EPOCHS} epochs")}</th></tr></thead>
                    <tbody>{move || results.get().into_iter().map(|(l, a, b)| view! {
                        <tr data-loss-on=l.name()><th scope="row">{what(l)}</th>
                            <td>{format!("{:.1}%", 100.0 * a)}</td><td>{format!("{:.1}%", 100.0 * b)}</td></tr>
                    }).collect_view()}</tbody>
                </table>
            </div>
        </Section>
    }
}

//! Zero-shot against few-shot: the pluralize task (`glassbox_lab::lm::pluralize`) with the
//! notebook's hard prompt after 0 to 9 worked examples, over the validation nouns, with correct
//! and with wrong labels in the examples; accuracy per number of shots, the invalid answers, and
//! accuracy per rule (zero-shot against the best few-shot count). A sweep of 800 greedy answers
//! that can pause and resume: on WebGPU one answer at a time, else in rounds on the worker pool,
//! or one at a time on the page's thread without a pool (`run::answer_all`).

use super::common::CommonWords;
use super::run::{answer_all, Answered};
use super::shot_answers::{PerRule, ShotAnswers};
use super::state::{PromptingState, SHOT_FIELDS};
use crate::calc::Calc;
use crate::engine::Engine;
use crate::lm::{all_nouns, nouns_of};
use crate::ui::controls::FieldInput;
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::lm::pluralize::{self, Answer, Summary, Verdict, MAX_SHOTS};
use glassbox_lab::lm::plurals::Split;
use leptos::prelude::*;

pub const KINDS: [(bool, &str); 2] = [(false, "correct labels"), (true, "wrong labels")];
pub const SHOTS: usize = MAX_SHOTS + 1;

/// Answers so far: [label kind][shots] -> the validation nouns answered.
pub type Answers = Vec<Vec<Vec<Answer>>>;

fn accuracy_bars(answers: &Answers, per_shot: usize) -> BarGroups {
    BarGroups {
        title: "Pluralize accuracy on the validation nouns".into(),
        y_desc: "accuracy".into(),
        categories: (0..SHOTS).map(|k| k.to_string()).collect(),
        series: KINDS
            .iter()
            .enumerate()
            .map(|(kind, (_, name))| {
                let values = (0..SHOTS)
                    .map(|k| {
                        let a = &answers[kind][k];
                        (a.len() == per_shot && per_shot > 0).then(|| Summary::of(a).accuracy())
                    })
                    .collect();
                (format!("{name} (shots on the axis)"), values)
            })
            .collect(),
        baseline: None,
    }
}

#[component]
pub fn Shots() -> impl IntoView {
    let st = crate::ui::context::<PromptingState>();
    let engine = crate::ui::context::<Engine>();
    let settings = st.settings;
    // The validation nouns arrive with the model.
    let per_shot = crate::ui::derive(move || st.lm.with(|_| nouns_of(Split::Val).len()));
    let total = move || KINDS.len() * SHOTS * per_shot.get();
    let answers = Var::new(vec![vec![Vec::<Answer>::new(); SHOTS]; KINDS.len()]);
    let next = Var::new(0usize);
    let running = Var::new(false);
    let pause = Var::new(false);
    let status = Var::new(String::new());
    let reset = move || {
        pause.set(true);
        answers.set(vec![vec![Vec::new(); SHOTS]; KINDS.len()]);
        next.set(0);
        status.set(String::new());
    };
    // New examples, new sweep.
    Effect::new(move |prev: Option<u64>| {
        let seed = settings.with(|s| s.shots_seed);
        if prev.is_some_and(|p| p != seed) && !running.get_untracked() {
            reset();
        }
        seed
    });
    let run = move |_| {
        let Some(lm) = st.lm.get_untracked() else {
            return;
        };
        if !st.hold() {
            return;
        }
        let seed = settings.get_untracked().shots_seed;
        let (val, train) = (nouns_of(Split::Val), nouns_of(Split::Train));
        let (per_shot, total) = (val.len(), KINDS.len() * SHOTS * val.len());
        pause.set(false);
        running.set(true);
        crate::tasks::spawn_page_task(async move {
            let from_start = next.get_untracked() == 0;
            // Answer `i`: (label kind, shots, validation noun).
            let at = move |i: usize| (i / (SHOTS * per_shot), (i / per_shot) % SHOTS, i % per_shot);
            let ask = |i: usize| {
                let (kind, k, n) = at(i);
                pluralize::examples(&train, k, KINDS[kind].0, seed)
                    .map(|ex| (pluralize::prompt(&ex, &val[n].singular), val[n]))
            };
            let of = format!("{total} answers");
            let mut got = |i: usize, a, so_far: &Answered| {
                let (kind, k, _) = at(i);
                answers.update(|all| all[kind][k].push(a));
                next.set(i + 1);
                status.set(so_far.progress(i + 1, &of));
            };
            let go = || !pause.get_untracked();
            match answer_all(
                engine,
                &lm,
                next.get_untracked()..total,
                &ask,
                &mut got,
                &go,
            )
            .await
            {
                Err(e) => status.set(e),
                Ok(run) if next.get_untracked() == total => {
                    status.set(format!(
                        "All {total} answers ({:.0} ms on {} this run).",
                        run.ms, run.place
                    ));
                    // The front page's time for this chapter: a whole sweep in one run.
                    if from_start {
                        crate::progress::record_time(super::SLUG, run.ms);
                    }
                }
                Ok(_) => {}
            }
            running.set(false);
            st.busy.set(false);
        });
    };
    let bars = Calc::new(move |_| answers.with(|a| accuracy_bars(a, per_shot.get())));
    let ready = move || st.lm.with(|m| m.is_some());
    let row = move |k: usize| {
        answers.with(|a| {
            let cell = |kind: usize| {
                let s = Summary::of(&a[kind][k]);
                if a[kind][k].len() < per_shot.get() {
                    "–".to_string()
                } else {
                    format!("{:.1}% ({:.0}% invalid)", 100.0 * s.accuracy(), 100.0 * s.invalid_rate())
                }
            };
            view! { <tr data-shots=k><th scope="row">{k}</th><td data-col="correct">{cell(0)}</td><td data-col="wrong">{cell(1)}</td></tr> }
        })
    };
    view! {
        <Section id="shots">
            <h2 id="shots">"Zero-shot against few-shot"</h2>
            <p>
                {move || format!("The notebook's task: the plural of a noun, asked as \u{201c}The plural of X is\u{201d}. Before the \
                  question come k worked examples (\u{201c}The plural of box is boxes.\u{201d}, one per line) from the \
                  training nouns; the model answers greedily. The answer is the first word it writes (letters, \
                  hyphens and apostrophes, after any spaces): correct if it is the label, invalid if there is no \
                  word at all, incorrect otherwise. The sweep asks {} at every k from 0 \
                  to 9, once with correct labels in the examples and once with each example given another \
                  example's plural. The context holds 128 characters, so beyond about three examples the oldest \
                  fall out of what the model reads.", all_nouns(per_shot.get(), "validation"))}
            </p>
            <div class="controls-grid">
                {SHOT_FIELDS.iter().map(|f| view! { <FieldInput field=f settings/> }).collect_view()}
            </div>
            <div class="buttons">
                <button type="button" class="primary" on:click=run
                    disabled=move || running.get() || !ready() || st.busy.get() || next.get() == total()>
                    {move || if next.get() > 0 && next.get() < total() { "Resume the sweep" } else { "Run the sweep" }}
                </button>
                <button type="button" on:click=move |_| pause.set(true) disabled=move || !running.get()>"Pause"</button>
                <button type="button" on:click=move |_| reset() disabled=move || running.get()>"Reset"</button>
            </div>
            <progress max=total value=move || next.get() aria-label="Answers so far"></progress>
            <p class="status" role="status" data-out="shots-status">{move || status.get()}</p>
            <BarPlot name="pluralize-shots" title="Accuracy per number of shots" height=320 bars=bars/>
            <table class="numbers" aria-label="Accuracy per number of shots">
                <thead><tr><th>"Shots"</th><th>"Correct labels"</th><th>"Wrong labels"</th></tr></thead>
                <tbody>{move || (0..SHOTS).map(row).collect_view()}</tbody>
            </table>
            <PerRule answers per_shot/>
            <ShotAnswers answers per_shot/>
            <CommonWords wrong=crate::ui::derive(move || answers.with(|a| {
                a.iter().flatten().flatten().filter(|x| x.verdict == Verdict::Incorrect).cloned().collect()
            }))/>
        </Section>
    }
}

//! What the shot sweep decides, read off its answers: accuracy per rule (zero-shot against the
//! best few-shot count), and the homework's questions on few-shot prompting and wrong labels
//! answered with this run's numbers once the sweep is complete.

use super::shots::{Answers, SHOTS};
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use crate::var::Var;
use glassbox_lab::lm::pluralize::Summary;
use leptos::prelude::*;

/// Accuracy of label kind `kind` at `k` shots, when every validation noun has been answered.
fn accuracy(a: &Answers, per_shot: usize, kind: usize, k: usize) -> Option<f64> {
    (per_shot > 0 && a[kind][k].len() == per_shot).then(|| Summary::of(&a[kind][k]).accuracy())
}

/// The best few-shot count so far with correct labels (the smallest k on a tie).
fn best_few_shot(a: &Answers, per_shot: usize) -> Option<(usize, f64)> {
    (1..SHOTS)
        .filter_map(|k| Some((k, accuracy(a, per_shot, 0, k)?)))
        .fold(None, |b, (k, acc)| match b {
            Some((_, best)) if best >= acc => b,
            _ => Some((k, acc)),
        })
}

#[component]
pub fn PerRule(answers: Var<Answers>, per_shot: Signal<usize>) -> impl IntoView {
    move || {
        answers.with(|a| {
            accuracy(a, per_shot.get(), 0, 0)?;
            let (best, _) = best_few_shot(a, per_shot.get())?;
            let (zero, few) = (Summary::of(&a[0][0]), Summary::of(&a[0][best]));
            let cell = |r: usize, n: usize| format!("{r} of {n}");
            let rows = zero
                .per_rule
                .iter()
                .zip(&few.per_rule)
                .map(|(&(rule, r0, n), &(_, rb, _))| {
                    view! { <tr data-rule=rule.name()><th scope="row">{rule.name()}</th><td>{cell(r0, n)}</td><td>{cell(rb, n)}</td></tr> }
                })
                .collect_view();
            Some(view! {
                <table class="numbers" aria-label="Accuracy per rule" data-out="per-rule">
                    <thead><tr><th>"Rule"</th><th>"0 shots"</th><th>{format!("{best} shots (the best so far)")}</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            })
        })
    }
}

#[component]
pub fn ShotAnswers(answers: Var<Answers>, per_shot: Signal<usize>) -> impl IntoView {
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let complete = move |a: &Answers| {
        (0..2).all(|kind| (0..SHOTS).all(|k| accuracy(a, per_shot.get(), kind, k).is_some()))
    };
    let few_shot = move || {
        answers.with(|a| {
            if !complete(a) {
                return "Run the whole sweep: this run's numbers then appear here.".to_string();
            }
            let zero = Summary::of(&a[0][0]);
            let (k, best) = best_few_shot(a, per_shot.get()).unwrap_or((0, 0.0));
            format!(
                "This run: zero-shot {} right ({} invalid); the best few-shot count, {k} examples, {}. {}",
                pct(zero.accuracy()),
                pct(zero.invalid_rate()),
                pct(best),
                if best > zero.accuracy() {
                    "Examples help this model."
                } else {
                    "Examples do not help this model here."
                }
            )
        })
    };
    let wrong_labels = move || {
        answers.with(|a| {
            if !complete(a) {
                return "Run the whole sweep: this run's numbers then appear here.".to_string();
            }
            let mean = |kind: usize| {
                (1..SHOTS)
                    .filter_map(|k| accuracy(a, per_shot.get(), kind, k))
                    .sum::<f64>()
                    / (SHOTS - 1) as f64
            };
            format!(
                "This run, averaged over 1 to {} examples: correct labels {}, wrong labels {}.",
                SHOTS - 1,
                pct(mean(0)),
                pct(mean(1))
            )
        })
    };
    view! {
        <ShortAnswer label="(a)" question="Where does few-shot prompting beat zero-shot?">
            <Prose html=prose!(r#"
                <p>Where the output must follow a format the question alone does not show. The
                notebook's frame “The plural of X is” never occurs in this model's training text, so
                on its own it says little about what should come next; worked examples show what
                follows the frame (one word, then a full stop), and the model's own lists of pairs,
                some a pair per line, taught it to carry a repeated pattern on. Examples cannot
                supply a plural the model does not know, which is why the irregular rules gain
                least.</p>
            "#)/>
            <p data-out="few-shot-answer">{few_shot}</p>
        </ShortAnswer>
        <ShortAnswer label="(b) ii" question="Do wrong labels in the examples matter?">
            <Prose html=prose!(r#"
                <p>The homework found they matter little: the examples teach the format of the
                answer more than the mapping from noun to plural, which the model brings from its
                training. Here each example's plural belongs to another example's noun, so the
                format is intact and every label is wrong.</p>
            "#)/>
            <p data-out="wrong-labels-answer">{wrong_labels}</p>
        </ShortAnswer>
        <ShortAnswer label="(b) v" question="Does a soft prompt beat these hard prompts?">
            <Prose html=prose!(r##"
                <p>That is chapter 5's experiment: it trains a prompt's vectors on the training
                nouns with the model frozen. The hard prompt's accuracy here, zero-shot and at its
                best few-shot count, is the mark it has to beat; it does, by far: <a
                href="#/soft-prompting">Soft prompting</a>.</p>
            "##)/>
        </ShortAnswer>
    }
}

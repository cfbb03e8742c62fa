//! Confidence: is the model surer when it is right? The plural in the corpus's pattern ("one
//! wolf, two") for every training and validation noun; the probability the model gave its answer
//! (`pluralize::Answer::prob`) binned for right and wrong answers, and per bin the share right
//! against the bin's mean probability (a reliability diagram in bars: a calibrated model's two
//! bars are equal). Invalid answers (no word) have no probability and are left out.

use super::run::{answer_all, Answered};
use super::state::PromptingState;
use crate::calc::Calc;
use crate::engine::Engine;
use crate::lm::nouns_of;
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::lm::pluralize::{Answer, Verdict};
use glassbox_lab::lm::plurals::Split;
use leptos::prelude::*;

const BINS: usize = 5;

fn bin(p: f32) -> usize {
    ((p * BINS as f32) as usize).min(BINS - 1)
}

fn labels() -> Vec<String> {
    (0..BINS)
        .map(|b| {
            format!(
                "{:.1}-{:.1}",
                b as f64 / BINS as f64,
                (b + 1) as f64 / BINS as f64
            )
        })
        .collect()
}

/// Share of the right (and of the wrong) answers in each probability bin.
fn histogram(answers: &[Answer]) -> BarGroups {
    let series = [(true, "right answers"), (false, "wrong answers")]
        .iter()
        .map(|&(right, name)| {
            let of: Vec<&Answer> = answers
                .iter()
                .filter(|a| {
                    a.verdict
                        == if right {
                            Verdict::Correct
                        } else {
                            Verdict::Incorrect
                        }
                })
                .collect();
            let values = (0..BINS)
                .map(|b| {
                    (!of.is_empty()).then(|| {
                        of.iter().filter(|a| bin(a.prob) == b).count() as f64 / of.len() as f64
                    })
                })
                .collect();
            (format!("{name} ({})", of.len()), values)
        })
        .collect();
    BarGroups {
        title: "The probability the model gave its answer".into(),
        y_desc: "share of the answers".into(),
        categories: labels(),
        series,
        baseline: None,
    }
}

/// Per bin: the share right, and the mean probability given.
fn reliability(answers: &[Answer]) -> BarGroups {
    let per_bin =
        |b: usize| -> Vec<&Answer> { answers.iter().filter(|a| bin(a.prob) == b).collect() };
    let mean = |xs: &[&Answer], f: &dyn Fn(&Answer) -> f64| {
        (!xs.is_empty()).then(|| xs.iter().map(|a| f(a)).sum::<f64>() / xs.len() as f64)
    };
    let right = |a: &Answer| f64::from(u8::from(a.verdict == Verdict::Correct));
    BarGroups {
        title: "Reliability: right as often as it is sure?".into(),
        y_desc: "share / probability".into(),
        categories: labels(),
        series: vec![
            (
                "share right".into(),
                (0..BINS).map(|b| mean(&per_bin(b), &right)).collect(),
            ),
            (
                "mean probability".into(),
                (0..BINS)
                    .map(|b| mean(&per_bin(b), &|a: &Answer| a.prob as f64))
                    .collect(),
            ),
        ],
        baseline: None,
    }
}

#[component]
pub fn Confidence() -> impl IntoView {
    let st = crate::ui::context::<PromptingState>();
    let engine = crate::ui::context::<Engine>();
    let answers = Var::new(Vec::<Answer>::new());
    let status = Var::new(String::new());
    let run = move |_| {
        let Some(lm) = st.lm.get_untracked() else {
            return;
        };
        if !st.hold() {
            return;
        }
        answers.set(Vec::new());
        crate::tasks::spawn_page_task(async move {
            let asked: Vec<_> = [Split::Train, Split::Val]
                .into_iter()
                .flat_map(nouns_of)
                .collect();
            let n = asked.len();
            let ask = |i: usize| Ok((format!("one {}, two", asked[i].singular), asked[i]));
            let of = format!("{n} answers");
            let mut got = |i: usize, a, so_far: &Answered| {
                answers.update(|x| x.push(a));
                status.set(so_far.progress(i + 1, &of));
            };
            match answer_all(engine, &lm, 0..n, &ask, &mut got, &|| true).await {
                Err(e) => status.set(e),
                Ok(run) => answers.with_untracked(|x| {
                    let mean = |v: Verdict| {
                        let p: Vec<f64> = x.iter().filter(|a| a.verdict == v).map(|a| a.prob as f64).collect();
                        p.iter().sum::<f64>() / p.len().max(1) as f64
                    };
                    status.set(format!(
                        "All {} answers ({:.0} ms on {}). Mean probability when right {:.2}, when wrong {:.2} \
                         (invalid answers, with no word, are left out).",
                        x.len(),
                        run.ms,
                        run.place,
                        mean(Verdict::Correct),
                        mean(Verdict::Incorrect)
                    ));
                }),
            }
            st.busy.set(false);
        });
    };
    let hist = Calc::new(move |_| answers.with(|a| histogram(a)));
    let rel = Calc::new(move |_| answers.with(|a| reliability(a)));
    let ready = move || st.lm.with(|m| m.is_some());
    view! {
        <Section id="confidence">
            <h2 id="confidence">"Confidence"</h2>
            <Prose html=prose!(r#"
                <p>The homework found models more confident, on average, when they are right. Here
                the model gives the plural of every training and validation noun in the corpus's
                pattern (“one wolf, two”), and the probability it gave its answer (the product of
                its characters' probabilities) is set against whether the answer was right. The
                second chart bins the answers by that probability: where the model is calibrated,
                the share right in a bin equals the mean probability in it.</p>
            "#)/>
            <button type="button" on:click=run disabled=move || !ready() || st.busy.get()>"Measure the confidence"</button>
            <p class="status" role="status" data-out="confidence-status">{move || status.get()}</p>
            <BarPlot name="confidence" title="Confidence of right and wrong answers" height=300 bars=hist/>
            <BarPlot name="reliability" title="Reliability" height=300 bars=rel/>
            <ShortAnswer label="(b) iii" question="Is the model more confident when it is right?">
                <Prose html=prose!(r#"
                    <p>Read the two means in the status line and the first chart. A right answer is
                    usually a plural the model has met many times, so each of its characters is
                    likely and their product is high; a wrong one is the model completing a word it
                    does not know, character by uncertain character, and the product falls fast with
                    every doubtful character. So the probability of a whole answer separates right
                    from wrong better than any single character's does. The reliability chart asks
                    the sharper question, whether a probability of 0.8 means right four times in
                    five: bars of equal height in a bin mean yes.</p>
                "#)/>
            </ShortAnswer>
        </Section>
    }
}

//! The notebook's test set: the irregular nouns foot, man, person, self, wife, wolf, woman, asked
//! one by one with the hard prompt after the reader's number of worked examples (correct labels,
//! the sweep's seed), each answer shown as it arrives with its verdict and probability.

use super::run::{answer_all, Answered};
use super::state::{PromptingState, TEST_FIELDS};
use crate::engine::Engine;
use crate::lm::nouns_of;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::lm::pluralize::{self, Answer, Summary};
use glassbox_lab::lm::plurals::Split;
use leptos::prelude::*;

#[component]
pub fn Irregulars() -> impl IntoView {
    let st = crate::ui::context::<PromptingState>();
    let engine = crate::ui::context::<Engine>();
    let settings = st.settings;
    let answers = Var::new(Vec::<Answer>::new());
    let status = Var::new(String::new());
    let running = Var::new(false);
    // The test nouns arrive with the model.
    let asked = move || st.lm.with(|_| nouns_of(Split::Test).len());
    let run = move |_| {
        let Some(lm) = st.lm.get_untracked() else {
            return;
        };
        if !st.hold() {
            return;
        }
        let (k, seed) = settings.with_untracked(|s| (s.test_shots, s.shots_seed));
        let (test, train) = (nouns_of(Split::Test), nouns_of(Split::Train));
        answers.set(Vec::new());
        running.set(true);
        crate::tasks::spawn_page_task(async move {
            let n = test.len();
            let examples = pluralize::examples(&train, k, false, seed);
            let ask = |i: usize| {
                let ex = examples.as_ref().map_err(Clone::clone)?;
                Ok((pluralize::prompt(ex, &test[i].singular), test[i]))
            };
            let of = format!("{n} test nouns, {k} shots");
            let mut got = |i: usize, a, so_far: &Answered| {
                answers.update(|all| all.push(a));
                status.set(so_far.progress(i + 1, &of));
            };
            if let Err(e) = answer_all(engine, &lm, 0..n, &ask, &mut got, &|| true).await {
                status.set(e);
            }
            running.set(false);
            st.busy.set(false);
        });
    };
    let ready = move || st.lm.with(|m| m.is_some());
    let summary = move || {
        answers.with(|a| {
            (a.len() == asked()).then(|| {
                let s = Summary::of(a);
                format!("{} of {} right, {} invalid.", s.correct, s.total, s.invalid)
            })
        })
    };
    view! {
        <Section id="irregulars">
            <h2 id="irregulars">"The test irregulars, one by one"</h2>
            <Prose html=prose!(r#"
                <p>The notebook kept seven irregular nouns for its test: foot, man, person, self,
                wife, wolf and woman. Their plurals follow no rule a few examples could show, so a
                right answer here means the model knew the word. Each is asked with the same hard
                prompt, after the number of worked examples you choose (correct labels, drawn with
                the sweep's seed).</p>
            "#)/>
            <div class="controls-grid">
                {TEST_FIELDS.iter().map(|f| view! { <FieldInput field=f settings/> }).collect_view()}
            </div>
            <div class="buttons">
                <button type="button" class="primary" on:click=run
                    disabled=move || running.get() || !ready() || st.busy.get()>"Ask the test nouns"</button>
            </div>
            <p class="status" role="status" data-out="test-status">{move || status.get()}</p>
            <div class="table-scroll">
            <table class="numbers" aria-label="The test nouns' answers" data-out="test-answers">
                <thead><tr><th>"Noun"</th><th>"Expected"</th><th>"The model wrote"</th><th>"Verdict"</th><th>"Probability"</th></tr></thead>
                <tbody>
                    {move || answers.with(|all| all.iter().map(|a| view! {
                        <tr data-verdict=a.verdict.name()>
                            <th scope="row">{a.noun.clone()}</th>
                            <td>{a.expected.clone()}</td>
                            <td><code>{a.continuation.trim_end().to_string()}</code></td>
                            <td>{a.verdict.name()}</td>
                            <td>{if a.answer.is_empty() { "–".to_string() } else { format!("{:.3}", a.prob) }}</td>
                        </tr>
                    }).collect_view())}
                </tbody>
            </table>
            </div>
            <p data-out="test-summary">{summary}</p>
        </Section>
    }
}

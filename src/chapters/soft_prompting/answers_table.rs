//! A table of scored answers: noun, what the model wrote, the label, the verdict.

use crate::calc::Calc;
use glassbox_lab::lm::pluralize::{Answer, Summary};
use leptos::prelude::*;

#[component]
pub fn AnswersTable(
    /// The table's accessible name (and its caption).
    label: &'static str,
    #[prop(into)] answers: Signal<Vec<Answer>>,
) -> impl IntoView {
    view! {
        { let shown = Calc::new(move |_| answers.with(|a| !a.is_empty()));
        move || shown.get().then(|| view! {
            <div class="table-scroll">
                <table class="numbers" aria-label=label data-answers=label>
                    <caption>{move || answers.with(|a| {
                        let s = Summary::of(a);
                        format!("{label}: {} of {} right", s.correct, s.total)
                    })}</caption>
                    <thead><tr><th>"Noun"</th><th>"Answer"</th><th>"Label"</th><th>"Verdict"</th></tr></thead>
                    <tbody>{move || answers.get().into_iter().map(|a| view! {
                        <tr data-verdict=a.verdict.name()>
                            <th scope="row">{a.noun}</th>
                            <td>{if a.answer.is_empty() { "(none)".to_string() } else { a.answer }}</td>
                            <td>{a.expected}</td>
                            <td>{a.verdict.name()}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            </div>
        }) }
    }
}

//! A multiple-choice question the page checks: the reader picks an option (mouse or keyboard, as a
//! radio group), presses Check, and reads whether it is right and why.

use super::math::render_mathml;
use leptos::prelude::*;

/// One option: its label (LaTeX when `tex`), whether it is right, and why.
pub struct Choice {
    pub label: &'static str,
    pub tex: bool,
    pub correct: bool,
    pub why: &'static str,
}

#[component]
pub fn ChoiceExercise(
    /// Names the radio group (unique on the page).
    name: &'static str,
    question: &'static str,
    choices: &'static [Choice],
) -> impl IntoView {
    let picked = RwSignal::new(None::<usize>);
    let checked = RwSignal::new(None::<usize>);
    view! {
        <fieldset class="exercise" data-exercise=name>
            <legend>{question}</legend>
            {choices.iter().enumerate().map(|(i, c)| {
                let id = format!("{name}-{i}");
                let label = if c.tex {
                    view! { <span class="math" inner_html=render_mathml(c.label, false)></span> }.into_any()
                } else {
                    view! { <span>{c.label}</span> }.into_any()
                };
                view! {
                    <div class="choice">
                        <input type="radio" id=id.clone() name=name value=i.to_string()
                            on:change=move |_| { picked.set(Some(i)); checked.set(None); }/>
                        <label for=id>{label}</label>
                    </div>
                }
            }).collect_view()}
            <div class="buttons">
                <button type="button" class="primary" disabled=move || picked.get().is_none()
                    on:click=move |_| checked.set(picked.get_untracked())>"Check"</button>
            </div>
            <div role="status" aria-live="polite">
                {move || checked.get().map(|i| {
                    let c = &choices[i];
                    if c.correct {
                        view! { <p class="notice ok" data-result="correct">{format!("Right. {}", c.why)}</p> }.into_any()
                    } else {
                        view! { <p class="notice warning" data-result="wrong">{format!("Not quite. {}", c.why)}</p> }.into_any()
                    }
                })}
            </div>
        </fieldset>
    }
}

/// One of the homework's questions and our answer, closed until the reader opens it; the answer
/// names the figure beside it that decides the question.
#[component]
pub fn ShortAnswer(
    /// Which question, as the homework numbers it: "(b) ii".
    label: &'static str,
    question: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <details class="short-answer" data-question=label>
            <summary><span class="question-label">{label}</span>" "{question}</summary>
            <div class="answer">{children()}</div>
        </details>
    }
}

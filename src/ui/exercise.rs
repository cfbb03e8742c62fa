//! One mechanism for the questions a page checks against its live computation. `Exercise` is the
//! shell every kind shares: the question, the reader's input (its children), an optional hint,
//! Check, and after the attempt whether it is right and why; each attempt is kept in this
//! browser's progress record (`crate::progress`), keyed by chapter and exercise id. The kinds:
//! `ChoiceExercise` (radio options, each with its explanation), `NumberExercise` (a number checked
//! against a live value within a tolerance) and grids of cells (chapters 2 and 5 build their grid
//! as the children and give the shell their check).

use super::math::math_text;
use crate::url_state::Location;
use crate::var::Var;
use crate::web;
use leptos::prelude::*;

/// What an attempt came to: right or not, and the explanation shown after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub correct: bool,
    /// One paragraph, or a lead line and a list (the wrong cells of a grid).
    pub message: String,
    pub details: Vec<String>,
}

impl Verdict {
    pub fn new(correct: bool, message: impl Into<String>) -> Verdict {
        Verdict {
            correct,
            message: message.into(),
            details: Vec::new(),
        }
    }
}

/// The chapter the page shows (the progress record's key).
fn chapter_of_page() -> String {
    Location::parse(&web::current_hash()).route
}

/// The shell: `check` answers the reader's current input at once, or returns `None` and sets
/// `verdict` itself when its answer takes a computation (the pruning goal evaluates a network).
/// Every verdict that appears is recorded as an attempt. The input clears `verdict` when it
/// changes, so a stale verdict does not stay on screen.
#[component]
pub fn Exercise<F>(
    /// Unique on its page; with the chapter, the key of the progress record.
    id: &'static str,
    question: &'static str,
    #[prop(optional)] hint: &'static str,
    /// Label of the check button.
    #[prop(default = "Check")]
    check_label: &'static str,
    check: F,
    /// Whether there is an answer to check.
    #[prop(into)]
    ready: Signal<bool>,
    /// The verdict shown (the input clears it when it changes).
    verdict: Var<Option<Verdict>>,
    children: Children,
) -> impl IntoView
where
    F: Fn() -> Option<Verdict> + Send + Sync + 'static,
{
    // The shell is compiled once, not once per `check`.
    let asked = Asked {
        id,
        question,
        hint,
        check_label,
    };
    exercise(asked, Box::new(check), ready, verdict, children)
}

/// An exercise's fixed text.
struct Asked {
    id: &'static str,
    question: &'static str,
    hint: &'static str,
    check_label: &'static str,
}

fn exercise(
    asked: Asked,
    check: Box<dyn Fn() -> Option<Verdict>>,
    ready: Signal<bool>,
    verdict: Var<Option<Verdict>>,
    children: Children,
) -> AnyView {
    let Asked {
        id,
        question,
        hint,
        check_label,
    } = asked;
    let chapter = chapter_of_page();
    let before = crate::progress::load().exercise(&chapter, id);
    crate::ui::effect(move || {
        if let Some(correct) = verdict.with(|v| v.as_ref().map(|v| v.correct)) {
            crate::progress::record_exercise(&chapter, id, correct);
        }
    });
    let on_check = move |_| {
        if let Some(v) = check() {
            verdict.set(Some(v));
        }
    };
    view! {
        <fieldset class="exercise" data-exercise=id
            data-state=move || match verdict.get() { Some(v) if v.correct => "correct", Some(_) => "wrong", None => "open" }>
            <legend>{question}</legend>
            {children()}
            <div class="buttons">
                <button type="button" class="primary" disabled=move || !ready.get() on:click=on_check>{check_label}</button>
            </div>
            {(!hint.is_empty()).then(|| view! {
                <details class="hint"><summary>"Hint"</summary><p>{hint}</p></details>
            })}
            {(before == Some(true)).then(|| view! {
                <p class="muted earlier">"You answered this correctly before, in this browser."</p>
            })}
            <div role="status" aria-live="polite">
                {move || verdict.get().map(|v| {
                    let (class, result, lead) = if v.correct {
                        ("notice ok", "correct", "Right. ")
                    } else {
                        ("notice warning", "wrong", "Not quite. ")
                    };
                    view! {
                        <div class=class data-result=result>
                            <p>{lead}{v.message}</p>
                            {(!v.details.is_empty()).then(|| view! {
                                <ul>{v.details.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
                            })}
                        </div>
                    }
                })}
            </div>
        </fieldset>
    }
    .into_any()
}

/// One option: its label (MathML from `tex!` when `tex`), whether it is right, and why.
pub struct Choice {
    pub label: &'static str,
    pub tex: bool,
    pub correct: bool,
    pub why: &'static str,
}

/// A multiple-choice question: the options as a radio group (mouse or keyboard).
#[component]
pub fn ChoiceExercise(
    /// Names the radio group and the exercise (unique on the page).
    name: &'static str,
    question: &'static str,
    choices: &'static [Choice],
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let picked = Var::new(None::<usize>);
    let verdict = Var::new(None::<Verdict>);
    let check = move || {
        let c = &choices[picked.get_untracked()?];
        Some(Verdict::new(c.correct, c.why))
    };
    view! {
        <Exercise id=name question=question hint=hint check=check
            ready=crate::ui::derive(move || picked.get().is_some()) verdict=verdict>
            {choices.iter().enumerate().map(|(i, c)| {
                let id = format!("{name}-{i}");
                // A formula's MathML gives the radio no name in every accessibility checker: the
                // formula's text names it as well.
                let aria_label = c.tex.then(|| math_text(c.label));
                let label = if c.tex {
                    view! { <span class="math" inner_html=c.label></span> }.into_any()
                } else {
                    view! { <span>{c.label}</span> }.into_any()
                };
                view! {
                    <div class="choice">
                        <input type="radio" id=id.clone() name=name value=i.to_string() aria-label=aria_label
                            on:change=move |_| { picked.set(Some(i)); verdict.set(None); }/>
                        <label for=id>{label}</label>
                    </div>
                }
            }).collect_view()}
        </Exercise>
    }
}

/// Whether `typed` is within `tolerance` (relative to the answer's size, at least `tolerance`
/// absolute near zero) of `answer`.
pub fn close_enough(typed: f64, answer: f64, tolerance: f64) -> bool {
    (typed - answer).abs() <= tolerance * answer.abs().max(1.0)
}

/// A number the reader works out, checked against a live value (recomputed from the page's current
/// settings) within a relative tolerance.
#[component]
pub fn NumberExercise<E>(
    id: &'static str,
    question: &'static str,
    /// The right answer now; `None` while it is being computed.
    #[prop(into)]
    answer: Signal<Option<f64>>,
    /// Relative tolerance (0.01: within 1%).
    tolerance: f64,
    #[prop(optional)] hint: &'static str,
    /// Why the answer is what it is, given the answer (shown after the attempt).
    explain: E,
) -> impl IntoView
where
    E: Fn(f64) -> String + Send + Sync + 'static,
{
    number_exercise(id, question, (answer, tolerance), hint, Box::new(explain))
}

/// `NumberExercise`, compiled once: `answer` is the live answer and its relative tolerance.
fn number_exercise(
    id: &'static str,
    question: &'static str,
    answer: (Signal<Option<f64>>, f64),
    hint: &'static str,
    explain: Box<dyn Fn(f64) -> String + Send + Sync>,
) -> AnyView {
    let (answer, tolerance) = answer;
    let typed = Var::new(String::new());
    let verdict = Var::new(None::<Verdict>);
    // New settings change the answer: an old verdict no longer applies.
    crate::ui::effect(move || {
        answer.track();
        verdict.set(None);
    });
    let check = move || {
        let a = answer.get_untracked()?;
        let text = typed.get_untracked();
        let Some(v) = glassbox_lab::decimal::parse(&text.trim().replace([',', '_', ' '], ""))
        else {
            return Some(Verdict::new(
                false,
                format!("'{}' is not a number.", text.trim()),
            ));
        };
        let ok = v.is_finite() && close_enough(v, a, tolerance);
        Some(Verdict::new(ok, explain(a)))
    };
    let input_id = format!("ex-{id}");
    view! {
        <Exercise id=id question=question hint=hint check=check verdict=verdict
            ready=crate::ui::derive(move || answer.get().is_some() && !typed.get().trim().is_empty())>
            <div class="field">
                <label for=input_id.clone()>"Your answer"</label>
                <input id=input_id type="text" inputmode="decimal" autocomplete="off"
                    prop:value=move || typed.get()
                    on:input=move |ev| { typed.set(event_target_value(&ev)); verdict.set(None); }/>
            </div>
        </Exercise>
    }
    .into_any()
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

#[cfg(test)]
mod tests {
    use super::close_enough;

    #[test]
    fn tolerance_is_relative_and_absolute_near_zero() {
        assert!(close_enough(101.0, 100.0, 0.01));
        assert!(!close_enough(102.0, 100.0, 0.01));
        assert!(close_enough(0.005, 0.0, 0.01));
        assert!(!close_enough(-0.02, 0.0, 0.01));
    }
}

//! Labelled inputs with validated ranges. A value is applied when it is committed (Enter, leaving
//! the field, or moving the slider); an invalid one shows a message next to the field and is not
//! applied. Each input carries `data-key` (its URL key) and is disabled when a teacher's link locks
//! that key.

use crate::classroom::control_locked;
use crate::url_state::{fmt_num, Bounds, NumField};
use crate::var::Var;
use leptos::prelude::*;

/// A number input (and a slider where the range is small enough) bound to one field of `S`.
#[component]
pub fn FieldInput<S>(
    field: &'static NumField<S>,
    settings: Var<S>,
    #[prop(optional)] help: &'static str,
) -> impl IntoView
where
    S: Clone + Send + Sync + 'static,
{
    // The input is compiled once, not once per settings type: it reads and writes the value
    // through these two.
    let value: Value = std::sync::Arc::new(move || (field.get)(&settings.get()));
    let apply: Box<dyn Fn(f64)> = Box::new(move |v| {
        if (field.get)(&settings.get_untracked()) != v {
            settings.update(|s| (field.set)(s, v));
        }
    });
    number_input(field.bounds, help, value, apply)
}

/// A field's current value (read in a reactive context, so the input follows it).
type Value = std::sync::Arc<dyn Fn() -> f64 + Send + Sync>;

fn number_input(
    field: Bounds,
    help: &'static str,
    value: Value,
    apply: Box<dyn Fn(f64)>,
) -> AnyView {
    let id = format!("in-{}", field.key);
    let err_id = format!("err-{}", field.key);
    let error = Var::new(None::<String>);
    let locked = control_locked(field.key, field.label);
    let commit = std::rc::Rc::new(move |text: String| match field.check(&text) {
        Ok(v) => {
            error.set(None);
            apply(v);
        }
        Err(e) => error.set(Some(e)),
    });
    let slider = (field.max - field.min) / field.step <= 2000.0;
    let (value2, commit2) = (value.clone(), commit.clone());
    view! {
        <div class="field">
            <label for=id.clone()>{field.label}</label>
            <div class="field-inputs">
                <input
                    id=id
                    type="number"
                    inputmode="decimal"
                    min=field.min
                    max=field.max
                    step=field.step
                    prop:value=move || fmt_num(value())
                    data-key=field.key
                    disabled=locked
                    aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                    aria-describedby=err_id.clone()
                    on:change=move |ev| commit(event_target_value(&ev))
                />
                {slider
                    .then(|| {
                        view! {
                            <input
                                type="range"
                                min=field.min
                                max=field.max
                                step=field.step
                                prop:value=move || fmt_num(value2())
                                data-key=field.key
                                disabled=locked
                                aria-label=format!("{} slider", field.label)
                                on:change=move |ev| commit2(event_target_value(&ev))
                            />
                        }
                    })}
            </div>
            <p class="field-error" id=err_id role="status">{move || error.get()}</p>
            {(!help.is_empty()).then(|| view! { <p class="field-help">{help}</p> })}
        </div>
    }
    .into_any()
}

/// A select between named options.
#[component]
pub fn ChoiceInput(
    label: &'static str,
    key: &'static str,
    options: &'static [(&'static str, &'static str)],
    #[prop(into)] value: Signal<String>,
    on_change: impl Fn(String) + 'static,
) -> impl IntoView {
    choice_input((label, key), options, value, Box::new(on_change))
}

/// `ChoiceInput`, compiled once (`named`: its label and URL key).
fn choice_input(
    named: (&'static str, &'static str),
    options: &'static [(&'static str, &'static str)],
    value: Signal<String>,
    on_change: Box<dyn Fn(String)>,
) -> AnyView {
    let (label, key) = named;
    let id = format!("in-{key}");
    let locked = control_locked(key, label);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id data-key=key disabled=locked on:change=move |ev| on_change(event_target_value(&ev)) prop:value=move || value.get()>
                {options
                    .iter()
                    .map(|(v, t)| view! { <option value=*v selected=move || value.get() == *v>{*t}</option> })
                    .collect_view()}
            </select>
        </div>
    }
    .into_any()
}

/// A free-text input validated by `check` (for lists such as "3,4,5").
#[component]
pub fn TextInput(
    label: &'static str,
    key: &'static str,
    #[prop(into)] value: Signal<String>,
    check: impl Fn(&str) -> Result<(), String> + 'static,
    on_commit: impl Fn(String) + 'static,
    #[prop(optional)] help: &'static str,
) -> impl IntoView {
    let id = format!("in-{key}");
    let err_id = format!("err-{key}");
    let error = Var::new(None::<String>);
    let locked = control_locked(key, label);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type="text"
                data-key=key
                disabled=locked
                prop:value=move || value.get()
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=err_id.clone()
                on:change=move |ev| {
                    let t = event_target_value(&ev);
                    match check(&t) {
                        Ok(()) => {
                            error.set(None);
                            on_commit(t);
                        }
                        Err(e) => error.set(Some(e)),
                    }
                }
            />
            <p class="field-error" id=err_id role="status">{move || error.get()}</p>
            {(!help.is_empty()).then(|| view! { <p class="field-help">{help}</p> })}
        </div>
    }
}

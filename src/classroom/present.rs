//! Presenter mode (`present=1`): large type, figures drawn with thicker lines and bigger text, one
//! section at a time. Arrow keys, Page Up/Down and space step (not while a control has the keys);
//! Escape leaves; the step is in the address, so a refresh or a shared link lands on the same
//! step. Outside presenter mode a link's `step=N` scrolls to that section when the page opens.

use super::Lesson;
use crate::calc::Calc;
use crate::var::Var;
use crate::web;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// How much larger figures draw their lines and text in presenter mode.
pub const FIGURE_SCALE: f64 = 1.6;

/// Whether the page is in presenter mode (reactive; false outside a lesson).
pub fn presenting() -> bool {
    use_context::<Lesson>().is_some_and(|l| l.link.with(|k| k.present))
}

/// Keys typed into a control belong to the control.
fn typing_in_a_control(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(el) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return false;
    };
    matches!(
        el.tag_name().as_str(),
        "INPUT" | "SELECT" | "TEXTAREA" | "BUTTON" | "SUMMARY"
    ) || el.closest("[contenteditable]").ok().flatten().is_some()
}

/// Install, once, what presenter mode needs on the whole page: the `data-present` attribute on
/// <html> (the stylesheet's large type) and the keys.
pub fn install(lesson: Lesson) {
    crate::ui::effect(move || {
        let on = lesson.link.with(|l| l.present);
        if let Some(el) = window().document().and_then(|d| d.document_element()) {
            let _ = if on {
                el.set_attribute("data-present", "1")
            } else {
                el.remove_attribute("data-present")
            };
        }
    });
    let on_key =
        Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |ev: web_sys::KeyboardEvent| {
            if !lesson.link.with_untracked(|l| l.present)
                || ev.alt_key()
                || ev.ctrl_key()
                || ev.meta_key()
                || typing_in_a_control(&ev)
            {
                return;
            }
            let step = lesson.step();
            let to = match ev.key().as_str() {
                "ArrowRight" | "ArrowDown" | "PageDown" => Some(step + 1),
                " " if !ev.shift_key() => Some(step + 1),
                "ArrowLeft" | "ArrowUp" | "PageUp" => Some(step.saturating_sub(1)),
                " " => Some(step.saturating_sub(1)),
                "Home" => Some(1),
                "End" => Some(usize::MAX),
                "Escape" => {
                    lesson.set_present(false);
                    ev.prevent_default();
                    return;
                }
                _ => None,
            };
            if let Some(n) = to {
                ev.prevent_default();
                lesson.set_step(n);
                web::scroll_to_top();
            }
        });
    let _ = window().add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
    on_key.forget();
}

/// Outside presenter mode, bring the link's step into view once the page has drawn.
pub fn scroll_to_step(lesson: Lesson) {
    let link = lesson.link.get_untracked();
    if link.present || link.step.is_none() {
        return;
    }
    leptos::task::spawn_local(async move {
        // The sections fill in one after another (`ui::Section`): wait for the step's heading,
        // which comes after every section above it, for up to 3 seconds, on this page only.
        let route = || crate::url_state::Location::parse(&web::current_hash()).route;
        let page = route();
        for _ in 0..60 {
            web::sleep(50).await;
            if route() != page {
                return;
            }
            let shown = lesson.sections.with_untracked(|s| {
                s.iter()
                    .copied()
                    .filter(|id| !link.hide.iter().any(|h| h == id))
                    .collect::<Vec<_>>()
            });
            let n = link.step.unwrap_or(1).clamp(1, shown.len().max(1));
            if let Some(el) = shown
                .get(n - 1)
                .and_then(|id| window().document()?.get_element_by_id(id))
            {
                el.scroll_into_view();
                return;
            }
        }
    });
}

/// The presenter's bar: previous, where we are, next, leave.
#[component]
pub fn PresenterBar() -> impl IntoView {
    let lesson: Lesson = crate::ui::context();
    let on = move || lesson.link.with(|l| l.present);
    // The section's heading, read from the page once it has drawn.
    let title = Var::new(String::new());
    crate::ui::effect(move || {
        let id = lesson.current();
        leptos::task::spawn_local(async move {
            web::sleep(0).await;
            let text = id
                .and_then(|id| window().document()?.get_element_by_id(id)?.text_content())
                .unwrap_or_default();
            let _ = title.try_set(text);
        });
    });
    view! {
        { let shown = Calc::new(move |_| on());
        move || shown.get().then(|| view! {
            <nav class="presenter-bar" aria-label="Presenter">
                <button type="button" on:click=move |_| lesson.set_step(lesson.step().saturating_sub(1))
                    disabled=move || lesson.step() <= 1 aria-label="Previous section">"◀ Previous"</button>
                <span class="presenter-step" role="status" aria-live="polite" data-step=move || lesson.step()>
                    {move || format!("{} of {}: {}", lesson.step(), lesson.shown().len(), title.get())}
                </span>
                <button type="button" on:click=move |_| lesson.set_step(lesson.step() + 1)
                    disabled=move || { lesson.step() >= lesson.shown().len() } aria-label="Next section">"Next ▶"</button>
                <button type="button" on:click=move |_| lesson.set_present(false)>"Leave (Esc)"</button>
            </nav>
        }) }
    }
}

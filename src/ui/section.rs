//! A chapter's section: its heading's id names it in a teacher's link (`hide=`) and in presenter
//! mode (one section at a time), and it registers itself with the page's lesson as it renders.
//! A hidden section still computes (later sections may read its results); it is only not shown.

use crate::classroom::Lesson;
use leptos::prelude::*;

#[component]
pub fn Section(
    /// The id of the section's heading (`<h2 id=…>`), which also names the section.
    id: &'static str,
    children: Children,
) -> impl IntoView {
    let lesson = use_context::<Lesson>();
    if let Some(l) = lesson {
        l.register_section(id);
    }
    let hidden =
        move || lesson.is_some_and(|l| l.hides(id) || l.current().is_some_and(|c| c != id));
    let current = move || lesson.and_then(|l| l.current()) == Some(id);
    // The section's contents come in a turn of their own (the sections of a page one after another,
    // in order), so that opening a long chapter is a task per section, not one long task. They are
    // built once, untracked: a value the section's components read as they start does not rebuild it.
    let turn = crate::ui::next_turn();
    let contents = StoredValue::new_local(Some(children));
    let body = move || {
        turn.get()
            .then(|| contents.try_update_value(Option::take).flatten())
            .flatten()
            .map(|c| untrack(c))
    };
    view! {
        <section aria-labelledby=id data-section=id hidden=hidden data-current=move || current().then_some("true")>
            {body}
        </section>
    }
}

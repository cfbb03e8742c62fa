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
    view! {
        <section aria-labelledby=id data-section=id hidden=hidden data-current=move || current().then_some("true")>
            {children()}
        </section>
    }
}

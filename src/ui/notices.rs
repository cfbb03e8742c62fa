//! Notices a page shows above its content.

use leptos::prelude::*;

/// One warning per URL parameter the page could not use (it fell back to the default, and says so).
#[component]
pub fn UrlNotices(notices: Vec<String>) -> impl IntoView {
    notices
        .into_iter()
        .map(|n| view! { <p class="notice warning" role="alert">{n}</p> })
        .collect_view()
}

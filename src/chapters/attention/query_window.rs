//! (c) What one query sees: the patches inside a query's window, among all those global attention
//! would compare it with.

use super::state::{AttentionState, QUERY_FIELDS};
use crate::calc::Calc;
use crate::ui::controls::FieldInput;
use crate::ui::plot::Plot;
use crate::ui::Section;
use glassbox_lab::figures::attention::{draw_window_view, WindowView};
use leptos::prelude::*;

#[component]
pub fn QueryWindow() -> impl IntoView {
    let AttentionState { settings, .. } = crate::ui::context();
    let window_view = Calc::new(move |_| {
        let s = settings.get();
        let side = s.image.checked_div(s.patch).unwrap_or(0);
        (side > 0 && s.window > 0 && side.is_multiple_of(s.window)).then(|| WindowView {
            side,
            window: s.window,
            query: (s.q_row.min(side - 1), s.q_col.min(side - 1)),
        })
    });
    view! {
        <Section id="query-window">
        <h3 id="query-window">"What one query sees"</h3>
        <div class="controls-grid">
            {QUERY_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
        </div>
        {move || match window_view.get() {
            Some(_) => view! {
                <Plot name="window-view" title="Patches one query sees" height=420
                    summary=crate::ui::derive(move || window_view.get().map(|w| w.summary()).unwrap_or_default())
                    csv=crate::ui::derive(move || window_view.get().map(|w| w.csv()).unwrap_or_default())
                    draw=move |area, palette| match window_view.get() {
                        Some(w) => draw_window_view(area, &w, palette),
                        None => area.fill(&palette.background).map_err(|e| e.to_string()),
                    }/>
            }.into_any(),
            None => view! { <p class="notice">"Choose a patch size that divides the image and a window that divides the patch grid to see which patches a query sees."</p> }.into_any(),
        }}
        </Section>
    }
}

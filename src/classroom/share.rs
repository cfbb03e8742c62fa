//! The Share panel: a link to exactly this view; a link for a class (sections to hide, controls
//! to lock, presenter mode, the step to start at); copy either to the clipboard; the class link's
//! QR code (dark modules on white with the standard 4-module quiet zone, so a phone can scan it
//! from a projector), drawn as SVG from `qrcodegen`'s module matrix.

use super::{with_lesson, Lesson, LessonLink};
use crate::calc::Calc;
use crate::url_state::Location;
use crate::var::Var;
use crate::web;
use leptos::prelude::*;
use qrcodegen::{QrCode, QrCodeEcc};

/// The QR code of `text` as an SVG document (one path of unit squares), or `None` if the text is
/// too long for a QR code.
pub fn qr_svg(text: &str) -> Option<String> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let n = qr.size();
    let quiet = 4;
    let mut path = String::new();
    for y in 0..n {
        for x in 0..n {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + quiet, y + quiet));
            }
        }
    }
    let side = n + 2 * quiet;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\" \
         data-modules=\"{n}\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

/// The address bar's URL up to the hash (the book's own address, whatever folder it is served from).
fn base_url() -> String {
    let href = window().location().href().unwrap_or_default();
    match href.split_once('#') {
        Some((b, _)) => b.to_string(),
        None => href,
    }
}

/// The text of a section's heading, for the list of sections to hide.
fn heading_text(id: &str) -> String {
    window()
        .document()
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.text_content())
        .unwrap_or_else(|| id.to_string())
}

fn copy(text: String, status: Var<String>) {
    let promise = window().navigator().clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => status.set("Copied.".into()),
            Err(_) => status
                .set("This browser did not allow copying: select the link and copy it.".into()),
        }
    });
}

fn toggle(list: Var<Vec<String>>, name: &str, on: bool) {
    list.update(|l| {
        l.retain(|x| x != name);
        if on {
            l.push(name.to_string());
        }
    });
}

/// One link with its copy button.
#[component]
fn LinkRow(
    label: &'static str,
    id: &'static str,
    #[prop(into)] link: Signal<String>,
) -> impl IntoView {
    let status = Var::new(String::new());
    view! {
        <div class="field share-link">
            <label for=id>{label}</label>
            <div class="share-row">
                <input id=id type="text" readonly=true prop:value=move || link.get()
                    on:focus=|ev| { event_target::<web_sys::HtmlInputElement>(&ev).select(); }/>
                <button type="button" on:click=move |_| copy(link.get_untracked(), status)
                    aria-label=format!("Copy: {label}")>"Copy"</button>
            </div>
            <p class="status" role="status">{move || status.get()}</p>
        </div>
    }
}

#[component]
pub fn SharePanel() -> impl IntoView {
    let lesson: Lesson = crate::ui::context();
    // The page keeps the address bar in step with its controls; the links follow it.
    let view_hash = crate::ui::derive(move || {
        lesson.opened.track();
        web::tracked_hash()
    });
    let base = Var::new(base_url());
    let hide = Var::new(lesson.link.get_untracked().hide);
    let lock = Var::new(lesson.link.get_untracked().lock);
    let present = Var::new(lesson.link.get_untracked().present);
    let start = Var::new(lesson.link.get_untracked().step.unwrap_or(1));
    let refresh = move || base.set(base_url());
    // A newly opened address closes the panel (it describes the page it was opened on).
    let open = Var::new(false);
    crate::ui::effect(move || {
        lesson.opened.track();
        open.set(false);
    });
    let view_link = crate::ui::derive(move || format!("{}{}", base.get(), view_hash.get()));
    let class_link = crate::ui::derive(move || {
        let loc = Location::parse(&view_hash.get());
        let link = LessonLink {
            hide: hide.get(),
            lock: lock.get(),
            step: (start.get() > 1).then_some(start.get()),
            present: present.get(),
        };
        format!("{}{}", base.get(), with_lesson(&loc, &link).to_hash())
    });
    let qr = Calc::new(move |_| qr_svg(&class_link.get()));
    let sections = move || {
        lesson
            .sections
            .get()
            .into_iter()
            .map(|id| (id, heading_text(id)))
            .collect::<Vec<_>>()
    };
    view! {
        <details class="share-panel" prop:open=move || open.get() on:toggle=move |ev| {
            let now = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
            if now != open.get_untracked() {
                open.set(now);
            }
            if now {
                refresh();
            }
        }>
            <summary>"Share"</summary>
            // Built only while open: its labels repeat the page's controls' labels, and the QR code
            // need not follow every change of the address while nobody looks.
            { let shown = Calc::new(move |_| open.get());
            move || shown.get().then(|| view! {
            <LinkRow label="Link to exactly this view" id="share-view" link=view_link/>
            <fieldset class="share-choices">
                <legend>"Link for my class"</legend>
                <details>
                    <summary>"Sections to hide"</summary>
                    <ul class="share-list">
                        {move || sections().into_iter().map(|(id, title)| view! {
                            <li><label>
                                <input type="checkbox" data-hide=id prop:checked=move || hide.with(|h| h.iter().any(|x| x == id))
                                    on:change=move |ev| toggle(hide, id, event_target_checked(&ev))/>
                                " "{title}
                            </label></li>
                        }).collect_view()}
                    </ul>
                </details>
                <details>
                    <summary>"Controls to lock"</summary>
                    <ul class="share-list">
                        {move || lesson.control_list().into_iter().map(|(key, label)| view! {
                            <li><label>
                                <input type="checkbox" data-lock=key prop:checked=move || lock.with(|l| l.iter().any(|x| x == key))
                                    on:change=move |ev| toggle(lock, key, event_target_checked(&ev))/>
                                " "{label}" ("<code>{key}</code>")"
                            </label></li>
                        }).collect_view()}
                    </ul>
                </details>
                <label class="share-present">
                    <input type="checkbox" id="share-present" prop:checked=move || present.get()
                        on:change=move |ev| present.set(event_target_checked(&ev))/>
                    " Open in presenter mode, one section at a time"
                </label>
                <label class="share-step">"Start at step "
                    <input type="number" id="share-step" min="1" max=move || lesson.shown().len().max(1) step="1"
                        prop:value=move || start.get().to_string()
                        on:change=move |ev| {
                            let max = lesson.shown().len().max(1);
                            let n = event_target_value(&ev).trim().parse::<usize>().unwrap_or(1).clamp(1, max);
                            start.set(n);
                        }/>
                </label>
            </fieldset>
            <LinkRow label="Link for my class" id="share-class" link=class_link/>
            <div class="qr">
                {move || match qr.get() {
                    Some(svg) => view! {
                        <div class="qr-code" role="img" aria-label="QR code of the link for my class"
                            data-text=class_link.get() inner_html=svg></div>
                    }.into_any(),
                    None => view! { <p class="notice">"This link is too long for a QR code; share it as text."</p> }.into_any(),
                }}
                <p class="muted">"Students can scan this from the projector with a phone's camera."</p>
            </div>
            }) }
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_has_its_finder_patterns_and_quiet_zone() {
        let text = "http://127.0.0.1:8080/course/#/attention?hide=cost&lock=patch&present=1";
        let svg = qr_svg(text).expect("fits");
        let qr = QrCode::encode_text(text, QrCodeEcc::Medium).unwrap();
        let n = qr.size();
        assert!(svg.contains(&format!("data-modules=\"{n}\"")));
        assert!(svg.contains(&format!("viewBox=\"0 0 {} {}\"", n + 8, n + 8)));
        // The top-left finder pattern's outer ring: 7 dark modules along row 0 from the quiet zone.
        for x in 0..7 {
            assert!(svg.contains(&format!("M{},4h1v1h-1z", x + 4)), "{x}");
        }
        assert!(!svg.contains("M3,4h1"), "the quiet zone is light");
        let dark = svg.matches("h1v1h-1z").count();
        let expect = (0..n)
            .flat_map(|y| (0..n).map(move |x| (x, y)))
            .filter(|&(x, y)| qr.get_module(x, y))
            .count();
        assert_eq!(dark, expect);
        assert!(qr_svg(&"x".repeat(5000)).is_none());
    }
}

//! The textbook's shell: header (title, theme, compute backend), table of contents, and the chapter
//! named by the URL's hash.

use crate::calc::Calc;
use crate::chapters::{
    self, attention, bench, fine_tuning, image_lab, meta_learning, prompting, pruning,
    quantization, soft_prompting, under_the_hood, CHAPTERS,
};
use crate::classroom::{present, share::SharePanel, Lesson};
use crate::engine::{BackendNotice, BackendState, Engine};
use crate::ui::{prose, Theme};
use crate::url_state::Location;
use crate::var::Var;
use crate::web;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ThemeChoice {
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    fn load() -> Self {
        match web::local_storage_get("glassbox-theme").as_deref() {
            Some("light") => ThemeChoice::Light,
            Some("dark") => ThemeChoice::Dark,
            _ => ThemeChoice::System,
        }
    }
    fn next(self) -> Self {
        match self {
            ThemeChoice::System => ThemeChoice::Light,
            ThemeChoice::Light => ThemeChoice::Dark,
            ThemeChoice::Dark => ThemeChoice::System,
        }
    }
    fn name(self) -> &'static str {
        match self {
            ThemeChoice::System => "system",
            ThemeChoice::Light => "light",
            ThemeChoice::Dark => "dark",
        }
    }
    fn is_dark(self) -> bool {
        match self {
            ThemeChoice::System => web::system_prefers_dark(),
            ThemeChoice::Light => false,
            ThemeChoice::Dark => true,
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    let choice = Var::new(ThemeChoice::load());
    let dark = Var::new(choice.get_untracked().is_dark());
    provide_context(Theme { dark });
    crate::ui::effect(move || {
        let c = choice.get();
        web::local_storage_set("glassbox-theme", c.name());
        dark.set(c.is_dark());
    });
    crate::ui::effect(move || web::apply_theme_attribute(dark.get()));
    // Follow the system's colour scheme live while the choice is "system".
    if let Some(mq) = window()
        .match_media("(prefers-color-scheme: dark)")
        .ok()
        .flatten()
    {
        let on_change = Closure::<dyn Fn()>::new(move || {
            if choice.get_untracked() == ThemeChoice::System {
                dark.set(web::system_prefers_dark());
            }
        });
        let _ = mq.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        on_change.forget();
    }

    let location = Var::new(Location::parse(&web::current_hash()));
    let initial = location.get_untracked();
    let lesson = Lesson::new();
    lesson.open(&web::current_hash());
    provide_context(lesson);
    present::install(lesson);
    let force_cpu = match initial.get("backend") {
        Some("cpu") => true,
        Some("auto") | None => false,
        Some(other) => {
            web::set_global_param("backend", None);
            leptos::logging::warn!("backend={other} is not cpu or auto; using auto");
            false
        }
    };
    if force_cpu {
        web::set_global_param("backend", Some("cpu"));
    }
    let engine = Engine::new(force_cpu);
    provide_context(engine);
    provide_context(crate::offline::Offline::start());
    let set_backend = move |choice: String| {
        let cpu = choice == "cpu";
        engine.force_cpu.set(cpu);
        web::set_global_param("backend", cpu.then_some("cpu"));
        engine.detect();
    };
    let bad_backend = initial
        .get("backend")
        .filter(|v| *v != "cpu" && *v != "auto")
        .map(|v| v.to_string());
    let on_hash = Closure::<dyn Fn()>::new(move || {
        lesson.open(&web::current_hash());
        location.set(Location::parse(&web::current_hash()));
        if let Some(main) = window()
            .document()
            .and_then(|d| d.get_element_by_id("main"))
        {
            if let Ok(el) = main.dyn_into::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        }
    });
    let _ =
        window().add_event_listener_with_callback("hashchange", on_hash.as_ref().unchecked_ref());
    on_hash.forget();

    let route = Calc::new(move |_| location.with(|l| l.route.clone()));
    // The shell (header, contents) is mounted first; the page comes a task later, so that no
    // single task at page open does both.
    let page_turn = crate::ui::next_turn();
    // The page's prose is a file of its own (ui::prose): the page opens when it has arrived (or
    // failed, with a notice), so that its text does not push the figures down as it comes.
    let text_ready = Calc::new(move |_| route.with(|r| text_page(r).is_none_or(prose::ready)));

    view! {
        <a class="skip-link" href="#main" on:click=|ev| {
            ev.prevent_default();
            if let Some(el) = window().document().and_then(|d| d.get_element_by_id("main")) {
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() { let _ = el.focus(); }
            }
        }>"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="#/">"Glassbox"</a>
            <span class="tagline">"a deep-learning textbook that computes"</span>
            <span class="spacer"></span>
            <span class="badge" role="status" aria-label="Compute backend"
                title=move || match engine.state.get() {
                    BackendState::Cpu(why) => format!("Computing on the CPU: {why}"),
                    BackendState::WebGpu(a) => format!("Computing on WebGPU: {} ({})", a.name, a.backend),
                    BackendState::Detecting => "Asking the browser for a WebGPU adapter".into(),
                }>
                {move || engine.state.get().badge()}
            </span>
            <label class="backend-choice">
                <span class="wide-only">"Compute "</span>
                <select aria-label="Compute backend choice" title="auto: WebGPU if the browser offers it, else the CPU"
                    on:change=move |ev| set_backend(event_target_value(&ev))
                    prop:value=move || if engine.force_cpu.get() { "cpu" } else { "auto" }>
                    <option value="auto">"auto"</option>
                    <option value="cpu">"CPU only"</option>
                </select>
            </label>
            <button type="button" class="theme-toggle" on:click=move |_| choice.update(|c| *c = c.next())
                aria-label=move || format!("Colour theme: {} (change)", choice.get().name())>
                <span class="wide-only">"Theme: "</span>{move || choice.get().name()}
            </button>
        </header>
        {bad_backend.map(|v| view! {
            <p class="notice warning page-notice" role="alert">{format!("URL parameter backend: '{v}' is not cpu or auto; using auto.")}</p>
        })}
        {move || engine.notice.get().map(|n| view! { <BackendNoticeLine notice=n/> })}
        {move || crate::workers::pool::notice().get().map(|n| view! {
            <p class="notice warning page-notice" role="status" data-out="workers-notice">{n}</p>
        })}
        <crate::offline::UpdateNotice/>
        <div class="layout">
            <nav class="toc" aria-label="Table of contents">
                <details class="toc-disclosure" open=web::media_matches("(min-width: 761px)")>
                <summary>"Contents"</summary>
                <ol>
                    {CHAPTERS.iter().map(|(n, slug, title)| {
                        let slug = *slug;
                        view! {
                            <li value=*n><a href=format!("#/{slug}") aria-current=move || (route.get() == slug).then_some("page")>{*title}</a></li>
                        }
                    }).collect_view()}
                </ol>
                <h2>"Appendix"</h2>
                <ul>
                    <li><a href=format!("#/{}", image_lab::SLUG) aria-current=move || (route.get() == image_lab::SLUG).then_some("page")>"The image lab"</a></li>
                    <li><a href=format!("#/{}", under_the_hood::SLUG) aria-current=move || (route.get() == under_the_hood::SLUG).then_some("page")>"Under the hood"</a></li>
                    <li><a href=format!("#/{}", bench::SLUG) aria-current=move || (route.get() == bench::SLUG).then_some("page")>"Benchmarks"</a></li>
                </ul>
                </details>
            </nav>
            <main id="main" tabindex="-1">
                <LessonNotice/>
                {move || (!route.get().is_empty()).then(|| view! {
                    <div class="page-tools">
                        <SharePanel/>
                        <button type="button" on:click=move |_| lesson.back_to_lesson()
                            title="Return this page to the link it was opened with">"Back to the lesson"</button>
                        <button type="button" on:click=move |_| lesson.set_present(!lesson.link.get_untracked().present)
                            aria-pressed=move || if lesson.link.with(|l| l.present) { "true" } else { "false" }>"Present"</button>
                    </div>
                })}
                {move || route.with(|r| text_page(r)).and_then(prose::failure).map(|why| view! {
                    <p class="notice warning page-notice" role="alert" data-out="text-notice">{format!(
                        "This page's text could not be loaded ({why}). Its figures and controls work without it; reload the page to try again."
                    )}</p>
                })}
                {move || {
                    // The page shown before is going away: stop its computations first.
                    crate::tasks::abort_page_tasks();
                    // Read first: the page's text starts downloading as the shell mounts.
                    let text = text_ready.get();
                    if !page_turn.get() || !text {
                        return view! { <p class="status">"Opening the page…"</p> }.into_any();
                    }
                    let loc = location.get();
                    present::scroll_to_step(lesson);
                    match loc.route.as_str() {
                        "" => view! { <chapters::home::Home/> }.into_any(),
                        meta_learning::SLUG => view! { <meta_learning::MetaLearning location=loc/> }.into_any(),
                        bench::SLUG => view! { <bench::Bench/> }.into_any(),
                        attention::SLUG => view! { <attention::AttentionMasks location=loc/> }.into_any(),
                        fine_tuning::SLUG => view! { <fine_tuning::FineTuning location=loc/> }.into_any(),
                        prompting::SLUG => view! { <prompting::Prompting location=loc/> }.into_any(),
                        soft_prompting::SLUG => view! { <soft_prompting::SoftPrompting location=loc/> }.into_any(),
                        under_the_hood::SLUG => view! { <under_the_hood::UnderTheHood/> }.into_any(),
                        image_lab::SLUG => view! { <image_lab::ImageLab location=loc/> }.into_any(),
                        pruning::SLUG => view! { <pruning::Pruning location=loc/> }.into_any(),
                        quantization::SLUG => view! { <quantization::Quantization location=loc/> }.into_any(),
                        other => view! {
                            <article class="chapter">
                                <h1>"Page not found"</h1>
                                <p class="notice warning" role="alert">{format!("There is no chapter called '{other}'. Pick one from the contents.")}</p>
                            </article>
                        }.into_any(),
                    }
                }}
            </main>
        </div>
        <present::PresenterBar/>
        <footer class="site-footer">
            <p>"Glassbox runs entirely in your browser: no server, no network requests, no tracking."</p>
        </footer>
    }
}

/// The text file a route's page reads: its chapter module, as `prose!` names it (None: a page
/// without prose).
fn text_page(route: &str) -> Option<&'static str> {
    Some(match route {
        "" => "home",
        meta_learning::SLUG => "meta_learning",
        bench::SLUG => "bench",
        attention::SLUG => "attention",
        fine_tuning::SLUG => "fine_tuning",
        prompting::SLUG => "prompting",
        soft_prompting::SLUG => "soft_prompting",
        under_the_hood::SLUG => "under_the_hood",
        image_lab::SLUG => "image_lab",
        pruning::SLUG => "pruning",
        quantization::SLUG => "quantization",
        _ => return None,
    })
}

/// The backend notice: one line, the technical reason behind "Details", dismissible (remembered
/// until the tab is closed; a different notice, such as a lost device, shows again).
#[component]
fn BackendNoticeLine(notice: BackendNotice) -> impl IntoView {
    const KEY: &str = "glassbox-dismissed-notice";
    let dismissed =
        Var::new(web::session_storage_get(KEY).as_deref() == Some(notice.line.as_str()));
    let line = notice.line.clone();
    view! {
        { let shown = Calc::new(move |_| !dismissed.get());
        move || shown.get().then(|| view! {
            <div class="notice page-notice backend-notice" role="status">
                <span class="notice-line">{notice.line.clone()}</span>
                <details>
                    <summary>"Details"</summary>
                    <p>{notice.details.clone()}</p>
                    <p><a href="#/under-the-hood">"Under the hood"</a>" says which backend each figure used."</p>
                </details>
                <button type="button" class="dismiss" aria-label="Dismiss this notice" on:click={
                    let line = line.clone();
                    move |_| {
                        web::session_storage_set(KEY, &line);
                        dismissed.set(true);
                    }
                }>"×"</button>
            </div>
        }) }
    }
}

/// What a teacher's link asked for that this page could not do; the rest of the link applies.
#[component]
fn LessonNotice() -> impl IntoView {
    let lesson: Lesson = crate::ui::context();
    let text = move || {
        let mut parts = lesson.notices.get();
        let (ids, keys) = lesson.unknown();
        for (key, what, names) in [("hide", "section", ids), ("lock", "control", keys)] {
            if !names.is_empty() {
                let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                parts.push(format!(
                    "URL parameter {key}: this page has no {what} {}; the rest applies.",
                    quoted.join(", ")
                ));
            }
        }
        parts
    };
    view! {
        {move || {
            let parts = text();
            (!parts.is_empty()).then(|| view! {
                <div class="notice warning lesson-notice" role="alert">
                    {parts.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
                </div>
            })
        }}
    }
}

//! Glassbox: the textbook's single-page app (Leptos, client-side rendered, built by Trunk).

mod app;
mod calc;
mod chapters;
mod classroom;
mod engine;
mod lm;
mod offline;
mod progress;
mod tasks;
mod ui;
#[cfg(test)]
mod url_fuzz;
mod url_state;
mod var;
mod vision;
mod web;
mod workers;

fn main() {
    // A compute worker (src/workers) starts this same module: there is no page to mount, and its
    // jobs arrive through `workers::job::glassbox_worker_job`.
    if web_sys::window().is_none() {
        std::panic::set_hook(Box::new(|info| {
            web_sys::console::error_1(&format!("Glassbox worker: {info}").into())
        }));
        return;
    }
    // Cold-start marks (the end-to-end suite reads them): the wasm module has started, and the
    // page is mounted; the browser adds first-contentful-paint itself.
    mark("glassbox-wasm-started");
    install_panic_notice();
    leptos::mount::mount_to_body(app::App);
    mark("glassbox-mounted");
}

fn mark(name: &str) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark(name);
    }
}

/// A panic must never leave a blank or silently frozen page: log it and say so in the page.
fn install_panic_notice() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        web_sys::console::error_1(&msg.clone().into());
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            if let (Ok(div), Some(body)) = (doc.create_element("div"), doc.body()) {
                div.set_class_name("notice error panic-notice");
                let _ = div.set_attribute("role", "alert");
                div.set_text_content(Some(&format!(
                    "Something went wrong inside Glassbox and this page stopped computing. Reload to start \
                     again. Details: {msg}"
                )));
                let _ = body.prepend_with_node_1(&div);
            }
        }
    }));
}

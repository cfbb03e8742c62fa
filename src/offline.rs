//! Offline use: the page registers the book's service worker (`sw.js`, which scripts/release.mjs
//! writes into the release build; `trunk serve` has none and the page goes on without it). When a
//! newer build has installed itself beside the running one, the page says so and offers to reload
//! into it: the waiting worker is told to take over, and the page reloads once it has.

use crate::calc::Calc;
use crate::var::Var;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
};

/// The service worker's state as the page shows it.
#[derive(Clone, Copy)]
pub struct Offline {
    /// A newer build is installed and waiting.
    pub update: Var<bool>,
    /// Whether the book is kept for offline use (a worker of ours is active).
    pub ready: Var<bool>,
    waiting: StoredValue<Option<ServiceWorker>, LocalStorage>,
}

/// The browser's service-worker container, where it has one (not in an insecure context, nor
/// where a test or a policy blocks workers).
fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    let sw = js_sys::Reflect::get(&navigator, &"serviceWorker".into()).ok()?;
    sw.dyn_into::<ServiceWorkerContainer>().ok()
}

impl Offline {
    /// Register the worker (once, at start) and watch for updates.
    pub fn start() -> Offline {
        let o = Offline {
            update: Var::new(false),
            ready: Var::new(false),
            waiting: StoredValue::new_local(None),
        };
        let Some(c) = container() else {
            return o;
        };
        // Reload once the new worker has taken over (only after the reader asked for it).
        let reload = Closure::<dyn Fn()>::new(move || {
            if o.waiting.with_value(|w| w.is_some()) && !o.update.get_untracked() {
                let _ = web_sys::window().map(|w| w.location().reload());
            }
        });
        c.set_oncontrollerchange(Some(reload.as_ref().unchecked_ref()));
        reload.forget();
        leptos::task::spawn_local(async move {
            let Ok(reg) = wasm_bindgen_futures::JsFuture::from(c.register("sw.js")).await else {
                // No worker in this build (a development server): the book needs the network.
                return;
            };
            let Ok(reg) = reg.dyn_into::<ServiceWorkerRegistration>() else {
                return;
            };
            o.ready.set(reg.active().is_some());
            o.watch(&c, &reg);
        });
        o
    }

    /// Note a waiting worker now and whenever one finishes installing.
    fn watch(self, c: &ServiceWorkerContainer, reg: &ServiceWorkerRegistration) {
        let had_controller = c.controller().is_some();
        if let (Some(w), true) = (reg.waiting(), had_controller) {
            self.offer(w);
        }
        let found_reg = reg.clone();
        let on_found = Closure::<dyn Fn()>::new(move || {
            let Some(w) = found_reg.installing() else {
                return;
            };
            let watched = w.clone();
            let on_state = Closure::<dyn Fn()>::new(move || match watched.state() {
                // A first install fills the cache for offline use; a later one is an update.
                ServiceWorkerState::Installed if had_controller => self.offer(watched.clone()),
                ServiceWorkerState::Activated => self.ready.set(true),
                _ => {}
            });
            w.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        });
        reg.set_onupdatefound(Some(on_found.as_ref().unchecked_ref()));
        on_found.forget();
    }

    fn offer(self, w: ServiceWorker) {
        self.waiting.set_value(Some(w));
        self.update.set(true);
    }

    /// Tell the waiting worker to take over; the page reloads when it has.
    pub fn reload_into_update(self) {
        self.update.set(false);
        let msg = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&msg, &"type".into(), &"skip-waiting".into());
        match self.waiting.with_value(|w| w.clone()) {
            // Still waiting: it takes over, and `controllerchange` reloads the page.
            Some(w)
                if w.state() == ServiceWorkerState::Installed && w.post_message(&msg).is_ok() => {}
            // Already in charge (another tab reloaded into it), or gone: just reload.
            _ => {
                let _ = web_sys::window().map(|w| w.location().reload());
            }
        }
    }
}

/// "A new version is available: reload", while one is waiting.
#[component]
pub fn UpdateNotice() -> impl IntoView {
    let o = crate::ui::context::<Offline>();
    view! {
        { let shown = Calc::new(move |_| o.update.get());
        move || shown.get().then(|| view! {
            <div class="notice page-notice update-notice" role="status">
                <span class="notice-line">"A new version of the book is available. "</span>
                <button type="button" data-action="reload-update" on:click=move |_| o.reload_into_update()>"Reload"</button>
            </div>
        }) }
    }
}

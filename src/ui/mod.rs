//! Reusable components: figures, number and choice inputs, run controls, mathematics, exercises,
//! notices.

pub mod canvas;
pub mod controls;
pub mod exercise;
pub mod math;
pub mod notices;
pub mod plot;
pub mod prose;
pub mod run_controls;
pub mod section;

pub use section::Section;

/// The effective colour theme, shared through context.
#[derive(Clone, Copy)]
pub struct Theme {
    pub dark: crate::var::Var<bool>,
}

/// The context a component needs, provided by the page or the chapter around it. Leptos's
/// `expect_context` formats the type's name into its panic, a message and a formatter compiled
/// once per type; here the panic is one function, and names the caller's line.
#[track_caller]
pub fn context<T: Clone + 'static>() -> T {
    let at = std::panic::Location::caller();
    leptos::prelude::use_context().unwrap_or_else(|| missing_context(at))
}

#[inline(never)]
fn missing_context(at: &std::panic::Location) -> ! {
    panic!("{at}: a component was used outside the page that provides its context")
}

/// 9228362 -> "9,228,362".
pub fn group(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A flag that turns true one task after this call: what waits for it (a route's page, a figure's
/// first drawing) is done in a task of its own instead of in the one that mounted it, so that
/// opening a page is several short tasks rather than one long one.
pub fn next_turn() -> crate::var::Var<bool> {
    let ready = crate::var::Var::new(false);
    wasm_bindgen_futures::spawn_local(async move {
        crate::web::sleep(0).await;
        let _ = ready.try_set(true);
    });
    ready
}

/// `Effect::new` for an effect that keeps no value: the closure boxed, so Leptos's effect
/// machinery is compiled once rather than once per effect (the download's size).
pub fn effect(f: impl FnMut() + 'static) {
    let mut f: Box<dyn FnMut()> = Box::new(f);
    leptos::prelude::Effect::new(move |_| f());
}

/// `Signal::derive` with the closure boxed: Leptos's derived-signal code is compiled once per
/// value type rather than once per closure (the download's size).
pub fn derive<T: Send + Sync + 'static>(
    f: impl Fn() -> T + Send + Sync + 'static,
) -> leptos::prelude::Signal<T> {
    derive_boxed(std::sync::Arc::new(f))
}

fn derive_boxed<T: Send + Sync + 'static>(
    f: std::sync::Arc<dyn Fn() -> T + Send + Sync>,
) -> leptos::prelude::Signal<T> {
    leptos::prelude::Signal::derive(move || f())
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::group(9_228_362), "9,228,362");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1_000), "1,000");
        assert_eq!(super::group(0), "0");
    }
}

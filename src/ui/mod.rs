//! Reusable components: figures, number and choice inputs, run controls, mathematics, exercises,
//! notices.

pub mod controls;
pub mod exercise;
pub mod math;
pub mod notices;
pub mod plot;
pub mod run_controls;
pub mod section;

pub use section::Section;

/// The effective colour theme, shared through context.
#[derive(Clone, Copy)]
pub struct Theme {
    pub dark: leptos::prelude::RwSignal<bool>,
}

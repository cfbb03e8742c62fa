//! Reusable components: figures, number and choice inputs, run controls, mathematics.

pub mod controls;
pub mod exercise;
pub mod math;
pub mod plot;
pub mod run_controls;

/// The effective colour theme, shared through context.
#[derive(Clone, Copy)]
pub struct Theme {
    pub dark: leptos::prelude::RwSignal<bool>,
}

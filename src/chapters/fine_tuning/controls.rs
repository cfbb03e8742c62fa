//! The controls shared by the single run and the sweep: the shift (kind, corruption and severity,
//! or the perturbed block and alpha) and the protocol (images, epochs, learning rate or the grid,
//! seed), with a button for the paper's protocol.

use super::fields::{RUN_FIELDS, SHIFT_FIELDS};
use super::state::{FineTuningState, SHIFTS};
use crate::calc::Calc;
use crate::classroom::control_locked;
use crate::ui::controls::{ChoiceInput, FieldInput};
use glassbox_lab::shift::{Corruption, Tune};
use leptos::prelude::*;

fn corruption_options() -> &'static [(&'static str, &'static str)] {
    &[
        ("gaussian_noise", "gaussian_noise"),
        ("shot_noise", "shot_noise"),
        ("impulse_noise", "impulse_noise"),
        ("contrast", "contrast"),
        ("brightness", "brightness"),
        ("gaussian_blur", "gaussian_blur"),
        ("pixelate", "pixelate"),
        ("defocus_blur", "defocus_blur"),
    ]
}

const BLOCK_OPTIONS: &[(&str, &str)] = &[
    ("block1", "block1"),
    ("block2", "block2"),
    ("block3", "block3"),
    ("block4", "block4"),
];

#[component]
pub fn ShiftControls() -> impl IntoView {
    let FineTuningState { settings, busy, .. } = crate::ui::context();
    let kind = crate::ui::derive(move || settings.get().shift.to_string());
    view! {
        <fieldset class="controls-grid" disabled=move || busy.get()>
            <legend>"The shift"</legend>
            <ChoiceInput label="Shift" key="shift" options=SHIFTS value=kind
                on_change=move |v| {
                    if let Some((k, _)) = SHIFTS.iter().find(|(k, _)| *k == v) {
                        settings.update(|s| s.shift = k);
                    }
                }/>
            { let shown = Calc::new(move |_| kind.get() == "corruption");
            move || shown.get().then(|| view! {
                <ChoiceInput label="Corruption" key="corruption" options=corruption_options()
                    value=crate::ui::derive(move || settings.get().corruption.name().to_string())
                    on_change=move |v| {
                        if let Ok(c) = Corruption::parse(&v) {
                            settings.update(|s| s.corruption = c);
                        }
                    }/>
                <FieldInput field=&SHIFT_FIELDS[0] settings=settings/>
            }) }
            { let shown = Calc::new(move |_| kind.get() == "stage-noise");
            move || shown.get().then(|| view! {
                <ChoiceInput label="Perturbed block" key="noise_block" options=BLOCK_OPTIONS
                    value=crate::ui::derive(move || format!("block{}", settings.get().noise_block + 1))
                    on_change=move |v| {
                        if let Ok(Tune::Block(b)) = Tune::parse(&v) {
                            settings.update(|s| s.noise_block = b);
                        }
                    }/>
                <FieldInput field=&SHIFT_FIELDS[1] settings=settings/>
            }) }
        </fieldset>
    }
}

#[component]
pub fn ProtocolControls() -> impl IntoView {
    let FineTuningState { settings, busy, .. } = crate::ui::context();
    let grid_locked = control_locked("grid", "The paper's learning-rate grid");
    view! {
        <fieldset class="controls-grid" disabled=move || busy.get()>
            <legend>"The protocol"</legend>
            {RUN_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            <div class="field">
                <label>
                    <input type="checkbox" id="in-grid" data-key="grid" disabled=grid_locked prop:checked=move || settings.get().grid
                        on:change=move |ev| settings.update(|s| s.grid = event_target_checked(&ev))/>
                    " The paper's learning-rate grid {1e-2, 1e-3, 1e-4}"
                </label>
            </div>
            <div class="buttons">
                <button type="button" on:click=move |_| settings.update(|s| *s = s.paper())>
                    "Use the paper's protocol (1000 images, 10 epochs, the grid)"
                </button>
            </div>
        </fieldset>
    }
}

/// Run and Stop for a section that runs fine-tuning jobs: Run waits for the data and for any other
/// run on the page (one at a time holds the CPU); Stop ends this section's run.
#[component]
pub fn RunStop(
    /// `data-action` of the Run button (for tests).
    action: &'static str,
    label: &'static str,
    #[prop(into)] running: Signal<bool>,
    on_run: impl Fn() + 'static,
    on_stop: impl Fn() + 'static,
) -> impl IntoView {
    let FineTuningState { lab, busy, .. } = crate::ui::context();
    view! {
        <div class="buttons">
            <button type="button" class="primary" data-action=action on:click=move |_| on_run()
                disabled=move || running.get() || busy.get() || lab.get().is_none()>{label}</button>
            <button type="button" on:click=move |_| on_stop() disabled=move || !running.get()>"Stop"</button>
        </div>
    }
}

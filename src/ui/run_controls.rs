//! Run, pause, step and reset for a long computation, with its speed, a progress bar and an
//! iteration counter. The computation itself runs in short slices (see `chapters`), so the page
//! stays responsive and a pause takes effect at once.

use crate::var::Var;
use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    Slow,
    Normal,
    Fast,
}

impl Speed {
    /// Pause between iterations, in milliseconds (0: as many as fit in a slice).
    pub fn delay_ms(self) -> i32 {
        match self {
            Speed::Slow => 250,
            Speed::Normal => 40,
            Speed::Fast => 0,
        }
    }
    fn key(self) -> &'static str {
        match self {
            Speed::Slow => "slow",
            Speed::Normal => "normal",
            Speed::Fast => "fast",
        }
    }
    fn from_key(s: &str) -> Speed {
        match s {
            "slow" => Speed::Slow,
            "normal" => Speed::Normal,
            _ => Speed::Fast,
        }
    }
}

#[component]
pub fn RunControls(
    /// Label of the group ("Meta-training").
    label: &'static str,
    #[prop(into)] running: Signal<bool>,
    #[prop(into)] can_run: Signal<bool>,
    #[prop(into)] iteration: Signal<usize>,
    #[prop(into)] total: Signal<usize>,
    /// 0..1 of the current phase (preparing, training, evaluating).
    #[prop(into)]
    progress: Signal<f64>,
    #[prop(into)] status: Signal<String>,
    speed: Var<Speed>,
    on_run: impl Fn() + 'static,
    on_pause: impl Fn() + 'static,
    on_step: impl Fn() + 'static,
    on_reset: impl Fn() + 'static,
) -> impl IntoView {
    // The controls are compiled once, not once per set of handlers.
    let state = RunState {
        running,
        can_run,
        iteration,
        total,
        progress,
        status,
        speed,
    };
    let handlers: [Handler; 4] = [
        Box::new(on_run),
        Box::new(on_pause),
        Box::new(on_step),
        Box::new(on_reset),
    ];
    run_controls(label, state, handlers)
}

type Handler = Box<dyn Fn()>;

/// What the run controls show.
#[derive(Clone, Copy)]
struct RunState {
    running: Signal<bool>,
    can_run: Signal<bool>,
    iteration: Signal<usize>,
    total: Signal<usize>,
    progress: Signal<f64>,
    status: Signal<String>,
    speed: Var<Speed>,
}

fn run_controls(label: &'static str, s: RunState, handlers: [Handler; 4]) -> AnyView {
    let [on_run, on_pause, on_step, on_reset] = handlers;
    view! {
        <div class="run-controls" role="group" aria-label=label>
            <div class="buttons">
                <button type="button" class="primary" on:click=move |_| on_run() disabled=move || s.running.get() || !s.can_run.get()>
                    "Run"
                </button>
                <button type="button" on:click=move |_| on_pause() disabled=move || !s.running.get()>
                    "Pause"
                </button>
                <button type="button" on:click=move |_| on_step() disabled=move || s.running.get() || !s.can_run.get()>
                    "Step"
                </button>
                <button type="button" on:click=move |_| on_reset()>"Reset"</button>
                <label class="speed">
                    "Speed "
                    <select
                        aria-label="Speed"
                        on:change=move |ev| s.speed.set(Speed::from_key(&event_target_value(&ev)))
                        prop:value=move || s.speed.get().key()
                    >
                        <option value="slow">"slow"</option>
                        <option value="normal">"normal"</option>
                        <option value="fast">"fast"</option>
                    </select>
                </label>
            </div>
            <div class="progress-row">
                <progress max="1" value=move || s.progress.get() aria-label=format!("{label} progress")></progress>
                <span class="counter" aria-label="Iteration">
                    {move || format!("iteration {} / {}", s.iteration.get(), s.total.get())}
                </span>
            </div>
            <p class="status" role="status" aria-live="polite">{move || s.status.get()}</p>
        </div>
    }
    .into_any()
}

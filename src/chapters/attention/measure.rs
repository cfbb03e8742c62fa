//! (c) Measure it: global and windowed attention timed on the engine's attention kernel at growing
//! image sizes, as a plot, a table and the exponents of their growth.

use super::state::AttentionState;
use super::timing::{self, Timing};
use crate::engine::Engine;
use crate::tasks::Generation;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::figures::attention::{draw_attention_timing, exponent, TimingData};
use leptos::prelude::*;

#[component]
pub fn MeasureIt() -> impl IntoView {
    let AttentionState { cost, .. } = crate::ui::context();
    let engine = crate::ui::context::<Engine>();
    let timing = Var::new(Timing::default());
    let timing_data = Var::new(TimingData::default());
    let timing_gen = Generation::new();
    let measure = move |_| {
        timing::start(
            engine,
            cost.get_untracked(),
            timing,
            timing_data,
            timing_gen,
        )
    };
    let stop = move |_| {
        timing_gen.stop();
        timing.update(|t| t.running = false);
    };
    view! {
        <Section id="measure">
        <h3 id="measure">"Measure it"</h3>
        <Prose html=prose!(r#"
            <p>The FLOP counts predict that global attention's time grows as \(H^4\) and windowed
            attention's as \(H^2\). Measure both here, on the engine's attention kernel (WebGPU when
            this page has it, else the CPU), at growing image sizes \(H = mPK\) with the
            calculator's \(P\), \(K\) and \(D\). At small sizes fixed costs (launching the kernel,
            moving data) hide the scaling; it shows once the work dominates. The measurement stops
            growing the image once global attention takes 1.5 s.</p>
        "#)/>
        <div class="buttons">
            <button type="button" class="primary" on:click=measure disabled=move || timing.get().running>"Measure"</button>
            <button type="button" on:click=stop disabled=move || !timing.get().running>"Stop"</button>
        </div>
        <div class="progress-row">
            <progress max="1" aria-label="Measurement progress"
                value=move || { let t = timing.get(); if t.planned == 0 { 0.0 } else { (t.done as f64 + t.fraction) / t.planned as f64 } }></progress>
            <span class="counter" data-out="timing-count">{move || { let t = timing.get(); format!("{} of up to {} sizes", t.done, t.planned) }}</span>
        </div>
        {move || timing.get().message.map(|m| view! { <p class="notice warning" role="alert">{m}</p> })}
        <Plot name="attention-timing" title="Measured attention time"
            summary=crate::ui::derive(move || timing_data.get().summary())
            csv=crate::ui::derive(move || timing_data.get().csv())
            draw=move |area, palette| draw_attention_timing(area, &timing_data.get(), palette)/>
        <div class="table-scroll">
            <table class="numbers" aria-label="Measured attention time">
                <thead><tr><th scope="col">"H"</th><th scope="col">"tokens T"</th><th scope="col">"global (ms)"</th><th scope="col">"windowed (ms)"</th><th scope="col">"global / windowed"</th></tr></thead>
                <tbody>
                    {move || timing_data.get().rows.into_iter().map(|r| view! {
                        <tr data-image=r.image>
                            <td>{r.image}</td><td>{r.tokens}</td>
                            <td data-out="global-ms">{format!("{:.3}", r.global_ms)}</td>
                            <td data-out="windowed-ms">{format!("{:.3}", r.windowed_ms)}</td>
                            <td>{format!("{:.1}×", r.global_ms / r.windowed_ms.max(1e-9))}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <p data-out="exponents">{move || {
            let d = timing_data.get();
            match (exponent(&d.rows, |r| r.global_ms), exponent(&d.rows, |r| r.windowed_ms)) {
                (Some(g), Some(w)) => format!(
                    "Between the two largest sizes, global attention's time grew as H^{g:.1} and windowed attention's as H^{w:.1} (predicted: 4 and 2)."
                ),
                _ => String::new(),
            }
        }}</p>
        </Section>
    }
}

//! (d) Linear quantization: the map r = S (q − Z), two checked questions on S and Z, and the map
//! for the reader's range and bits.

use super::exercises::{SCALE_CHOICES, ZERO_CHOICES};
use super::state::{QuantizationState, LINEAR_FIELDS};
use crate::calc::Calc;
use crate::ui::controls::FieldInput;
use crate::ui::exercise::{ChoiceExercise, NumberExercise};
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::Section;
use glassbox_lab::compress::quant;
use glassbox_lab::figures::quant::{draw_linear_mapping, LinearMapping};
use leptos::prelude::*;

#[component]
pub fn LinearQuantization() -> impl IntoView {
    let QuantizationState { settings, .. } = crate::ui::context();
    let mapping = Calc::new(move |_| {
        let s = settings.get();
        quant::linear_params(s.rmin, s.rmax, s.lin_bits).map(|params| LinearMapping {
            rmin: s.rmin,
            rmax: s.rmax,
            bits: s.lin_bits,
            params,
        })
    });
    // A value three quarters of the way up the reader's range, for the worked question.
    let point = move || settings.with(|s| s.rmin + 0.75 * (s.rmax - s.rmin));
    let quantized = crate::ui::derive(move || {
        mapping
            .get()
            .ok()
            .map(|m| m.params.quantize(point()) as f64)
    });
    let explain = move |q: f64| {
        let s = settings.get_untracked();
        match quant::linear_params(s.rmin, s.rmax, s.lin_bits) {
            Ok(p) => format!(
                "q = clamp(round(r / S) + Z) = clamp(round({:.4} / {:.6}) + {}) = {q}, within [{}, {}].",
                point(), p.scale, p.zero_point, p.qmin, p.qmax
            ),
            Err(e) => e,
        }
    };
    view! {
        <Section id="linear">
            <h2 id="linear">"(d) Linear quantization"</h2>
            <Prose html=prose!(r#"
                <p>Linear quantization maps an integer \(q\) to the real value</p>
                \[r = S\,(q - Z),\]
                <p>with a real scale \(S\) and an integer zero point \(Z\). On \(n\) signed bits
                \(q\) runs from \(q_{\min} = -2^{n-1}\) to \(q_{\max} = 2^{n-1} - 1\). Choose the
                real range and the bits; the page computes \(S\) and \(Z\) and draws the map.
                First, two questions.</p>
            "#)/>
            <div class="exercises">
                <ChoiceExercise name="scale" question="Which expression is the scale S?" choices=&SCALE_CHOICES/>
                <ChoiceExercise name="zero" question="Which expression is the zero point Z?" choices=&ZERO_CHOICES/>
            </div>
            <div class="controls-grid">
                {LINEAR_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
            {move || match mapping.get() {
                Ok(m) => view! {
                    <dl class="readout" aria-label="Linear quantization parameters">
                        <dt>"S"</dt><dd data-out="scale">{format!("{:.6}", m.params.scale)}</dd>
                        <dt>"Z"</dt><dd data-out="zero-point">{m.params.zero_point}</dd>
                        <dt>"q range"</dt><dd>{format!("{} to {}", m.params.qmin, m.params.qmax)}</dd>
                        <dt>"largest rounding error in range"</dt><dd>{format!("S / 2 = {:.6}", m.params.scale / 2.0)}</dd>
                    </dl>
                }.into_any(),
                Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
            }}
            <NumberExercise id="quantize-a-value"
                question="With the S and Z above, which integer q stores the real value three quarters of the way up the range?"
                answer=quantized tolerance=0.0 explain=explain
                hint="Divide r by S, round to the nearest integer (ties to even), add Z, and clamp to the q range."/>
            <p class="muted">{move || format!("That value is r = {:.4}.", point())}</p>
            <Plot name="linear-mapping" title="The linear quantization map"
                summary=crate::ui::derive(move || mapping.get().map(|m| m.summary()).unwrap_or_default())
                csv=crate::ui::derive(move || mapping.get().map(|m| m.csv()).unwrap_or_default())
                draw=move |area, palette| match mapping.get() {
                    Ok(m) => draw_linear_mapping(area, &m, palette),
                    Err(_) => area.fill(&palette.background).map_err(|e| e.to_string()),
                }/>
            <Prose html=prose!(r#"
                <p>The homework's example, \(r \in [-0.25, 0.75]\) on 2 bits, gives \(S = 1/3\) and
                \(Z = \operatorname{round}(-2 + 0.75) = -1\) (the page's defaults). Weights are
                quantized symmetrically instead: \(Z = 0\) and \(S = \max |w| / q_{\max}\), one
                scale per output channel, because the channels of a layer can differ in size by
                orders of magnitude.</p>
            "#)/>
        </Section>
    }
}

//! (c) The cost of global and windowed attention: the FLOP counts, a calculator and their curves
//! against image size.

use super::state::{AttentionState, COST_FIELDS};
use crate::calc::Calc;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::Section;
use glassbox_lab::attention::attention_cost;
use glassbox_lab::figures::attention::{draw_attention_cost, CostCurve};
use leptos::prelude::*;

#[component]
pub fn AttentionCost() -> impl IntoView {
    let AttentionState { settings, cost, .. } = crate::ui::context();
    let cost_curve = Calc::new(move |_| {
        let (h, p, k, d) = cost.get();
        CostCurve::new(h, p, k, d)
    });
    view! {
        <Section id="cost">
        <h2 id="cost">"(c) The cost of global and windowed attention"</h2>
        <Prose html=prose!(r#"
            <p>An \(H \times H\) image cut into \(P \times P\) patches gives \(T = (H/P)^2\) tokens.
            Global attention compares every token with every token, so its two products cost</p>
            \[4\,T^2 D = O\left(\frac{D H^4}{P^4}\right)\ \text{FLOPs},\]
            <p>while windows of \(K \times K\) patches let each token see only \(K^2\) others:</p>
            \[4\,T K^2 D = O\left(\frac{H^2 K^2 D}{P^2}\right)\ \text{FLOPs}.\]
            <p>Doubling the image multiplies the first by 16 and the second by 4. The price is that
            a token no longer sees the whole image in one layer: models that use windows shift them
            between layers, or add a few global layers, so that information still travels
            across.</p>
        "#)/>
        <div class="controls-grid">
            {COST_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
        </div>
        {move || {
            let (h, p, k, d) = cost.get();
            match attention_cost(h, p, k, d) {
                Ok(r) => view! {
                    <dl class="readout" aria-label="Attention cost">
                        <dt>"tokens T"</dt><dd data-out="tokens">{r.tokens}</dd>
                        <dt>"global"</dt><dd data-out="global">{format!("{:.3e} FLOPs", r.global_flops as f64)}</dd>
                        <dt>"windowed"</dt><dd data-out="windowed">{format!("{:.3e} FLOPs", r.windowed_flops as f64)}</dd>
                        <dt>"ratio"</dt><dd data-out="ratio">{format!("{:.1}× (= T / K²)", r.ratio)}</dd>
                    </dl>
                }.into_any(),
                Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
            }
        }}
        <Plot name="attention-cost" title="Attention FLOPs against image size"
            summary=crate::ui::derive(move || cost_curve.get().summary())
            csv=crate::ui::derive(move || cost_curve.get().csv())
            draw=move |area, palette| draw_attention_cost(area, &cost_curve.get(), palette)/>
        </Section>
    }
}

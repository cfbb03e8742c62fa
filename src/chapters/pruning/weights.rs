//! Section "Where the weights are": a layer's weight histogram with the pruning threshold, and the
//! keep-mask of the small layers.

use super::mask::{draw_mask, MASK_MAX};
use super::state::{PruningState, NAMES};
use crate::calc::Calc;
use crate::classroom::control_locked;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::Section;
use glassbox_lab::compress::prune;
use glassbox_lab::figures::{self, WeightHistogram};
use leptos::prelude::*;

#[component]
pub fn Weights() -> impl IntoView {
    let PruningState {
        settings,
        lab,
        sparsity,
        pruned,
        ..
    } = crate::ui::context();
    let theme = use_context::<crate::ui::Theme>();
    let layer = Calc::new(move |_| settings.get().layer);
    let histogram = Calc::new(move |_| {
        let l = lab.get()?;
        let i = layer.get();
        let s = sparsity.get()[i];
        let w = prune::weights(&l.pretrained, i);
        let t = pruned
            .get()
            .and_then(|p| p.ok())
            .map(|p| p.thresholds[i])
            .unwrap_or(0.0);
        Some(WeightHistogram::new(NAMES[i], w, t, s, 60))
    });

    let mask_ref = NodeRef::<leptos::html::Canvas>::new();
    crate::ui::effect(move || {
        let dark = theme.map(|t| t.dark.get()).unwrap_or(false);
        let i = layer.get();
        if let (Some(c), Some(Ok(p))) = (mask_ref.get(), pruned.get()) {
            if prune::weights(&p.net, i).len() <= MASK_MAX {
                draw_mask(&c, &p.net, i, dark);
            }
        }
    });

    let hist_summary =
        crate::ui::derive(move || histogram.get().map(|h| h.summary()).unwrap_or_default());
    let hist_csv = crate::ui::derive(move || histogram.get().map(|h| h.csv()).unwrap_or_default());

    let layer_locked = control_locked("layer", "Layer");
    view! {
        <Section id="hist">
            <h2 id="hist">"Where the weights are"</h2>
            <Prose html=prose!(r#"
                <p>Pick a layer: its weights pile up around zero and thin out fast towards the
                tails. Removing the smallest ones changes each output a little, which is why a
                trained network tolerates a lot of pruning. The shaded bars are the weights the
                layer's sparsity below would remove; the orange lines mark the threshold ±t.</p>
            "#)/>
            <label class="field">"Layer "
                <select aria-label="Layer" data-key="layer" disabled=layer_locked prop:value=move || NAMES[layer.get()]
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(i) = NAMES.iter().position(|n| *n == v) {
                            settings.update(|s| s.layer = i);
                        }
                    }>
                    {NAMES.iter().map(|n| view! { <option value=*n>{*n}</option> }).collect_view()}
                </select>
            </label>
            <Plot name="weight-histogram" title="Weight histogram" summary=hist_summary csv=hist_csv
                draw=move |area, palette| match histogram.get() {
                    Some(h) => figures::draw_weight_histogram(area, &h, palette),
                    None => area.fill(&palette.background).map_err(|e| e.to_string()),
                }/>
            {move || {
                let i = layer.get();
                let small = lab.get().map(|l| prune::weights(&l.pretrained, i).len() <= MASK_MAX).unwrap_or(false);
                small.then(|| view! {
                    <Prose html=prose!(r#"
                        <p>The mask of this small layer: one cell per weight, a row per output
                        channel; coloured cells are kept.</p>
                    "#)/>
                })
            }}
            <div hidden=move || !lab.get().map(|l| prune::weights(&l.pretrained, layer.get()).len() <= MASK_MAX).unwrap_or(false)>
                <canvas node_ref=mask_ref width="216" height="384" class="mask" role="img"
                    aria-label=move || format!("Keep-mask of {}: coloured cells are kept weights.", NAMES[layer.get()])></canvas>
            </div>
        </Section>
    }
}

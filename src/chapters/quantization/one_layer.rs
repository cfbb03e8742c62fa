//! (a) k-means quantization of one layer: its weights before and after as heatmaps (at most 2^n
//! colours), the error, the histogram with the centroids, and the codebook.

use super::kmeans::{run_kmeans, where_ran};
use super::state::{QuantizationState, KMEANS_FIELDS, NAMES};
use crate::calc::Calc;
use crate::classroom::control_locked;
use crate::tasks::Generation;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::{HeatmapPlot, Plot};
use crate::ui::Section;
use crate::var::Var;
use glassbox_gpu::Ran;
use glassbox_lab::compress::prune;
use glassbox_lab::compress::quant::{self, Codebook, KMeansJob, KMEANS_ROUNDS};
use glassbox_lab::figures::quant::weight_heatmap;
use glassbox_lab::figures::{self, Palette, WeightHistogram};
use glassbox_lab::vision::network::Network;
use leptos::prelude::*;

/// Output channels of prunable layer `i` (the rows of its weight tensor).
fn rows_of(net: &Network, i: usize) -> usize {
    net.blocks.get(i).map(|b| b.c_out).unwrap_or(net.classes())
}

/// One layer's k-means result.
#[derive(Clone, Debug, PartialEq)]
struct LayerResult {
    layer: usize,
    bits: u32,
    seed: u64,
    codebook: Codebook,
    ran: Ran,
}

#[component]
pub fn KMeansOneLayer() -> impl IntoView {
    let QuantizationState {
        settings,
        engine,
        lab,
        ..
    } = crate::ui::context();
    let layer_key = Calc::new(move |_| settings.with(|s| (s.layer, s.bits, s.seed)));
    let layer_result = Var::new(None::<LayerResult>);
    let layer_progress = Var::new(0.0f64);
    let layer_gen = Generation::new();
    crate::ui::effect(move || {
        let (layer, bits, seed) = layer_key.get();
        let Some(l) = lab.get() else {
            return;
        };
        let alive = layer_gen.start();
        layer_progress.set(0.0);
        crate::tasks::spawn_page_task(async move {
            let w = prune::weights(&l.pretrained, layer).to_vec();
            let Ok(job) = KMeansJob::new(w, bits, seed + layer as u64, KMEANS_ROUNDS) else {
                return;
            };
            if let Some((codebook, ran)) =
                run_kmeans(engine, true, job, &move |f| layer_progress.set(f), &alive).await
            {
                layer_progress.set(1.0);
                layer_result.set(Some(LayerResult {
                    layer,
                    bits,
                    seed,
                    codebook,
                    ran,
                }));
            }
        });
    });
    let current = Calc::new(move |_| {
        let r = layer_result.get()?;
        (layer_key.get() == (r.layer, r.bits, r.seed)).then_some(r)
    });
    let maps = Calc::new(move |_| {
        let (l, r) = (lab.get()?, current.get()?);
        let w = prune::weights(&l.pretrained, r.layer);
        let rows = rows_of(&l.pretrained, r.layer);
        let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
        let mut q = w.to_vec();
        r.codebook.apply(&mut q);
        let name = NAMES[r.layer];
        Some((
            weight_heatmap(&format!("{name}: trained weights"), w, rows, 32, 64, max),
            weight_heatmap(
                &format!("{name}: after {}-bit k-means", r.bits),
                &q,
                rows,
                32,
                64,
                max,
            ),
        ))
    });
    let before_map = crate::ui::derive(move || maps.get().map(|m| m.0));
    let after_map = crate::ui::derive(move || maps.get().map(|m| m.1));
    // Distinct colours of the quantized heatmap (light theme): never more than 2^n.
    let after_colours = crate::ui::derive(move || {
        after_map.get().map(|h| {
            let scale = h.effective_scale();
            let c = h
                .values
                .iter()
                .flatten()
                .map(|&v| {
                    let rgb = scale.colour(v, &Palette::LIGHT);
                    (rgb.0 as u64) << 16 | (rgb.1 as u64) << 8 | rgb.2 as u64
                })
                .collect();
            glassbox_lab::rank::distinct(c).len()
        })
    });
    let layer_hist = Calc::new(move |_| {
        let (l, r) = (lab.get()?, current.get()?);
        let w = prune::weights(&l.pretrained, r.layer);
        let mut h = WeightHistogram::new(NAMES[r.layer], w, 0.0, 0.0, 80);
        h.marks = r.codebook.centroids.iter().map(|&c| c as f64).collect();
        Some(h)
    });
    let layer_locked = control_locked("layer", "Layer");
    view! {
        <Section id="kmeans">
            <h2 id="kmeans">"(a) k-means quantization of one layer"</h2>
            <Prose html=prose!(r#"
                <p>With \(n\) bits a tensor gets a codebook of \(2^n\) values, the centroids of
                k-means on its weights, and each weight is stored as the \(n\)-bit index of its
                nearest centroid. The quantized tensor then holds at most \(2^n\) distinct values:
                in the heatmap below, at most \(2^n\) colours.</p>
            "#)/>
            <div class="controls-grid">
                <div class="field">
                    <label for="in-layer">"Layer"</label>
                    <select id="in-layer" data-key="layer" disabled=layer_locked prop:value=move || NAMES[settings.with(|s| s.layer)]
                        on:change=move |ev| { let v = event_target_value(&ev); if let Some(i) = NAMES.iter().position(|n| *n == v) { settings.update(|s| s.layer = i); } }>
                        {NAMES.iter().map(|n| view! { <option value=*n>{*n}</option> }).collect_view()}
                    </select>
                </div>
                {KMEANS_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
            <progress max="1" aria-label="k-means progress" value=move || layer_progress.get()></progress>
            {move || current.get().zip(lab.get()).map(|(r, l)| {
                let w = prune::weights(&l.pretrained, r.layer);
                let err = r.codebook.error(w) / w.len() as f64;
                let var = { let m = w.iter().map(|&v| v as f64).sum::<f64>() / w.len() as f64; w.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / w.len() as f64 };
                let mut q = w.to_vec();
                r.codebook.apply(&mut q);
                view! {
                    <dl class="readout" aria-label="k-means of the layer">
                        <dt>"weights"</dt><dd>{w.len()}</dd>
                        <dt>"distinct values after"</dt><dd data-out="distinct">{quant::distinct_values(&q)}</dd>
                        <dt>"mean squared error"</dt><dd data-out="kmeans-mse">{format!("{err:.3e} ({:.2}% of the weights' variance)", 100.0 * err / var.max(1e-30))}</dd>
                        <dt>"computed on"</dt><dd data-out="kmeans-ran">{where_ran(r.ran)}</dd>
                    </dl>
                }
            })}
            <div class="weight-maps" data-colours=move || after_colours.get().map(|c| c.to_string()).unwrap_or_default()>
                <HeatmapPlot name="weights-before" title="Weights before quantization" height=400 heatmap=before_map/>
                <HeatmapPlot name="weights-after" title="Weights after k-means quantization" height=400 heatmap=after_map/>
            </div>
            <Plot name="codebook-histogram" title="Weight histogram with the centroids"
                summary=crate::ui::derive(move || layer_hist.get().map(|h| h.summary()).unwrap_or_default())
                csv=crate::ui::derive(move || layer_hist.get().map(|h| h.csv()).unwrap_or_default())
                draw=move |area, palette| match layer_hist.get() {
                    Some(h) => figures::draw_weight_histogram(area, &h, palette),
                    None => area.fill(&palette.background).map_err(|e| e.to_string()),
                }/>
            <div class="table-scroll">
                <table class="numbers" aria-label="Codebook">
                    <thead><tr><th scope="col">"index"</th><th scope="col">"centroid"</th><th scope="col">"weights"</th></tr></thead>
                    <tbody>
                        {move || current.get().map(|r| {
                            let mut count = vec![0usize; r.codebook.centroids.len()];
                            r.codebook.assignment.iter().for_each(|&a| count[a as usize] += 1);
                            r.codebook.centroids.iter().enumerate().take(16).map(|(i, c)| view! {
                                <tr><td>{i}</td><td>{format!("{c:+.5}")}</td><td>{count[i]}</td></tr>
                            }).collect_view()
                        })}
                    </tbody>
                </table>
            </div>
            {move || current.get().filter(|r| r.codebook.centroids.len() > 16).map(|r| view! { <p class="field-help">{format!("The first 16 of {} centroids (download the histogram's CSV for the weights).", r.codebook.centroids.len())}</p> })}
        </Section>
    }
}

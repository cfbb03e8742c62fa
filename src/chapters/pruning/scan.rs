//! Section "Sensitivity scan": prune one layer at a time over a grid of sparsities, draw the accuracy
//! per layer, and turn the scan into suggested sparsities.

use super::state::{PruningState, LAYERS, OTHER_FIELDS};
use crate::engine::Engine;
use crate::tasks::Generation;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::{accuracy_of, classify};
use crate::web;
use glassbox_lab::compress::prune::{self, Sensitivity};
use glassbox_lab::figures::{self, SensitivityData};
use leptos::prelude::*;

#[component]
pub fn SensitivityScan() -> impl IntoView {
    let PruningState { settings, lab, .. } = crate::ui::context();
    let engine = crate::ui::context::<Engine>();

    // The sensitivity scan, resumable, in slices.
    let scan = Var::new(SensitivityData::default());
    let scan_state = Var::new((false, 0usize, 0usize)); // (running, finished, total)
    let scan_generation = Generation::new();
    let scan_error = Var::new(None::<String>);
    let run_scan = move |_| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let s = settings.get_untracked();
        let mut job = match Sensitivity::new(&l.pretrained, &s.grid()) {
            Ok(j) => j,
            Err(e) => {
                scan_error.set(Some(e));
                return;
            }
        };
        scan_error.set(None);
        let alive = scan_generation.start();
        let count = s.scan_images.min(l.data.test.len());
        scan_state.set((true, 0, job.progress().1));
        scan.set(SensitivityData::default());
        crate::tasks::spawn_page_task(async move {
            let t0 = web::now_ms();
            // Each network of the scan classifies the test images on WebGPU or the CPU.
            while let Some(net) = job.next() {
                // Pruning a copy of the network (a selection over up to 590k weights) is a task of
                // its own, apart from the evaluation's first slice.
                web::sleep(0).await;
                let Some((preds, ..)) =
                    classify(&l.data, net, count, engine, &|_| {}, &alive).await
                else {
                    return;
                };
                job.record(accuracy_of(&l.data.test, &preds));
                let (done, total) = job.progress();
                scan_state.set((!job.done(), done, total));
                scan.set(SensitivityData {
                    dense_accuracy: job.dense_accuracy,
                    layers: job.partial(),
                });
                // Let the figure redraw in its own task before the next network's first slice.
                web::sleep(0).await;
            }
            if job.done() {
                crate::progress::record_time(super::SLUG, web::now_ms() - t0);
            }
        });
    };
    let stop_scan = move |_| {
        scan_generation.stop();
        scan_state.update(|s| s.0 = false);
    };
    let suggest = move |_| {
        let (Some(l), d) = (lab.get_untracked(), scan.get_untracked()) else {
            return;
        };
        let (Some(dense), true) = (d.dense_accuracy, d.layers.len() == LAYERS) else {
            return;
        };
        let s = prune::suggest(&l.pretrained, &d.layers, dense);
        settings.update(|st| {
            for (i, v) in s.into_iter().enumerate() {
                st.sparsity[i] = v;
            }
        });
    };
    let scan_summary = crate::ui::derive(move || scan.get().summary());
    let scan_csv = crate::ui::derive(move || scan.get().csv());

    view! {
        <Section id="scan">
            <h2 id="scan">"Sensitivity scan"</h2>
            <Prose html=prose!(r#"
                <p>Which layers can lose the most? Prune one layer at a time, leave the others
                dense, and measure the accuracy at each sparsity of the scan. In the original lab (a
                VGG on CIFAR-10) the first convolution was the most sensitive: it has the fewest
                weights, and everything after it depends on its few features.</p>
            "#)/>
            <div class="controls-grid">
                {OTHER_FIELDS[1..].iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
            <div class="buttons">
                <button type="button" class="primary" on:click=run_scan
                    disabled=move || lab.get().is_none() || scan_state.get().0>"Run the scan"</button>
                <button type="button" on:click=stop_scan disabled=move || !scan_state.get().0>"Stop"</button>
                <button type="button" on:click=suggest
                    disabled=move || scan_state.get().0 || scan.get().layers.len() != LAYERS || scan.get().layers.iter().any(|l| l.accuracy.len() != settings.get().grid().len())>
                    "Use the scan's suggestion"</button>
            </div>
            {move || scan_error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
            <div class="progress-row">
                <progress max="1" aria-label="Scan progress" value=move || {
                    let (_, d, t) = scan_state.get();
                    if t == 0 { 0.0 } else { d as f64 / t as f64 }
                }></progress>
                <span class="counter" data-out="scan-progress">{move || {
                    let (_, d, t) = scan_state.get();
                    format!("{d} / {t} evaluations")
                }}</span>
            </div>
            <Plot name="sensitivity" title="Sensitivity scan" summary=scan_summary csv=scan_csv
                draw=move |area, palette| figures::draw_sensitivity(area, &scan.get(), palette)/>
            <p data-out="most-sensitive">{move || {
                let d = scan.get();
                let (running, ..) = scan_state.get();
                match (running, d.dense_accuracy, d.most_sensitive()) {
                    (false, Some(_), Some((name, a))) if d.layers.len() == LAYERS => format!(
                        "In our network the most sensitive layer is {name} ({:.1}% at the scan's largest sparsity){}.",
                        100.0 * a,
                        if name == "conv1" { ", as in the original lab" } else { "; in the original lab it was the first convolution" }
                    ),
                    _ => String::new(),
                }
            }}</p>
            <Prose html=prose!(r#"
                <p>The suggestion takes, for every layer, the largest scanned sparsity that costs at
                most half a point of accuracy on its own, and allows more loss, half a point at a
                time, until the model is at most a quarter of its dense size.</p>
            "#)/>
        </Section>
    }
}

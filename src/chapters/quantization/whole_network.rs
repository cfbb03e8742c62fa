//! (b) The whole network at 8, 4 and 2 bits: k-means (and, for the table of (f), linear)
//! quantization of every layer, each evaluated on the test images.

use super::kmeans::{quantize_network, where_ran};
use super::pct;
use super::state::{Comparison, QuantizationState, WidthRow, EVAL_FIELD};
use crate::engine::Engine;
use crate::tasks::Generation;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::{accuracy_of, classify, mib, Loaded};
use glassbox_lab::compress::prune;
use glassbox_lab::compress::quant;
use leptos::prelude::*;
use std::rc::Rc;

/// The whole-network comparison's bit widths.
const WIDTHS: [u32; 3] = [8, 4, 2];

#[component]
pub fn WholeNetwork() -> impl IntoView {
    let QuantizationState {
        settings,
        engine,
        lab,
        comparison,
        ..
    } = crate::ui::context();
    let cmp_gen = Generation::new();
    let run_comparison = move |_| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let alive = cmp_gen.start();
        let (count, seed) =
            settings.with_untracked(|s| (s.eval_images.min(l.data.test.len()), s.seed));
        comparison.set(Comparison {
            running: true,
            status: "Evaluating the fp32 network…".into(),
            ..Comparison::default()
        });
        crate::tasks::spawn_page_task(compare_widths(l, engine, comparison, count, seed, alive));
    };
    let stop_comparison = move |_| {
        cmp_gen.stop();
        comparison.update(|c| {
            c.running = false;
            c.status = "Stopped.".into();
        });
    };
    view! {
        <Section id="whole">
            <h2 id="whole">"(b) The whole network at 8, 4 and 2 bits"</h2>
            <Prose html=prose!(r#"
                <p>Every convolution and the linear layer get their own codebook. The size counts
                \(n\) bits per weight plus each codebook (\(2^n\) values at 32 bits) and every other
                parameter (batch-norm, the linear bias) at 32 bits.</p>
            "#)/>
            <div class="controls-grid"><FieldInput field=&EVAL_FIELD settings=settings/></div>
            <div class="buttons">
                <button type="button" class="primary" on:click=run_comparison disabled=move || lab.get().is_none() || comparison.get().running>"Quantize and evaluate"</button>
                <button type="button" on:click=stop_comparison disabled=move || !comparison.get().running>"Stop"</button>
            </div>
            <progress max="1" aria-label="Quantization progress" value=move || comparison.get().progress></progress>
            <p class="status" role="status" aria-live="polite" data-out="compare-status">{move || comparison.get().status}</p>
            <div class="table-scroll">
                <table class="numbers" aria-label="k-means quantization of the whole network">
                    <thead><tr><th scope="col">"bits"</th><th scope="col">"size"</th><th scope="col">"of fp32"</th><th scope="col">"test accuracy"</th><th scope="col">"change"</th></tr></thead>
                    <tbody>
                        {move || lab.get().map(|l| view! {
                            <tr><td>"32 (fp32)"</td><td>{mib(prune::model_bits(&l.pretrained, false))}</td><td>"100%"</td>
                                <td data-out="fp32">{move || comparison.get().fp32.map(pct).unwrap_or_default()}</td><td></td></tr>
                        })}
                        {move || {
                            let c = comparison.get();
                            let dense = lab.get().map(|l| prune::model_bits(&l.pretrained, false)).unwrap_or(1) as f64;
                            c.rows.iter().map(|r| view! {
                                <tr data-bits=r.bits>
                                    <td>{r.bits}</td><td>{mib(r.kmeans_bits)}</td><td>{format!("{:.1}%", 100.0 * r.kmeans_bits as f64 / dense)}</td>
                                    <td data-out="kmeans-acc">{pct(r.kmeans_acc)}</td>
                                    <td>{c.fp32.map(|f| format!("{:+.2} points", 100.0 * (r.kmeans_acc - f))).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()
                        }}
                    </tbody>
                </table>
            </div>
        </Section>
    }
}

/// The fp32 accuracy, then each of `WIDTHS` with k-means and with linear quantization, into
/// `comparison` as they come.
async fn compare_widths(
    l: Rc<Loaded>,
    engine: Engine,
    comparison: Var<Comparison>,
    count: usize,
    seed: u64,
    alive: impl Fn() -> bool + Copy,
) {
    let t0 = crate::web::now_ms();
    let steps = 1 + 3 * WIDTHS.len();
    let step_progress = move |k: usize| {
        move |f: f64| comparison.update(|c| c.progress = (k as f64 + f) / steps as f64)
    };
    let Some((p, _, ran)) = classify(
        &l.data,
        l.pretrained.clone(),
        count,
        engine,
        &step_progress(0),
        &alive,
    )
    .await
    else {
        return;
    };
    comparison.update(|c| c.fp32 = Some(accuracy_of(&l.data.test, &p)));
    for (w, &bits) in WIDTHS.iter().enumerate() {
        comparison.update(|c| c.status = format!("k-means, {bits} bits: finding the codebooks…"));
        let (qnet, quantizer, kran) = match quantize_network(
            engine,
            true,
            &l.pretrained,
            bits,
            seed,
            &step_progress(1 + 3 * w),
            &alive,
        )
        .await
        {
            None => return,
            Some(Err(e)) => {
                comparison.update(|c| {
                    c.running = false;
                    c.status = e;
                });
                return;
            }
            Some(Ok(v)) => v,
        };
        let kmeans_bits = quantizer.model_bits(&qnet);
        comparison.update(|c| {
            c.status = format!(
                "k-means, {bits} bits (codebooks on the {}): evaluating…",
                where_ran(kran)
            )
        });
        let Some((p, ..)) = classify(
            &l.data,
            qnet,
            count,
            engine,
            &step_progress(2 + 3 * w),
            &alive,
        )
        .await
        else {
            return;
        };
        let kmeans_acc = accuracy_of(&l.data.test, &p);
        let mut lnet = l.pretrained.clone();
        let linear_bits = match quant::linear_quantize_weights(&mut lnet, bits) {
            Ok(b) => b,
            Err(e) => {
                comparison.update(|c| {
                    c.running = false;
                    c.status = e;
                });
                return;
            }
        };
        comparison.update(|c| c.status = format!("linear, {bits} bits: evaluating…"));
        let Some((p, ..)) = classify(
            &l.data,
            lnet,
            count,
            engine,
            &step_progress(3 + 3 * w),
            &alive,
        )
        .await
        else {
            return;
        };
        let linear_acc = accuracy_of(&l.data.test, &p);
        comparison.update(|c| {
            c.rows.push(WidthRow {
                bits,
                kmeans_acc,
                kmeans_bits,
                linear_acc,
                linear_bits,
            })
        });
    }
    comparison.update(|c| {
        c.running = false;
        c.progress = 1.0;
        c.status = format!(
            "Done: each accuracy on the first {count} test images (evaluated on the {ran})."
        );
    });
    crate::progress::record_time(super::SLUG, crate::web::now_ms() - t0);
}

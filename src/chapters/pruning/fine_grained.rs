//! Section "Fine-grained pruning": a sparsity per layer, the table of what pruning did, the sizes,
//! and the test accuracy of the dense and pruned networks.

use super::state::{Accuracy, PruningState, OTHER_FIELDS, SPARSITY_FIELDS};
use crate::engine::Engine;
use crate::tasks::Generation;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::vision::data::{accuracy_of, classify, mib};
use crate::web;
use leptos::prelude::*;

#[component]
pub fn FineGrained() -> impl IntoView {
    let PruningState {
        settings,
        lab,
        pruned,
        eval_images,
        accuracy,
        dense_acc,
        ..
    } = crate::ui::context();
    let engine = crate::ui::context::<Engine>();

    // Test accuracy of the dense and pruned networks, recomputed (after a pause) when they change.
    let generation = Generation::new();
    crate::ui::effect(move || {
        let (Some(l), Some(Ok(p))) = (lab.get(), pruned.get()) else {
            return;
        };
        let count = eval_images.get().min(l.data.test.len());
        let alive = generation.start();
        crate::tasks::spawn_page_task(async move {
            web::sleep(250).await;
            if !alive() {
                return;
            }
            let acc = |preds: &[u32]| accuracy_of(&l.data.test, preds);
            let dense = match dense_acc.get_value() {
                Some((n, a)) if n == count => a,
                _ => {
                    let progress = move |f: f64| accuracy.set(Accuracy::Running(f / 2.0));
                    let Some((preds, ..)) = classify(
                        &l.data,
                        l.pretrained.clone(),
                        count,
                        engine,
                        &progress,
                        &alive,
                    )
                    .await
                    else {
                        return;
                    };
                    let a = acc(&preds);
                    dense_acc.set_value(Some((count, a)));
                    a
                }
            };
            let progress = move |f: f64| accuracy.set(Accuracy::Running(0.5 + f / 2.0));
            let Some((preds, _, ran)) =
                classify(&l.data, p.net.clone(), count, engine, &progress, &alive).await
            else {
                return;
            };
            accuracy.set(Accuracy::Done(dense, acc(&preds), count, ran));
        });
    });

    view! {
        <Section id="fine">
            <h2 id="fine">"Fine-grained pruning"</h2>
            <Prose html=prose!(r#"
                <p>The rule, per tensor: to reach sparsity s, set the round(s · n) weights of
                smallest magnitude to zero (n = the tensor's number of weights). Choose a sparsity
                per layer; the table, the sizes and the test accuracy follow. Dense size counts
                every parameter at 32 bits; sparse size counts only the nonzero ones at 32 bits, as
                the original lab does (real sparse formats also store where the nonzeros are, which
                this ignores).</p>
            "#)/>
            <div class="controls-grid">
                {SPARSITY_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
                <FieldInput field=&OTHER_FIELDS[0] settings=settings/>
            </div>
            {move || match pruned.get() {
                None => ().into_any(),
                Some(Err(e)) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                Some(Ok(p)) => view! {
                    <div class="table-scroll">
                    <table class="numbers" aria-label="Pruned layers">
                        <thead><tr>
                            <th scope="col">"layer"</th><th scope="col">"weights"</th><th scope="col">"target"</th>
                            <th scope="col">"achieved"</th><th scope="col">"zeros"</th><th scope="col">"threshold t"</th>
                        </tr></thead>
                        <tbody>
                            {p.report.iter().zip(&p.thresholds).map(|(r, t)| view! {
                                <tr data-layer=r.name.clone()>
                                    <th scope="row">{r.name.clone()}</th><td>{r.numel}</td>
                                    <td>{format!("{:.2}", r.target)}</td><td data-col="achieved">{format!("{:.4}", r.achieved)}</td>
                                    <td>{r.zeros}</td><td>{format!("{t:.4}")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                    <p data-out="size">{format!(
                        "Size: {} dense, {} sparse ({:.1}% of dense).",
                        mib(p.dense_bits), mib(p.sparse_bits), 100.0 * p.sparse_bits as f64 / p.dense_bits as f64
                    )}</p>
                    <p data-out="params">{format!(
                        "Nonzero parameters: {} of {} (weights, batch-norm scales and shifts, the linear bias).",
                        p.sparse_bits / 32, p.dense_bits / 32
                    )}</p>
                }.into_any(),
            }}
            <p class="big-number" data-out="accuracy">{move || match accuracy.get() {
                Accuracy::Idle => "Test accuracy: waiting for the data…".to_string(),
                Accuracy::Running(f) => format!("Test accuracy: computing… {:.0}%", 100.0 * f),
                Accuracy::Done(d, a, n, ran) => format!(
                    "Test accuracy on the first {n} test images: {:.2}% pruned, {:.2}% dense ({ran}).",
                    100.0 * a, 100.0 * d
                ),
            }}</p>
        </Section>
    }
}

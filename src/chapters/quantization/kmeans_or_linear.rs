//! (f) k-means or linear? The two at the same bit widths, from the run of (b), and what each is for.

use super::pct;
use super::state::QuantizationState;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::vision::data::mib;
use leptos::prelude::*;

#[component]
pub fn KMeansOrLinear() -> impl IntoView {
    let QuantizationState { comparison, .. } = crate::ui::context();
    view! {
        <Section id="compare">
            <h2 id="compare">"(f) k-means or linear?"</h2>
            <Prose html=prose!(r#"
                <p>The same bit widths with linear quantization of the weights (symmetric, per
                output channel; activations kept in float, so that only the weights' grid is
                compared), from the run in (b):</p>
            "#)/>
            <div class="table-scroll">
                <table class="numbers" aria-label="k-means against linear quantization">
                    <thead><tr><th scope="col">"bits"</th><th scope="col">"k-means accuracy"</th><th scope="col">"k-means size"</th><th scope="col">"linear accuracy"</th><th scope="col">"linear size"</th></tr></thead>
                    <tbody>
                        {move || comparison.get().rows.into_iter().map(|r| view! {
                            <tr data-bits=r.bits><td>{r.bits}</td>
                                <td data-out="kmeans">{pct(r.kmeans_acc)}</td><td>{mib(r.kmeans_bits)}</td>
                                <td data-out="linear">{pct(r.linear_acc)}</td><td>{mib(r.linear_bits)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <Prose html=prose!(r#"
                <p>k-means places its \(2^n\) values where the weights are, dense near zero where
                most weights lie, so at few bits it keeps more accuracy than a uniform grid, which
                spends levels on the sparse tails. But it only saves storage: each weight is looked
                up in the codebook and the arithmetic stays floating point. Linear quantization's
                grid is uniform, so integers add and multiply like the values they stand for: the
                whole network runs on int8 hardware, as (e) showed, at no loss at 8 bits. At 2 bits
                a symmetric grid has only the values \(\{-S, 0, S\}\) per channel.</p>
            "#)/>
        </Section>
    }
}

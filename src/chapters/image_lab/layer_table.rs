//! A network's layers as a table: shapes, parameters and multiply-adds, with the totals.

use crate::ui::group;
use glassbox_lab::vision::vgg::ArchStats;
use leptos::prelude::*;

pub fn layer_table(label: String, stats: ArchStats) -> impl IntoView {
    view! {
        <div class="table-scroll">
        <table class="numbers" aria-label=label>
            <thead><tr>
                <th scope="col">"layer"</th><th scope="col">"in"</th><th scope="col">"out"</th>
                <th scope="col">"parameters"</th><th scope="col">"multiply-adds"</th>
            </tr></thead>
            <tbody>
                {stats.layers.iter().map(|l| view! {
                    <tr><td>{l.name.clone()}</td><td>{l.input}</td><td>{l.out}</td><td>{group(l.params)}</td><td>{group(l.macs)}</td></tr>
                }).collect_view()}
                <tr class="total">
                    <th scope="row">"total"</th><td></td><td></td>
                    <td data-total="params">{group(stats.params)}</td>
                    <td data-total="macs">{group(stats.macs)}</td>
                </tr>
            </tbody>
        </table>
        </div>
        <p class="note">{format!("{:.2} MiB of fp32 parameters.", stats.size_mib)}</p>
    }
}

//! A network's layers as a table: shapes, parameters and multiply-adds, with the totals.

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

/// 9228362 -> "9,228,362".
fn group(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::group(9_228_362), "9,228,362");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1_000), "1,000");
        assert_eq!(super::group(0), "0");
    }
}

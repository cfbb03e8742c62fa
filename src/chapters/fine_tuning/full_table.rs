//! Section "The full protocol on every corruption": the table computed natively with the paper's
//! protocol (every corruption at severity 5, every tuning choice; `glassbox finetune sweep
//! --corruption all --severity 5 --out DIR` writes the same file), shipped with the page as a CSV
//! and read here; a heatmap of test accuracy by corruption and choice, and the best choice per
//! corruption in words.

use crate::ui::math::{prose, Prose};
use crate::ui::plot::HeatmapPlot;
use crate::ui::Section;
use crate::var::Var;
use crate::web;
use glassbox_lab::assets;
use glassbox_lab::figures::heatmap::Heatmap;
use glassbox_lab::figures::shift::block_matrix_heatmap;
use glassbox_lab::shift::sweep_table::{parse, SweepRow};
use glassbox_lab::shift::{Corruption, Tune};
use leptos::prelude::*;

pub const ASSET: &str = assets::FINETUNE_TABLE.file;

/// Accuracy by corruption (rows, `Corruption::ALL`) and column (before, then `Tune::ALL`).
fn grid(rows: &[SweepRow]) -> Vec<Vec<Option<f64>>> {
    Corruption::ALL
        .iter()
        .map(|c| {
            let of = |t: Tune| {
                rows.iter()
                    .find(|r| r.corruption == c.name() && r.tune == t)
            };
            std::iter::once(of(Tune::Head).map(|r| r.accuracy_before))
                .chain(Tune::ALL.iter().map(|&t| of(t).map(|r| r.accuracy_after)))
                .collect()
        })
        .collect()
}

/// The best choice per corruption, in words, and how often block1 is the best single block.
fn verdict(rows: &[SweepRow]) -> String {
    let g = grid(rows);
    let singles = 1..=5; // block1..block4, head (after the "before" column)
    let mut first = 0;
    let mut parts = Vec::new();
    for (c, row) in Corruption::ALL.iter().zip(&g) {
        let best = |range: std::ops::RangeInclusive<usize>| {
            range
                .filter_map(|i| row.get(i).copied().flatten().map(|a| (i, a)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        };
        let (Some((bi, ba)), Some((si, _))) = (best(1..=Tune::ALL.len()), best(singles.clone()))
        else {
            continue;
        };
        first += (si == 1) as usize;
        parts.push(format!(
            "{}: {} ({:.1}%)",
            c.name(),
            Tune::ALL[bi - 1].name(),
            100.0 * ba
        ));
    }
    format!(
        "Best choice per corruption: {}. The first block is the best single block (of block1..block4 \
         and the head) under {first} of {} corruptions.",
        parts.join("; "),
        parts.len()
    )
}

/// The shipped table (`ASSET`), read.
pub async fn load_table() -> Result<Vec<SweepRow>, String> {
    web::fetch_asset(assets::FINETUNE_TABLE, &|_, _| {})
        .await
        .and_then(|b| String::from_utf8(b).map_err(|_| format!("{ASSET} is not text")))
        .and_then(|t| parse(&t).map_err(|e| format!("{ASSET}: {e}")))
}

/// The table as a heatmap: corruptions by (before, each tuning choice).
pub fn table_heatmap(rows: &[SweepRow]) -> Heatmap {
    let names: Vec<String> = Corruption::ALL
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let cols: Vec<String> = std::iter::once("before".to_string())
        .chain(Tune::ALL.iter().map(|t| t.name()))
        .collect();
    block_matrix_heatmap(
        &names,
        &cols,
        &grid(rows),
        "Test accuracy, severity 5, full protocol",
        "corruption",
        "tuned",
    )
}

#[component]
pub fn FullTable() -> impl IntoView {
    let rows = Var::new(None::<Result<Vec<SweepRow>, String>>);
    crate::tasks::spawn_page_task(async move {
        rows.set(Some(load_table().await));
    });
    let heat = crate::ui::derive(move || match rows.get() {
        Some(Ok(r)) => Some(table_heatmap(&r)),
        _ => None,
    });
    view! {
        <Section id="full-table">
            <h2 id="full-table">"The full protocol on every corruption"</h2>
            <Prose html=prose!(r#"
                <p>Computed natively with the paper's protocol (1000 images, the learning-rate grid,
                10 epochs, seed 0) for every corruption at severity 5 and every choice, 64 runs that
                took 97 minutes on two cores, so the page ships the table; the sections above rerun
                any cell of it here. <code>glassbox finetune sweep --corruption all --severity 5
                --out DIR</code> writes the same file.</p>
            "#)/>
            {move || match rows.get() {
                None => view! { <p class="status">"Loading the table…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="notice error" role="alert">{format!("The table could not be read: {e}")}</p> }.into_any(),
                Some(Ok(r)) => view! { <p data-out="full-verdict">{verdict(&r)}</p> }.into_any(),
            }}
            <HeatmapPlot name="full-table" title="Full protocol, severity 5" width=760 height=520 heatmap=heat/>
        </Section>
    }
}

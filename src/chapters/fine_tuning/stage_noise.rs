//! Section "Noise inside the network": the feature-level shift as a matrix. Each block in turn is
//! perturbed (noise of alpha times each tensor's standard deviation), then each block and the head
//! is tuned on clean images with the protocol above; the heatmap shows test accuracy by perturbed
//! block (rows) and tuned block (columns), and the page says where our network's diagonal wins.

use super::controls::RunStop;
use super::grid_run::GridRun;
use super::state::FineTuningState;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::HeatmapPlot;
use crate::ui::Section;
use glassbox_lab::figures::shift::block_matrix_heatmap;
use glassbox_lab::shift::blocks::BLOCKS;
use glassbox_lab::shift::{Shift, Tune, TuneSettings};
use leptos::prelude::*;

const TUNED: [Tune; 5] = [
    Tune::Block(0),
    Tune::Block(1),
    Tune::Block(2),
    Tune::Block(3),
    Tune::Head,
];

/// For each perturbed block whose row is complete: (block, best tuned choice, whether it is the
/// perturbed block itself).
fn winners(acc: &[Vec<Option<f64>>]) -> Vec<(usize, usize, bool)> {
    acc.iter()
        .enumerate()
        .filter_map(|(b, row)| {
            let vals: Option<Vec<f64>> = row.iter().copied().collect();
            let best = vals?
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.total_cmp(y.1))?
                .0;
            Some((b, best, best == b))
        })
        .collect()
}

#[component]
pub fn StageNoise() -> impl IntoView {
    let FineTuningState { settings, .. } = crate::ui::context();
    let grid = GridRun::new(BLOCKS, TUNED.len());
    let acc = grid.acc;
    let run = move || {
        let s = settings.get_untracked();
        let jobs = (0..BLOCKS)
            .flat_map(|block| {
                let shift = Shift::StageNoise {
                    block,
                    alpha: s.alpha,
                };
                TUNED.map(|t| TuneSettings {
                    shift,
                    ..s.tune_settings(t)
                })
            })
            .collect();
        grid.start(jobs);
    };
    let heat = crate::ui::derive(move || {
        let rows: Vec<String> = (1..=BLOCKS).map(|b| format!("noise in block{b}")).collect();
        let cols: Vec<String> = TUNED.iter().map(|t| t.name()).collect();
        Some(block_matrix_heatmap(
            &rows,
            &cols,
            &acc.get(),
            "Test accuracy after tuning",
            "perturbed block",
            "tuned block",
        ))
    });
    let verdict = move || {
        let w = winners(&acc.get());
        if w.len() < BLOCKS {
            return String::new();
        }
        let on = w.iter().filter(|x| x.2).count();
        let lines: Vec<String> = w
            .iter()
            .map(|&(b, best, _)| {
                format!(
                    "noise in block{} is best undone by {}",
                    b + 1,
                    TUNED[best].name()
                )
            })
            .collect();
        format!(
            "In our network the diagonal wins in {on} of {BLOCKS} rows: {}.",
            lines.join("; ")
        )
    };
    view! {
        <Section id="stage-noise">
            <h2 id="stage-noise">"Noise inside the network"</h2>
            <Prose html=prose!(r#"
                <p>A feature-level shift made to order: add noise to one block's weights (alpha
                times each tensor's standard deviation, the alpha set above), then try to repair the
                network by tuning one block on clean images. If the paper's reasoning holds, the
                block that was damaged is the one to tune: the diagonal of this matrix should win.
                Twenty runs of the protocol above. Natively, with alpha 1, 1000 images, the
                learning-rate grid and 10 epochs (the paper's protocol), our network's diagonal wins
                in all four rows (87.9-89.4% against 77-89.2% off the diagonal; for block4 the head
                comes within 0.2 points). With much less training the picture can differ: at 100
                images and one epoch the head won every row in our tests.</p>
            "#)/>
            <RunStop action="run-stage-noise" label="Run the matrix" running=grid.running on_run=run
                on_stop=move || grid.stop()/>
            <p class="status" role="status" aria-live="polite">{move || grid.status.get()}</p>
            <HeatmapPlot name="stage-noise" title="Accuracy by perturbed and tuned block" width=720 height=420 heatmap=heat/>
            <p data-out="stage-verdict">{verdict}</p>
        </Section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winners_read_complete_rows() {
        let acc = vec![
            vec![Some(0.9), Some(0.5), Some(0.4), Some(0.3), Some(0.2)],
            vec![Some(0.5), Some(0.4), Some(0.8), Some(0.3), Some(0.2)],
            vec![None; 5],
        ];
        assert_eq!(winners(&acc), vec![(0, 0, true), (1, 2, false)]);
    }
}

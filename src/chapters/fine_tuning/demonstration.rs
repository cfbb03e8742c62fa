//! Section "Three shifts side by side": the first block, the perturbed block and the head, each
//! tuned under the input-level corruption, the label flip and stage noise, with the protocol set
//! above; a grouped bar chart, one group per tuned block and one bar per shift.

use super::controls::RunStop;
use super::grid_run::GridRun;
use super::state::FineTuningState;
use crate::calc::Calc;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::shift::{Corruption, Shift, Tune, TuneSettings};
use leptos::prelude::*;

/// The three shifts of the demonstration, from the settings (a corruption of the settings, or
/// Gaussian noise at severity 5 when another shift is chosen).
fn shifts(s: &super::state::FtSettings) -> [Shift; 3] {
    let corruption = match s.shift() {
        c @ Shift::Corruption { .. } => c,
        _ => Shift::Corruption {
            corruption: Corruption::GaussianNoise,
            severity: 5,
        },
    };
    [
        corruption,
        Shift::Flip,
        Shift::StageNoise {
            block: s.noise_block,
            alpha: s.alpha,
        },
    ]
}

#[component]
pub fn Demonstration() -> impl IntoView {
    let FineTuningState { settings, .. } = crate::ui::context();
    let grid = GridRun::new(3, 3); // [tuned][shift]
    let acc = grid.acc;
    let tunes = Calc::new(move |_| {
        let b = settings.get().noise_block;
        let mid = if b == 0 {
            Tune::Block(1)
        } else {
            Tune::Block(b)
        };
        [Tune::Block(0), mid, Tune::Head]
    });
    let run = move || {
        let s = settings.get_untracked();
        // Row by row: each tuned block under the three shifts.
        let jobs = tunes
            .get_untracked()
            .into_iter()
            .flat_map(|t| {
                shifts(&s).map(|shift| TuneSettings {
                    shift,
                    ..s.tune_settings(t)
                })
            })
            .collect();
        grid.start(jobs);
    };
    let bars = Calc::new(move |_| {
        let a = acc.get();
        let names = ["corruption", "flip", "stage-noise"];
        BarGroups {
            title: "Test accuracy after tuning, by shift".into(),
            y_desc: "test accuracy".into(),
            categories: tunes.get().iter().map(|t| t.name()).collect(),
            series: names
                .iter()
                .enumerate()
                .map(|(j, n)| (n.to_string(), (0..3).map(|i| a[i][j]).collect()))
                .collect(),
            baseline: None,
        }
    });
    view! {
        <Section id="three-shifts">
            <h2 id="three-shifts">"Three shifts side by side"</h2>
            <Prose html=prose!(r#"
                <p>The paper's pattern in one chart: the first block for an input-level shift, a
                middle block for a feature-level one, the head for a label-level one. Each bar is a
                full run of the protocol above; the stage noise perturbs the block chosen above
                (with its alpha), and the middle group tunes that same block.</p>
            "#)/>
            <RunStop action="run-three" label="Run the three shifts" running=grid.running on_run=run
                on_stop=move || grid.stop()/>
            <p class="status" role="status" aria-live="polite">{move || grid.status.get()}</p>
            <BarPlot name="three-shifts" title="Accuracy by shift and tuned block" height=380 bars=bars/>
        </Section>
    }
}

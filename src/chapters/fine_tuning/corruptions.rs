//! Section "Eight corruptions, five severities": one test image under every corruption and
//! severity (computed here by the same code as the CLI), and the pretrained network's accuracy under
//! each, measured on WebGPU or the CPU.

use super::fields::TABLE_FIELDS;
use super::state::FineTuningState;
use crate::calc::Calc;
use crate::engine::Engine;
use crate::tasks::Generation;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::{HeatmapPlot, Plot};
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::{accuracy_of, classify_split};
use glassbox_lab::figures::shift::{
    corruption_examples, corruption_table_heatmap, draw_corruption_grid,
};
use glassbox_lab::shift::corruptions::corrupt_range;
use glassbox_lab::shift::table::{cells, CorruptionTable};
use glassbox_lab::vision::data::Split;
use leptos::prelude::*;

#[component]
pub fn Corruptions() -> impl IntoView {
    let FineTuningState { settings, lab, .. } = crate::ui::context();
    let engine = crate::ui::context::<Engine>();
    let example = Calc::new(move |_| {
        let l = lab.get()?;
        let s = settings.get();
        Some(corruption_examples(
            &l.data.test,
            s.example.min(l.data.test.len().saturating_sub(1)),
            s.seed,
        ))
    });
    let grid = crate::ui::derive(move || match example.get() {
        Some(Ok(g)) => g,
        _ => Default::default(),
    });
    let table = Var::new(None::<CorruptionTable>);
    let state = Var::new((false, 0usize, String::new()));
    let generation = Generation::new();
    let measure = move |_| {
        let Some(l) = lab.get_untracked() else { return };
        let s = settings.get_untracked();
        let n = s.cell_images.min(l.data.test.len());
        let alive = generation.start();
        table.set(None);
        state.set((true, 0, String::new()));
        crate::tasks::spawn_page_task(async move {
            let mut acc = Vec::new();
            let mut ran = "";
            for (i, (c, severity)) in cells().into_iter().enumerate() {
                let split = match corrupt_range(&l.data.test, c, severity, s.seed, 0..n) {
                    Ok(images) => Split {
                        images,
                        labels: l.data.test.labels[..n].to_vec(),
                    },
                    Err(e) => {
                        state.set((false, i, e));
                        return;
                    }
                };
                let net = l.pretrained.clone();
                let Some((preds, _, where_)) =
                    classify_split(&split, net, n, engine, &|_| {}, &alive).await
                else {
                    return;
                };
                ran = where_;
                acc.push(accuracy_of(&split, &preds));
                state.set((true, i + 1, String::new()));
            }
            table.set(CorruptionTable::from_accuracies(n, s.seed, &acc).ok());
            state.set((
                false,
                cells().len(),
                format!("Measured on {n} test images per cell, on the {ran}."),
            ));
        });
    };
    let heat = crate::ui::derive(move || table.get().map(|t| corruption_table_heatmap(&t)));
    view! {
        <Section id="corruptions">
            <h2 id="corruptions">"Eight corruptions, five severities"</h2>
            <Prose html=prose!(r#"
                <p>The input-level shifts follow MNIST-C and CIFAR-10-C: three kinds of noise, lower
                contrast, more brightness, two blurs and pixelation, each at severities 1 to 5,
                computed here from the test images (pixels in [0, 1], clipped after each
                corruption). The noise of test image i comes from its own seeded stream, so a link
                shows the same pixels on every machine.</p>
            "#)/>
            <div class="controls-grid">
                {TABLE_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
            {move || match example.get() {
                Some(Err(e)) => Some(view! { <p class="notice error" role="alert">{e}</p> }),
                _ => None,
            }}
            <Plot name="corruption-examples" title="One test image under every corruption" width=720 height=980
                summary=crate::ui::derive(move || grid.get().summary())
                csv=crate::ui::derive(move || grid.get().csv())
                draw=move |area, palette| draw_corruption_grid(area, &grid.get(), palette)/>
            <Prose html=prose!(r#"
                <p>How much does each one hurt the network trained on clean images?</p>
            "#)/>
            <div class="buttons">
                <button type="button" class="primary" data-action="measure-corruptions" on:click=measure
                    disabled=move || state.get().0 || lab.get().is_none()>"Measure the network under every corruption"</button>
            </div>
            <div class="progress-row">
                <progress max="1" aria-label="Corruption measurement progress"
                    value=move || state.get().1 as f64 / cells().len() as f64></progress>
                <span class="counter" data-out="corruption-progress">{move || format!("{} / {} cells", state.get().1, cells().len())}</span>
            </div>
            <p class="status" role="status" aria-live="polite">{move || state.get().2}</p>
            <HeatmapPlot name="corruption-accuracy" title="Accuracy under each corruption" width=720 height=520 heatmap=heat/>
        </Section>
    }
}

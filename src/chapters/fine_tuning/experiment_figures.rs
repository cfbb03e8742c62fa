//! The single run's figures: validation accuracy per epoch for each learning rate, Auto-RGN's
//! learning-rate multipliers per tensor, and under the label flip the map from the old head to the
//! tuned one beside the permutation that solves the flip exactly.

use super::runner::Snapshot;
use super::state::FineTuningState;
use crate::calc::Calc;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::{HeatmapPlot, Plot};
use crate::var::Var;
use glassbox_lab::figures::shift::{
    draw_bar_groups, draw_val_curves, head_matrix_heatmap, BarGroups, ValCurves,
};
use glassbox_lab::shift::shifts::{flip_permutation, head_map};
use glassbox_lab::shift::CurvePoint;
use glassbox_lab::vision::data::CLASSES;
use leptos::prelude::*;

/// One line per learning rate, in the order they ran; the best (lr, epoch) marked.
pub fn curves(points: &[CurvePoint], best: Option<(f64, usize)>) -> ValCurves {
    let mut lines: Vec<(String, Vec<f64>)> = Vec::new();
    let mut lrs: Vec<f64> = Vec::new();
    for p in points {
        match lrs.iter().position(|&l| l == p.lr) {
            Some(i) => lines[i].1.push(p.val_accuracy),
            None => {
                lrs.push(p.lr);
                lines.push((format!("lr {:e}", p.lr), vec![p.val_accuracy]));
            }
        }
    }
    let best =
        best.and_then(|(lr, e)| Some((lrs.iter().position(|&l| l == lr)?, e.checked_sub(1)?)));
    ValCurves { lines, best }
}

#[component]
pub fn ValidationCurves(snap: Var<Snapshot>) -> impl IntoView {
    let data = Calc::new(move |_| {
        let s = snap.get();
        let best = s.result.as_ref().and_then(|r| Some((r.lr?, r.epoch?)));
        curves(&s.curve, best)
    });
    view! {
        <Plot name="validation-curves" title="Validation accuracy per epoch" height=360
            summary=crate::ui::derive(move || data.get().summary())
            csv=crate::ui::derive(move || data.get().csv())
            draw=move |area, palette| draw_val_curves(area, &data.get(), palette)/>
    }
}

#[component]
pub fn Multipliers(snap: Var<Snapshot>) -> impl IntoView {
    let data = Calc::new(move |_| {
        let m = snap.get().multipliers;
        (!m.is_empty()).then(|| BarGroups {
            title: "Auto-RGN: learning-rate multiplier per tensor".into(),
            y_desc: "multiplier".into(),
            categories: m.iter().map(|(n, _)| n.clone()).collect(),
            series: vec![(
                "multiplier".into(),
                m.iter().map(|&(_, v)| Some(v)).collect(),
            )],
            baseline: None,
        })
    });
    move || {
        data.get().map(|_| {
            view! {
                <Prose html=prose!(r#"
                    <p>Auto-RGN sets each tensor's learning rate from its relative gradient norm
                    ||g|| / ||θ||, averaged over the first five batches of the epoch and divided by
                    the largest. The bars show the multipliers of the latest epoch.</p>
                "#)/>
                <Plot name="auto-rgn" title="Auto-RGN multipliers" height=360
                    summary=crate::ui::derive(move || data.get().map(|d| d.summary()).unwrap_or_default())
                    csv=crate::ui::derive(move || data.get().map(|d| d.csv()).unwrap_or_default())
                    draw=move |area, palette| match data.get() {
                        Some(d) => draw_bar_groups(area, &d, palette),
                        None => area.fill(&palette.background).map_err(|e| e.to_string()),
                    }/>
            }
        })
    }
}

/// Under the flip, after tuning the head (or everything): the least-squares map M with
/// [W' b'] ~ M [W b], beside the permutation P.
#[component]
pub fn HeadMap(snap: Var<Snapshot>) -> impl IntoView {
    let FineTuningState { lab, .. } = crate::ui::context();
    let map = Calc::new(move |_| {
        let s = snap.get();
        let r = s.result.as_ref()?;
        if r.shift != "flip" || !["head", "all", "auto-rgn"].contains(&r.tune.as_str()) {
            return None;
        }
        let l = lab.get()?;
        let m = head_map(&l.pretrained, s.tuned.as_ref()?).ok()?;
        // M's rows are the new head's classes; the figure's rows are the old classes: transpose.
        let k = CLASSES.len();
        Some(
            (0..k * k)
                .map(|i| m[(i % k) * k + i / k] as f32)
                .collect::<Vec<f32>>(),
        )
    });
    let learned = crate::ui::derive(move || {
        map.get()
            .map(|m| head_matrix_heatmap(&m, 10, "Learned map M", &CLASSES))
    });
    let perm = crate::ui::derive(move || {
        map.get().map(|_| {
            let p: Vec<f32> = flip_permutation(10).iter().map(|&x| x as f32).collect();
            head_matrix_heatmap(&p, 10, "The flip's permutation P", &CLASSES)
        })
    });
    move || {
        map.get().map(|_| {
            view! {
                <Prose html=prose!(r#"
                    <p>The flip only renames the classes, so the head alone can undo it: new weights
                    W' = P W and biases b' = P b. Left, the map M that best writes the tuned head's
                    rows from the pretrained head's (least squares), drawn with the old classes as
                    rows; right, the permutation P.</p>
                "#)/>
                <div class="figure-row">
                    <HeatmapPlot name="head-map" title="Learned head map" width=480 height=440 heatmap=learned/>
                    <HeatmapPlot name="flip-permutation" title="Flip permutation" width=480 height=440 heatmap=perm/>
                </div>
            }
        })
    }
}

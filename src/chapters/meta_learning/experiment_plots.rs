//! The figures of one live experiment: test error against n_train_post (in full and up to n = 128),
//! the feature weights, and (for regression) one test task with its fits.

use super::experiment::PlotNames;
use super::live::ExperimentView;
use crate::ui::plot::Plot;
use glassbox_lab::figures;
use glassbox_lab::maml::Problem;
use leptos::prelude::*;

/// The test-error figure and its zoom on small n.
#[component]
pub fn TestErrorPlots(v: ExperimentView, names: &'static PlotNames) -> impl IntoView {
    let classification = v
        .settings
        .with_untracked(|s| s.problem == Problem::Classification);
    view! {
        <Plot
            name=names.test_loss
            title=if classification { "Test classification error against n_train_post" } else { "Test error against n_train_post" }
            height=520
            summary=crate::ui::derive(move || v.test_loss.with(|t| t.summary()))
            csv=crate::ui::derive(move || v.test_loss.with(|t| t.csv()))
            draw=move |area, p| v.test_loss.with(|t| figures::draw_test_loss(area, t, p, None))
        />
        <Plot
            name=names.zoom
            title="Test error, n up to 128"
            height=520
            summary=crate::ui::derive(move || v.test_loss.with(|t| t.summary()))
            csv=crate::ui::derive(move || v.test_loss.with(|t| t.csv()))
            draw=move |area, p| v.test_loss.with(|t| figures::draw_test_loss(area, t, p, Some(128)))
        />
    }
}

/// The feature weights, and for regression one test task and its fits.
#[component]
pub fn WeightPlots(v: ExperimentView, names: &'static PlotNames) -> impl IntoView {
    let classification = v
        .settings
        .with_untracked(|s| s.problem == Problem::Classification);
    view! {
        <Plot
            name=names.weights
            title="Feature weights"
            height=440
            summary=crate::ui::derive(move || v.weights.with(|w| w.summary()))
            csv=crate::ui::derive(move || v.weights.with(|w| w.csv()))
            draw=move |area, p| v.weights.with(|w| figures::draw_feature_weights(area, w, p))
        />
        {(!classification).then(|| view! {
            <Plot
                name=names.fit
                title="One test task and its fits"
                height=440
                summary=crate::ui::derive(move || v.task_fit.with(|f| f.as_ref().map(|f| f.summary()).unwrap_or_default()))
                csv=crate::ui::derive(move || v.task_fit.with(|f| f.as_ref().map(|f| f.csv()).unwrap_or_default()))
                draw=move |area, p| v.task_fit.with(|f| match f {
                    Some(f) => figures::draw_task_fit(area, f, p),
                    None => Ok(()),
                })
            />
        })}
    }
}

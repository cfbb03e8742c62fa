//! The cards' live figures, each drawn by its chapter's own figure code: from nothing downloaded
//! (chapters 1, 2, 7), from a small committed table or log (3, 4), or from a committed network the
//! card downloads after the page is shown: chapter 5 trains a soft prompt on the small language model
//! (178 KB) for a few epochs here, chapter 6 draws a layer's weights with the magnitude threshold.

use crate::calc::Calc;
use crate::chapters::soft_prompting::run::{train_run, Event};
use crate::chapters::{
    attention, fine_tuning, meta_learning, prompting, pruning, quantization, soft_prompting,
};
use crate::engine::Engine;
use crate::ui::group;
use crate::ui::plot::{HeatmapPlot, Plot};
use crate::var::Var;
use crate::vision::data::LoadState;
use glassbox_lab::compress::prune;
use glassbox_lab::compress::quant;
use glassbox_lab::figures::lm::{self as lm_figures, LossPoint};
use glassbox_lab::figures::tuning::{draw_tuning_curves, TuningCurves};
use glassbox_lab::figures::WeightHistogram;
use glassbox_lab::figures::{self, attention::CostCurve, quant::LinearMapping};
use glassbox_lab::lm::plurals::{self, Split};
use glassbox_lab::lm::tuning::{Method, TuneSettings};
use glassbox_lab::maml::alias_toy;
use leptos::prelude::*;

/// The card's figure, drawn by the chapter's figure code from what needs no download.
#[component]
pub fn CardFigure(slug: &'static str) -> impl IntoView {
    match slug {
        meta_learning::SLUG => {
            let path = alias_toy::descend(1.0, 1.0, 0.1, 20_000).unwrap_or_default();
            // The table (20,000 rows) is written only when it is downloaded.
            let (s, rows) = (figures::toy_summary(&path), path.clone());
            let c = crate::ui::derive(move || figures::toy_csv(&rows));
            view! {
                <Plot name="card-meta-learning" title="A feature and its alias under gradient descent"
                    width=480 height=280 compact=true summary=s csv=c
                    draw=move |a, p| figures::draw_alias_toy(a, &path, p)/>
            }
            .into_any()
        }
        attention::SLUG => {
            let curve = CostCurve::new(224, 16, 7, 64);
            let (s, c) = (curve.summary(), curve.csv());
            view! {
                <Plot name="card-attention" title="Global against windowed attention cost"
                    width=480 height=280 compact=true summary=s csv=c
                    draw=move |a, p| figures::attention::draw_attention_cost(a, &curve, p)/>
            }
            .into_any()
        }
        fine_tuning::SLUG => {
            let (heat, status) = (Var::new(None), Var::new(String::new()));
            crate::tasks::spawn_page_task(async move {
                match fine_tuning::full_table::load_table().await {
                    Ok(rows) => heat.set(Some(fine_tuning::full_table::table_heatmap(&rows))),
                    Err(e) => status.set(format!("The table could not be read: {e}")),
                }
            });
            view! {
                <HeatmapPlot name="card-fine-tuning" title="Accuracy after tuning each block, per corruption"
                    width=480 height=330 compact=true heatmap=heat/>
                <CardStatus slug="fine-tuning" status=status/>
            }
            .into_any()
        }
        prompting::SLUG => {
            // The training log of the model chapters 4 and 5 use (written by `glassbox lm train`).
            let points = Var::new(None::<Vec<LossPoint>>);
            let status = Var::new(String::new());
            crate::tasks::spawn_page_task(async move {
                let log = crate::web::fetch_asset(glassbox_lab::assets::LM_LOSS, &|_, _| {})
                    .await
                    .and_then(|b| String::from_utf8(b).map_err(|_| "loss.csv is not text".into()))
                    .and_then(|t| lm_figures::parse_loss_csv(&t));
                match log {
                    Ok(ps) => points.set(Some(ps)),
                    Err(e) => status.set(format!("The training log could not be read: {e}")),
                }
            });
            let pts = move || points.get().unwrap_or_default();
            view! {
                <Plot name="card-prompting" title="How our language model learned: loss per character"
                    width=480 height=280 compact=true
                    summary=crate::ui::derive(move || lm_figures::loss_summary(&pts()))
                    csv=crate::ui::derive(move || lm_figures::loss_csv(&pts()))
                    draw=move |a, p| match points.get() {
                        Some(ps) => lm_figures::draw_loss_curve(a, &ps, p),
                        None => a.fill(&p.background).map_err(|e| e.to_string()),
                    }/>
                <CardStatus slug="prompting" status=status/>
            }
            .into_any()
        }
        quantization::SLUG => match quant::linear_params(-0.25, 0.75, 2) {
            Ok(params) => {
                let m = LinearMapping {
                    rmin: -0.25,
                    rmax: 0.75,
                    bits: 2,
                    params,
                };
                let (s, c) = (m.summary(), m.csv());
                view! {
                    <Plot name="card-quantization" title="The linear quantization map on 2 bits"
                        width=480 height=280 compact=true summary=s csv=c
                        draw=move |a, p| figures::quant::draw_linear_mapping(a, &m, p)/>
                }
                .into_any()
            }
            Err(_) => ().into_any(),
        },
        soft_prompting::SLUG => view! { <SoftPromptCard/> }.into_any(),
        pruning::SLUG => view! { <PruningCard/> }.into_any(),
        _ => ().into_any(),
    }
}

/// Epochs the card trains (the chapter's default is 10, on the larger model).
const CARD_EPOCHS: usize = 3;

/// Chapter 5's card: a soft prompt of K = 14 vectors, started from "The plural of ", trained on the
/// small model for `CARD_EPOCHS` epochs on the CPU, with its loss and validation accuracy per epoch.
#[component]
fn SoftPromptCard() -> impl IntoView {
    let curve = Var::new(Vec::<(f64, f64)>::new());
    let status = Var::new(String::from("Downloading the small language model…"));
    let load = Var::new(LoadState::Idle);
    // On the CPU (a software WebGPU adapter would take minutes over the gradients), never paused.
    let (engine, pause) = (Engine::new(true), Var::new(false));
    crate::tasks::spawn_page_task(async move {
        let Some(lm) = crate::lm::ensure_small_lm(load).await else {
            status.set(load.get_untracked().message().unwrap_or_default());
            return;
        };
        let nouns = crate::lm::plural_nouns();
        let (train, val) = (
            plurals::of(nouns, Split::Train),
            plurals::of(nouns, Split::Val),
        );
        let settings = TuneSettings {
            epochs: CARD_EPOCHS,
            ..TuneSettings::new(Method::Soft)
        };
        let mut on = move |e: Event| match e {
            Event::Progress(_, text) => status.set(text),
            Event::Epoch(loss, acc) => curve.update(|c| c.push((loss, acc))),
        };
        match train_run(
            &lm,
            engine,
            settings,
            &train,
            &val,
            pause,
            &|| true,
            &mut on,
        )
        .await
        {
            Ok(Some(r)) => status.set(format!(
                "Trained here on the CPU in {:.1} s: {} of the small model's {} numbers.",
                (r.train_ms + r.eval_ms) / 1000.0,
                group(r.params.len() as u64),
                group(lm.model.param_count() as u64)
            )),
            Ok(None) => {}
            Err(e) => status.set(format!("The soft prompt could not be trained: {e}")),
        }
    });
    let figure = Calc::new(move |_| TuningCurves {
        runs: vec![("soft prompt, small model".into(), curve.get())],
        baseline: None,
    });
    view! {
        <Plot name="card-soft-prompting" title="A soft prompt trained here on the small model"
            width=480 height=400 compact=true
            summary=crate::ui::derive(move || figure.with(|f| f.summary()))
            csv=crate::ui::derive(move || figure.with(|f| f.csv()))
            draw=move |a, p| figure.with(|f| draw_tuning_curves(a, f, p))/>
        <CardStatus slug="soft-prompting" status=status/>
    }
}

/// The layer and sparsity chapter 6's card shows.
const CARD_LAYER: usize = 1;
const CARD_SPARSITY: f64 = 0.75;

/// Chapter 6's card: the trained network's conv2 weights, with the threshold that removes the 75%
/// smallest in magnitude.
#[component]
fn PruningCard() -> impl IntoView {
    let histogram = Var::new(None::<WeightHistogram>);
    let load = Var::new(LoadState::Idle);
    crate::tasks::spawn_page_task(async move {
        if let Some(net) = crate::vision::data::ensure_network(load).await {
            let w = prune::weights(&net, CARD_LAYER);
            match prune::magnitude_mask(w, CARD_SPARSITY) {
                Ok((_, t)) => histogram.set(Some(WeightHistogram::new(
                    pruning::state::NAMES[CARD_LAYER],
                    w,
                    t,
                    CARD_SPARSITY,
                    60,
                ))),
                Err(e) => load.set(LoadState::Failed(e)),
            }
        }
    });
    view! {
        <Plot name="card-pruning" title="Which weights magnitude pruning removes"
            width=480 height=280 compact=true
            summary=crate::ui::derive(move || histogram.with(|h| h.as_ref().map(|h| h.summary()).unwrap_or_default()))
            csv=crate::ui::derive(move || histogram.with(|h| h.as_ref().map(|h| h.csv()).unwrap_or_default()))
            draw=move |a, p| histogram.with(|h| match h {
                Some(h) => figures::draw_weight_histogram(a, h, p),
                None => a.fill(&p.background).map_err(|e| e.to_string()),
            })/>
        <CardStatus slug="pruning" status=crate::ui::derive(move || load.get().message().unwrap_or_default())/>
    }
}

/// A card's line on what its figure is waiting for, or why it cannot be drawn.
#[component]
fn CardStatus(slug: &'static str, #[prop(into)] status: Signal<String>) -> impl IntoView {
    view! {
        <p class="card-status muted" role="status" data-out=format!("card-{slug}-status")>{move || status.get()}</p>
    }
}

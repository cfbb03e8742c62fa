//! Chapter 2, "Attention in a captioning transformer": encoder or decoder (a checked exercise and a
//! toy captioner that runs on the reader's picture and caption, showing which outputs each input can
//! move), the combined self-/cross-attention mask as a checked exercise whose mask then drives the
//! toy decoder (scores, masked scores and softmax weights as heatmaps, and a causality check), and
//! the cost of global against windowed attention: calculator, FLOP plot, the patches one query sees,
//! and the measured time of both on the engine's attention kernel (WebGPU or CPU).

mod cost;
mod encoder_or_decoder;
mod mask_at_work;
mod mask_grid;
mod measure;
mod model;
mod picture_pad;
mod query_window;
pub(crate) mod state;
pub(crate) mod timing;
mod toy_captioner;

use crate::engine::Engine;
use crate::ui::math::{prose, Prose};
use crate::ui::notices::UrlNotices;
use crate::url_state::Location;
use crate::web;
use cost::AttentionCost;
use encoder_or_decoder::EncoderOrDecoder;
use leptos::prelude::*;
use mask_at_work::MaskAtWork;
use mask_grid::MaskGrid;
use measure::MeasureIt;
use query_window::QueryWindow;
use state::{location_of, AttentionState};
use toy_captioner::ToyCaptioner;

pub const SLUG: &str = "attention";

#[component]
pub fn AttentionMasks(location: Location) -> impl IntoView {
    let (state, notices) = AttentionState::new(&location);
    provide_context(state);
    let AttentionState { settings, grid, .. } = state;
    crate::ui::effect(move || web::publish(&location_of(&settings.get(), &grid.get())));
    model::follow_inputs(state, crate::ui::context::<Engine>());

    view! {
        <article class="chapter" aria-labelledby="chapter-title">
            <h1 id="chapter-title">"Attention in a captioning transformer"</h1>
            <UrlNotices notices/>
            <Prose html=prose!(r#"
                <p class="lede">An image-captioning model pairs a vision transformer, which reads
                the image as a sequence of patch tokens, with a language transformer, which writes
                the caption one token at a time and reads the image through cross-attention.</p>
            "#)/>
            <EncoderOrDecoder/>
            <ToyCaptioner/>
            <MaskGrid/>
            <MaskAtWork/>
            <AttentionCost/>
            <QueryWindow/>
            <MeasureIt/>
        </article>
    }
}

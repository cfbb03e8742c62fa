//! Chapter 6, "Pruning the trained network": weight histograms with the pruning threshold,
//! fine-grained magnitude pruning with per-layer sparsities (sizes and test accuracy recomputed as the
//! controls move), the sensitivity scan, the lab's goal as a fine-tuning exercise, channel pruning
//! (sorted or not; accuracy, fine-tuning, measured latency) and the comparison. Every number is
//! computed here from the committed network and the real test images.

mod channel;
mod channel_latency;
mod channel_tuning;
mod compare;
mod fine_grained;
mod goal;
mod latency;
mod mask;
mod pruned;
mod scan;
pub(crate) mod state;
mod weights;

use crate::ui::math::{prose, Prose};
use crate::ui::notices::UrlNotices;
use crate::url_state::Location;
use crate::vision::data::LoadStatus;
use channel::ChannelPruning;
use compare::Compare;
use fine_grained::FineGrained;
use goal::GoalExercise;
use leptos::prelude::*;
use scan::SensitivityScan;
use state::PruningState;
use weights::Weights;

pub const SLUG: &str = "pruning";

#[component]
pub fn Pruning(location: Location) -> impl IntoView {
    let (state, notices) = PruningState::new(&location);
    provide_context(state);
    let load = state.load;

    view! {
        <article class="chapter">
            <h1>"Pruning the trained network"</h1>
            <UrlNotices notices/>
            <Prose html=prose!(r#"
                <p>A trained network holds many weights it hardly uses. Pruning removes them: set a
                weight to zero and it no longer needs storing (with sparse storage) or multiplying
                (with hardware that skips zeros). Everything below runs on the network of the image
                lab, trained on Fashion-MNIST, and its real test images, in this browser.</p>
            "#)/>
            <LoadStatus load/>

            <Weights/>
            <FineGrained/>
            <SensitivityScan/>
            <GoalExercise/>
            <ChannelPruning/>
            <Compare/>
        </article>
    }
}

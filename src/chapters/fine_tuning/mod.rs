//! Chapter 3, "Fine-tuning under distribution shift": surgical fine-tuning (Lee et al., ICLR 2023)
//! on the image lab's network. The corruptions and the network's accuracy under them, the blocks
//! one may tune, one experiment live (the paper's protocol: Adam, batch-norm frozen, best
//! validation over a learning-rate grid), the sweep of every choice, the full protocol's table
//! (shipped), the homework's question, the three kinds of shift side by side, and the stage-noise
//! matrix (perturbed block x tuned block). Every number is computed here by the lab's `shift`
//! topic, from the committed network and the real test images; the runs' arithmetic on WebGPU when
//! the browser offers it (`glassbox_gpu::GpuTuning`), otherwise on the CPU.

mod blocks;
mod controls;
mod corruptions;
mod demonstration;
mod exercise;
mod experiment;
mod experiment_figures;
pub(crate) mod fields;
pub mod full_table;
mod grid_run;
mod on_workers;
pub(crate) mod runner;
mod stage_noise;
mod state;
mod sweep;

use crate::ui::math::{prose, Prose};
use crate::ui::notices::UrlNotices;
use crate::ui::Section;
use crate::url_state::Location;
use crate::vision::data::LoadStatus;
use blocks::Blocks;
use corruptions::Corruptions;
use demonstration::Demonstration;
use exercise::WhichBlock;
use experiment::Experiment;
use full_table::FullTable;
use leptos::prelude::*;
use stage_noise::StageNoise;
use state::FineTuningState;
use sweep::Sweep;

pub const SLUG: &str = "fine-tuning";

#[component]
pub fn FineTuning(location: Location) -> impl IntoView {
    let (state, notices) = FineTuningState::new(&location);
    provide_context(state);
    let load = state.load;

    view! {
        <article class="chapter">
            <h1>"Fine-tuning under distribution shift"</h1>
            <UrlNotices notices/>
            <Prose html=prose!(r#"
                <p>A network trained on one distribution meets another: noisier photographs,
                relabelled classes, a changed sensor. With a thousand labelled examples of the new
                distribution, the usual answer is to fine-tune the whole network. Lee et al.
                ("Surgical fine-tuning improves adaptation to distribution shifts", ICLR 2023) found
                that tuning a single block often does better, and that which block depends on the
                kind of shift: early blocks for input-level shifts (corrupted pixels), middle blocks
                for feature-level shifts, the last layer for label-level shifts. This chapter tests
                that on our own network, the image lab's Fashion-MNIST classifier (eight
                convolutions with batch-norm in four blocks, and a linear head), in this
                browser.</p>
                <p>The shifted data come from the test split, which the network never trained on:
                per class, 100 training images, 10 validation images and 100 test images (the paper
                used CIFAR-10-C with 1000 training images at severity 5). An independent replication
                on CIFAR-10-C found the first block far ahead of the last layer but only tying full
                fine-tuning (77.0% against 78.2%); what our network shows is measured below, not
                assumed.</p>
            "#)/>
            <LoadStatus load/>
            <Corruptions/>
            <Section id="blocks">
                <h2 id="blocks">"What can be tuned"</h2>
                <Prose html=prose!(r#"
                    <p>Block k is convolutions 2k-1 and 2k with their batch-norm scale and shift.
                    Tuning one choice leaves every other parameter bit-identical (the run below
                    counts the parameters that changed). Batch-norm's running statistics stay frozen
                    throughout, except in bn-stats, which trains nothing and only re-estimates them
                    on the shifted images: the zero-parameter baseline.</p>
                "#)/>
                <Blocks/>
            </Section>
            <Experiment/>
            <Sweep/>
            <FullTable/>
            <WhichBlock/>
            <Demonstration/>
            <StageNoise/>
        </article>
    }
}

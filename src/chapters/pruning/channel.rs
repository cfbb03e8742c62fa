//! Section "Channel pruning": remove whole channels (sorted by importance or not), the thinner
//! network's sizes and accuracy, its fine-tuning, and its measured latency.

use super::channel_latency::ChannelLatency;
use super::channel_tuning::ChannelTuning;
use super::state::{PruningState, CH_FIELD};
use crate::classroom::control_locked;
use crate::engine::Engine;
use crate::tasks::Generation;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::{accuracy_of, classify};
use crate::vision::finetune;
use crate::web;
use glassbox_lab::vision::vgg::{self, Arch};
use leptos::prelude::*;

#[component]
pub fn ChannelPruning() -> impl IntoView {
    let sort_locked = control_locked("ch_sort", "Sort channels by importance first");
    let PruningState {
        settings,
        lab,
        eval_images,
        tune_key,
        channel,
        ch_before,
        ..
    } = crate::ui::context();
    let engine = crate::ui::context::<Engine>();

    // Channel pruning: its accuracy, fine-tuning (below), and measured latency (below that).
    let ch_after = Var::new(None::<(f64, usize, usize)>);
    let ch_generation = Generation::new();
    let ch_model = StoredValue::new_local(finetune::Model::default());
    let ch_tuning = Var::new(finetune::Tuning::default());
    crate::ui::effect(move || {
        tune_key.track();
        let (Some(l), Some(Ok(net))) = (lab.get(), channel.get()) else {
            return;
        };
        finetune::reset(
            ch_model,
            ch_tuning,
            Some((*net).clone()),
            finetune::Keep::Nothing,
        );
        ch_before.set(None);
        ch_after.set(None);
        let count = eval_images.get().min(l.data.test.len());
        let alive = ch_generation.start();
        crate::tasks::spawn_page_task(async move {
            web::sleep(250).await;
            if !alive() {
                return;
            }
            if let Some((preds, _, ran)) =
                classify(&l.data, (*net).clone(), count, engine, &|_| {}, &alive).await
            {
                ch_before.set(Some((accuracy_of(&l.data.test, &preds), count, ran)));
            }
        });
    });

    view! {
        <Section id="channel">
            <h2 id="channel">"Channel pruning"</h2>
            <Prose html=prose!(r#"
                <p>Fine-grained pruning leaves the tensors their shapes, full of scattered zeros;
                only hardware that skips zeros runs it faster. Channel pruning removes whole output
                channels instead: with ratio r every convolution but the last keeps round(C (1 − r))
                of its C channels, and the next convolution loses the matching input channels, so
                the network stays dense, only thinner, and any hardware runs it faster. An inner
                layer loses both input and output channels, so its compute falls by (1 − r)²: 0.49
                at r = 0.3.</p>
                <p>Which channels to keep? Keeping the first ones is arbitrary. Sorting first ranks
                each channel by importance, the size (L2 norm) of the next layer's weights that read
                it, and keeps the largest. Reordering channels (with their batch-norm parameters and
                the next layer's input slices) does not change what the network computes; it only
                decides which channels survive the cut.</p>
            "#)/>
            <div class="controls-grid">
                <FieldInput field=&CH_FIELD settings=settings/>
                <label class="field checkbox">
                    <input type="checkbox" data-key="ch_sort" disabled=sort_locked prop:checked=move || settings.get().ch_sort
                        on:change=move |ev| settings.update(|s| s.ch_sort = event_target_checked(&ev))/>
                    " Sort channels by importance first"
                </label>
            </div>
            {move || match channel.get() {
                None => ().into_any(),
                Some(Err(e)) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                Some(Ok(net)) => {
                    let (d, p) = (vgg::stats(&Arch::lab()), vgg::stats(&net.arch));
                    view! {
                        <div class="table-scroll">
                        <table class="numbers" aria-label="Dense and channel-pruned network">
                            <thead><tr><td></td><th scope="col">"dense"</th><th scope="col">"pruned"</th><th scope="col">"ratio"</th></tr></thead>
                            <tbody>
                                <tr><th scope="row">"channels per conv"</th>
                                    <td>{d.layers[..8].iter().map(|l| l.out.to_string()).collect::<Vec<_>>().join(", ")}</td>
                                    <td data-col="widths">{p.layers[..8].iter().map(|l| l.out.to_string()).collect::<Vec<_>>().join(", ")}</td><td></td></tr>
                                <tr><th scope="row">"parameters"</th><td>{d.params}</td><td data-col="params">{p.params}</td>
                                    <td>{format!("{:.3}", p.params as f64 / d.params as f64)}</td></tr>
                                <tr><th scope="row">"multiply-adds per image"</th><td>{d.macs}</td><td data-col="macs">{p.macs}</td>
                                    <td data-col="macs-ratio">{format!("{:.3}", p.macs as f64 / d.macs as f64)}</td></tr>
                            </tbody>
                        </table>
                        </div>
                    }.into_any()
                }
            }}
            <p data-out="channel-before">{move || match ch_before.get() {
                None => "Accuracy after pruning: computing…".to_string(),
                Some((a, n, ran)) => format!("Accuracy after pruning, before fine-tuning, on the first {n} test images: {:.2}% ({ran}).", 100.0 * a),
            }}</p>
            <ChannelTuning ch_model=ch_model ch_tuning=ch_tuning ch_after=ch_after/>
            <ChannelLatency/>
        </Section>
    }
}

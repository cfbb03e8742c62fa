//! (a) The toy captioner on the reader's picture and caption: the inputs, what moved at the last
//! edit, and the encoder's attention weights.

use super::picture_pad::PicturePad;
use super::state::{check_caption, AttentionState, Picture, MODEL_FIELDS};
use crate::calc::Calc;
use crate::classroom::control_locked;
use crate::ui::controls::{FieldInput, TextInput};
use crate::ui::math::{prose, Prose};
use crate::ui::plot::HeatmapPlot;
use crate::ui::Section;
use glassbox_gpu::Ran;
use glassbox_lab::attention::captioner::{self, PICTURES};
use glassbox_lab::attention::tokenize;
use glassbox_lab::figures::attention::attention_heatmaps;
use leptos::prelude::*;

fn fmt_change(d: f32) -> String {
    if d == 0.0 {
        "0".into()
    } else {
        format!("{d:.3}")
    }
}

#[component]
pub fn ToyCaptioner() -> impl IntoView {
    let AttentionState {
        settings,
        caption,
        view_state,
        moved,
        model_error,
        ..
    } = crate::ui::context();
    let picture_locked = control_locked("picture", "Picture");
    let encoder_map = Calc::new(move |_| {
        let v = view_state.get()?;
        let names: Vec<String> = (1..=captioner::TOKENS)
            .map(|p| format!("patch {p}"))
            .collect();
        let [_, _, mut w] = attention_heatmaps(&v.encoder, &names, &names, None);
        w.title = "Encoder: softmax weights (nothing masked)".into();
        w.show_values = false;
        // Nearly uniform weights: colour them on their own range.
        let hi = v.encoder.weights.iter().fold(0.0f32, |m, &x| m.max(x)) as f64;
        w.scale = Some(glassbox_lab::figures::heatmap::Scale::Sequential { lo: 0.0, hi });
        Some(w)
    });
    view! {
        <Section id="toy-captioner">
        <h3 id="toy-captioner">"See it: a toy captioner"</h3>
        <Prose html=prose!(r#"
            <p>Below, a captioner small enough to read runs on your picture and caption: a one-layer
            vision encoder over the 16 patches of a 16 × 16 picture, and a one-layer caption decoder
            whose single attention does self-attention over the caption and cross-attention to \(N\)
            image tokens (the encoder's 16 outputs averaged in \(N\) runs of consecutive patches).
            Its weights are random (seeded): it is not trained, and it does not need to be, because
            which output can depend on which input is decided by the masks, not by the weights. Draw
            on the picture or edit the caption, and read what moved.</p>
        "#)/>
        <div class="model-inputs">
            <div>
                <div class="field">
                    <label for="in-picture">"Picture"</label>
                    <select id="in-picture" data-key="picture" disabled=picture_locked on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(n) = PICTURES.iter().find(|n| **n == v) {
                            settings.update(|s| s.picture = Picture::Bundled(n));
                        }
                    } prop:value=move || match settings.with(|s| s.picture.clone()) { Picture::Bundled(n) => n.to_string(), Picture::Drawn(_) => "drawn".into() }>
                        {PICTURES.iter().map(|n| view! { <option value=*n>{*n}</option> }).collect_view()}
                        <option value="drawn" disabled=true>"drawn by you"</option>
                    </select>
                </div>
                <PicturePad settings=settings/>
            </div>
            <div class="controls-grid">
                <TextInput
                    label="Caption tokens"
                    key="caption"
                    value=crate::ui::derive(move || settings.with(|s| s.caption.clone()))
                    check=check_caption
                    on_commit=move |t: String| settings.update(|s| { s.caption = t; s.query = s.query.min(tokenize(&s.caption).len() - 1); })
                    help="separated by spaces; <PAD> is padding"
                />
                {MODEL_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
        </div>
        {move || model_error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        <div class="table-scroll">
            <table class="numbers moved" aria-label="How much each output moved at your last edit">
                <caption>{move || match moved.get() {
                    Some(m) => format!("Largest change of each output when you changed {} (0: exactly unchanged)", m.what),
                    None => "Change the picture or the caption: this table shows how much each output moved.".to_string(),
                }}</caption>
                <tbody>
                    <tr data-row="encoder"><th scope="row">"encoder, per patch"</th>
                        {move || moved.get().map(|m| m.encoder.iter().map(|d| view! { <td>{fmt_change(*d)}</td> }).collect_view())}
                    </tr>
                    <tr data-row="decoder"><th scope="row">"decoder, per caption token"</th>
                        {move || moved.get().map(|m| {
                            let cap = caption.get();
                            m.decoder.iter().enumerate().map(|(i, d)| view! { <td title=cap.get(i).cloned().unwrap_or_default()>{format!("{}: {}", cap.get(i).cloned().unwrap_or_default(), fmt_change(*d))}</td> }).collect_view()
                        })}
                    </tr>
                </tbody>
            </table>
        </div>
        <p class="status" data-out="ran">{move || view_state.get().map(|v| format!("Computed with the attention kernel on {}.", if v.ran == Ran::Gpu { "WebGPU" } else { "the CPU" }))}</p>
        <HeatmapPlot name="encoder-attention" title="Encoder attention weights" width=560 height=520 heatmap=encoder_map/>
        <Prose html=prose!(r#"
            <p>Every encoder output moves when any patch changes: global self-attention gives every
            patch a nonzero weight on every other. In the decoder, changing a caption token moves
            its own output and those after it, never one before it; changing the picture moves every
            caption token's output, because each one attends to every image token. The output at
            <code>&lt;PAD&gt;</code> depends only on its own embedding: padding makes no query.</p>
        "#)/>
        </Section>
    }
}

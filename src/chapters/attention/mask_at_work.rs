//! (b) The mask at work: the toy decoder's raw, masked and softmax scores as heatmaps, with the
//! correct mask or the reader's grid, and a check that no later token reaches an earlier output.

use super::state::AttentionState;
use crate::calc::Calc;
use crate::classroom::control_locked;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::HeatmapPlot;
use crate::ui::Section;
use glassbox_lab::figures::attention::attention_heatmaps;
use leptos::prelude::*;

#[component]
pub fn MaskAtWork() -> impl IntoView {
    let AttentionState {
        settings,
        caption,
        answer,
        my_mask,
        view_state,
        ..
    } = crate::ui::context();
    let mask_locked = control_locked("mask", "Mask used by the decoder");
    let query_locked = control_locked("query", "Query to follow");
    let query = Calc::new(move |_| settings.with(|s| s.query));
    let heatmaps = Calc::new(move |_| {
        let v = view_state.get()?;
        let a = answer.get();
        (v.decoder.t_q == a.queries.len() && v.decoder.t_k == a.keys.len())
            .then(|| attention_heatmaps(&v.decoder, &a.queries, &a.keys, Some(query.get())))
    });
    let heat = move |i: usize| crate::ui::derive(move || heatmaps.get().map(|h| h[i].clone()));
    view! {
        <Section id="mask-at-work">
        <h3 id="mask-at-work">"The mask at work"</h3>
        <Prose html=prose!(r#"
            <p>The toy decoder computes the scores \(q_i \cdot k_j / \sqrt{d}\) of every query
            against every key, removes the masked ones (they become \(-\infty\)), and takes a
            softmax over what is left, so a masked key gets exactly zero weight. Run it with the
            correct mask or with yours, and pick the query to follow.</p>
        "#)/>
        <div class="controls-grid">
            <div class="field">
                <label for="in-mask">"Mask used by the decoder"</label>
                <select id="in-mask" data-key="mask" disabled=mask_locked prop:value=move || if my_mask.get() { "mine" } else { "answer" }
                    on:change=move |ev| { let mine = event_target_value(&ev) == "mine"; settings.update(|s| s.my_mask = mine); }>
                    <option value="answer">"the correct mask"</option>
                    <option value="mine">"my grid"</option>
                </select>
            </div>
            <div class="field">
                <label for="in-query">"Query to follow"</label>
                <select id="in-query" data-key="query" disabled=query_locked prop:value=move || query.get().to_string()
                    on:change=move |ev| { if let Ok(i) = event_target_value(&ev).parse::<usize>() { settings.update(|s| s.query = i); } }>
                    {move || caption.get().into_iter().enumerate().map(|(i, w)| view! { <option value=i.to_string() selected=move || query.get() == i>{format!("{i}: {w}")}</option> }).collect_view()}
                </select>
            </div>
        </div>
        <div class="figure-row">
            <HeatmapPlot name="decoder-scores" title="Raw attention scores" width=560 height=440 heatmap=heat(0)/>
            <HeatmapPlot name="decoder-masked-scores" title="Masked attention scores" width=560 height=440 heatmap=heat(1)/>
            <HeatmapPlot name="decoder-weights" title="Softmax attention weights" width=560 height=440 heatmap=heat(2)/>
        </div>
        <div role="status" aria-live="polite" data-out="causal">
            {move || view_state.get().map(|v| {
                let cap = caption.get();
                let leaks: Vec<String> = v.reach.iter().enumerate().flat_map(|(j, outs)| {
                    let cap = cap.clone();
                    outs.iter().map(move |&i| format!(
                        "changing {} (position {j}) moved the output of {} (position {i}): the mask lets {} see a later token",
                        cap.get(j).cloned().unwrap_or_default(), cap.get(i).cloned().unwrap_or_default(), cap.get(i).cloned().unwrap_or_default()
                    )).collect::<Vec<_>>()
                }).collect();
                if leaks.is_empty() {
                    view! { <p class="notice ok" data-result="causal">{format!("Causal: changing any one of the {} caption tokens moved only its own output and later ones (checked by changing each token in turn).", cap.len())}</p> }.into_any()
                } else {
                    view! {
                        <div class="notice warning" data-result="leaks">
                            <p>{format!("Not causal: {} way{} for a later token to reach an earlier output.", leaks.len(), if leaks.len() == 1 { "" } else { "s" })}</p>
                            <ul>{leaks.into_iter().take(8).map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                        </div>
                    }.into_any()
                }
            })}
        </div>
        </Section>
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::Settings;
    use super::*;
    use glassbox_lab::attention::captioner::{self, Captioner};
    use glassbox_lab::attention::{caption_mask, tokenize};
    use glassbox_lab::figures::heatmap::Heatmap;

    /// The decoder's heatmaps for settings, on the CPU reference.
    pub fn decoder_heatmaps(s: &Settings) -> Result<[Heatmap; 3], String> {
        let cap = tokenize(&s.caption);
        let (_, dec) = captioner::run(
            &Captioner::new(s.seed),
            &captioner::to_pixels(&s.picture.levels()),
            &cap,
            s.image_tokens,
            None,
        )?;
        let keys = caption_mask(&cap, s.image_tokens).keys;
        Ok(attention_heatmaps(&dec, &cap, &keys, Some(s.query)))
    }

    #[test]
    fn the_page_heatmaps_follow_the_query_and_the_mask() {
        let [raw, masked, weights] = decoder_heatmaps(&Settings::default()).unwrap();
        assert_eq!(raw.highlight_col, Some(1));
        // Query "a" (column 1) may see <SOS> and itself and the image tokens, nothing else.
        let open: Vec<usize> = (0..8).filter(|&k| masked.get(k, 1).is_some()).collect();
        assert_eq!(open, vec![0, 1, 5, 6, 7]);
        assert!((0..8).all(|k| weights.get(k, 4).is_none()));
    }
}

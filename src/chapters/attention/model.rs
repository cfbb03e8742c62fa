//! The toy captioner as the page runs it: one encoder layer over the picture's patches and one
//! decoder layer over the caption and the image tokens, attention on the engine (WebGPU or the CPU
//! reference), recomputed whenever the reader changes an input, with how much each output moved.

use super::state::AttentionState;
use crate::calc::Calc;
use crate::engine::Engine;
use crate::tasks::Generation;
use crate::workers::device_ops;
use glassbox_gpu::Ran;
use glassbox_lab::attention::captioner::{
    self, image_tokens, row_changes, AttentionInputs, Captioner, Layer, LayerTrace,
};
use leptos::prelude::*;

/// One layer: attention on the engine (WebGPU, the device worker's where the page has one, or the
/// CPU reference), the rest on the CPU.
async fn run_layer(
    engine: Engine,
    inputs: &AttentionInputs,
    layer: &Layer,
) -> Result<(LayerTrace, Ran), String> {
    let i = inputs;
    let ((w, a), ran) =
        device_ops::attention(engine, (&i.q, &i.k, &i.v), &i.masked, i.shape).await?;
    Ok((i.finish(layer, w, &a), ran))
}

/// What the toy captioner computed for the current inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelView {
    pub encoder: LayerTrace,
    pub decoder: LayerTrace,
    /// reach[j]: the earlier outputs (i < j) that moved when caption token j alone was changed.
    pub reach: Vec<Vec<usize>>,
    pub ran: Ran,
}

/// A word to put in place of `w` for the causality check.
fn substitute(w: &str) -> String {
    if w == "zebra" { "yak" } else { "zebra" }.to_string()
}

async fn run_model(
    engine: Engine,
    model: &Captioner,
    pixels: &[f32],
    caption: &[String],
    n_image: usize,
    mask: &[Vec<bool>],
) -> Result<ModelView, String> {
    let enc_in = model.encoder_inputs(pixels)?;
    let (encoder, ran) = run_layer(engine, &enc_in, &model.encoder).await?;
    let img = image_tokens(&encoder.outputs, n_image);
    let dec_in = model.decoder_inputs(caption, &img, Some(mask))?;
    let (decoder, _) = run_layer(engine, &dec_in, &model.decoder).await?;
    let mut reach = Vec::with_capacity(caption.len());
    for j in 0..caption.len() {
        let mut c = caption.to_vec();
        c[j] = substitute(&c[j]);
        let inputs = model.decoder_inputs(&c, &img, Some(mask))?;
        let (changed, _) = run_layer(engine, &inputs, &model.decoder).await?;
        let moved = row_changes(&decoder.outputs, &changed.outputs);
        reach.push((0..j).filter(|&i| moved[i] != 0.0).collect());
    }
    Ok(ModelView {
        encoder,
        decoder,
        reach,
        ran,
    })
}

/// How much each output moved at the reader's last edit (encoder per patch, decoder per position).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Moved {
    pub what: String,
    pub encoder: Vec<f32>,
    pub decoder: Vec<f32>,
}

/// The toy captioner, recomputed (on the engine) whenever its inputs or the backend change (a
/// WebGPU adapter that answers after the first computation, a lost device): its result goes to
/// `state.view_state`, how much each output moved at the reader's edit to `state.moved`.
pub fn follow_inputs(state: AttentionState, engine: Engine) {
    let AttentionState {
        settings,
        caption,
        n_image,
        answer,
        grid,
        my_mask,
        view_state,
        moved,
        model_error,
        ..
    } = state;
    let levels = Calc::new(move |_| settings.with(|s| s.picture.levels()));
    let seed = Calc::new(move |_| settings.with(|s| s.seed));
    let mask_in_use = Calc::new(move |_| {
        if my_mask.get() {
            grid.get()
        } else {
            answer.get().masked
        }
    });
    let last_inputs = StoredValue::new(None::<(Vec<u8>, Vec<String>, usize, u64)>);
    let last_mask = StoredValue::new(None::<Vec<Vec<bool>>>);
    let backend = Calc::new(move |_| engine.state.get());
    let generation = Generation::new();
    crate::ui::effect(move || {
        let (lv, cap, n, sd, mask) = (
            levels.get(),
            caption.get(),
            n_image.get(),
            seed.get(),
            mask_in_use.get(),
        );
        // Read, not only tracked: a memo never read has no sources to hear from.
        let _ = backend.get();
        let alive = generation.start();
        // What the reader changed, in words, for the "what moved" readout (nothing when only the
        // backend changed).
        let same_mask = last_mask.get_value().as_ref() == Some(&mask);
        let what = last_inputs.get_value().and_then(|(l0, c0, n0, s0)| {
            let same = (&l0, &c0, n0, s0) == (&lv, &cap, n, sd);
            (!(same && same_mask)).then(|| what_changed((&l0, &c0, n0, s0), (&lv, &cap, n, sd)))
        });
        last_inputs.set_value(Some((lv.clone(), cap.clone(), n, sd)));
        last_mask.set_value(Some(mask.clone()));
        crate::tasks::spawn_page_task(async move {
            engine.settled().await;
            let model = Captioner::new(sd);
            let result =
                run_model(engine, &model, &captioner::to_pixels(&lv), &cap, n, &mask).await;
            if !alive() {
                return;
            }
            match result {
                Ok(v) => {
                    let before = view_state.get_untracked();
                    if let (Some(b), Some(what)) = (before, what) {
                        let same_len = b.decoder.t_q == v.decoder.t_q;
                        moved.set(Some(Moved {
                            what,
                            encoder: row_changes(&b.encoder.outputs, &v.encoder.outputs),
                            decoder: if same_len {
                                row_changes(&b.decoder.outputs, &v.decoder.outputs)
                            } else {
                                Vec::new()
                            },
                        }));
                    }
                    model_error.set(None);
                    view_state.set(Some(v));
                }
                Err(e) => model_error.set(Some(e)),
            }
        });
    });
}

/// The toy captioner's inputs: picture levels, caption, image tokens, seed.
type Inputs<'a> = (&'a [u8], &'a [String], usize, u64);

/// What the reader changed between two sets of inputs, in words (the mask when nothing else did).
fn what_changed((l0, c0, n0, s0): Inputs, (lv, cap, n, sd): Inputs) -> String {
    if s0 != sd {
        "a new model seed".to_string()
    } else if n0 != n {
        "the number of image tokens".to_string()
    } else if l0 != lv {
        let changed: Vec<usize> = (0..captioner::TOKENS)
            .filter(|&p| {
                let pr = p / captioner::SIDE;
                let pc = p % captioner::SIDE;
                (0..captioner::PATCH * captioner::PATCH).any(|i| {
                    let y = pr * captioner::PATCH + i / captioner::PATCH;
                    let x = pc * captioner::PATCH + i % captioner::PATCH;
                    l0[y * captioner::IMAGE + x] != lv[y * captioner::IMAGE + x]
                })
            })
            .map(|p| p + 1)
            .collect();
        format!("the picture (patch {})", list(&changed))
    } else if c0 != cap {
        let changed: Vec<String> = (0..cap.len().max(c0.len()))
            .filter(|&i| c0.get(i) != cap.get(i))
            .map(|i| format!("position {i}"))
            .collect();
        format!("the caption ({})", changed.join(", "))
    } else {
        "the mask".to_string()
    }
}

/// "1, 2 and 5"
fn list(v: &[usize]) -> String {
    let s: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    match s.as_slice() {
        [] => "none".into(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_reads_as_words() {
        assert_eq!(list(&[]), "none");
        assert_eq!(list(&[3]), "3");
        assert_eq!(list(&[1, 2, 5]), "1, 2 and 5");
    }

    #[test]
    fn an_edit_is_named_by_what_it_changed() {
        let levels = vec![0u8; captioner::IMAGE * captioner::IMAGE];
        let caption: Vec<String> = ["<SOS>", "a", "cat"].map(String::from).to_vec();
        let before = (levels.as_slice(), caption.as_slice(), 3, 0);
        assert_eq!(
            what_changed(before, (&levels, &caption, 3, 1)),
            "a new model seed"
        );
        assert_eq!(what_changed(before, before), "the mask");
        // One pixel in the first patch and one in the last.
        let mut drawn = levels.clone();
        drawn[1] = 1;
        drawn[captioner::IMAGE * captioner::IMAGE - 1] = 1;
        assert_eq!(
            what_changed(before, (&drawn, &caption, 3, 0)),
            format!("the picture (patch 1 and {})", captioner::TOKENS)
        );
        let mut longer = caption.clone();
        longer[2] = "dog".into();
        longer.push("<PAD>".into());
        assert_eq!(
            what_changed(before, (&levels, &longer, 3, 0)),
            "the caption (position 2, position 3)"
        );
    }
}

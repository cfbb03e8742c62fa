//! Chapter 2: attention in a captioning transformer (in progress: the combined mask as a checked
//! exercise, and the cost of global against windowed attention).

use crate::ui::controls::{FieldInput, TextInput};
use crate::ui::math::{MathBlock, M};
use crate::url_state::NumField;
use glassbox_lab::attention::{attention_cost, caption_mask, tokenize, CaptionMask, PAD};
use leptos::prelude::*;

pub const SLUG: &str = "attention";

#[derive(Clone, Debug, PartialEq)]
pub struct MaskSettings {
    pub image_tokens: usize,
}

static MASK_FIELDS: [NumField<MaskSettings>; 1] = [NumField {
    key: "images",
    label: "Image tokens",
    min: 0.0,
    max: 8.0,
    step: 1.0,
    integer: true,
    get: |s| s.image_tokens as f64,
    set: |s, v| s.image_tokens = v as usize,
}];

#[derive(Clone, Debug, PartialEq)]
pub struct CostSettings {
    pub image: usize,
    pub patch: usize,
    pub window: usize,
    pub dim: usize,
}

static COST_FIELDS: [NumField<CostSettings>; 4] = [
    NumField {
        key: "image",
        label: "Image size H (pixels)",
        min: 8.0,
        max: 4096.0,
        step: 8.0,
        integer: true,
        get: |s| s.image as f64,
        set: |s, v| s.image = v as usize,
    },
    NumField {
        key: "patch",
        label: "Patch size P",
        min: 1.0,
        max: 64.0,
        step: 1.0,
        integer: true,
        get: |s| s.patch as f64,
        set: |s, v| s.patch = v as usize,
    },
    NumField {
        key: "window",
        label: "Window K (patches)",
        min: 1.0,
        max: 64.0,
        step: 1.0,
        integer: true,
        get: |s| s.window as f64,
        set: |s, v| s.window = v as usize,
    },
    NumField {
        key: "dim",
        label: "Dimension D",
        min: 1.0,
        max: 4096.0,
        step: 1.0,
        integer: true,
        get: |s| s.dim as f64,
        set: |s, v| s.dim = v as usize,
    },
];

/// Why a cell of the grid must be what it is, in words.
pub fn explain(m: &CaptionMask, key: usize, query: usize) -> String {
    let (k, q) = (&m.keys[key], &m.queries[query]);
    if q == PAD {
        format!("{q} (column) is padding: it makes no query, so its whole column is masked.")
    } else if key >= m.queries.len() {
        format!("{q} may look at every image token, {k} included (cross-attention is not causal).")
    } else if k == PAD {
        format!("{k} (row) is padding: it is hidden from every query.")
    } else if key > query {
        format!("{k} comes after {q}: a decoder may not look ahead, so this key is masked.")
    } else {
        format!("{k} is {q} itself or comes before it, so {q} may attend to it.")
    }
}

#[component]
pub fn AttentionMasks() -> impl IntoView {
    let caption = RwSignal::new("<SOS> a mountain range <PAD>".to_string());
    let mask_settings = RwSignal::new(MaskSettings { image_tokens: 3 });
    let answer = Memo::new(move |_| {
        caption_mask(&tokenize(&caption.get()), mask_settings.get().image_tokens)
    });
    // The reader's grid, masked[key][query]; starts with nothing masked.
    let grid = RwSignal::new(Vec::<Vec<bool>>::new());
    let feedback = RwSignal::new(None::<(usize, Vec<String>)>);
    Effect::new(move |_| {
        let a = answer.get();
        grid.set(vec![vec![false; a.queries.len()]; a.keys.len()]);
        feedback.set(None);
    });
    let check = move |_| {
        let a = answer.get_untracked();
        let g = grid.get_untracked();
        let mut wrong = Vec::new();
        for k in 0..a.keys.len() {
            for q in 0..a.queries.len() {
                if g.get(k).and_then(|r| r.get(q)) != Some(&a.masked[k][q]) {
                    wrong.push(format!(
                        "Row {}, column {}: should be {}. {}",
                        a.keys[k],
                        a.queries[q],
                        if a.masked[k][q] { "masked" } else { "open" },
                        explain(&a, k, q)
                    ));
                }
            }
        }
        feedback.set(Some((wrong.len(), wrong)));
    };
    let cost = RwSignal::new(CostSettings {
        image: 224,
        patch: 16,
        window: 7,
        dim: 64,
    });

    view! {
        <article class="chapter" aria-labelledby="chapter-title">
            <h1 id="chapter-title">"Attention in a captioning transformer"</h1>
            <p class="note">"This chapter is being written: the live encoder/decoder model, heatmaps of attention weights and the timing of windowed attention come next."</p>
            <p class="lede">
                "An image-captioning model pairs a vision transformer, which reads the image as a sequence \
                 of patch tokens, with a language transformer, which writes the caption one token at a \
                 time and reads the image through cross-attention."
            </p>
            <h2>"(a) Encoder or decoder?"</h2>
            <p>
                "The vision transformer only has to build a representation of an image that is entirely \
                 there from the start, so every patch may look at every other patch: it is an encoder, \
                 masked only where there is padding. The language transformer generates the caption: when \
                 it predicts a token it must not see the tokens that come after it, so its self-attention \
                 is masked causally: it is a decoder."
            </p>
            <h2>"(b) One mask for self- and cross-attention"</h2>
            <p>
                "Suppose one layer does both at once: each column of the grid is a query (a caption token) \
                 and each row a key and value (caption tokens, then image tokens). Click cells, or move to \
                 them with Tab and press Space, to mark the ones that must be masked, then check."
            </p>
            <div class="controls-grid">
                <TextInput
                    label="Caption tokens"
                    key="caption"
                    value=Signal::derive(move || caption.get())
                    check=|t: &str| {
                        let n = tokenize(t).len();
                        if (1..=12).contains(&n) { Ok(()) } else { Err(format!("Caption tokens (caption): give 1 to 12 tokens separated by spaces (got {n})")) }
                    }
                    on_commit=move |t: String| caption.set(t)
                    help="separated by spaces; <PAD> is padding"
                />
                {MASK_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=mask_settings/> }).collect_view()}
            </div>
            <div class="table-scroll">
                <table class="mask-grid" aria-label="Attention mask: rows are keys, columns are queries">
                    <thead><tr><th scope="col">"key \\ query"</th>
                        {move || answer.get().queries.into_iter().map(|q| view! { <th scope="col">{q}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {move || {
                            let a = answer.get();
                            a.keys.iter().enumerate().map(|(k, key)| {
                                let key = key.clone();
                                view! {
                                    <tr>
                                        <th scope="row">{key.clone()}</th>
                                        {a.queries.iter().enumerate().map(|(q, query)| {
                                            let label = format!("key {key}, query {query}");
                                            let on = move || grid.with(|g| g.get(k).and_then(|r| r.get(q)).copied().unwrap_or(false));
                                            view! {
                                                <td>
                                                    <button type="button" class="cell" aria-label=label
                                                        aria-pressed=move || if on() { "true" } else { "false" }
                                                        on:click=move |_| grid.update(|g| if let Some(c) = g.get_mut(k).and_then(|r| r.get_mut(q)) { *c = !*c })>
                                                        {move || if on() { "✕" } else { "" }}
                                                    </button>
                                                </td>
                                            }
                                        }).collect_view()}
                                    </tr>
                                }
                            }).collect_view()
                        }}
                    </tbody>
                </table>
            </div>
            <div class="buttons">
                <button type="button" class="primary" on:click=check>"Check my mask"</button>
                <button type="button" on:click=move |_| grid.set(answer.get_untracked().masked)>"Show the answer"</button>
                <button type="button" on:click=move |_| { let a = answer.get_untracked(); grid.set(vec![vec![false; a.queries.len()]; a.keys.len()]); feedback.set(None); }>"Clear"</button>
            </div>
            <div role="status" aria-live="polite" class="mask-feedback">
                {move || feedback.get().map(|(n, wrong)| if n == 0 {
                    view! { <p class="notice ok" data-result="correct">"Correct: every cell is right."</p> }.into_any()
                } else {
                    view! {
                        <div class="notice warning" data-result="wrong">
                            <p>{format!("{n} cell{} wrong:", if n == 1 { " is" } else { "s are" })}</p>
                            <ul>{wrong.into_iter().take(12).map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                        </div>
                    }.into_any()
                })}
            </div>
            <h2>"(c) The cost of global and windowed attention"</h2>
            <p>
                "An "<M tex=r"H \times H"/>" image cut into "<M tex=r"P \times P"/>" patches gives "
                <M tex=r"T = (H/P)^2"/>" tokens. Global attention compares every token with every token, \
                 so its two products cost"
            </p>
            <MathBlock tex=r"4\,T^2 D = O\!\left(\frac{D H^4}{P^4}\right)\ \text{FLOPs},"/>
            <p>
                "while windows of "<M tex=r"K \times K"/>" patches let each token see only "<M tex="K^2"/>" others:"
            </p>
            <MathBlock tex=r"4\,T K^2 D = O\!\left(\frac{H^2 K^2 D}{P^2}\right)\ \text{FLOPs}."/>
            <div class="controls-grid">
                {COST_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=cost/> }).collect_view()}
            </div>
            {move || {
                let c = cost.get();
                match attention_cost(c.image, c.patch, c.window, c.dim) {
                    Ok(r) => view! {
                        <dl class="readout" aria-label="Attention cost">
                            <dt>"tokens T"</dt><dd data-key="tokens">{r.tokens}</dd>
                            <dt>"global"</dt><dd data-key="global">{format!("{:.3e} FLOPs", r.global_flops as f64)}</dd>
                            <dt>"windowed"</dt><dd data-key="windowed">{format!("{:.3e} FLOPs", r.windowed_flops as f64)}</dd>
                            <dt>"ratio"</dt><dd data-key="ratio">{format!("{:.1}× (= T / K²)", r.ratio)}</dd>
                        </dl>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                }
            }}
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_has_an_explanation_that_agrees_with_the_mask() {
        let m = caption_mask(&tokenize("<SOS> a mountain range <PAD>"), 3);
        for k in 0..m.keys.len() {
            for q in 0..m.queries.len() {
                let e = explain(&m, k, q);
                let says_open = e.contains("may attend") || e.contains("may look");
                assert_eq!(says_open, !m.masked[k][q], "{e}");
            }
        }
    }
}

//! (b) One mask for self- and cross-attention: the reader marks the masked cells of the combined
//! grid and checks them; each wrong cell is explained in words.

use super::state::AttentionState;
use crate::ui::exercise::{Exercise, Verdict};
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use glassbox_lab::attention::{CaptionMask, PAD};
use leptos::prelude::*;

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

/// The cells of the reader's grid that differ from the mask, each with why it must be what it is.
fn wrong_cells(a: &CaptionMask, g: &[Vec<bool>]) -> Vec<String> {
    let mut wrong = Vec::new();
    for k in 0..a.keys.len() {
        for q in 0..a.queries.len() {
            if g.get(k).and_then(|r| r.get(q)) != Some(&a.masked[k][q]) {
                wrong.push(format!(
                    "Row {}, column {}: should be {}. {}",
                    a.keys[k],
                    a.queries[q],
                    if a.masked[k][q] { "masked" } else { "open" },
                    explain(a, k, q)
                ));
            }
        }
    }
    wrong
}

#[component]
pub fn MaskGrid() -> impl IntoView {
    let AttentionState {
        answer,
        grid,
        feedback,
        ..
    } = crate::ui::context();
    let check = move || {
        let wrong = wrong_cells(&answer.get_untracked(), &grid.get_untracked());
        let n = wrong.len();
        Some(if n == 0 {
            Verdict::new(true, "Every cell is right.")
        } else {
            Verdict {
                correct: false,
                message: format!("{n} cell{} wrong:", if n == 1 { " is" } else { "s are" }),
                details: wrong.into_iter().take(12).collect(),
            }
        })
    };
    view! {
        <Section id="mask-grid">
        <h2 id="mask-grid">"(b) One mask for self- and cross-attention"</h2>
        <Prose html=prose!(r#"
            <p>Suppose one layer does both at once, as the toy decoder above does: each column of
            the grid is a query (a caption token) and each row a key and value (caption tokens, then
            image tokens). Click cells, or move to them with Tab and press Space, to mark the ones
            that must be masked, then check. The caption and the number of image tokens are the ones
            above.</p>
        "#)/>
        <Exercise id="mask-grid" question="Mark the cells that must be masked" check=check check_label="Check my mask"
            ready=true verdict=feedback>
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
                                                    on:click=move |_| { grid.update(|g| if let Some(c) = g.get_mut(k).and_then(|r| r.get_mut(q)) { *c = !*c }); feedback.set(None); }>
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
            <button type="button" on:click=move |_| { grid.set(answer.get_untracked().masked); feedback.set(None); }>"Show the answer"</button>
            <button type="button" on:click=move |_| { let a = answer.get_untracked(); grid.set(vec![vec![false; a.queries.len()]; a.keys.len()]); feedback.set(None); }>"Clear"</button>
        </div>
        </Exercise>
        </Section>
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::HOMEWORK_CAPTION;
    use super::*;
    use glassbox_lab::attention::{caption_mask, tokenize};

    #[test]
    fn every_cell_has_an_explanation_that_agrees_with_the_mask() {
        let m = caption_mask(&tokenize(HOMEWORK_CAPTION), 3);
        for k in 0..m.keys.len() {
            for q in 0..m.queries.len() {
                let e = explain(&m, k, q);
                let says_open = e.contains("may attend") || e.contains("may look");
                assert_eq!(says_open, !m.masked[k][q], "{e}");
            }
        }
    }

    #[test]
    fn the_answer_has_no_wrong_cells_and_an_empty_grid_one_per_masked_cell() {
        let m = caption_mask(&tokenize(HOMEWORK_CAPTION), 3);
        assert!(wrong_cells(&m, &m.masked).is_empty());
        let empty = vec![vec![false; m.queries.len()]; m.keys.len()];
        let masked = m.masked.iter().flatten().filter(|&&b| b).count();
        assert_eq!(wrong_cells(&m, &empty).len(), masked);
    }
}

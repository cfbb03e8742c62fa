//! Why failures emit common words: the words of the shot sweep's wrong answers, against their rank
//! among the corpus's words (`assets/lm/words.tsv`, written by `glassbox lm data`).

use crate::lm::{nouns_of, word_rank};
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use glassbox_lab::lm::pluralize::Answer;
use glassbox_lab::lm::plurals::Split;
use leptos::prelude::*;
use std::collections::HashMap;

/// "Common": among the corpus's most frequent `TOP` words.
const TOP: usize = 50;
/// Words shown.
const SHOWN: usize = 8;

#[component]
pub fn CommonWords(
    /// The wrong answers so far.
    #[prop(into)]
    wrong: Signal<Vec<Answer>>,
) -> impl IntoView {
    let rank = |w: &str| word_rank(&w.to_ascii_lowercase());
    // Read when there are wrong answers, so after the model (and the word lists) loaded.
    let plural_share = move || {
        let val = nouns_of(Split::Val);
        let common = val
            .iter()
            .filter(|n| rank(&n.plural).is_some_and(|r| r <= TOP))
            .count();
        common as f64 / val.len().max(1) as f64
    };
    let rows = move || {
        wrong.with(|w| {
            let mut counts = HashMap::<String, usize>::new();
            for a in w {
                *counts.entry(a.answer.to_ascii_lowercase()).or_default() += 1;
            }
            let mut v = glassbox_lab::rank::by_count(counts);
            v.truncate(SHOWN);
            v
        })
    };
    let share = move || {
        wrong.with(|w| {
            let common = w
                .iter()
                .filter(|a| rank(&a.answer).is_some_and(|r| r <= TOP))
                .count();
            (w.len(), common as f64 / w.len().max(1) as f64)
        })
    };
    view! {
        <h3>"What the wrong answers say"</h3>
        <Prose html=prose!(r#"
            <p>When the model does not know what comes next, the likeliest next word is simply a
            frequent one: a word that follows almost anything in its training text. So its failures
            are not random words but the corpus's commonest.</p>
        "#)/>
        <p data-out="common-share">{move || {
            let (n, s) = share();
            (n > 0).then(|| format!(
                "Of the {n} wrong answers so far, {:.0}% are among the corpus's {TOP} most frequent words; of the \
                 validation nouns' true plurals, {:.0}% are.",
                100.0 * s,
                100.0 * plural_share()
            ))
        }}</p>
        <table class="numbers" aria-label="Words of the wrong answers">
            <thead><tr><th>"Word"</th><th>"Times written"</th><th>"Rank in the corpus"</th></tr></thead>
            <tbody>
                {move || rows().into_iter().map(|(w, n)| {
                    let r = rank(&w).map_or("below 2000".to_string(), |r| r.to_string());
                    view! { <tr><th scope="row">{w}</th><td>{n}</td><td>{r}</td></tr> }
                }).collect_view()}
            </tbody>
        </table>
        <ShortAnswer label="(b) vi" question="Why do failing prompts emit common words?">
            <Prose html=prose!(r#"
                <p>Training with cross-entropy makes the model's prediction match how often each
                continuation followed similar text. When the prompt tells it little (a frame it
                never saw, a noun it does not know), similar text is almost any text, and the best
                prediction it can make is close to the corpus's overall frequencies: words like the,
                a, of, and, and the newline. Greedy decoding then takes the likeliest of those. The
                line above measures it on this model's own failures: far more of its wrong answers
                than of the true plurals are among the corpus's most frequent words. Most of the
                rest copy the singular back, the other safe guess after a frame that, in its
                training text, is followed by a bare noun.</p>
            "#)/>
        </ShortAnswer>
    }
}

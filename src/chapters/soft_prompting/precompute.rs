//! "Precomputing the prompt": under the causal mask a prompt position attends only to the
//! positions before it, so its states are the same whatever question follows. Shown bit for bit on
//! several inputs, then used: the validation answers read the prompt once per epoch (its keys and
//! values copied for every noun) instead of once per noun, timed both ways. The homework's
//! true/false (c)(i) and (ii) as checked questions beside it.

use super::state::SoftState;
use crate::calc::Calc;
use crate::lm::nouns_of;
use crate::tasks::breathe;
use crate::ui::exercise::{Choice, ChoiceExercise};
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::var::Var;
use crate::web;
use glassbox_lab::lm::plurals::Split;
use glassbox_lab::lm::tuning::{self, hard_embeddings, Evaluator, Method};
use glassbox_lab::lm::{complete, Extras, Inputs};
use leptos::prelude::*;

const INPUTS: [&str; 4] = [
    "cat is",
    "mother-in-law is",
    "wolf is wolves.",
    "The plural of box is",
];

const TRUE_FALSE_I: &[Choice] = &[
    Choice {
        label: "True",
        tex: false,
        correct: true,
        why: "With a causal mask, position j attends only to positions up to j. The prompt comes first, so \
              nothing after it reaches its states: they are the same for every example and can be computed \
              once (the table above shows them equal to the bit).",
    },
    Choice {
        label: "False",
        tex: false,
        correct: false,
        why: "The prompt positions never see the question under a causal mask; the figure above compares them \
              across inputs and finds no difference at all.",
    },
];

const TRUE_FALSE_II: &[Choice] = &[
    Choice {
        label: "True",
        tex: false,
        correct: true,
        why: "Every K-token hard prompt is a K-vector soft prompt (its embeddings), so the best soft prompt \
              can only be at least as good on the training objective. Started from a hard prompt, training \
              lowers the training loss from the hard prompt's value (the training section's epoch 0).",
    },
    Choice {
        label: "False",
        tex: false,
        correct: false,
        why: "The hard prompts are inside the set of soft prompts (take the vectors to be the tokens' \
              embeddings), so the best of the larger set cannot be worse on the training loss.",
    },
];

#[component]
pub fn Precompute() -> impl IntoView {
    let st = crate::ui::context::<SoftState>();
    let settings = st.settings;
    let rows = Var::new(Vec::<(String, f32, bool)>::new());
    let timing = Var::new(None::<(f64, f64, usize)>);
    let status = Var::new(String::new());
    let running = Var::new(false);
    let run = move |_| {
        let Some(lm) = st.begin() else {
            return;
        };
        running.set(true);
        rows.set(Vec::new());
        timing.set(None);
        let k = settings.with_untracked(|s| s.tokens);
        let trained = st
            .trained
            .get_untracked()
            .filter(|t| t.settings.method == Method::Soft);
        crate::tasks::spawn_page_task(async move {
            let result = async {
                let (soft, from) = match &trained {
                    Some(t) => (t.params.to_vec(), "the trained soft prompt"),
                    None => {
                        let train = nouns_of(Split::Train);
                        let v = hard_embeddings(&lm.model, &lm.vocab, &train, k, 0)?;
                        (v, "the hard prompt's embeddings (train a soft prompt above to use it instead)")
                    }
                };
                let (w, layers) = (lm.model.config.width, lm.model.config.layers);
                let k = soft.len() / w;
                let mut first: Option<Vec<f32>> = None;
                for text in INPUTS {
                    let ids = lm.vocab.encode(text)?;
                    let h = lm.model.hidden_states(&Inputs::new(&ids, 1, ids.len()).with_soft(&soft))?;
                    let rows_per = k + ids.len();
                    let prompt: Vec<f32> = (0..layers).flat_map(|l| h[l * rows_per * w..][..k * w].to_vec()).collect();
                    let (diff, same) = match &first {
                        None => (0.0, true),
                        Some(f) => (
                            f.iter().zip(&prompt).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max),
                            f.iter().zip(&prompt).all(|(a, b)| a.to_bits() == b.to_bits()),
                        ),
                    };
                    first.get_or_insert(prompt);
                    rows.update(|r| r.push((text.to_string(), diff, same)));
                    breathe().await;
                }
                status.set(format!("Prompt: {from}, K = {k}. Timing the validation answers both ways…"));
                let val = nouns_of(Split::Val);
                let extras = Extras { soft: Some(&soft), prefix: None };
                let eval = Evaluator::new(&lm.model, &lm.vocab, extras)?;
                let (mut once, mut each) = (0.0, 0.0);
                for n in &val {
                    let t0 = web::now_ms();
                    let a = eval.answer("", n)?;
                    once += web::now_ms() - t0;
                    breathe().await;
                    let t0 = web::now_ms();
                    let gen = eval.generator(&tuning::question("", &n.singular))?;
                    let (tokens, _) = complete(&lm.model, extras, gen)?;
                    each += web::now_ms() - t0;
                    if lm.vocab.decode(&tokens)? != a.continuation {
                        return Err(format!("the two ways answered {} differently", n.singular));
                    }
                    breathe().await;
                }
                timing.set(Some((once, each, val.len())));
                status.set(format!("Prompt: {from}, K = {k}."));
                Ok::<(), String>(())
            }
            .await;
            if let Err(e) = result {
                status.set(format!("Stopped: {e}"));
            }
            running.set(false);
            st.busy.set(false);
        });
    };
    let ready = move || st.lm.with(|m| m.is_some());
    view! {
        <Section id="precompute">
            <h2 id="precompute">"Precomputing the prompt"</h2>
            <Prose html=prose!(r#"
                <p>The mask is causal: position j attends to positions 1 to j and no further. The
                soft prompt comes first, so its positions never see the question, and their states
                (every layer's) are the same whatever follows. They can be computed once and reused.
                Below, the prompt positions' states after every layer for four different inputs,
                compared with the first's; then the validation answers timed both ways: the prompt's
                keys and values read once and copied for each noun, or read again for each noun. In
                training the gradient must still flow back through the prompt positions, so the page
                recomputes them there.</p>
            "#)/>
            <div class="buttons">
                <button type="button" class="primary" on:click=run
                    disabled=move || running.get() || !ready() || st.busy.get()>"Compare and time"</button>
            </div>
            <p class="status" role="status" data-out="precompute-status">{move || status.get()}</p>
            { let shown = Calc::new(move |_| rows.with(|r| !r.is_empty()));
            move || shown.get().then(|| view! {
                <div class="table-scroll">
                    <table class="numbers" aria-label="Prompt states across inputs">
                        <thead><tr><th>"Input after the prompt"</th><th>"Largest difference from the first"</th><th>"Bit-identical"</th></tr></thead>
                        <tbody>{move || rows.get().into_iter().map(|(t, d, same)| view! {
                            <tr data-identical=same.to_string()><th scope="row">{format!("\u{201c}{t}\u{201d}")}</th>
                                <td>{format!("{d:e}")}</td><td>{if same { "yes" } else { "no" }}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                </div>
            }) }
            <p data-out="precompute-timing">{move || timing.get().map(|(once, each, n)| format!(
                "{n} validation answers: {once:.0} ms with the prompt read once, {each:.0} ms reading it for every \
                 noun: {:.0} ms saved per epoch ({:.0}%), with the same answers.",
                each - once, 100.0 * (each - once) / each.max(1e-9)
            ))}</p>
            <ChoiceExercise name="tf-precompute"
                question="(c) i. True or false: with a causal mask, the soft prompt's representations can be precomputed once for all examples."
                choices=TRUE_FALSE_I/>
            <ChoiceExercise name="tf-hard-soft"
                question="(c) ii. True or false: the best K-vector soft prompt is at least as good as the best K-token hard prompt."
                choices=TRUE_FALSE_II/>
            <p data-out="hard-to-soft">{move || st.trained.with(|t| t.as_ref().filter(|t| t.settings.init == tuning::Init::Hard).map(|t| {
                let (a, b) = (t.curve[0], *t.curve.last().unwrap_or(&t.curve[0]));
                format!("The training section, started from the hard prompt: training loss {:.4} at epoch 0 (the hard \
                         prompt) and {:.4} after {} epochs; validation accuracy {:.1}% and {:.1}%.",
                        a.0, b.0, t.curve.len() - 1, 100.0 * a.1, 100.0 * b.1)
            }))}</p>
        </Section>
    }
}

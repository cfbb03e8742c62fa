//! Bigger against smaller: the shipped model and one of about a tenth of its parameters (trained
//! by the same command on the same text; `glassbox_lab::lm::shipped::SMALL`), on two tasks over
//! the validation nouns: the plural in the corpus's own pattern ("one wolf, two"), and the
//! notebook's hard prompt without examples ("The plural of wolf is").

use super::run::{answer_all, Answered};
use super::state::PromptingState;
use crate::calc::Calc;
use crate::engine::Engine;
use crate::lm::nouns_of;
use crate::lm::{ensure_small_lm, LoadedLm};
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::{LoadState, LoadStatus};
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::lm::pluralize::{self, Summary};
use glassbox_lab::lm::plurals::Split;
use glassbox_lab::lm::shipped;
use leptos::prelude::*;
use std::rc::Rc;

/// A task: its name, and the prompt for a noun.
type Task = (&'static str, fn(&str) -> String);

const TASKS: [Task; 2] = [
    ("the corpus's pattern: \u{201c}one X, two\u{201d}", |s| {
        format!("one {s}, two")
    }),
    ("the hard prompt, zero-shot", pluralize::question),
];
const MODELS: [&str; 2] = ["0.8M parameters", "0.09M parameters"];

/// Accuracy per [model][task] (None until measured).
type Table = [[Option<f64>; 2]; 2];

fn bars(t: &Table) -> BarGroups {
    BarGroups {
        title: "Bigger against smaller, validation nouns".into(),
        y_desc: "accuracy".into(),
        categories: TASKS.iter().map(|(n, _)| n.to_string()).collect(),
        series: MODELS
            .iter()
            .enumerate()
            .map(|(m, name)| (name.to_string(), t[m].to_vec()))
            .collect(),
        baseline: None,
    }
}

#[component]
pub fn Sizes() -> impl IntoView {
    let st = crate::ui::context::<PromptingState>();
    let engine = crate::ui::context::<Engine>();
    let table = Var::new([[None::<f64>; 2]; 2]);
    let status = Var::new(String::new());
    let load = Var::new(LoadState::Idle);
    let run = move |_| {
        let Some(big) = st.lm.get_untracked() else {
            return;
        };
        if !st.hold() {
            return;
        }
        table.set([[None; 2]; 2]);
        crate::tasks::spawn_page_task(async move {
            if let Some(small) = ensure_small_lm(load).await {
                measure([big, small], table, status, engine).await;
            }
            st.busy.set(false);
        });
    };
    let figure = Calc::new(move |_| table.with(bars));
    let ready = move || st.lm.with(|m| m.is_some());
    let cell = move |m: usize, t: usize| {
        move || table.with(|x| x[m][t].map_or("–".into(), |a| format!("{:.1}%", 100.0 * a)))
    };
    view! {
        <Section id="sizes">
            <h2 id="sizes">"Bigger against smaller"</h2>
            <p>
                {format!("The homework asked where larger models beat smaller ones and where every model fails. \
                  Beside the book's model stands one of about a tenth of its parameters, trained by the same \
                  command on the same text (held-out loss {:.3} against {:.3} nats per character: it predicts \
                  the text less well). Both are asked for the plurals of the validation nouns twice: in a \
                  pattern their training text contains, and with the notebook's prompt, which it never does. \
                  The button downloads the small model (178 kB) the first time.",
                  shipped::SMALL.held_out_loss, shipped::STANDARD.held_out_loss)}
            </p>
            <button type="button" on:click=run disabled=move || !ready() || st.busy.get()>"Compare the two models"</button>
            <LoadStatus load/>
            <p class="status" role="status" data-out="sizes-status">{move || status.get()}</p>
            <BarPlot name="model-sizes" title="Bigger against smaller" height=300 bars=figure/>
            <table class="numbers" aria-label="Bigger against smaller">
                <thead><tr><th>"Model"</th><th>{TASKS[0].0}</th><th>{TASKS[1].0}</th></tr></thead>
                <tbody>
                    <tr data-model="big"><th scope="row">{MODELS[0]}</th><td>{cell(0, 0)}</td><td>{cell(0, 1)}</td></tr>
                    <tr data-model="small"><th scope="row">{MODELS[1]}</th><td>{cell(1, 0)}</td><td>{cell(1, 1)}</td></tr>
                </tbody>
            </table>
            <ShortAnswer label="(a)" question="Where does the larger model do better, and where does every model fail?">
                <Prose html=prose!(r#"
                    <p>Read the table: the larger model does better where the answer is knowledge
                    stored in the weights and asked for in a form the training text used, the
                    corpus's pattern. Where the question's form is one neither model has read, the
                    notebook's prompt without examples, size does not rescue either: both fail, the
                    larger mostly by copying the singular back, the smaller with a common word or a
                    fragment of one.</p>
                "#)/>
            </ShortAnswer>
            <ShortAnswer label="(b) iv" question="Why does a smaller model do worse at answering questions?">
                <Prose html=prose!(r#"
                    <p>Answering without a passage to read from is recall: the fact has to be stored
                    in the weights. A tenth of the parameters is a tenth of the room to store the
                    pairing of each noun with its plural, and the small model also predicts text
                    less well everywhere (its higher held-out loss: more surprise at every
                    character). A wrong character early in an answer then leads it away, since each
                    character is predicted from the ones before it.</p>
                "#)/>
            </ShortAnswer>
        </Section>
    }
}

/// Every (model, task, noun) answer, filling `table` as each (model, task) completes.
async fn measure(
    models: [Rc<LoadedLm>; 2],
    table: Var<Table>,
    status: Var<String>,
    engine: Engine,
) {
    let val = nouns_of(Split::Val);
    let total = 2 * TASKS.len() * val.len();
    let (mut done, mut ms, mut place) = (0, 0.0, String::new());
    for (m, lm) in models.iter().enumerate() {
        for (t, (_, prompt)) in TASKS.iter().enumerate() {
            let mut answers = Vec::new();
            let ask = |i: usize| Ok((prompt(&val[i].singular), val[i]));
            let mut got = |_, a, so_far: &Answered| {
                answers.push(a);
                status.set(format!(
                    "{} of {total} answers ({:.0} ms on {})",
                    done + answers.len(),
                    ms + so_far.ms,
                    so_far.place
                ));
            };
            match answer_all(engine, lm, 0..val.len(), &ask, &mut got, &|| true).await {
                Ok(run) => (ms, place) = (ms + run.ms, run.place),
                Err(e) => return status.set(e),
            }
            done += answers.len();
            let accuracy = Summary::of(&answers).accuracy();
            table.update(|x| x[m][t] = Some(accuracy));
        }
    }
    status.set(format!("All {total} answers ({ms:.0} ms on {place})."));
}

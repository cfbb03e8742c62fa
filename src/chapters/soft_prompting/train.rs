//! "Train a soft prompt": K vectors (or a prefix at every layer) trained with Adam on the pluralize
//! training nouns while the model stays frozen, live: the loss and validation accuracy after every
//! epoch against chapter 4's best hard prompt, the parameters trained against the model's, and at
//! the end the test irregulars and the made-up nouns answered by the trained prompt.

use super::answers_table::AnswersTable;
use super::run::{answers, best_hard, epochs, extras_of, ran_on, train_run, Event};
use super::state::{training_nouns, SoftState, Trained, INITS, KINDS, TRAIN_FIELDS};
use crate::calc::Calc;
use crate::engine::Engine;
use crate::lm::nouns_of;
use crate::tasks::Generation;
use crate::ui::controls::{ChoiceInput, FieldInput};
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::figures::tuning::{draw_tuning_curves, TuningCurves};
use glassbox_lab::lm::pluralize::Answer;
use glassbox_lab::lm::plurals::Split;
use glassbox_lab::lm::tuning::{Init, BATCH};
use leptos::prelude::*;
use std::rc::Rc;

/// Numbers a soft prompt (or prefix) of `k` entries trains in a model of `width` and `layers`.
pub fn trained_count(prefix: bool, k: usize, width: usize, layers: usize) -> usize {
    if prefix {
        layers * 2 * k * width
    } else {
        k * width
    }
}

#[component]
pub fn TrainPrompt() -> impl IntoView {
    let st = crate::ui::context::<SoftState>();
    let engine = crate::ui::context::<Engine>();
    let settings = st.settings;
    let curve = Var::new(Vec::<(f64, f64)>::new());
    let label = Var::new(String::new());
    let progress = Var::new(0.0f64);
    let status = Var::new(String::new());
    let running = Var::new(false);
    let pause = Var::new(false);
    let finals = Var::new(Vec::<Answer>::new());
    let nonce_answers = Var::new(Vec::<Answer>::new());
    let generation = Generation::new();
    let reset = move || {
        generation.stop();
        pause.set(false);
        curve.set(Vec::new());
        finals.set(Vec::new());
        nonce_answers.set(Vec::new());
        progress.set(0.0);
        status.set(String::new());
    };
    let run = move |_| {
        let Some(lm) = st.begin() else {
            return;
        };
        let s = settings.get_untracked();
        let tune = s.tune();
        let split = nouns_of;
        let (train, val, test, nonce) = (
            split(Split::Train),
            split(Split::Val),
            split(Split::Test),
            split(Split::Nonce),
        );
        let learn = training_nouns(&s);
        let alive = generation.start();
        reset_view(curve, finals, nonce_answers, progress);
        label.set(format!(
            "{}, K = {}, from {}",
            tune.method.name(),
            tune.tokens,
            if tune.init == Init::Hard {
                "the hard prompt"
            } else {
                "random"
            }
        ));
        pause.set(false);
        running.set(true);
        crate::tasks::spawn_page_task(async move {
            let result = async {
                engine.settled().await;
                if st.hard.get_untracked().is_none_or(|h| h.seed != s.seed) {
                    status.set("Measuring chapter 4's best hard prompt (0 to 3 shots) on the CPU…".into());
                    let prog = move |f: f64| progress.set(0.1 * f);
                    let Some(h) = best_hard(&lm, &train, &val, &test, s.seed, &alive, &prog).await? else {
                        return Ok(());
                    };
                    st.hard.set(Some(h));
                }
                let mut on = move |e: Event| match e {
                    Event::Progress(f, text) => {
                        progress.set(0.1 + 0.85 * f);
                        status.set(text);
                    }
                    Event::Epoch(loss, acc) => curve.update(|c| c.push((loss, acc))),
                };
                let Some(r) = train_run(&lm, engine, tune, &learn, &val, pause, &alive, &mut on).await? else {
                    return Ok(());
                };
                status.set("Answering the test irregulars and the made-up nouns…".into());
                let extras = extras_of(&tune, &r.params);
                for (nouns, out) in [(&test, finals), (&nonce, nonce_answers)] {
                    let Some((a, _, _)) = answers(&lm, &lm.model, None, "", extras, nouns, pause, &alive).await? else {
                        return Ok(());
                    };
                    out.set(a);
                }
                status.set(format!(
                    "Done: {} in {:.1} s of training on {} and {:.1} s of validation answers on {}.",
                    epochs(r.curve.len() - 1),
                    r.train_ms / 1000.0,
                    ran_on(r.grad_ran),
                    r.eval_ms / 1000.0,
                    ran_on(r.ran)
                ));
                progress.set(1.0);
                crate::progress::record_time(super::SLUG, r.train_ms + r.eval_ms);
                st.trained.set(Some(Trained {
                    settings: tune,
                    params: Rc::new(r.params),
                    curve: r.curve,
                }));
                Ok::<(), String>(())
            }
            .await;
            if let Err(e) = result {
                status.set(format!("The run stopped: {e}"));
            }
            running.set(false);
            pause.set(false);
            st.busy.set(false);
        });
    };
    let figure = Calc::new(move |_| TuningCurves {
        runs: curve.with(|c| {
            if c.is_empty() {
                vec![]
            } else {
                vec![(label.get(), c.clone())]
            }
        }),
        baseline: st.hard.get().map(|h| {
            (
                format!("best hard prompt of chapter 4 ({} shots)", h.shots),
                h.val,
            )
        }),
    });
    let counts = move || {
        st.lm.with(|m| m.as_ref().map(|m| {
            let c = &m.model.config;
            let s = settings.get();
            let n = trained_count(s.prefix, s.tokens, c.width, c.layers);
            let total = m.model.param_count();
            format!(
                "Trained: {n} numbers ({} x {}{}), {:.2}% of the model's {total} parameters, which stay frozen.",
                s.tokens,
                c.width,
                if s.prefix { format!(" x 2 x {} layers", c.layers) } else { String::new() },
                100.0 * n as f64 / total as f64
            )
        }))
    };
    let ready = move || st.lm.with(|m| m.is_some());
    view! {
        <Section id="train">
            <h2 id="train">"Train a soft prompt"</h2>
            <Prose html=prose!(r#"
                <p>A hard prompt is a choice of characters; each enters the model as its embedding,
                a vector of 128 numbers. A soft prompt skips the characters: K vectors are put where
                the first K embeddings would go and trained by gradient descent, through the frozen
                model, to make the right plural likely. Each training sequence is the K vectors,
                then “wolf is wolves.”; the loss is the cross-entropy of the answer “ wolves” and
                its full stop only. Starting from a hard prompt's embeddings (its last K characters)
                makes epoch 0 exactly that hard prompt: with K = 14 it is “The plural of ”, chapter
                4's zero-shot prompt. The dashed line is chapter 4's best hard prompt at this seed
                (0 to 3 worked examples).</p>
                <p>Training nouns sets how many of the 369 training nouns every run of this chapter
                learns from (the comparison's and the loss exercise's too), spread evenly through
                the alphabetical list so that every way of making a plural stays in. Fewer train
                faster, and show how many examples a soft prompt needs; chapter 4's best hard
                prompt is always chosen with all of them.</p>
            "#)/>
            <fieldset class="controls-grid" disabled=move || running.get()>
                <legend>"The prompt and its training"</legend>
                <ChoiceInput label="What is trained" key="tuning" options=KINDS
                    value=crate::ui::derive(move || String::from(if settings.get().prefix { "prefix" } else { "soft" }))
                    on_change=move |v| settings.update(|s| s.prefix = v == "prefix")/>
                <ChoiceInput label="Start from" key="init" options=INITS
                    value=crate::ui::derive(move || settings.get().init.name().to_string())
                    on_change=move |v| settings.update(|s| s.init = if v == "random" { Init::Random } else { Init::Hard })/>
                {TRAIN_FIELDS.iter().map(|f| view! { <FieldInput field=f settings/> }).collect_view()}
            </fieldset>
            <p data-out="param-count">{counts}</p>
            <div class="buttons">
                <button type="button" class="primary" on:click=run
                    disabled=move || running.get() || !ready() || st.busy.get()>"Train"</button>
                <button type="button" on:click=move |_| pause.update(|p| *p = !*p) disabled=move || !running.get()>
                    {move || if pause.get() { "Resume" } else { "Pause" }}
                </button>
                <button type="button" on:click=move |_| reset()>"Reset"</button>
            </div>
            <progress max="1" value=move || progress.get() aria-label="Training progress"></progress>
            <p class="status" role="status" data-out="train-status">{move || status.get()}</p>
            <Plot
                name="soft-prompt-training"
                title="Prompt tuning: loss and accuracy by epoch"
                height=460
                summary=crate::ui::derive(move || figure.with(|f| f.summary()))
                csv=crate::ui::derive(move || figure.with(|f| f.csv()))
                draw=move |root, p| figure.with(|f| draw_tuning_curves(root, f, p))
            />
            <EpochTable curve/>
            <AnswersTable label="The test irregulars under the trained prompt" answers=finals/>
            <SoftVsHard curve/>
            <AnswersTable label="Made-up nouns under the trained prompt" answers=nonce_answers/>
        </Section>
    }
}

fn reset_view(
    curve: Var<Vec<(f64, f64)>>,
    finals: Var<Vec<Answer>>,
    nonce: Var<Vec<Answer>>,
    progress: Var<f64>,
) {
    curve.set(Vec::new());
    finals.set(Vec::new());
    nonce.set(Vec::new());
    progress.set(0.0);
}

/// The loss and accuracy after each epoch, as numbers.
#[component]
fn EpochTable(curve: Var<Vec<(f64, f64)>>) -> impl IntoView {
    view! {
            { let shown = Calc::new(move |_| curve.with(|c| !c.is_empty()));
            move || shown.get().then(|| view! {
                <div class="table-scroll">
                    <table class="numbers" aria-label="Loss and accuracy per epoch">
                        <thead><tr><th>"Epoch"</th><th>"Training loss"</th><th>"Validation accuracy"</th></tr></thead>
                        <tbody>{move || curve.get().into_iter().enumerate().map(|(e, (l, a))| view! {
                            <tr data-epoch=e><th scope="row">{e}</th><td>{format!("{l:.4}")}</td><td>{format!("{:.1}%", 100.0 * a)}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                </div>
                <p class="field-help">{format!(
                    "Epoch 0's training loss is the starting prompt's loss on the training nouns; \
                     each later epoch's is the mean of its batches' losses (batches of {BATCH} \
                     nouns), each taken before that batch's step, so with a single batch epoch 1 \
                     repeats epoch 0."
                )}</p>
            }) }
    }
}

/// The homework's (b) v, answered with this run's numbers.
#[component]
fn SoftVsHard(curve: Var<Vec<(f64, f64)>>) -> impl IntoView {
    let st = crate::ui::context::<SoftState>();
    view! {
            <ShortAnswer label="(b) v" question="Does a soft prompt beat hand-written prompts on pluralize, even few-shot ones?">
                <Prose html=prose!(r#"
                    <p>Yes. Started from a hard prompt, training can only lower the training loss
                    below that prompt's, and on this model it lifts validation accuracy far above
                    every hard prompt of chapter 4: the model knows plurals from its corpus, and a
                    few trained vectors reach that knowledge where no wording did. The irregular
                    test nouns stay hard, since a prompt selects a skill the model has and does not
                    add one.</p>
                "#)/>
                <p data-out="soft-vs-hard">{move || {
                    let h = st.hard.get()?;
                    curve.with(|c| {
                        let (first, last) = (c.first()?, c.last()?);
                        Some(format!(
                            "Measured here: the prompt went from {:.1}% (epoch 0) to {:.1}% after {} epochs on the \
                             validation nouns; chapter 4's best hard prompt at this seed ({} shots) gets {:.1}%.",
                            100.0 * first.1, 100.0 * last.1, c.len() - 1, h.shots, 100.0 * h.val
                        ))
                    })
                }}</p>
            </ShortAnswer>
    }
}
